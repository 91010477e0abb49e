// The API and web dashboard alone: `npm run api`. Live values come from the broker over MQTT.
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { ADMIN_TOKEN_FILE, dataFiles, loadOrCreateSecret, SERVICE_SECRET_FILE } from '../common/secrets.ts';
import { influxStore, onShutdown, serviceBoot } from '../common/service.ts';
import { buildApp } from './app.ts';
import { mqttLiveSource } from './live.ts';

const { config, log } = serviceBoot('api');
const files = dataFiles(config.dataDir);
const registry = new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
const store = influxStore(config);
const adminToken = config.adminToken ?? loadOrCreateSecret(config.dataDir, ADMIN_TOKEN_FILE, 'at').value;
await registry.ensureApiToken(adminToken, 'admin', null, 'admin (ADMIN_TOKEN)');
const brokerUrl = process.env.MQTT_INTERNAL_URL ?? `mqtt://127.0.0.1:${config.mqttPort}`;
const live = mqttLiveSource(brokerUrl, loadOrCreateSecret(config.dataDir, SERVICE_SECRET_FILE, 'svc').value, log);
const app = await buildApp({ registry, spool, store, log, connectedWindowDays: config.connectedWindowDays, live: live.source });
await app.listen({ port: config.httpPort, host: config.httpHost });
onShutdown(log, async () => {
  await app.close();
  await live.close();
  await store.close();
  await spool.close();
  await registry.close();
});
