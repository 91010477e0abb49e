// The broker service alone: `npm run broker`. MQTT over TCP, and over TLS when a certificate is configured.
import fs from 'node:fs';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { dataFiles, loadOrCreateSecret, SERVICE_SECRET_FILE } from '../common/secrets.ts';
import { onShutdown, serviceBoot } from '../common/service.ts';
import { brokerStatus, createBroker } from './broker.ts';

const { config, log } = serviceBoot('broker');
const files = dataFiles(config.dataDir);
const registry = new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
const broker = await createBroker({
  registry,
  spool,
  serviceSecret: loadOrCreateSecret(config.dataDir, SERVICE_SECRET_FILE, 'svc').value,
  limits: { maxClockAheadMs: config.maxClockAheadMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
  clientLimits: {
    maxPayloadBytes: config.maxPayloadBytes, maxTopicLevels: config.maxTopicLevels, maxInflight: config.maxInflight,
    connectsPerMinute: config.connectsPerMinute, authFailuresPerMinute: config.authFailuresPerMinute,
  },
  admission: { spoolMaxRows: config.spoolMaxRows, deadLettersPerMinute: config.deadLettersPerMinute },
  log,
});
await broker.listen(config.mqttPort, config.mqttHost);
log.info(`MQTT broker listening on mqtt://${config.mqttHost}:${config.mqttPort}`);
if (config.tlsCertFile && config.tlsKeyFile) {
  await broker.listenTls(config.mqttsPort, config.mqttHost, fs.readFileSync(config.tlsKeyFile), fs.readFileSync(config.tlsCertFile));
  log.info(`MQTT over TLS listening on mqtts://${config.mqttHost}:${config.mqttsPort}`);
}
// The broker's figures for /metrics, on the state file the API reads.
const statusTimer = setInterval(() => {
  spool.putStatus(brokerStatus(broker)).catch((err: Error) => log.warn({ err: err.message }, 'could not publish broker status'));
}, 2000);
onShutdown(log, async () => {
  clearInterval(statusTimer);
  await broker.close();
  await spool.close();
  await registry.close();
});
