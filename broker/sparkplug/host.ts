// The broker as a Sparkplug B 3.0 Primary Host Application. An edge node is a gateway of a firm (group id = firm
// id, edge node id = gateway id, device ids = the gateway's platform devices). Births define metric names and
// aliases; device births and data become contract messages and pass the same admission as JSON (acknowledged
// only once durable); NDEATH (matched by connection and bdSeq) and DDEATH take devices offline; a seq gap, an unknown alias or
// data before its birth is answered with a rebirth request (NCMD Node Control/Rebirth), at most one per node per
// rebirthIntervalMs, and the message is still acknowledged. Node-level metrics are not kept (no platform device).
import type { Aedes, PublishPacket } from 'aedes';
import type { Problem } from '../../common/contract/messages.ts';
import type { Admission, AdmissionDevice } from '../../common/admission/admission.ts';
import type { Logger } from '../../common/log.ts';
import type { DeviceContext, Registry } from '../../common/registry/registry.ts';
import { topicFor } from '../../common/contract/topics.ts';
import type { SparkplugMappingTable } from '../../common/contract/sparkplug-mapping.ts';
import { admitParts, type ContractPart } from './admit.ts';
import { HostState } from './host-state.ts';
import { bdSeqOf, decodeSparkplug, keptText, rebirthRequest, type SparkplugPayload } from './payload.ts';
import { EdgeNodeSession } from './session.ts';
import { ncmdTopic, parseSparkplugTopic, type SparkplugTopic } from './topic.ts';
import { toContract } from './translate.ts';

export { DEFAULT_HOST_ID } from './host-state.ts';

export const SEQUENCE_RULE = 'sparkplug-sequence';
export const PAYLOAD_RULE = 'sparkplug-payload';

/** An authenticated edge node: what the broker knows of the gateway it logged in as (its identity). */
export interface EdgeNode {
  ctx: { gateway: { id: string; firmId: string } };
  /** Admission's view of each device the gateway may publish for, by device id. */
  devices: ReadonlyMap<string, AdmissionDevice>;
  /** The gateway in the place of a device: what a rejection of no device of its own is recorded against. */
  self: DeviceContext;
}

export interface SparkplugHostOptions {
  aedes: Aedes;
  admission: Admission;
  registry: Pick<Registry, 'getGateway' | 'setOnline'>;
  log: Logger;
  hostId: string;
  maxPayloadBytes: number;
  /** At most one rebirth request per edge node within this time. */
  rebirthIntervalMs?: number;
  /** How long a gateway's mappings are used before they are read from the registry again. */
  mappingsTtlMs?: number;
  /**
   * The retained STATE is shared with other brokers (cluster mode): one broker stopping must not say the host is
   * offline while the others serve on, so only online is published.
   */
  sharedState?: boolean;
}

type Done = (err: Error | null) => void;

export class SparkplugHost {
  readonly state: HostState;
  private readonly sessions = new Map<string, EdgeNodeSession>();
  private readonly mappings = new Map<string, { at: number; table: Promise<SparkplugMappingTable> }>();
  private readonly rebirthIntervalMs: number;
  private readonly mappingsTtlMs: number;

  constructor(private readonly opts: SparkplugHostOptions) {
    this.state = new HostState(opts.aedes, opts.hostId);
    this.rebirthIntervalMs = opts.rebirthIntervalMs ?? 5000;
    this.mappingsTtlMs = opts.mappingsTtlMs ?? 5000;
  }

  /**
   * One publish of an edge node on a Sparkplug topic. `done` runs once what it carried is durable (at once when
   * there is nothing to keep); the packet is rewritten to `dropTopic` so Aedes relays none of it.
   */
  publish(node: EdgeNode, packet: PublishPacket, dropTopic: string, done: Done): void {
    const raw = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const topic = packet.topic;
    packet.topic = dropTopic;
    packet.retain = false;
    const t = parseSparkplugTopic(topic);
    const device = t?.deviceId === undefined ? undefined : node.devices.get(t.deviceId);
    const wrong = this.topicProblem(node, t, topic, device);
    if (wrong || !t) return this.reject(node, device, topic, keptText(raw), wrong ?? { field: '(topic)', rule: 'topic', message: `"${topic}" is not a Sparkplug topic` }, done);
    if (raw.length > this.opts.maxPayloadBytes) {
      const message = `payload is ${raw.length} bytes; at most ${this.opts.maxPayloadBytes} are accepted`;
      return this.reject(node, device, topic, keptText(raw.subarray(0, 1024)), { field: '(message)', rule: 'payload-size', message }, done);
    }
    let payload: SparkplugPayload;
    try {
      payload = decodeSparkplug(raw);
    } catch (err) {
      if (t.type !== 'NDEATH') this.requestRebirth(node, 'undecodable payload');
      const message = `not a Sparkplug B payload (${(err as Error).message})`;
      return this.reject(node, device, topic, keptText(raw), { field: '(message)', rule: PAYLOAD_RULE, message }, done);
    }
    this.handle(node, t, topic, raw, payload, device, done);
  }

