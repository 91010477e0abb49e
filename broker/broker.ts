// The MQTT broker: Aedes with our hooks. authenticate = device id + token against the registry (clientId must
// be the device id); authorizePublish = topic check + admission (validate, group-commit into the spool) before
// the PUBACK; rejected publishes are acked and dropped and reported on the device's errors topic, because
// refusing a QoS1 publish makes MQTT.js resend it forever (docs/pitfalls.md). The same hooks serve every transport
// (TCP, TLS, and WebSocket through the API's bridge).
import net from 'node:net';
import tls from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { CONTROL_TOPIC, DEVICE_PUBLISH_KINDS, DROPPED_TOPIC, LIVE_TOPIC, parseTopic, topicFor } from '../common/contract/topics.ts';
import { tagSet } from '../common/contract/line-protocol.ts';
import { sha256 } from '../common/ids.ts';
import { WindowCounter } from './rate.ts';
import type { DeviceContext, Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Problem } from '../common/contract/messages.ts';
import type { ControlMessage } from '../common/contract/control.ts';
import { Admission, type AdmissionDevice, type AdmissionOptions, type SyncSpool } from '../common/admission/admission.ts';

// Aedes' AuthErrorCode is an ambient const enum: use the numbers (docs/pitfalls.md).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
/** Usernames of the platform's own services (the API's live feed); their password is the service secret. */
export const SERVICE_USER_PREFIX = 'svc:';

type Identity = { kind: 'device'; device: AdmissionDevice; fingerprint: string } | { kind: 'service'; name: string };

