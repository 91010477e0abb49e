// The API and web dashboard alone: `npm run api`. Live values come from the broker over MQTT; MQTT over
// WebSocket on /mqtt is bridged to the broker's TCP port; HTTPS when a certificate is configured.
import fs from 'node:fs';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { PgRegistry } from '../common/registry/pg-registry.ts';
import type { Registry } from '../common/registry/registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { adminToken as adminTokenOf, serviceSecret } from '../common/secrets.ts';
import { influxStore, onShutdown, serviceBoot } from '../common/service.ts';
import { buildApp } from './app.ts';
import { brokerLink, type LiveAdapter } from './live.ts';
import { openMonitoring } from '../analytics/index.ts';
import { monitoringOptions } from '../analytics/config.ts';
import { PgAlarmStore } from '../analytics/alarms/pg-store.ts';
import { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from '../common/log.ts';

const { config, log, files } = serviceBoot('api');
const registry: Registry = config.registryUrl ? await PgRegistry.open(config.registryUrl) : new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
const store = influxStore(config);
const adminToken = adminTokenOf(config);
await registry.ensureApiToken(adminToken, 'admin', null, 'admin (ADMIN_TOKEN)');
const brokerUrl = config.mqttInternalUrl;
const link = brokerLink(brokerUrl, serviceSecret(config.dataDir), log, { clientId: `svc-api-${config.nodeId}` });
// Several API nodes (REDIS_URL): socket.io's Redis adapter joins them (api/live.ts says what goes through it).
const liveRedis = config.redisUrl ? socketIoRedis(config.redisUrl, log) : undefined;
const brokerAddress = new URL(brokerUrl);
// With the spool, the alarm checks also read rejected messages, quarantined readings and rows waiting.
// The rollup job on its own thread: its recompute (seconds of parsing with many devices) does not hold up requests.
const rollupWorker = { influx: store.options, registry: config.registryUrl ? { url: config.registryUrl } : { file: files.registry }, logLevel: config.logLevel };
// With REGISTRY_URL, alarm rules and history live beside the registry, shared by every API node.
const alarmStore = config.registryUrl ? await PgAlarmStore.open(config.registryUrl) : undefined;
const monitoring = openMonitoring({ ...monitoringOptions(config), registry, store, spool, log, rollupWorker, ...(alarmStore ? { alarmStore, alarmChannels: alarmStore.channels() } : {}) });
monitoring.start({ live: link.source });
const app = await buildApp({
  registry, spool, store, log, connectedWindowDays: config.connectedWindowDays, live: link.source, brokerControl: link.control, monitoring,
  ...(liveRedis ? { liveAdapter: liveRedis.adapter } : {}),
  mqttBroker: { host: brokerAddress.hostname, port: Number(brokerAddress.port || 1883) },
  // What devices are told: MQTT_PUBLIC_HOST, else the host name the engineer reached the API under.
  mqttEndpoints: { ...(config.mqttPublicHost ? { host: config.mqttPublicHost } : {}), port: config.mqttPort, ...(config.tlsCertFile ? { tlsPort: config.mqttsPort, ...(config.tlsCaFile ? { caFile: config.tlsCaFile } : {}) } : {}), webSocket: true },
  apiRequestsPerMinute: config.apiRequestsPerMinute,
  apiAuthFailuresPerMinute: config.apiAuthFailuresPerMinute,
  ...(config.tlsCertFile && config.tlsKeyFile ? { https: { key: fs.readFileSync(config.tlsKeyFile), cert: fs.readFileSync(config.tlsCertFile) } } : {}),
});
await app.listen({ port: config.httpPort, host: config.httpHost });
onShutdown(log, async () => {
  await app.close();
  await monitoring.close();
  await link.close();
  await liveRedis?.close();
  await store.close();
  await spool.close();
  await registry.close();
});

function socketIoRedis(url: string, logger: Logger): { adapter: LiveAdapter; close(): Promise<void> } {
  const pub = new Redis(url);
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (err: Error) => logger.warn({ err: err.message }, 'Redis (socket.io adapter) connection problem'));
  return {
    adapter: createAdapter(pub, sub) as LiveAdapter,
    async close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
