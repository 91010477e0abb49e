// `npm start`: a private influxd (unless INFLUX_URL is set), the broker, the ingest writer and the API with the
// web dashboard, the Dehong demo firms, the first admin user, a small simulator fleet; then it prints where to look. Every child process
// runs under a Supervisor that restarts it when it dies; Ctrl+C (SIGINT) or SIGTERM stops them all in order.
import fs from 'node:fs';
import { configOrExit } from '../common/config.ts';
import { influxdReady, privateInfluxdCommand, spawnInfluxd } from './influxd.ts';
import { dataDirLayout, ensurePrivateDir } from '../common/data-dir.ts';
import { FIRST_ADMIN_LOGIN, adminToken as adminTokenOf, firstAdminPassword } from '../common/secrets.ts';
import { influxStore } from '../common/service.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { seedDemoFirms } from '../common/demo.ts';
import type { DeviceCredentials } from '../simulators/device.ts';
import { Fleet, entriesOf } from '../simulators/fleet.ts';
import { loadScenario, planScenario, resolveScenarioPath } from '../simulators/scenario.ts';
import { ensureSelfSigned } from './tls.ts';
import { portAnswers, startService, waitForPort, type ServiceName } from './launch.ts';
import { Supervisor, type ChildSpec } from './supervisor.ts';

const config = configOrExit();
ensurePrivateDir(config.dataDir);
const files = dataDirLayout(config.dataDir);
const adminToken = adminTokenOf(config);
const logDir = files.logs;
ensurePrivateDir(logDir);

/**
 * Devices are cut off first (simulators, then the API's WebSocket bridge, then the broker), the writer moves what
 * the broker admitted last, and InfluxDB goes last so that final batch lands.
 */
const STOP_ORDER = ['api', 'broker', 'ingest', 'influxd'];
const supervisor = new Supervisor();
let fleet: Fleet | undefined;
const FLEET_STOP_MS = 10_000;
/** Devices in the registry when a service was last (re)started: sizes the broker's heap (scripts/launch.ts). */
const fleetSize = { devices: 0 };
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('Stopping...');
  // The simulators get a bounded time to say goodbye: stopping the services must never wait on them.
  if (fleet) await Promise.race([fleet.stop().catch(() => {}), new Promise((r) => setTimeout(r, FLEET_STOP_MS).unref())]);
  await supervisor.stop(STOP_ORDER);
  process.exit(code);
}
// SIGHUP too: the children have process groups of their own, so a closed terminal reaches only this process.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0));

try {
  await run();
} catch (err) {
  // A child that failed to start, or InfluxDB or the registry refusing: stop whatever had started.
  if (!stopping) console.error(`npm start failed: ${(err as Error).message} (logs in ${logDir})`);
  await shutdown(1);
}

