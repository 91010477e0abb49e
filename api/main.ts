// The API and web dashboard alone: `npm run api`. Live values come from the broker over MQTT; MQTT over
// WebSocket on /mqtt is bridged to the broker's TCP port; HTTPS when a certificate is configured.
import fs from 'node:fs';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { ADMIN_TOKEN_FILE, dataFiles, loadOrCreateSecret, SERVICE_SECRET_FILE } from '../common/secrets.ts';
import { influxStore, onShutdown, serviceBoot } from '../common/service.ts';
import { buildApp } from './app.ts';
import { brokerLink } from './live.ts';
import { openMonitoringFromEnv } from '../common/monitoring/config.ts';

const { config, log } = serviceBoot('api');
const files = dataFiles(config.dataDir);
const registry = new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
const store = influxStore(config);
const adminToken = config.adminToken ?? loadOrCreateSecret(config.dataDir, ADMIN_TOKEN_FILE, 'at').value;
await registry.ensureApiToken(adminToken, 'admin', null, 'admin (ADMIN_TOKEN)');
const brokerUrl = process.env.MQTT_INTERNAL_URL ?? `mqtt://127.0.0.1:${config.mqttPort}`;
const link = brokerLink(brokerUrl, loadOrCreateSecret(config.dataDir, SERVICE_SECRET_FILE, 'svc').value, log);
const brokerAddress = new URL(brokerUrl);
const monitoring = openMonitoringFromEnv({ dataDir: config.dataDir, registry, store, log, connectedWindowDays: config.connectedWindowDays });
monitoring.start({ live: link.source });
const app = await buildApp({
  registry, spool, store, log, connectedWindowDays: config.connectedWindowDays, live: link.source, brokerControl: link.control, monitoring,
  mqttBroker: { host: brokerAddress.hostname, port: Number(brokerAddress.port || 1883) },
  apiRequestsPerMinute: config.apiRequestsPerMinute,
  ...(config.tlsCertFile && config.tlsKeyFile ? { https: { key: fs.readFileSync(config.tlsKeyFile), cert: fs.readFileSync(config.tlsCertFile) } } : {}),
});
await app.listen({ port: config.httpPort, host: config.httpHost });
onShutdown(log, async () => {
  await app.close();
  await monitoring.close();
  await link.close();
  await store.close();
  await spool.close();
  await registry.close();
});