export interface ClientLimits {
  maxPayloadBytes: number;
  maxTopicLevels: number;
  /** Publishes of one client waiting for their PUBACK; beyond it the client is disconnected. */
  maxInflight: number;
  connectsPerMinute: number;
  authFailuresPerMinute: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { maxPayloadBytes: 256 * 1024, maxTopicLevels: 8, maxInflight: 1000, connectsPerMinute: 600, authFailuresPerMinute: 20 };

export interface BrokerOptions {
  registry: Registry;
  spool: SyncSpool;
  serviceSecret: string;
  limits: { maxClockAheadMs: number; maxAgeMs: number };
  clientLimits?: Partial<ClientLimits>;
  admission?: AdmissionOptions;
  log: Logger;
  /** How long a verified device credential is trusted without asking the registry again. */
  authCacheMs?: number;
  seenFlushMs?: number;
  /**
   * Cluster mode (broker/cluster.ts): a shared emitter (mqemitter-redis), a shared persistence
   * (aedes-persistence-redis), this broker's unique id, and a heartbeat short enough that another node
   * publishes the wills of a dead node's devices soon. Absent = embedded, in memory, one process.
   */
  cluster?: { mq: unknown; persistence: unknown; id: string; heartbeatIntervalMs?: number };
}

export interface DehongBroker {
  aedes: Aedes;
  admission: Admission;
  listen(port: number, host?: string): Promise<net.Server>;
  listenTls(port: number, host: string, key: Buffer, cert: Buffer): Promise<tls.Server>;
  connectedDevices(): number;
  /** Closes a device's connection and forgets its cached credential (after rotation or deletion). */
  disconnectDevice(deviceId: string, reason: string): void;
  close(): Promise<void>;
}

function authError(message: string, code: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Aedes keeps connected clients by id at run time; its types do not say so. */
function clientsOf(a: Aedes): Record<string, Client | undefined> {
  return (a as unknown as { clients: Record<string, Client | undefined> }).clients;
}

function addressOf(client: Client): string {
  const conn = client.conn as { remoteAddress?: string } | undefined;
  return conn?.remoteAddress ?? 'unknown';
}

export async function createBroker(opts: BrokerOptions): Promise<DehongBroker> {
  const { registry, log } = opts;
  const limits = { ...DEFAULT_CLIENT_LIMITS, ...opts.clientLimits };
  const identities = new WeakMap<Client, Identity>();
  const inflight = new WeakMap<Client, number>();
  const authCache = new Map<string, { ctx: DeviceContext; expires: number; deviceId: string }>();
  const cacheMs = opts.authCacheMs ?? 5 * 60_000;
  const admission = new Admission(opts.spool, opts.limits, opts.admission);
  const connects = new WindowCounter(limits.connectsPerMinute);
  const authFailures = new WindowCounter(limits.authFailuresPerMinute);
  const servers: net.Server[] = [];
  let devicesOnline = 0;

  async function verify(deviceId: string, token: string): Promise<DeviceContext | undefined> {
    const key = sha256(`${deviceId}\0${token}`);
    const hit = authCache.get(key);
    if (hit && hit.expires > Date.now()) return hit.ctx;
    const ctx = await registry.verifyDevice(deviceId, token);
    if (ctx) authCache.set(key, { ctx, expires: Date.now() + cacheMs, deviceId });
    return ctx;
  }

  function failedAuth(client: Client, username: string, why: string, code: number, done: (e: AuthenticateError, ok: boolean) => void): void {
    const addr = addressOf(client);
    const hit = authFailures.hit(addr);
    if (!hit.over) log.warn({ deviceId: username, address: addr }, `refused: ${why}`);
    else if (hit.first) log.warn({ address: addr, limit: limits.authFailuresPerMinute }, 'too many failed authentications from this address: further attempts this minute are refused without checking');
    done(authError(why, code), false);
  }

  function reportProblems(ctx: DeviceContext, topic: string, problems: readonly Problem[]): void {
    const payload = JSON.stringify({ ts: Date.now(), topic, problems });
    aedes.publish({ cmd: 'publish', topic: topicFor(ctx.firm.id, ctx.device.id, 'errors'), payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {});
  }

  function disconnectDevice(deviceId: string, reason: string): void {
    for (const [key, entry] of authCache) if (entry.deviceId === deviceId) authCache.delete(key);
    admission.forget(deviceId);
    const client = clientsOf(aedes)[deviceId];
    if (client) {
      log.info({ deviceId, reason }, 'closing device connection');
      client.close();
    }
  }

  const aedes = await Aedes.createBroker({
    ...(opts.cluster ? { mq: opts.cluster.mq, persistence: opts.cluster.persistence, id: opts.cluster.id, heartbeatInterval: opts.cluster.heartbeatIntervalMs ?? 60_000 } : {}),
    maxClientsIdLength: 64,
    maxTopicLevels: limits.maxTopicLevels,
    preConnect(client, _packet, callback) {
      const addr = addressOf(client);
      if (authFailures.isOver(addr)) return callback(new Error('too many failed authentications'), false);
      const hit = connects.hit(addr);
      if (hit.over) {
        if (hit.first) log.warn({ address: addr, limit: limits.connectsPerMinute }, 'too many connection attempts from this address: refusing the rest of this minute');
        return callback(new Error('too many connection attempts'), false);
      }
      callback(null, true);
    },

    authenticate(client, username, password, done) {
      if (!username || !password) return failedAuth(client, username ?? '', 'username (device id) and password (device token) are required', BAD_USERNAME_OR_PASSWORD, done);
      if (username.startsWith(SERVICE_USER_PREFIX)) {
        if (!secretEquals(password.toString('utf8'), opts.serviceSecret)) return failedAuth(client, username, 'bad service credentials', BAD_USERNAME_OR_PASSWORD, done);
        identities.set(client, { kind: 'service', name: username });
        return done(null, true);
      }
      if (client.id !== username) return failedAuth(client, username, `clientId "${client.id}" must equal the device id`, NOT_AUTHORIZED, done);
      const token = password.toString('utf8');
      verify(username, token).then((ctx) => {
        if (!ctx) return failedAuth(client, username, 'unknown device or wrong token', BAD_USERNAME_OR_PASSWORD, done);
        const fingerprint = sha256(token);
        const existing = clientsOf(aedes)[username];
        const existingId = existing ? identities.get(existing) : undefined;
        // A second connection with the same id takes the session over only with the same credential (a device
        // reconnecting over a half-open socket); anything else is refused rather than kicking the device off.
        if (existingId?.kind === 'device' && existingId.fingerprint !== fingerprint) {
          return failedAuth(client, username, 'this device is already connected with another credential', IDENTIFIER_REJECTED, done);
        }
        const f = ctx.firm;
        identities.set(client, {
          kind: 'device', fingerprint,
          device: { ctx, tags: tagSet({ firmId: f.id, deviceId: ctx.device.id, type: ctx.device.type, county: f.county, park: f.park, segment: f.segment }) },
        });
        admission.markSeen(username);
        done(null, true);
      }, (err: Error) => {
        log.error({ err }, 'registry error during authentication');
        done(authError('registry unavailable', SERVER_UNAVAILABLE), false);
      });
    },

    authorizePublish(client, packet: PublishPacket, callback) {
      if (!client) return callback(null); // the broker's own publishes (error reports, live summaries)
      const id = identities.get(client);
      if (!id) return callback(new Error('not authenticated'));
      if (id.kind === 'service') return callback(packet.topic.startsWith('$dh/') ? null : new Error('services publish only on $dh/ topics'));
      const { ctx } = id.device;
      const topic = packet.topic;
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const pending = (inflight.get(client) ?? 0) + 1;
      if (pending > limits.maxInflight) {
        if (pending === limits.maxInflight + 1) log.warn({ deviceId: ctx.device.id, limit: limits.maxInflight }, 'too many publishes in flight: disconnecting the client');
        inflight.set(client, pending);
        return callback(new Error('too many publishes in flight'));
      }
      inflight.set(client, pending);
      const finish = (err: Error | null) => {
        inflight.set(client, (inflight.get(client) ?? 1) - 1);
        callback(err);
      };
      const drop = (problems: readonly Problem[]) => {
        packet.topic = DROPPED_TOPIC;
        packet.retain = false;
        reportProblems(ctx, topic, problems);
      };
      const parsed = parseTopic(topic);
      const own = parsed && parsed.firmId === ctx.firm.id && parsed.deviceId === ctx.device.id && DEVICE_PUBLISH_KINDS.includes(parsed.kind);
      let refusal: Problem | undefined;
      if (!parsed || !own) {
        refusal = { field: '(topic)', rule: 'topic', message: `device ${ctx.device.id} may not publish on "${topic}": publish on dh/v1/${ctx.firm.id}/${ctx.device.id}/{telemetry|state|status}` };
      } else if (payload.length > limits.maxPayloadBytes) {
        refusal = { field: '(message)', rule: 'payload-size', message: `payload is ${payload.length} bytes; at most ${limits.maxPayloadBytes} are accepted: split it into batches` };
      }
      if (refusal) {
        const problem = refusal;
        admission.refuse(ctx, topic, payload, problem, (err) => {
          if (!err) drop([problem]);
          finish(err);
        });
        return;
      }
      if (parsed!.kind !== 'status') packet.retain = false; // only the status is kept for late subscribers
      admission.admit(id.device, parsed!.kind, topic, payload, (err, verdict) => {
        if (err) {
          log.error({ err: err.message }, 'spool commit failed: publish not acknowledged, the device will resend');
        } else {
          if (verdict.dropped) drop(verdict.problems);
          else if (verdict.problems.length > 0) reportProblems(ctx, topic, verdict.problems);
        }
        finish(err);
      });
    },

    authorizeSubscribe(client, sub: Subscription, callback) {
      const id = identities.get(client);
      if (id?.kind === 'service') return callback(null, sub.topic.startsWith('$dh/') || sub.topic.startsWith('dh/') ? sub : null);
      if (id?.kind === 'device') {
        const { ctx } = id.device;
        if (sub.topic === topicFor(ctx.firm.id, ctx.device.id, 'errors')) return callback(null, sub);
      }
      log.info({ clientId: client.id, topic: sub.topic }, 'subscription refused');
      callback(null, null); // SUBACK 0x80, connection stays
    },
  });

  aedes.on('client', (client) => {
    const id = identities.get(client);
    if (id?.kind !== 'device') return;
    devicesOnline++;
    registry.setOnline(id.device.ctx.device.id, true, Date.now()).catch((err: Error) => log.error({ err }, 'could not record online'));
  });
  aedes.on('clientDisconnect', (client) => {
    const id = identities.get(client);
    if (id?.kind !== 'device') return;
    devicesOnline--;
    // A takeover by the same device fires this for the old socket after the new one connected.
    if (clientsOf(aedes)[client.id] && clientsOf(aedes)[client.id] !== client) return;
    registry.setOnline(id.device.ctx.device.id, false, Date.now()).catch((err: Error) => log.error({ err }, 'could not record offline'));
  });
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error before CONNECT'));
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));

  admission.on('live', (summary) => {
    aedes.publish({ cmd: 'publish', topic: LIVE_TOPIC, payload: Buffer.from(JSON.stringify(summary)), qos: 0, retain: false, dup: false }, () => {});
  });
  admission.on('spoolFull', (rows: number) => log.error({ rows }, 'ALARM: spool at its cap; publishes are no longer acknowledged until the ingest writer catches up (is InfluxDB down?)'));
  admission.on('spoolRoom', (rows: number) => log.warn({ rows }, 'spool has room again; acknowledging publishes'));

  // The API asks, through the broker itself, to close a device's connection (token rotated, device deleted).
  await new Promise<void>((resolve) => aedes.subscribe(CONTROL_TOPIC, (packet, cb) => {
    try {
      const msg = JSON.parse(packet.payload.toString()) as ControlMessage;
      if (msg.cmd === 'disconnect' && typeof msg.deviceId === 'string') disconnectDevice(msg.deviceId, msg.reason);
    } catch (err) {
      log.warn({ err }, 'unreadable control message');
    }
    cb();
  }, () => resolve()));

  const seenTimer = setInterval(() => {
    const updates = admission.drainSeen();
    if (updates.length > 0) registry.markSeen(updates).catch((err: Error) => log.error({ err }, 'could not record last-seen times'));
  }, opts.seenFlushMs ?? 2000);
  seenTimer.unref();

  async function listenOn<S extends net.Server>(server: S, port: number, host: string): Promise<S> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
    return server;
  }

