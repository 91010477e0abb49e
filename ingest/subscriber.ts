// The second front-end of the ingest pipeline (docs/architecture.md): for deployments that keep an existing broker
// (Mosquitto, EMQX), a standalone MQTT subscriber does what the broker's admission hook does in ours.
//
// - MQTT.js with a stable clientId and clean:false, QoS1: the broker keeps our session, and what we did not
//   acknowledge is delivered again after a crash (to us, or to another member of a `$share` group).
// - manualConnect: handleMessage is installed before connect(), so the backlog that streams in right after
//   CONNACK is handled by it. We subscribe only when CONNACK says sessionPresent=false: a resumed session keeps
//   its subscriptions, and MQTT.js would not restore them for a new process anyway.
// - handleMessage resolves the device from the topic dh/v1/{firmId}/{deviceId}/{kind} through the registry (no
//   device authentication here: the existing broker did that), admits the message (validation, line protocol),
//   and calls back, which is what sends the PUBACK, only after the spool commit holds the outcome: accepted
//   points in the spool, rejections in the dead-letter store. Nothing is ever waited on InfluxDB here.
//
// Commit policy: the same Admission class as the broker (common/admission/admission.ts), i.e. group commit on the next
// turn of the event loop. MQTT.js handles one message at a time per connection, so one connection commits one
// message per transaction (the per-message cost: one fsync); SUBSCRIBER_CONNECTIONS > 1 opens several members of
// the same `$share` group in this process, whose messages join one commit. Reusing Admission keeps dead letters,
// per-minute caps, rejection counts, sequence tracking and the spool cap (backpressure: no PUBACK while the spool
// is full) identical to the broker's path, instead of a second copy of them.
import mqtt from 'mqtt';
import type { IPublishPacket } from 'mqtt';
import { Admission, type AdmissionDevice, type AdmissionOptions, type SyncSpool } from '../common/admission/admission.ts';
import type { AdmitLimits } from '../common/contract/admit.ts';
import { tagSet } from '../common/contract/line-protocol.ts';
import { parseTopic } from '../common/contract/topics.ts';
import type { Problem } from '../common/contract/messages.ts';
import type { Registry } from '../common/registry/registry.ts';
import { truncatePayload } from '../common/spool/spool.ts';
import { localDate } from '../common/time.ts';
import type { Logger } from '../common/log.ts';

export const DEFAULT_SUBSCRIBER_TOPICS = ['dh/v1/+/+/telemetry', 'dh/v1/+/+/state', 'dh/v1/+/+/status'];

