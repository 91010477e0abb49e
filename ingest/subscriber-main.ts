// The standalone MQTT-subscriber front-end, its own process: `node --import tsx ingest/subscriber-main.ts`.
// For deployments that keep an existing broker (Mosquitto, EMQX): it subscribes there, admits each message into
// the local spool, and acknowledges only what the spool holds. Run the ingest writer (`npm run ingest`) on the
// same spool file to move it into InfluxDB. Variables (besides the common ones in README "Configuration"; read by
// loadSubscriberConfig in common/config.ts):
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
import { loadSubscriberConfig, orExit } from '../common/config.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { PgRegistry } from '../common/registry/pg-registry.ts';
import type { Registry } from '../common/registry/registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { onShutdown, serviceBoot } from '../common/service.ts';
import { DEFAULT_SUBSCRIBER_TOPICS, shareTopics, startSubscriber } from './subscriber.ts';

const { config, log, files } = serviceBoot('subscriber');
const sub = orExit(() => loadSubscriberConfig());
const topics = shareTopics(sub.shareGroup, sub.filters ?? DEFAULT_SUBSCRIBER_TOPICS);
const registry: Registry = config.registryUrl ? await PgRegistry.open(config.registryUrl) : new SqliteRegistry(files.registry);
const spool = new SqliteSpool(sub.spoolFile ?? files.spool);
const subscriber = startSubscriber({
  url: sub.url, clientId: sub.clientId, topics, connections: sub.connections,
  ...(sub.username !== undefined ? { username: sub.username } : {}),
  ...(sub.password !== undefined ? { password: sub.password } : {}),
  registry, spool, log,
  limits: { maxClockAheadMs: config.maxClockAheadMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
  admission: { spoolMaxRows: config.spoolMaxRows, deadLettersPerMinute: config.deadLettersPerMinute },
});
subscriber.admission.on('spoolFull', (rows: number) => log.error({ rows }, 'ALARM: spool at its cap; messages are no longer acknowledged until the ingest writer catches up (is InfluxDB down?)'));
subscriber.admission.on('spoolRoom', (rows: number) => log.warn({ rows }, 'spool has room again; acknowledging messages'));
subscriber.ready.then(
  () => log.info({ url: sub.url, clientId: sub.clientId, topics, connections: sub.connections }, 'subscriber ready'),
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
