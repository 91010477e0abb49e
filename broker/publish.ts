// What a publish must pass before its PUBACK. A service may publish only on `$dh/` topics. A device may publish only
// on its own telemetry, state and status topics (a gateway on those of the devices assigned to it), within the payload limit; then admission validates the message
// and commits it to the spool, and only then is the publish acknowledged. A refused or invalid message is still
// acknowledged, but rewritten to a topic nobody reads and reported on the device's (or gateway's) errors topic (see broker.ts).
// Stored telemetry and states are not relayed either: nothing subscribes to them (the live view comes from
// admission's per-second summaries), and Aedes' publish path (a packet copy, the emitter, in cluster mode a Redis
// PUBLISH per message) would cost more than admission itself (docs/pitfalls.md). Only the status, which is
// retained for late subscribers, goes on to Aedes.
// This is the hot path: per message it allocates only admission's completion callback.
import type { Aedes, Client, PublishPacket } from 'aedes';
import { DROPPED_TOPIC, parseTopic } from '../common/contract/topics.ts';
import type { DeviceContext } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Problem } from '../common/contract/messages.ts';
import type { Admission } from '../common/admission/admission.ts';
import { errorsTopicOf, publisherFor, senderOf, wrongTopic, type Identities, type Publisher } from './authentication.ts';
import type { ClientLimits } from './limits.ts';
import { SPARKPLUG_PREFIX } from './sparkplug/topic.ts';
import type { SparkplugHost } from './sparkplug/host.ts';

type Callback = Parameters<Aedes['authorizePublish']>[2];

/**
 * Makes Aedes skip its publish path for packets rewritten to DROPPED_TOPIC: after their PUBACK they would only
 * be copied and handed to the emitter for nobody. Every other publish (status, errors, live summaries, control,
 * wills) goes through unchanged.
 */
export function skipUnrelayed(aedes: Aedes): void {
  // Aedes' own handlers call publish(packet, client, done); its typings know only publish(packet, done).
  type Done = (err?: Error) => void;
  const publish = aedes.publish.bind(aedes) as unknown as (packet: PublishPacket, client: Client | Done | null, done?: Done) => void;
  const skipping = (packet: PublishPacket, client: Client | Done | null, done?: Done): void => {
    if (packet.topic !== DROPPED_TOPIC) return publish(packet, client, done);
    const cb = typeof client === 'function' ? client : done;
    if (cb) process.nextTick(cb);
  };
  aedes.publish = skipping as unknown as Aedes['publish'];
}

export class PublishGate {
  /** Publishes of each client that wait for their PUBACK. */
  private readonly inflight = new WeakMap<Client, number>();

  constructor(
    private readonly aedes: Aedes,
    private readonly admission: Admission,
    private readonly identities: Identities,
    private readonly limits: ClientLimits,
    private readonly log: Logger,
    private readonly sparkplug?: SparkplugHost,
  ) {}

  /** Aedes' authorizePublish hook. */
  readonly authorizePublish: Aedes['authorizePublish'] = (client, packet, callback) => {
    if (!client) return callback(null); // the broker's own publishes (error reports, live summaries)
    const id = this.identities.get(client);
    if (!id) return callback(new Error('not authenticated'));
    if (id.kind === 'service') return callback(packet.topic.startsWith('$dh/') ? null : new Error('services publish only on $dh/ topics'));
    if (!this.enter(client, senderOf(id))) return callback(new Error('too many publishes in flight'));
    const topic = packet.topic;
    // A gateway is also a Sparkplug B edge node: its Sparkplug topics go to the host (broker/sparkplug/).
    if (id.kind === 'gateway' && this.sparkplug && topic.startsWith(SPARKPLUG_PREFIX)) return this.sparkplug.publish(id.gateway, packet, DROPPED_TOPIC, (err) => this.leave(client, callback, err));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const parsed = parseTopic(topic);
    // A device for itself, a gateway for one of its devices: one Map lookup.
    const device = parsed && publisherFor(id, parsed);
    if (!parsed || !device) {
      return this.refuse(client, packet, senderOf(id), id, payload, { field: '(topic)', rule: 'topic', message: wrongTopic(id, topic) }, callback);
    }
    if (payload.length > this.limits.maxPayloadBytes) {
      const message = `payload is ${payload.length} bytes; at most ${this.limits.maxPayloadBytes} are accepted: split it into batches`;
      return this.refuse(client, packet, device.ctx, id, payload, { field: '(message)', rule: 'payload-size', message }, callback);
    }
    if (parsed.kind !== 'status') packet.retain = false; // only the status is kept for late subscribers
    this.admission.admit(device, parsed.kind, topic, payload, (err, verdict) => {
      if (err) {
        this.log.error({ err: err.message }, 'spool commit failed: publish not acknowledged, the device will resend');
      } else if (verdict.dropped) {
        this.drop(packet, id, topic, verdict.problems);
      } else {
        if (verdict.problems.length > 0) this.report(id, topic, verdict.problems);
        if (parsed.kind !== 'status') packet.topic = DROPPED_TOPIC;
      }
      this.leave(client, callback, err);
    });
  };

  /** Counts a publish in flight; false when the client is over its limit (the error disconnects it). */
  private enter(client: Client, ctx: DeviceContext): boolean {
    const pending = (this.inflight.get(client) ?? 0) + 1;
    this.inflight.set(client, pending);
    if (pending <= this.limits.maxInflight) return true;
    if (pending === this.limits.maxInflight + 1) this.log.warn({ deviceId: ctx.device.id, limit: this.limits.maxInflight }, 'too many publishes in flight: disconnecting the client');
    return false;
  }

  private leave(client: Client, callback: Callback, err: Error | null): void {
    this.inflight.set(client, (this.inflight.get(client) ?? 1) - 1);
    callback(err);
  }

  /** A publish refused before admission: recorded as a dead letter (against ctx), then acknowledged and dropped. */
  private refuse(client: Client, packet: PublishPacket, ctx: DeviceContext, id: Publisher, payload: Buffer, problem: Problem, callback: Callback): void {
    const topic = packet.topic;
    this.admission.refuse(ctx, topic, payload, problem, (err) => {
      if (!err) this.drop(packet, id, topic, [problem]);
      this.leave(client, callback, err);
    });
  }

  private drop(packet: PublishPacket, id: Publisher, topic: string, problems: readonly Problem[]): void {
    packet.topic = DROPPED_TOPIC;
    packet.retain = false;
    this.report(id, topic, problems);
  }

  /** Tells the device (or gateway) what was wrong, on its errors topic (the only topic it may subscribe to). */
  private report(id: Publisher, topic: string, problems: readonly Problem[]): void {
    const payload = JSON.stringify({ ts: Date.now(), topic, problems });
    this.aedes.publish({ cmd: 'publish', topic: errorsTopicOf(id), payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {});
  }
}