/** `$share/<group>/<filter>` for every filter (Mosquitto ≥ 1.6, EMQX, HiveMQ; never Aedes, docs/pitfalls.md). */
export function shareTopics(group: string | undefined, topics: readonly string[]): string[] {
  if (!group) return [...topics];
  if (!/^[^/+#$]+$/.test(group)) throw new Error(`share group "${group}" must not contain "/", "+", "#" or "$"`);
  return topics.map((t) => (t.startsWith('$share/') ? t : `$share/${group}/${t}`));
}

export interface SubscriberOptions {
  url: string;
  /** Stable across restarts: the broker keeps this session's queue. With connections > 1, `<clientId>-<n>`. */
  clientId: string;
  /** MQTT connections in this process (members of the same `$share` group); > 1 requires `$share` filters. */
  connections?: number;
  topics: readonly string[];
  username?: string;
  password?: string;
  registry: Registry;
  spool: SyncSpool;
  limits: AdmitLimits;
  admission?: AdmissionOptions;
  log: Logger;
  /** How long a device looked up in the registry is trusted (negative answers: a tenth of it). */
  deviceCacheMs?: number;
  seenFlushMs?: number;
  reconnectPeriodMs?: number;
  /** Dead letters kept per minute for messages on topics that name no known device. */
  unroutedPerMinute?: number;
}

export interface SubscriberStats {
  received: number;
  acked: number;
  /** Messages whose topic names no registered device (or is not a contract topic): dead-lettered and acked. */
  unrouted: number;
  /** Commit or registry failures: no PUBACK, the connection is restarted so the broker redelivers. */
  failures: number;
  connects: number;
  resumedSessions: number;
}

export interface Subscriber {
  admission: Admission;
  stats: SubscriberStats;
  clients: readonly mqtt.MqttClient[];
  /** Resolves when every connection has its session (resumed, or fresh and subscribed). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startSubscriber(opts: SubscriberOptions): Subscriber {
  const connections = checkConnections(opts);
  const admission = new Admission(opts.spool, opts.limits, opts.admission);
  const stats: SubscriberStats = { received: 0, acked: 0, unrouted: 0, failures: 0, connects: 0, resumedSessions: 0 };
  const handle = messageHandler(opts, admission, stats);
  let closing = false;
  const opened = Array.from({ length: connections }, (_, i) => {
    const clientId = connections === 1 ? opts.clientId : `${opts.clientId}-${i + 1}`;
    return openConnection(opts, clientId, handle, stats, () => closing);
  });
  const clients = opened.map((o) => o.client);
  const seenTimer = setInterval(() => {
    const updates = admission.drainSeen();
    if (updates.length > 0) opts.registry.markSeen(updates).catch((err: Error) => opts.log.error({ err: err.message }, 'could not record last-seen times'));
  }, opts.seenFlushMs ?? 2000);
  seenTimer.unref();

  const ready = Promise.all(opened.map((o) => o.ready)).then(() => undefined);
  ready.catch(() => {});
  return {
    admission, stats, clients, ready,
    async close() {
      closing = true;
      clearInterval(seenTimer);
      // Stop taking messages first; what is pending is committed and acked before the connections close.
      await admission.flushNow();
      await Promise.all(clients.map((c) => c.endAsync()));
      admission.close();
      const updates = admission.drainSeen();
      if (updates.length > 0) await opts.registry.markSeen(updates);
    },
  };
}

/** The number of connections to open, after refusing options that could not work. */
function checkConnections(opts: SubscriberOptions): number {
  const connections = opts.connections ?? 1;
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`connections must be a whole number ≥ 1, got ${connections}`);
  if (connections > 1 && opts.topics.some((t) => !t.startsWith('$share/'))) {
    throw new Error('several connections need $share/<group>/ topic filters, or every connection would receive every message');
  }
  if (opts.topics.length === 0) throw new Error('no topics to subscribe to');
  return connections;
}

type Handle = (packet: IPublishPacket) => Promise<void>;

/** Decode the topic, resolve its device, and admit (or dead-letter) the message; resolves once the spool holds it. */
function messageHandler(opts: SubscriberOptions, admission: Admission, stats: SubscriberStats): Handle {
  const lookup = deviceLookup(opts.registry, opts.deviceCacheMs ?? 60_000);
  const unrouted = unroutedRecorder(opts.spool, opts.unroutedPerMinute ?? 60, stats);
  return async (packet) => {
    const topic = packet.topic;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const parsed = parseTopic(topic);
    if (!parsed) {
      await unrouted(topic, payload, '', '', { field: '(topic)', rule: 'topic', message: `"${topic}" is not a contract topic: publish on dh/v1/{firmId}/{deviceId}/{telemetry|state|status}` });
      return;
    }
    const device = await lookup(parsed.deviceId);
    if (!device) {
      await unrouted(topic, payload, parsed.firmId, parsed.deviceId, { field: '(topic)', rule: 'unknown-device', message: `device "${parsed.deviceId}" is not registered on the platform: provision it before it publishes` });
      return;
    }
    const { ctx } = device;
    if (ctx.firm.id !== parsed.firmId) {
      const problem: Problem = { field: '(topic)', rule: 'topic', message: `device ${ctx.device.id} belongs to firm ${ctx.firm.id}: publish on dh/v1/${ctx.firm.id}/${ctx.device.id}/${parsed.kind}` };
      await committed((done) => admission.refuse(ctx, topic, payload, problem, done));
      return;
    }
    await committed((done) => admission.admit(device, parsed.kind, topic, payload, done));
  };
}

/** Admission reports the spool commit through a callback; this turns it into a promise. */
function committed(run: (done: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => run((err) => (err ? reject(err) : resolve())));
}

interface CacheEntry {
  device: AdmissionDevice | undefined;
  expires: number;
}

/** Registry lookups of a device and its firm, cached for `cacheMs` (unknown devices for a tenth of it). */
function deviceLookup(registry: Registry, cacheMs: number): (deviceId: string) => Promise<AdmissionDevice | undefined> {
  const cache = new Map<string, CacheEntry>();
  return async (deviceId) => {
    const now = Date.now();
    const hit = cache.get(deviceId);
    if (hit && hit.expires > now) return hit.device;
    const d = await registry.getDevice(deviceId);
    const f = d ? await registry.getFirm(d.firmId) : undefined;
    const device = d && f
      ? { ctx: { device: d, firm: f }, tags: tagSet({ firmId: f.id, deviceId: d.id, type: d.type, county: f.county, park: f.park, segment: f.segment }) }
      : undefined;
    cache.set(deviceId, { device, expires: now + (device ? cacheMs : Math.ceil(cacheMs / 10)) });
    if (cache.size > 200_000) cache.clear();
    return device;
  };
}

type Unrouted = (topic: string, payload: Buffer, firmId: string, deviceId: string, problem: Problem) => Promise<void>;

/** A message that names no known device: kept as a dead letter (capped per minute, always counted), then acknowledged. */
function unroutedRecorder(spool: SyncSpool, perMinute: number, stats: SubscriberStats): Unrouted {
  let minuteNow = 0;
  let kept = 0;
  return async (topic, payload, firmId, deviceId, problem) => {
    stats.unrouted++;
    const now = Date.now();
    const minute = Math.floor(now / 60_000);
    if (minute !== minuteNow) { minuteNow = minute; kept = 0; }
    const count = { day: localDate(now), firmId, deviceId, rule: problem.rule, count: 1 };
    if (kept++ >= perMinute) {
      await spool.appendBatch([], [], [count]);
      return;
    }
    await spool.appendBatch([], [{ receivedAt: now, firmId, deviceId, topic, field: problem.field, rule: problem.rule, reason: problem.message, payload: truncatePayload(payload) }], [count]);
  };
}

/** One MQTT connection with `handle` installed before it connects; `ready` settles on its first session. */
function openConnection(opts: SubscriberOptions, clientId: string, handle: Handle, stats: SubscriberStats, closing: () => boolean): { client: mqtt.MqttClient; ready: Promise<void> } {
  const { log } = opts;
  const client = mqtt.connect(opts.url, {
    manualConnect: true,
    clientId,
    clean: false,
    resubscribe: false, // we subscribe ourselves, only when the broker did not keep the session
    protocolVersion: 4,
    reconnectPeriod: opts.reconnectPeriodMs ?? 1000,
    connectTimeout: 10_000,
    keepalive: 30,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
  });
  // Called by MQTT.js for each PUBLISH, one at a time per connection; the callback sends the PUBACK.
  client.handleMessage = (packet, callback) => {
    stats.received++;
    handle(packet as IPublishPacket).then(() => {
      stats.acked++;
      callback();
    }, (err: Error) => {
      stats.failures++;
      log.error({ err: err.message, clientId, topic: packet.topic }, 'message not recorded: no PUBACK; reconnecting so the broker delivers it again');
      callback(err);
      // Without a reconnect the broker would not resend it (MQTT 3.1.1 redelivers on session resumption).
      if (!closing()) client.stream.destroy();
    });
  };
  const ready = new Promise<void>((resolve, reject) => {
    client.on('connect', (connack) => {
      stats.connects++;
      if (connack.sessionPresent) {
        stats.resumedSessions++;
        log.info({ clientId }, 'session resumed: subscriptions kept by the broker, backlog follows');
        resolve();
        return;
      }
      subscribeFresh(client, clientId, opts).then(resolve, reject);
    });
  });
  client.on('error', (err) => log.warn({ err: err.message, clientId }, 'MQTT connection error'));
  client.on('offline', () => { if (!closing()) log.warn({ clientId }, 'MQTT connection lost; reconnecting'); });
  client.connect();
  return { client, ready };
}

/** A new session (CONNACK without sessionPresent): subscribe to every filter at QoS 1; refused filters fail. */
function subscribeFresh(client: mqtt.MqttClient, clientId: string, opts: SubscriberOptions): Promise<void> {
  const { log } = opts;
  return new Promise<void>((resolve, reject) => {
    client.subscribe([...opts.topics], { qos: 1 }, (err, granted) => {
      if (err) { log.error({ err: err.message, clientId }, 'subscribe failed'); reject(err); return; }
      const refused = (granted ?? []).filter((g) => g.qos !== 0 && g.qos !== 1 && g.qos !== 2);
      if (refused.length > 0) {
        const e = new Error(`broker refused the subscriptions ${refused.map((g) => g.topic).join(', ')}`);
        log.error({ clientId }, e.message);
        reject(e);
        return;
      }
      log.info({ clientId, topics: opts.topics }, 'new session: subscribed');
      resolve();
    });
  });
}
