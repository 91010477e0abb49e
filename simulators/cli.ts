// Simulator CLI (`npm run sim -- --help`). Two ways to say which devices to run:
//   --scenario FILE|NAME   a scenario file (simulators/scenarios/*.yaml): firms, devices, shifts, rates, faults
//   --firm ID --types ...  the quick way: N devices of some types under one firm
// Devices are provisioned through the API (--token) or read from a credentials file (--credentials), then each
// gets its own MQTT connection. A status line shows devices connected, msg/s sent and acknowledged and the
// rejections the platform reported on the devices' errors topics; a summary is printed at the end.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { DeviceCredentials } from './device.ts';
import { seedFrom, simulatedTypes } from './models.ts';
import { ensureFirm, ensureSteamSource, mapLimit, provisionDevice, readCredentials, setRateLimitListener, writeCredentials } from './provision.ts';
import { FAULT_INFO, FAULT_NAMES, describePlan, parseFaultFlag, withRates, type FaultName, type FaultPlan } from './faults.ts';
import { ScenarioError, loadScenario, planScenario, resolveScenarioPath, summarisePlan, type Plan, type PlanSummary } from './scenario.ts';
import { Fleet, entriesOf, type FleetEntry, type FleetTotals } from './fleet.ts';

// `npm run sim -- --plan | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

function usage(msg?: string): never {
  if (msg) console.error(`error: ${msg}\n`);
  const faults = FAULT_NAMES.map((n) => `    ${n.padEnd(14)} per ${FAULT_INFO[n].per.padEnd(13)} ${FAULT_INFO[n].does}; expect: ${FAULT_INFO[n].expect}`).join('\n');
  (msg ? console.error : console.log)(`usage:
  npm run sim -- --scenario FILE|NAME [--token TOKEN] [--credentials FILE] [--save FILE] [options]
  npm run sim -- --token TOKEN --firm FIRM_ID [--types ${simulatedTypes.slice(0, 3).join(',')},...] [--devices N] [options]
  npm run sim -- --credentials FILE [options]

  --scenario FILE|NAME  scenario file (.yaml/.json) or a shipped one: dehong-demo, load, faults-demo
  --plan                print what the scenario would run (firms, devices, rates) and exit
  --token TOKEN         API token to register the scenario's firms (admin/bureau) and provision devices
  --credentials FILE    device credentials to reuse (JSON array of {id, firmId, type, token}); with --scenario
                        only the devices missing from the file are provisioned
  --save FILE           write the credentials of every device run (0600)
  --api URL             API base URL (default $API_URL or http://127.0.0.1:$HTTP_PORT)
  --mqtt URL            broker URL (default $MQTT_URL or mqtt://127.0.0.1:$MQTT_PORT); mqtts:// and ws(s):// work too
  --ca FILE             CA certificate (PEM) to trust for mqtts:// or wss:// (for an https:// API with a private
                        CA, set NODE_EXTRA_CA_CERTS=FILE)
  --seed N              seed of models, faults and plan (default: the scenario's, else 1)
  --interval MS         publish interval of every device (default: the scenario's, else 1000)
  --count N             telemetry messages per device, then stop (0 = until Ctrl+C or --duration)
  --duration S          stop after S seconds
  --fault NAME=RATE     switch a fault on (repeatable; overrides the scenario's rate), e.g. --fault malformed=0.01
  --prefix P            device id prefix instead of the scenario's idPrefix (new devices)
  --concurrency N       connections opened at once (default 50)
  --connect-rate N      connections opened per second at most (default 0 = no pacing); the broker refuses
                        more than 600 attempts a minute from one address by default, so use 9 for thousands
  --no-errors           do not subscribe to the devices' errors topics (no rejection counts)
  --quiet               no live status line
  --summary-json FILE   also write the final totals as JSON (for benchmarks)
  --types, --devices    the quick way: types (comma separated) and number of devices under --firm

faults (rate = probability per message, per device-minute or per fleet-minute):
${faults}`);
  process.exit(msg ? 2 : 0);
}

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      api: { type: 'string', default: process.env.API_URL ?? `http://127.0.0.1:${process.env.HTTP_PORT ?? 8080}` },
      mqtt: { type: 'string', default: process.env.MQTT_URL ?? `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}` },
      token: { type: 'string' },
      firm: { type: 'string' },
      types: { type: 'string', default: 'loom,dyeing_machine' },
      devices: { type: 'string', default: '4' },
      interval: { type: 'string' },
      count: { type: 'string', default: '0' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      credentials: { type: 'string' },
      save: { type: 'string' },
      scenario: { type: 'string' },
      plan: { type: 'boolean', default: false },
      fault: { type: 'string', multiple: true, default: [] },
      prefix: { type: 'string' },
      concurrency: { type: 'string', default: '50' },
      'connect-rate': { type: 'string', default: '0' },
      'no-errors': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'summary-json': { type: 'string' },
      ca: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
}
try {
  values = parse().values;
} catch (err) {
  usage((err as Error).message);
}
if (values.help) usage();

