// `npm start`: a private influxd (unless INFLUX_URL is set), the broker, the ingest writer and the API with the
// web dashboard, the Dehong demo firms, a small simulator fleet; then it prints where to look.
import fs from 'node:fs';
import { configOrExit } from '../common/config.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from './influxd.ts';
import { dataDirLayout, ensurePrivateDir } from '../common/data-dir.ts';
import { adminToken as adminTokenOf } from '../common/secrets.ts';
import { influxStore } from '../common/service.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { seedDemoFirms } from '../common/demo.ts';
import type { DeviceCredentials } from '../simulators/device.ts';
import { Fleet, entriesOf } from '../simulators/fleet.ts';
import { loadScenario, planScenario, resolveScenarioPath } from '../simulators/scenario.ts';
import { ensureSelfSigned } from './tls.ts';
import { serviceLogFile, startService, waitForPort, type ServiceProcess } from './launch.ts';

const config = configOrExit();
ensurePrivateDir(config.dataDir);
const files = dataDirLayout(config.dataDir);
const adminToken = adminTokenOf(config);

let influxd: PrivateInfluxd | undefined;
let influxUrl = config.influxUrl;
if (!influxUrl) {
  console.log(`Starting a private InfluxDB (data in ${files.influxdb})...`);
  influxd = await startPrivateInfluxd(files.influxdb, config.influxPort, config.influxdBin);
  influxUrl = influxd.url;
}
const store = influxStore(config, influxUrl);
await store.ensureDatabase();

// The registry's schema is created here once, before three processes open it.
const registry = new SqliteRegistry(files.registry);
const added = await seedDemoFirms(registry);
const firms = await registry.listFirms();

// TLS: configured files, or with TLS_SELF_SIGNED=1 a development CA and certificate under DATA_DIR/tls.
let tls = config.tlsCertFile && config.tlsKeyFile ? { cert: config.tlsCertFile, key: config.tlsKeyFile, ca: config.tlsCaFile } : undefined;
if (!tls && config.tlsSelfSigned) tls = ensureSelfSigned(files.tls);
const env = {
  ...process.env, INFLUX_URL: influxUrl, ADMIN_TOKEN: adminToken, DATA_DIR: config.dataDir,
  ...(tls ? { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key } : {}),
};
const logDir = files.logs;
ensurePrivateDir(logDir);
const services: ServiceProcess[] = [];
const broker = startService('broker', { env, logDir });
services.push(broker);
await waitForPort(config.mqttPort, broker);
services.push(startService('ingest', { env, logDir }));
const api = startService('api', { env, logDir });
services.push(api);
const scheme = tls ? 'https' : 'http';
await waitForPort(config.httpPort, api);

// The simulator fleet: SIMULATE devices of the Dehong demo scenario (simulators/scenarios/dehong-demo.yaml), taken
// round-robin across its firms, so the KPI starts below the 50% goal. Credentials are kept so a restart reuses them.
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
await registry.close();
fs.writeFileSync(credFile, JSON.stringify([...known.values()], null, 2), { mode: 0o600 });
const chosenPlan = { ...plan, devices: chosen };
const entries = entriesOf(chosenPlan, (id) => known.get(id)!, config.simulateIntervalMs);
const fleet = new Fleet(entries, { mqttUrl: `mqtt://127.0.0.1:${config.mqttPort}`, faults: {}, seed: plan.seed, subscribeErrors: false });
const failed = await fleet.connect();
if (failed.length > 0) console.error(`${failed.length} simulated device(s) could not connect; first: ${failed[0]?.id}: ${failed[0]?.error}`);
fleet.start();

console.log(`
德宏纺织服装工业互联网平台 · 遥测核心 / Dehong textile telemetry core is running
  Web dashboard + API : ${scheme}://localhost:${config.httpPort}/#token=${adminToken}
                        (OpenAPI: /openapi.json, health: /healthz, Prometheus: /metrics)
  MQTT                : mqtt://localhost:${config.mqttPort}   (WebSocket: ${scheme === 'https' ? 'wss' : 'ws'}://localhost:${config.httpPort}/mqtt)${tls ? `
  MQTT over TLS       : mqtts://localhost:${config.mqttsPort}   (CA for devices: ${tls.ca ?? 'your CA'})` : ''}
  InfluxDB            : ${influxUrl} (database "${config.influxDb}")${influxd ? ' (private, started by npm start)' : ''}
  Admin API token     : ${adminToken}
  Demo firms          : ${firms.length} (${added} added now); simulated devices: ${entries.length - failed.length} of scenario "${plan.scenario.name}"
  Logs                : ${logDir}
Press Ctrl+C to stop.
`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('Stopping...');
  await fleet.stop().catch(() => {});
  for (const s of [...services].reverse()) await s.stop();
  await store.close();
  await influxd?.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
for (const s of services) {
  s.child.once('exit', (code, sig) => {
    if (!stopping) {
      console.error(`${s.name} stopped unexpectedly (${code ?? sig}); see ${serviceLogFile(logDir, s.name)}`);
      void shutdown();
    }
  });
}
