// The broker service alone: `npm run broker`. MQTT over TCP, and over TLS when a certificate is configured.
// REDIS_URL switches on cluster mode (broker/cluster.ts); REGISTRY_URL selects the shared PostgreSQL registry;
// BROKER_PROCESSES=N forks N broker processes sharing the ports (each a full broker with its own admission).
import cluster from 'node:cluster';
import fs from 'node:fs';
import { PgRegistry } from '../common/registry/pg-registry.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import type { Registry } from '../common/registry/registry.ts';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { SpoolWorker } from './spool-worker.ts';
import { serviceSecret } from '../common/secrets.ts';
import { onShutdown, serviceBoot } from '../common/service.ts';
import { brokerStatus, createBroker } from './broker.ts';
import { brokerId, createClusterEngines, superviseBrokerProcesses } from './cluster.ts';

const { config, log, files } = serviceBoot('broker');

if (config.brokerProcesses > 1 && cluster.isPrimary) {
  // Create the data files (secret, spool schema, SQLite registry) once, before the workers race for them.
  serviceSecret(config.dataDir);
  await new SqliteSpool(files.spool).close();
  if (!config.registryUrl) await new SqliteRegistry(files.registry).close();
  superviseBrokerProcesses(config.brokerProcesses, log);
} else {
  await runBroker();
}

async function runBroker(): Promise<void> {
  const registry: Registry = config.registryUrl ? await PgRegistry.open(config.registryUrl) : new SqliteRegistry(files.registry);
  const spool = new SqliteSpool(files.spool);
  const spoolWorker = new SpoolWorker(files.spool);
  const id = brokerId(config.nodeId);
  const engines = config.redisUrl ? createClusterEngines(config.redisUrl, log) : undefined;
  const broker = await createBroker({
    registry,
    spool: spoolWorker, // group commits off the event loop (broker/spool-worker.ts)
    serviceSecret: serviceSecret(config.dataDir),
    limits: { maxClockAheadMs: config.maxClockAheadMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
    clientLimits: {
      maxPayloadBytes: config.maxPayloadBytes, maxTopicLevels: config.maxTopicLevels, maxInflight: config.maxInflight,
      connectsPerMinute: config.connectsPerMinute, authFailuresPerMinute: config.authFailuresPerMinute,
      maxPacketBytes: config.maxPacketBytes, connectTimeoutMs: config.connectTimeoutS * 1000,
      preLoginPerAddress: config.preLoginPerAddress, preLoginTotal: config.preLoginTotal, trustedProxies: config.mqttTrustedProxies,
    },
    // Seeded from the last checkpoint: after a restart each device's next counter reading is still bounded.
    admission: { spoolMaxRows: config.spoolMaxRows, deadLettersPerMinute: config.deadLettersPerMinute, counterMemory: await spool.loadCounterMemory() },
    log,
    // A 5 s heartbeat: another node publishes the wills of a dead node's devices within about 20 s (Aedes
    // waits 3 missed heartbeats and checks every 4), instead of 3-4 minutes with Aedes' 60 s default.
    ...(engines ? { cluster: { mq: engines.mq, persistence: engines.persistence, id, heartbeatIntervalMs: 5000 } } : {}),
  });
  await broker.listen(config.mqttPort, config.mqttHost);
  log.info({ node: id, cluster: engines ? 'redis' : 'embedded', registry: config.registryUrl ? 'postgres' : 'sqlite' }, `MQTT broker listening on mqtt://${config.mqttHost}:${config.mqttPort}`);
  if (config.tlsCertFile && config.tlsKeyFile) {
    await broker.listenTls(config.mqttsPort, config.mqttHost, fs.readFileSync(config.tlsKeyFile), fs.readFileSync(config.tlsCertFile));
    log.info(`MQTT over TLS listening on mqtts://${config.mqttHost}:${config.mqttsPort}`);
  }
  // The broker's figures for /metrics, on the state file the API reads.
  const statusTimer = setInterval(() => {
    spoolWorker.putStatus(brokerStatus(broker)).catch((err: Error) => log.warn({ err: err.message }, 'could not publish broker status'));
  }, 2000);
  onShutdown(log, async () => {
    clearInterval(statusTimer);
    await broker.close();
    await engines?.closePersistence();
    await spoolWorker.close();
    await spool.close();
    await registry.close();
  });
}
