// The broker service alone: `npm run broker`.
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { dataFiles, loadOrCreateSecret, SERVICE_SECRET_FILE } from '../common/secrets.ts';
import { onShutdown, serviceBoot } from '../common/service.ts';
import { createBroker } from './broker.ts';

const { config, log } = serviceBoot('broker');
const files = dataFiles(config.dataDir);
const registry = new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
const broker = await createBroker({
  registry,
  spool,
  serviceSecret: loadOrCreateSecret(config.dataDir, SERVICE_SECRET_FILE, 'svc').value,
  limits: { maxClockAheadMs: config.maxClockAheadMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
  log,
});
await broker.listen(config.mqttPort, config.mqttHost);
log.info({ port: config.mqttPort }, `MQTT broker listening on mqtt://${config.mqttHost}:${config.mqttPort}`);
onShutdown(log, async () => {
  await broker.close();
  await spool.close();
  await registry.close();
});
