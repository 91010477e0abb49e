// The MQTT broker: Aedes with our hooks. authenticate = device id + token against the registry (clientId must
// be the device id); authorizePublish = topic check + admission (validate, group-commit into the spool) before
// the PUBACK; rejected publishes are acked and dropped and reported on the device's errors topic, because
// refusing a QoS1 publish makes MQTT.js resend it forever (PITFALLS.md).
import net from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import { DEVICE_PUBLISH_KINDS, DROPPED_TOPIC, LIVE_TOPIC, parseTopic, topicFor } from '../common/contract/topics.ts';
import { tagSet } from '../common/contract/line-protocol.ts';
import { sha256 } from '../common/ids.ts';
import type { DeviceContext, Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Problem } from '../common/contract/messages.ts';
import { Admission, type AdmissionDevice, type SyncSpool } from './admission.ts';

// Aedes' AuthErrorCode is an ambient const enum: use the numbers (PITFALLS.md).
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
/** Usernames of the platform's own services (the API's live feed); their password is the service secret. */
export const SERVICE_USER_PREFIX = 'svc:';

type Identity = { kind: 'device'; device: AdmissionDevice } | { kind: 'service'; name: string };

export interface BrokerOptions {
  registry: Registry;
  spool: SyncSpool;
  serviceSecret: string;
  limits: { maxClockAheadMs: number; maxAgeMs: number };
  log: Logger;
  /** How long a verified device credential is trusted without asking the registry again. */
  authCacheMs?: number;
  liveIntervalMs?: number;
  seenFlushMs?: number;
}