function whole(name: string, v: string | undefined, allowZero = false): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < (allowZero ? 0 : 1)) usage(`--${name} must be a whole number${allowZero ? '' : ' above 0'}, got "${v}"`);
  return n;
}

const count = whole('count', values.count, true);
const durationS = values.duration === undefined ? 0 : whole('duration', values.duration);
const concurrency = whole('concurrency', values.concurrency);
const connectRate = whole('connect-rate', values['connect-rate'], true);
const intervalOverride = values.interval === undefined ? undefined : whole('interval', values.interval);
let faultRates: Array<[FaultName, number]>;
try {
  faultRates = (values.fault ?? []).map(parseFaultFlag);
} catch (err) {
  usage((err as Error).message);
}
const tty = process.stdout.isTTY && !values.quiet;
const api = values.api as string;
const mqttUrl = values.mqtt as string;

/** With a token: registers the scenario's firms (those without devices too) and provisions devices without credentials. */
async function provisionMissing(plan: Plan, known: Map<string, DeviceCredentials>): Promise<void> {
  const missing = plan.devices.filter((d) => !known.has(d.id));
  if (missing.length > 0 && !values.token) usage(`${missing.length} of the scenario's ${plan.devices.length} devices have no credentials: give --token to provision them (and --save FILE to keep them), or --credentials FILE`);
  if (!values.token) return;
  const token = values.token;
  let created = 0;
  await mapLimit(plan.firms, 4, async (f) => {
    if (await ensureFirm(api, token, f)) created++;
  });
  if (created > 0) console.log(`registered ${created} firm(s)`);
  let entered = 0;
  for (const [firmId, steamSource] of plan.steamSources) if (await ensureSteamSource(api, token, firmId, steamSource)) entered++;
  if (entered > 0) console.log(`entered the steam source of ${entered} firm(s)`);
  if (missing.length === 0) return;
  let done = 0;
  let lastWait = 0;
  setRateLimitListener((waitS) => {
    if (Date.now() - lastWait < 5000) return;
    lastWait = Date.now();
    console.log(`${tty ? '\n' : ''}the API's rate limit was reached after ${done} devices: waiting ${waitS} s (provisioning goes on)`);
  });
  // Ctrl+C while provisioning keeps what was provisioned so far.
  const onInterrupt = () => {
    if (values.save && done > 0) writeCredentials(values.save, [...known.values()]);
    console.log(`\ninterrupted after provisioning ${done} devices${values.save ? `; their credentials are in ${values.save}` : ''}`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    await mapLimit(missing, 8, async (d) => {
      known.set(d.id, await provisionDevice(api, token, d.firmId, d.type, d.name, d.location, d.id));
      done++;
      if (tty && (done % 50 === 0 || done === missing.length)) process.stdout.write(`\rprovisioned ${done}/${missing.length} devices`);
    });
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    // Keep what was provisioned even when a later device failed: a rerun with --credentials goes on from there.
    if (values.save && done > 0) writeCredentials(values.save, [...known.values()]);
  }
  console.log(`${tty ? '\n' : ''}provisioned ${done} devices`);
}

/** What to run: the devices, a title for the status and summary, and the settings the scenario gives. */
interface Run {
  entries: FleetEntry[];
  title: string;
  seed: number;
  utcOffsetMin: number;
  faults: FaultPlan;
}

/** A scenario's devices, provisioned as needed; undefined when --plan only prints what it would run. */
async function scenarioRun(nameOrFile: string): Promise<Run | undefined> {
  const scenario = loadScenario(resolveScenarioPath(nameOrFile));
  if (values.prefix) {
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(values.prefix)) usage(`--prefix must be 1–16 lower-case letters, digits or "-", got "${values.prefix}"`);
    scenario.idPrefix = values.prefix;
  }
  const seed = values.seed === undefined ? scenario.seed : whole('seed', values.seed, true);
  const plan = planScenario(scenario, seed);
  const faults = withRates(scenario.faults, faultRates);
  const title = `scenario ${scenario.name}, seed ${seed}`;
  const sum = summarisePlan(plan);
  console.log(`${title}: ${sum.firms} firms (${sum.firmsWithDevices} with devices; above-scale ${sum.aboveScaleWithDevices}/${sum.aboveScale} = ${sum.aboveScale ? Math.round((100 * sum.aboveScaleWithDevices) / sum.aboveScale) : 0} %), ${sum.devices} devices, ≈${sum.messagesPerSecond} msg/s; faults: ${describePlan(faults)}`);
  if (values.plan) {
    printPlan(plan, sum);
    return undefined;
  }
  const known = new Map<string, DeviceCredentials>();
  if (values.credentials && fs.existsSync(values.credentials)) for (const c of readCredentials(values.credentials)) known.set(c.id, c);
  await provisionMissing(plan, known);
  const entries = entriesOf(plan, (id) => known.get(id) as DeviceCredentials, intervalOverride);
  return { entries, title, seed, utcOffsetMin: scenario.utcOffsetMin, faults };
}

