// `npm start`: a private influxd (unless INFLUX_URL is set), the broker, the ingest writer and the API with the
// web dashboard, the Dehong demo firms, a small simulator fleet; then it prints where to look.
import fs from 'node:fs';
import path from 'node:path';
import { configOrExit } from '../common/config.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../common/influxd.ts';
import { ADMIN_TOKEN_FILE, dataFiles, loadOrCreateSecret } from '../common/secrets.ts';
import { SqliteRegistry } from '../common/registry/sqlite-registry.ts';
import { seedDemoFirms } from '../common/demo.ts';
import { InfluxStore } from '../common/telemetry-store/influx-store.ts';
import { SimulatedDevice, type DeviceCredentials } from '../simulators/device.ts';
import { createModel, seededRng } from '../simulators/models.ts';
import { ensureSelfSigned } from '../common/tls.ts';
import { startService, waitForPort, type ServiceProcess } from './launch.ts';

const config = configOrExit();
fs.mkdirSync(config.dataDir, { recursive: true });
const files = dataFiles(config.dataDir);
const adminToken = config.adminToken ?? loadOrCreateSecret(config.dataDir, ADMIN_TOKEN_FILE, 'at').value;

let influxd: PrivateInfluxd | undefined;
let influxUrl = config.influxUrl;
if (!influxUrl) {
  console.log(`Starting a private InfluxDB (data in ${files.influxDir})...`);
  influxd = await startPrivateInfluxd(files.influxDir, config.influxPort);
  influxUrl = influxd.url;
}
const store = new InfluxStore({ url: influxUrl, db: config.influxDb, user: config.influxUser, password: config.influxPassword, token: process.env.INFLUX_TOKEN || undefined });
await store.ensureDatabase();

// The registry's schema is created here once, before three processes open it.
const registry = new SqliteRegistry(files.registry);
const added = await seedDemoFirms(registry);
const firms = await registry.listFirms();

// TLS: configured files, or with TLS_SELF_SIGNED=1 a development CA and certificate under DATA_DIR/tls.
let tls = config.tlsCertFile && config.tlsKeyFile ? { cert: config.tlsCertFile, key: config.tlsKeyFile, ca: process.env.TLS_CA_FILE } : undefined;
if (!tls && /^(1|true|yes)$/i.test(process.env.TLS_SELF_SIGNED ?? '')) tls = ensureSelfSigned(path.join(config.dataDir, 'tls'));
const env = {
  ...process.env, INFLUX_URL: influxUrl, ADMIN_TOKEN: adminToken, DATA_DIR: config.dataDir,
  ...(tls ? { TLS_CERT_FILE: tls.cert, TLS_KEY_FILE: tls.key } : {}),
};
const logDir = path.join(config.dataDir, 'logs');
fs.mkdirSync(logDir, { recursive: true });
const services: ServiceProcess[] = [];
const broker = startService('broker', { env, logDir });
services.push(broker);
await waitForPort(config.mqttPort, broker);
services.push(startService('ingest', { env, logDir }));
const api = startService('api', { env, logDir });
services.push(api);
const scheme = tls ? 'https' : 'http';
await waitForPort(config.httpPort, api);

// The simulator fleet: credentials are kept so a restart reuses the same devices.
const credFile = path.join(config.dataDir, 'simulator-credentials.json');
let creds: DeviceCredentials[] = fs.existsSync(credFile) ? (JSON.parse(fs.readFileSync(credFile, 'utf8')) as DeviceCredentials[]) : [];
const plan = ['loom', 'loom', 'dyeing_machine', 'electricity_meter', 'spinning_frame', 'loom'];
// About a third of the above-scale demo firms get simulated machines, so the KPI starts below the 50% goal.
const simFirms = firms.filter((f) => f.aboveScale).filter((_, i) => i % 3 === 0);
for (let i = creds.length; i < config.simulate && simFirms.length > 0; i++) {
  const firm = simFirms[i % simFirms.length]!;
  const type = plan[i % plan.length]!;
  // Provisioned in the registry directly (the API may speak HTTPS with a development certificate), and audited.
  const { device, token } = await registry.createDevice({ firmId: firm.id, type, name: `演示 ${type} ${i + 1}`, location: '一车间' });
  await registry.recordAudit({ at: Date.now(), actor: 'npm start (simulator fleet)', action: 'device.provision', target: device.id, detail: JSON.stringify({ firmId: firm.id, type }) });
  creds.push({ id: device.id, firmId: firm.id, type, token });
}
await registry.close();
creds = creds.slice(0, config.simulate);
fs.writeFileSync(credFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
const rng = seededRng(2027);
const fleet = creds.map((c) => new SimulatedDevice(c, createModel(c.type, rng), `mqtt://127.0.0.1:${config.mqttPort}`));
await Promise.all(fleet.map((d) => d.connect()));
for (const d of fleet) d.run(config.simulateIntervalMs);

console.log(`
德宏纺织服装工业互联网平台 · 遥测核心 / Dehong textile telemetry core is running
  Web dashboard + API : ${scheme}://localhost:${config.httpPort}/#token=${adminToken}
                        (OpenAPI: /openapi.json, health: /healthz, Prometheus: /metrics)
  MQTT                : mqtt://localhost:${config.mqttPort}   (WebSocket: ${scheme === 'https' ? 'wss' : 'ws'}://localhost:${config.httpPort}/mqtt)${tls ? `
  MQTT over TLS       : mqtts://localhost:${config.mqttsPort}   (CA for devices: ${tls.ca ?? 'your CA'})` : ''}
  InfluxDB            : ${influxUrl} (database "${config.influxDb}")${influxd ? ' (private, started by npm start)' : ''}
  Admin API token     : ${adminToken}
  Demo firms          : ${firms.length} (${added} added now); simulated devices: ${fleet.length}
  Logs                : ${logDir}
Press Ctrl+C to stop.
`);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('Stopping...');
  await Promise.all(fleet.map((d) => d.stop().catch(() => {})));
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
      console.error(`${s.name} stopped unexpectedly (${code ?? sig}); see ${path.join(logDir, `${s.name}.log`)}`);
      void shutdown();
    }
  });
}