async function run(): Promise<void> {
  const influxUrl = config.influxUrl ?? (await superviseInfluxd());
  const store = influxStore(config, influxUrl);
  await store.ensureDatabase();
  await store.close();

  // The registry's schema is created here once, before three processes open it.
  const registry = new SqliteRegistry(files.registry);
  const added = await seedDemoFirms(registry);
  // Shown until the first admin has replaced it (they must at first sign-in).
  const adminPassword = await firstAdminPassword(registry, config.dataDir);
  const firms = await registry.listFirms();

  // TLS: configured files, or with TLS_SELF_SIGNED=1 a development CA and certificate under DATA_DIR/tls.
  let tls = config.tlsCertFile && config.tlsKeyFile ? { cert: config.tlsCertFile, key: config.tlsKeyFile, ca: config.tlsCaFile } : undefined;
  if (!tls && config.tlsSelfSigned) tls = ensureSelfSigned(files.tls);
  const env = {
    ...process.env, INFLUX_URL: influxUrl, ADMIN_TOKEN: adminToken, DATA_DIR: config.dataDir,
    ...(tls ? { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key, ...(tls.ca ? { TLS_CA_FILE: tls.ca } : {}) } : {}),
  };
  fleetSize.devices = (await registry.listDevices()).length;
  await superviseServices(env);
  const scheme = tls ? 'https' : 'http';

  const { plan, entries, failed } = await startFleet(registry);
  // A restarted broker is sized for the fleet as it is now (the simulators were just provisioned).
  fleetSize.devices = (await registry.listDevices()).length;
  await registry.close();

  console.log(`
德宏纺织服装工业互联网平台 · 遥测核心 / Dehong textile telemetry core is running
  Web dashboard + API : ${scheme}://localhost:${config.httpPort}/#token=${adminToken}
                        (OpenAPI: /openapi.json, health: /healthz, Prometheus: /metrics)
  MQTT                : mqtt://localhost:${config.mqttPort}   (WebSocket: ${scheme === 'https' ? 'wss' : 'ws'}://localhost:${config.httpPort}/mqtt)${tls ? `
  MQTT over TLS       : mqtts://localhost:${config.mqttsPort}   (CA for devices: ${tls.ca ?? 'your CA'})` : ''}
  InfluxDB            : ${influxUrl} (database "${config.influxDb}")${config.influxUrl ? '' : ' (private, started by npm start)'}
  Admin API token     : ${adminToken}${adminPassword ? `
  First admin sign-in : login "${FIRST_ADMIN_LOGIN}", one-time password ${adminPassword} (set your own at first sign-in)` : ''}
  Demo firms          : ${firms.length} (${added} added now); simulated devices: ${entries.length - failed.length} of scenario "${plan.scenario.name}"
  Logs                : ${logDir} (restarts of a service are reported here, its output in its log)
Press Ctrl+C to stop.
`);
}

async function superviseInfluxd(): Promise<string> {
  console.log(`Starting a private InfluxDB (data in ${files.influxdb})...`);
  const cmd = await privateInfluxdCommand(files.influxdb, config.influxPort, config.influxdBin);
  await supervisor.start({ name: 'influxd', spawn: () => spawnInfluxd(cmd, true), ready: (child) => influxdReady(cmd, child) });
  return cmd.url;
}

/** Broker, ingest writer and API, each waited for in turn (the broker creates the spool the others open). */
async function superviseServices(env: NodeJS.ProcessEnv): Promise<void> {
  const spec = (name: ServiceName, port?: number): ChildSpec => ({
    name,
    spawn: () => startService(name, { env, logDir, detached: true, fleetDevices: fleetSize.devices }).child,
    ...(port ? { ready: (child) => waitForPort(port, { name, child }) } : {}),
  });
  // A port already taken would pass for the service being ready, and the service would then die and restart forever.
  for (const [name, port] of [['broker', config.mqttPort], ['api', config.httpPort]] as const) {
    if (await portAnswers(port)) throw new Error(`port ${port} (${name}) is already in use: is another npm start running? Set ${name === 'api' ? 'HTTP_PORT' : 'MQTT_PORT'}`);
  }
  await supervisor.start(spec('broker', config.mqttPort));
  await supervisor.start(spec('ingest'));
  await supervisor.start(spec('api', config.httpPort));
}

/**
 * The simulator fleet: SIMULATE devices of the Dehong demo scenario (simulators/scenarios/dehong-demo.yaml), taken
 * round-robin across its firms, so the KPI starts below the 50% goal. Credentials are kept so a restart reuses them.
 * It runs in this process; its MQTT clients reconnect by themselves when the broker restarts.
 */
async function startFleet(registry: SqliteRegistry) {
  const credFile = files.simulatorCredentials;
  const known = new Map<string, DeviceCredentials>((fs.existsSync(credFile) ? (JSON.parse(fs.readFileSync(credFile, 'utf8')) as DeviceCredentials[]) : []).map((c) => [c.id, c]));
  const plan = planScenario(loadScenario(resolveScenarioPath(config.simulateScenario)));
  const byFirm = new Map<string, typeof plan.devices>();
  for (const d of plan.devices) byFirm.set(d.firmId, [...(byFirm.get(d.firmId) ?? []), d]);
  const chosen: typeof plan.devices = [];
  for (let round = 0; chosen.length < Math.min(config.simulate, plan.devices.length); round++) {
    for (const list of byFirm.values()) if (list[round] && chosen.length < config.simulate) chosen.push(list[round]!);
  }
  for (const f of plan.firms) if (!(await registry.getFirm(f.id))) await registry.createFirm(f);
  for (const d of chosen) {
    if (known.has(d.id) && (await registry.getDevice(d.id))) continue;
    // Provisioned in the registry directly (the API may speak HTTPS with a development certificate), and audited.
    const { token } = await registry.createDevice({ firmId: d.firmId, type: d.type, name: d.name, location: d.location, id: d.id });
    await registry.recordAudit({ at: Date.now(), actor: 'npm start (simulator fleet)', action: 'device.provision', target: d.id, detail: JSON.stringify({ firmId: d.firmId, type: d.type }) });
    known.set(d.id, { id: d.id, firmId: d.firmId, type: d.type, token });
  }
  fs.writeFileSync(credFile, JSON.stringify([...known.values()], null, 2), { mode: 0o600 });
  const chosenPlan = { ...plan, devices: chosen };
  const entries = entriesOf(chosenPlan, (id) => known.get(id)!, config.simulateIntervalMs);
  fleet = new Fleet(entries, { mqttUrl: `mqtt://127.0.0.1:${config.mqttPort}`, faults: {}, seed: plan.seed, subscribeErrors: false });
  const failed = await fleet.connect();
  if (failed.length > 0) console.error(`${failed.length} simulated device(s) could not connect; first: ${failed[0]?.id}: ${failed[0]?.error}`);
  fleet.start();
  return { plan, entries, failed };
}