function printPlan(plan: Plan, sum: PlanSummary): void {
  console.log(`devices by type: ${Object.entries(sum.byType).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`devices by county: ${Object.entries(sum.byCounty).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const d of plan.devices) console.log(`  ${d.id}\t${d.type}\t${d.intervalMs} ms\t${d.shifts.map((s) => s.name).join('+') || 'always'}`);
}

/** The quick way: the devices of a credentials file, or --devices new ones of --types under --firm. */
async function quickRun(): Promise<Run> {
  const seed = values.seed === undefined ? 1 : whole('seed', values.seed, true);
  const creds = values.credentials ? readCredentials(values.credentials) : await provisionQuick();
  for (const c of creds) if (!simulatedTypes.includes(c.type)) usage(`device ${c.id} has type "${c.type}", which has no simulator model`);
  const interval = intervalOverride ?? 1000;
  const title = `${creds.length} devices, seed ${seed}`;
  const entries = creds.map((c, i): FleetEntry => {
    const other = creds.find((o, j) => j !== i && o.firmId === c.firmId);
    return {
      creds: c, intervalMs: interval, modelSeed: seedFrom(seed, c.id, 'model'), faultSeed: seedFrom(seed, c.id, 'faults'),
      startDelayMs: Math.floor((i / creds.length) * interval),
      ...(other ? { victim: { firmId: other.firmId, deviceId: other.id } } : {}),
    };
  });
  const faults = withRates({}, faultRates);
  console.log(`${title}; faults: ${describePlan(faults)}`);
  return { entries, title, seed, utcOffsetMin: 480, faults };
}

async function provisionQuick(): Promise<DeviceCredentials[]> {
  if (!values.token || !values.firm) usage('--token and --firm are needed to provision devices (or give --scenario, or --credentials)');
  const types = (values.types ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (types.length === 0) usage('--types names no device type');
  for (const t of types) if (!simulatedTypes.includes(t)) usage(`no simulator for type "${t}"; available: ${simulatedTypes.join(', ')}`);
  const n = whole('devices', values.devices);
  const creds: DeviceCredentials[] = [];
  for (let i = 0; i < n; i++) {
    const type = types[i % types.length] as string;
    creds.push(await provisionDevice(api, values.token, values.firm, type, `sim ${type} ${i + 1}`, 'simulator'));
  }
  return creds;
}

function readCa(): Buffer | undefined {
  if (!values.ca) return undefined;
  try {
    return fs.readFileSync(values.ca);
  } catch (err) {
    return usage(`--ca ${values.ca}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Connects every device, showing progress; exits when none could connect. */
async function connect(fleet: Fleet, total: number): Promise<void> {
  const connectStart = Date.now();
  const failed = await fleet.connect((ok, bad, all) => {
    if (tty && ((ok + bad) % 50 === 0 || ok + bad === all)) process.stdout.write(`\rconnecting ${ok + bad}/${all}${bad ? ` (${bad} failed)` : ''}   `);
  });
  if (tty) process.stdout.write('\n');
  console.log(`connected ${total - failed.length}/${total} devices in ${((Date.now() - connectStart) / 1000).toFixed(1)} s`);
  if (failed.length > 0) {
    console.error(`${failed.length} device(s) could not connect; first: ${failed[0]?.id}: ${failed[0]?.error}`);
    if (failed.length === total) process.exit(1);
  }
}

/** Shows the status line every second and stops the fleet (with a summary) at --count, --duration or a signal. */
function reportUntilDone(fleet: Fleet, title: string): void {
  const startedAt = fleet.startedAt;
  let prev: FleetTotals | undefined;
  let lastPrinted = 0;
  let stopping = false;

  async function stop(reason: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    clearInterval(status);
    if (tty) process.stdout.write('\n');
    console.log(`stopping (${reason}): waiting for outstanding acknowledgements...`);
    const connectedBefore = fleet.totals().connected;
    await fleet.stop();
    const totals = { ...fleet.totals(), connected: connectedBefore };
    console.log(Fleet.summary(totals, startedAt, title));
    if (values['summary-json']) fs.writeFileSync(values['summary-json'], JSON.stringify({ title, seconds: (totals.at - startedAt) / 1000, ...totals }, null, 2));
    process.exit(0);
  }

  const status = setInterval(() => {
    const now = fleet.totals();
    const line = Fleet.statusLine(now, prev, startedAt);
    prev = now;
    if (tty) process.stdout.write(`\r${line}\x1b[K`);
    else if (!values.quiet && now.at - lastPrinted >= 10_000) {
      console.log(line);
      lastPrinted = now.at;
    }
    if (fleet.finished) void stop(`${count} messages per device sent`);
    else if (durationS > 0 && now.at - startedAt >= durationS * 1000) void stop(`${durationS} s elapsed`);
  }, 1000);
  process.on('SIGINT', () => void stop('interrupted'));
  process.on('SIGTERM', () => void stop('terminated'));
}

async function main(): Promise<void> {
  const run = values.scenario ? await scenarioRun(values.scenario) : await quickRun();
  if (!run) return;
  if (values.save) writeCredentials(values.save, run.entries.map((e) => e.creds));
  const ca = readCa();
  const fleet = new Fleet(run.entries, {
    mqttUrl, faults: run.faults, seed: run.seed, utcOffsetMin: run.utcOffsetMin, subscribeErrors: !values['no-errors'], count,
    connectConcurrency: concurrency, connectRatePerS: connectRate, ...(ca ? { ca } : {}),
  });
  await connect(fleet, run.entries.length);
  fleet.start();
  reportUntilDone(fleet, run.title);
}

main().catch((err: Error) => {
  if (err instanceof ScenarioError || err.name === 'ApiError') console.error(`error: ${err.message}`);
  else console.error(`error: ${err.stack ?? err.message}`);
  process.exit(1);
});