export interface DehongBroker {
  aedes: Aedes;
  admission: Admission;
  listen(port: number, host?: string): Promise<net.Server>;
  connectedDevices(): number;
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

export async function createBroker(opts: BrokerOptions): Promise<DehongBroker> {
  const { registry, log } = opts;
  const identities = new WeakMap<Client, Identity>();
  const authCache = new Map<string, { ctx: DeviceContext; expires: number }>();
  const cacheMs = opts.authCacheMs ?? 5 * 60_000;
  const admission = new Admission(opts.spool, opts.limits, opts.liveIntervalMs);
  const servers: net.Server[] = [];
  let devicesOnline = 0;

  async function verify(deviceId: string, token: string): Promise<DeviceContext | undefined> {
    const key = sha256(`${deviceId}\0${token}`);
    const hit = authCache.get(key);
    if (hit && hit.expires > Date.now()) return hit.ctx;
    const ctx = await registry.verifyDevice(deviceId, token);
    if (ctx) authCache.set(key, { ctx, expires: Date.now() + cacheMs });
    return ctx;
  }

  function reportProblems(ctx: DeviceContext, topic: string, problems: readonly Problem[]): void {
    const payload = JSON.stringify({ ts: Date.now(), topic, problems });
    aedes.publish({ cmd: 'publish', topic: topicFor(ctx.firm.id, ctx.device.id, 'errors'), payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {});
  }

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      if (!username || !password) return done(authError('username (device id) and password (device token) are required', BAD_USERNAME_OR_PASSWORD), false);
      if (username.startsWith(SERVICE_USER_PREFIX)) {
        if (!secretEquals(password.toString('utf8'), opts.serviceSecret)) return done(authError('bad service credentials', BAD_USERNAME_OR_PASSWORD), false);
        identities.set(client, { kind: 'service', name: username });
        return done(null, true);
      }
      if (client.id !== username) {
        log.warn({ clientId: client.id, username }, 'refused: clientId must equal the device id');
        return done(authError('clientId must equal the device id', NOT_AUTHORIZED), false);
      }
      verify(username, password.toString('utf8')).then((ctx) => {
        if (!ctx) {
          log.warn({ deviceId: username, address: client.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined }, 'refused: unknown device or wrong token');
          return done(authError('unknown device or wrong token', BAD_USERNAME_OR_PASSWORD), false);
        }
        const f = ctx.firm;
        identities.set(client, { kind: 'device', device: { ctx, tags: tagSet({ firmId: f.id, deviceId: ctx.device.id, type: ctx.device.type, county: f.county, park: f.park, segment: f.segment }) } });
        admission.markConnected(username);
        done(null, true);
      }, (err: Error) => {
        log.error({ err }, 'registry error during authentication');
        done(authError('registry unavailable', 3), false);
      });
    },

    authorizePublish(client, packet: PublishPacket, callback) {
      if (!client) return callback(null); // the broker's own publishes (error reports, live summaries)
      const id = identities.get(client);
      if (!id) return callback(new Error('not authenticated'));
      if (id.kind === 'service') return callback(packet.topic.startsWith('$dh/') ? null : new Error('services publish only on $dh/ topics'));
      const { ctx } = id.device;
      const topic = packet.topic;
      const parsed = parseTopic(topic);
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const own = parsed && parsed.firmId === ctx.firm.id && parsed.deviceId === ctx.device.id && DEVICE_PUBLISH_KINDS.includes(parsed.kind);
      if (!parsed || !own) {
        const expected = `dh/v1/${ctx.firm.id}/${ctx.device.id}/{telemetry|state|status}`;
        const problem: Problem = { field: '(topic)', rule: 'topic', message: `device ${ctx.device.id} may not publish on "${topic}": publish on ${expected}` };
        admission.refuse(ctx, topic, payload, problem, (err) => {
          if (err) return callback(err);
          packet.topic = DROPPED_TOPIC;
          packet.retain = false;
          reportProblems(ctx, topic, [problem]);
          callback(null);
        });
        return;
      }
      if (parsed.kind !== 'status') packet.retain = false; // only the status is kept for late subscribers
      admission.admit(id.device, parsed.kind, topic, payload, (err, verdict) => {
        if (err) {
          log.error({ err }, 'spool commit failed: publish not acknowledged, the device will resend');
          return callback(err);
        }
        if (verdict.dropped) {
          packet.topic = DROPPED_TOPIC;
          packet.retain = false;
        }
        if (verdict.problems.length > 0) reportProblems(ctx, topic, verdict.problems);
        callback(null);
      });
    },

    authorizeSubscribe(client, sub: Subscription, callback) {
      const id = identities.get(client);
      if (id?.kind === 'service') return callback(null, sub.topic === LIVE_TOPIC || sub.topic.startsWith('dh/') ? sub : null);
      if (id?.kind === 'device') {
        const { ctx } = id.device;
        if (sub.topic === topicFor(ctx.firm.id, ctx.device.id, 'errors')) return callback(null, sub);
      }
      log.info({ clientId: client.id, topic: sub.topic }, 'subscription refused');
      callback(null, null); // SUBACK 0x80, connection stays
    },
  });

  aedes.on('client', (client) => {
    if (identities.get(client)?.kind === 'device') devicesOnline++;
  });
  aedes.on('clientDisconnect', (client) => {
    if (identities.get(client)?.kind === 'device') devicesOnline--;
  });

  admission.on('live', (summary) => {
    aedes.publish({ cmd: 'publish', topic: LIVE_TOPIC, payload: Buffer.from(JSON.stringify(summary)), qos: 0, retain: false, dup: false }, () => {});
  });

  const seenTimer = setInterval(() => {
    const updates = admission.drainSeen();
    if (updates.length > 0) registry.markSeen(updates).catch((err: Error) => log.error({ err }, 'could not record last-seen times'));
  }, opts.seenFlushMs ?? 2000);
  seenTimer.unref();

  return {
    aedes,
    admission,
    connectedDevices: () => devicesOnline,
    async listen(port, host = '0.0.0.0') {
      const server = net.createServer(aedes.handle);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      servers.push(server);
      return server;
    },
    async close() {
      clearInterval(seenTimer);
      admission.close();
      const updates = admission.drainSeen();
      if (updates.length > 0) await registry.markSeen(updates);
      for (const s of servers) s.close();
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}
