// The standalone MQTT-subscriber front-end, its own process: `node --import tsx ingest/subscriber-main.ts`.
// For deployments that keep an existing broker (Mosquitto, EMQX): it subscribes there, admits each message into
// the local spool, and acknowledges only what the spool holds. Run the ingest writer (`npm run ingest`) on the
// same spool file to move it into InfluxDB. Variables (besides the common ones in README "Configuration"):
//
//   SUBSCRIBER_MQTT_URL      broker to subscribe at (default mqtt://127.0.0.1:1883)
//   SUBSCRIBER_CLIENT_ID     stable client id of this subscriber's session (default dh-ingest-<hostname>); every
//                            subscriber needs its own, and keeps it across restarts
//   SUBSCRIBER_SHARE_GROUP   when set, every filter becomes $share/<group>/<filter>: subscribers of one group share
//                            the load (never with Aedes: it grants $share and delivers nothing)
//   SUBSCRIBER_TOPICS        comma-separated filters (default dh/v1/+/+/telemetry,dh/v1/+/+/state,dh/v1/+/+/status)
//   SUBSCRIBER_CONNECTIONS   members of the share group opened by this process, sharing one group commit (default 1)
//   SUBSCRIBER_USERNAME, SUBSCRIBER_PASSWORD   credentials at the broker, if it wants them
//   SUBSCRIBER_SPOOL_FILE    spool file (default DATA_DIR/spool.db)
//   REGISTRY_URL             postgres://… to use the shared PostgreSQL registry; unset = DATA_DIR/registry.db
import os from 'node:os';
import { ConfigError } from '../common/config.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { PgRegistry } from '../common/registry/pg-registry.ts';
import type { Registry } from '../common/registry/registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { dataFiles } from '../common/secrets.ts';
import { onShutdown, serviceBoot } from '../common/service.ts';
import { DEFAULT_SUBSCRIBER_TOPICS, shareTopics, startSubscriber } from './subscriber.ts';

export interface SubscriberConfig {
  url: string;
  clientId: string;
  topics: string[];
  connections: number;
  username: string | undefined;
  password: string | undefined;
  spoolFile: string | undefined;
  registryUrl: string | undefined;
}

export function loadSubscriberConfig(env: Record<string, string | undefined> = process.env): SubscriberConfig {
  const url = env.SUBSCRIBER_MQTT_URL || 'mqtt://127.0.0.1:1883';
  try {
    const u = new URL(url);
    if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'].includes(u.protocol)) throw new Error(u.protocol);
  } catch {
    throw new ConfigError('SUBSCRIBER_MQTT_URL', `not an MQTT URL: "${url}" (expected e.g. mqtt://broker.example:1883)`);
  }
  const clientId = env.SUBSCRIBER_CLIENT_ID || `dh-ingest-${os.hostname()}`;
  if (clientId.length > 64) throw new ConfigError('SUBSCRIBER_CLIENT_ID', 'at most 64 characters');
  const filters = env.SUBSCRIBER_TOPICS ? env.SUBSCRIBER_TOPICS.split(',').map((t) => t.trim()).filter((t) => t.length > 0) : DEFAULT_SUBSCRIBER_TOPICS;
  if (filters.length === 0) throw new ConfigError('SUBSCRIBER_TOPICS', 'no topic filter given');
  let topics: string[];
  try {
    topics = shareTopics(env.SUBSCRIBER_SHARE_GROUP || undefined, filters);
  } catch (err) {
    throw new ConfigError('SUBSCRIBER_SHARE_GROUP', (err as Error).message);
  }
  const rawConn = env.SUBSCRIBER_CONNECTIONS || '1';
  const connections = Number(rawConn);
  if (!/^\d+$/.test(rawConn) || connections < 1 || connections > 64) throw new ConfigError('SUBSCRIBER_CONNECTIONS', `a whole number from 1 to 64, got "${rawConn}"`);
  if (connections > 1 && topics.some((t) => !t.startsWith('$share/'))) throw new ConfigError('SUBSCRIBER_CONNECTIONS', 'more than one connection needs SUBSCRIBER_SHARE_GROUP (or $share/ filters)');
  const registryUrl = env.REGISTRY_URL || undefined;
  if (registryUrl && !/^postgres(ql)?:\/\//.test(registryUrl)) throw new ConfigError('REGISTRY_URL', `expected postgres://user:password@host:port/db, got "${registryUrl}"`);
  return {
    url, clientId, topics, connections, registryUrl,
    username: env.SUBSCRIBER_USERNAME || undefined, password: env.SUBSCRIBER_PASSWORD || undefined, spoolFile: env.SUBSCRIBER_SPOOL_FILE || undefined,
  };
}

const { config, log } = serviceBoot('subscriber');
let sub: SubscriberConfig;
try {
  sub = loadSubscriberConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`Configuration error: ${err.message}`);
  process.exit(2);
}
const files = dataFiles(config.dataDir);
const registry: Registry = sub.registryUrl ? await PgRegistry.open(sub.registryUrl) : new SqliteRegistry(files.registry);
const spool = new SqliteSpool(sub.spoolFile ?? files.spool);
const subscriber = startSubscriber({
  url: sub.url, clientId: sub.clientId, topics: sub.topics, connections: sub.connections,
  ...(sub.username !== undefined ? { username: sub.username } : {}),
  ...(sub.password !== undefined ? { password: sub.password } : {}),
  registry, spool, log,
  limits: { maxClockAheadMs: config.maxClockAheadMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
  admission: { spoolMaxRows: config.spoolMaxRows, deadLettersPerMinute: config.deadLettersPerMinute },
});
subscriber.admission.on('spoolFull', (rows: number) => log.error({ rows }, 'ALARM: spool at its cap; messages are no longer acknowledged until the ingest writer catches up (is InfluxDB down?)'));
subscriber.admission.on('spoolRoom', (rows: number) => log.warn({ rows }, 'spool has room again; acknowledging messages'));
subscriber.ready.then(
  () => log.info({ url: sub.url, clientId: sub.clientId, topics: sub.topics, connections: sub.connections }, 'subscriber ready'),
  (err: Error) => { log.fatal({ err: err.message }, 'subscriber could not set up its session'); process.exit(1); },
);
// The subscriber's figures for /metrics, on the spool's status board (like the broker's).
const statusTimer = setInterval(() => {
  const a = subscriber.admission.stats;
  const s = subscriber.stats;
  spool.putStatus({
    name: `subscriber:${sub.clientId}`, at: Date.now(),
    values: {
      received: s.received, acked: s.acked, unrouted: s.unrouted, failures: s.failures, connects: s.connects, resumed_sessions: s.resumedSessions,
      accepted: a.accepted, rejected: a.rejected, points: a.points, commits: a.commits, commit_errors: a.commitErrors, spool_full: a.spoolFull ? 1 : 0,
    },
  }).catch((err: Error) => log.warn({ err: err.message }, 'could not publish subscriber status'));
}, 2000);
onShutdown(log, async () => {
  clearInterval(statusTimer);
  await subscriber.close();
  await spool.close();
  await registry.close();
});
