// Simulator CLI: `npm run sim -- --api http://127.0.0.1:8080 --token <admin or engineer token> --firm <firmId> --types loom,dyeing_machine --devices 10`
// or `--credentials creds.json` (a JSON array of {id, firmId, type, token}). Prints a status line each second.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { SimulatedDevice, type DeviceCredentials } from './device.ts';
import { createModel, seededRng, simulatedTypes } from './models.ts';
import { provisionDevice } from './provision.ts';

const { values } = parseArgs({
  options: {
    api: { type: 'string', default: process.env.API_URL ?? `http://127.0.0.1:${process.env.HTTP_PORT ?? 8080}` },
    mqtt: { type: 'string', default: process.env.MQTT_URL ?? `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}` },
    token: { type: 'string' },
    firm: { type: 'string' },
    types: { type: 'string', default: 'loom,dyeing_machine' },
    devices: { type: 'string', default: '4' },
    interval: { type: 'string', default: '1000' },
    count: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    credentials: { type: 'string' },
    save: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}\n`);
  console.error(`usage: npm run sim -- [--api URL] [--mqtt URL] --token TOKEN --firm FIRM_ID [--types ${simulatedTypes.join(',')}]
                    [--devices N] [--interval MS] [--count MESSAGES_PER_DEVICE (0 = forever)] [--seed N] [--save creds.json]
       npm run sim -- --credentials creds.json [--mqtt URL] [--interval MS] [--count N]`);
  process.exit(msg ? 2 : 0);
}
if (values.help) usage();

function positive(name: string, v: string | undefined, allowZero = false): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) usage(`--${name} must be a whole number${allowZero ? '' : ' above 0'}, got "${v}"`);
  return n;
}

const interval = positive('interval', values.interval);
const count = positive('count', values.count, true);
const rng = seededRng(positive('seed', values.seed, true));
let creds: DeviceCredentials[];
if (values.credentials) {
  creds = JSON.parse(fs.readFileSync(values.credentials, 'utf8')) as DeviceCredentials[];
} else {
  if (!values.token || !values.firm) usage('--token and --firm are needed to provision devices (or give --credentials)');
  const types = (values.types ?? '').split(',').filter(Boolean);
  for (const t of types) if (!simulatedTypes.includes(t)) usage(`no simulator for type "${t}"; available: ${simulatedTypes.join(', ')}`);
  const n = positive('devices', values.devices);
  creds = [];
  for (let i = 0; i < n; i++) {
    const type = types[i % types.length] as string;
    creds.push(await provisionDevice(values.api as string, values.token, values.firm, type, `sim ${type} ${i + 1}`, 'simulator'));
  }
  if (values.save) fs.writeFileSync(values.save, JSON.stringify(creds, null, 2), { mode: 0o600 });
}

const devices = creds.map((c) => new SimulatedDevice(c, createModel(c.type, rng), values.mqtt as string));
await Promise.all(devices.map((d) => d.connect()));
let finished = 0;
for (const d of devices) d.run(interval, count, () => { finished++; });
let lastAcked = 0;
const status = setInterval(() => {
  const acked = devices.reduce((n, d) => n + d.stats.acked, 0);
  const sent = devices.reduce((n, d) => n + d.stats.sent, 0);
  process.stdout.write(`\rdevices ${devices.filter((d) => d.connected).length}/${devices.length} connected · sent ${sent} · acked ${acked} · ${acked - lastAcked} msg/s   `);
  lastAcked = acked;
  if (count > 0 && finished === devices.length && acked >= sent) void stop();
}, 1000);

async function stop(): Promise<void> {
  clearInterval(status);
  await Promise.all(devices.map((d) => d.stop()));
  const acked = devices.reduce((n, d) => n + d.stats.acked, 0);
  const sent = devices.reduce((n, d) => n + d.stats.sent, 0);
  console.log(`\nsummary: ${devices.length} devices, ${sent} messages sent, ${acked} acknowledged`);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