  return {
    aedes,
    admission,
    connectedDevices: () => devicesOnline,
    disconnectDevice,
    listen: (port, host = '0.0.0.0') => listenOn(net.createServer(aedes.handle), port, host),
    listenTls: (port, host, key, cert) => listenOn(tls.createServer({ key, cert }, aedes.handle), port, host),
    async close() {
      clearInterval(seenTimer);
      await admission.close();
      const updates = admission.drainSeen();
      if (updates.length > 0) await registry.markSeen(updates);
      for (const s of servers) s.close();
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

/** The broker's own figures, for /metrics (published on the spool's status board). */
export function brokerStatus(broker: DehongBroker): { name: string; at: number; values: Record<string, number> } {
  const s = broker.admission.stats;
  const values: Record<string, number> = {
    received: s.received, accepted: s.accepted, rejected: s.rejected, points: s.points, commits: s.commits, commit_errors: s.commitErrors,
    spool_full: s.spoolFull ? 1 : 0, parked: s.parked, dead_letters_suppressed: s.deadLettersSuppressed, connected_devices: broker.connectedDevices(),
  };
  for (const [rule, n] of Object.entries(s.rejectedByRule)) values[`rejected_rule:${rule}`] = n;
  return { name: `broker:${process.pid}`, at: Date.now(), values };
}