  /** Publishes the host's online STATE (at start, after Aedes listens). */
  start(): Promise<void> {
    return this.state.online();
  }

  close(): Promise<void> {
    return this.opts.sharedState ? Promise.resolve() : this.state.offline();
  }

  private handle(node: EdgeNode, t: SparkplugTopic, topic: string, raw: Buffer, payload: SparkplugPayload, device: AdmissionDevice | undefined, done: Done): void {
    const session = this.sessionOf(node.ctx.gateway.id);
    if (t.type === 'NBIRTH') {
      session.nbirth(node, bdSeqOf(payload), payload.seq, payload.metrics);
      this.mappings.delete(node.ctx.gateway.id); // a birth reads the engineer's latest mappings
      this.opts.log.info({ gatewayId: node.ctx.gateway.id, bdSeq: session.bdSeq }, 'Sparkplug edge node born');
      return done(null);
    }
    if (t.type === 'NDEATH') {
      if (session.ndeath(node, bdSeqOf(payload))) this.offline(node, [...node.devices.keys()]);
      return done(null);
    }
    if (!session.bornOn(node)) {
      this.requestRebirth(node, `${t.type} before NBIRTH`);
      return this.rejectOutOfSequence(node, device, topic, keptText(raw, payload), `${t.type} before the edge node's NBIRTH: a rebirth was requested`, done);
    }
    const seq = session.checkSeq(payload.seq);
    if (seq === 'gap') this.requestRebirth(node, `seq ${payload.seq ?? 'missing'}: a message was lost`);
    if (t.type === 'NDATA') {
      if (session.resolve(undefined, payload.metrics).unknownAliases.length > 0) this.requestRebirth(node, 'unknown alias in NDATA');
      return done(null);
    }
    const deviceId = t.deviceId!;
    if (t.type === 'DDEATH') {
      session.ddeath(deviceId);
      this.offline(node, [deviceId]);
      return done(null);
    }
    if (t.type === 'DBIRTH') {
      session.dbirth(deviceId, payload.metrics);
      this.setOnline(deviceId, true);
    } else if (!session.isBorn(deviceId)) {
      this.requestRebirth(node, `DDATA of ${deviceId} before its DBIRTH`);
      return this.rejectOutOfSequence(node, device, topic, keptText(raw, payload), `DDATA of ${deviceId} before its DBIRTH: a rebirth was requested`, done);
    }
    this.admitDevice(node, session, device!, topic, raw, payload, seq === 'repeat', t.type === 'DBIRTH', done);
  }

  /** A DBIRTH's or DDATA's metrics, named from the birth, mapped and admitted as contract messages. */
  private admitDevice(node: EdgeNode, session: EdgeNodeSession, d: AdmissionDevice, topic: string, raw: Buffer, payload: SparkplugPayload, repeat: boolean, birth: boolean, done: Done): void {
    const deviceId = d.ctx.device.id;
    const resolved = session.resolve(deviceId, payload.metrics);
    const { unknownAliases } = resolved;
    const now = Date.now();
    const metrics = session.take(deviceId, resolved.metrics, payload.timestamp ?? now, birth);
    const problems: Problem[] = [];
    if (unknownAliases.length > 0) {
      this.requestRebirth(node, `unknown alias ${unknownAliases.join(', ')} of ${deviceId}`);
      problems.push({ field: '(message)', rule: SEQUENCE_RULE, message: `alias ${unknownAliases.join(', ')} was not defined by ${deviceId}'s DBIRTH: those metrics are not kept; a rebirth was requested` });
    }
    this.mappingsOf(node.ctx.gateway.id).then((mappings) => {
      const out = toContract({
        deviceType: d.ctx.device.type, gatewayId: node.ctx.gateway.id, metrics, payloadTs: payload.timestamp, now, mappings,
        seq: (count) => session.takePointSeq(deviceId, count, repeat),
      });
      const parts: ContractPart[] = [...out.telemetry.map((p) => ({ kind: 'telemetry' as const, payload: p })), ...out.states.map((p) => ({ kind: 'state' as const, payload: p }))];
      const all = [...problems, ...out.problems];
      // The Sparkplug problems are kept with the decoded payload (JSON); made only when there are some.
      admitParts(this.opts.admission, d, topic, all.length > 0 ? keptText(raw, payload) : raw, parts, all, (err, reported) => {
        if (err) this.opts.log.error({ err: err.message }, 'spool commit failed: Sparkplug publish not acknowledged, the edge node will resend');
        else if (reported.length > 0) this.report(node, topic, reported);
        done(err);
      });
    }, done);
  }

  /** Why the edge node may not publish on this topic, or undefined when it may. */
  private topicProblem(node: EdgeNode, t: SparkplugTopic | undefined, topic: string, device: AdmissionDevice | undefined): Problem | undefined {
    const expected = `spBv1.0/${node.ctx.gateway.firmId}/{NBIRTH|NDATA|NDEATH}/${node.ctx.gateway.id} or spBv1.0/${node.ctx.gateway.firmId}/{DBIRTH|DDATA|DDEATH}/${node.ctx.gateway.id}/{device id}`;
    let why: string | undefined;
    if (!t) why = `"${topic}" is not a Sparkplug B edge node or device topic`;
    else if (t.groupId !== node.ctx.gateway.firmId) why = `group id "${t.groupId}" must be the firm id ${node.ctx.gateway.firmId}`;
    else if (t.edgeNodeId !== node.ctx.gateway.id) why = `edge node id "${t.edgeNodeId}" must be the gateway id ${node.ctx.gateway.id}`;
    else if (t.type === 'NCMD' || t.type === 'DCMD') why = 'commands are published by the host, not by an edge node';
    else if (t.deviceId !== undefined && !device) why = `device "${t.deviceId}" is not one of gateway ${node.ctx.gateway.id}'s devices`;
    return why === undefined ? undefined : { field: '(topic)', rule: 'topic', message: `${why}: publish on ${expected}` };
  }

  private rejectOutOfSequence(node: EdgeNode, device: AdmissionDevice | undefined, topic: string, kept: Buffer, message: string, done: Done): void {
    this.reject(node, device, topic, kept, { field: '(message)', rule: SEQUENCE_RULE, message }, done);
  }

  /** A rejection, kept as a dead letter of the device (of the gateway itself when the message is no device's); acknowledged. */
  private reject(node: EdgeNode, device: AdmissionDevice | undefined, topic: string, kept: Buffer, problem: Problem, done: Done): void {
    this.opts.admission.refuse(device?.ctx ?? node.self, topic, kept, problem, (err) => {
      if (!err) this.report(node, topic, [problem]);
      done(err);
    });
  }

  private requestRebirth(node: EdgeNode, reason: string): void {
    const now = Date.now();
    if (!this.sessionOf(node.ctx.gateway.id).mayRequestRebirth(now, this.rebirthIntervalMs)) return;
    this.opts.log.info({ gatewayId: node.ctx.gateway.id, reason }, 'Sparkplug rebirth requested');
    this.opts.aedes.publish({ cmd: 'publish', topic: ncmdTopic(node.ctx.gateway.firmId, node.ctx.gateway.id), payload: rebirthRequest(now), qos: 0, retain: false, dup: false }, () => {});
  }

  private offline(node: EdgeNode, deviceIds: readonly string[]): void {
    this.opts.log.info({ gatewayId: node.ctx.gateway.id, deviceIds }, 'Sparkplug devices offline');
    for (const id of deviceIds) this.setOnline(id, false);
  }

  private setOnline(deviceId: string, online: boolean): void {
    this.opts.registry.setOnline(deviceId, online, Date.now()).catch((err: Error) => this.opts.log.error({ err, deviceId }, 'could not record online/offline'));
  }

  private sessionOf(gatewayId: string): EdgeNodeSession {
    let s = this.sessions.get(gatewayId);
    if (!s) this.sessions.set(gatewayId, (s = new EdgeNodeSession()));
    return s;
  }

  /** The gateway's mappings, read at most once per mappingsTtlMs (an engineer's change applies within it). */
  private mappingsOf(gatewayId: string): Promise<SparkplugMappingTable> {
    const now = Date.now();
    const hit = this.mappings.get(gatewayId);
    if (hit && now - hit.at < this.mappingsTtlMs) return hit.table;
    const previous = hit?.table ?? Promise.resolve({});
    const table = this.opts.registry.getGateway(gatewayId).then((g) => g?.sparkplugMappings ?? {}, (err: Error) => {
      this.opts.log.warn({ err: err.message, gatewayId }, 'could not read the Sparkplug mappings; using the last known');
      return previous;
    });
    this.mappings.set(gatewayId, { at: now, table });
    return table;
  }

  /** Tells the gateway's errors topic what was wrong (as for its JSON publishes). */
  private report(node: EdgeNode, topic: string, problems: readonly Problem[]): void {
    const payload = Buffer.from(JSON.stringify({ ts: Date.now(), topic, problems }));
    this.opts.aedes.publish({ cmd: 'publish', topic: topicFor(node.self.firm.id, node.self.device.id, 'errors'), payload, qos: 0, retain: false, dup: false }, () => {});
  }
}
