// `npm run bench`: ingest throughput, latency, CPU and memory of the real broker + writer + influxd on this
// machine, against two ceilings measured in the same run: a bare Aedes QoS1 relay and influxd's raw write rate.
// Writes bench-results/latest.json and docs/benchmarks.md. Options: --quick, --seconds N, --rates a,b,c,
// --devices N, --outage-seconds N, --storm-devices N (0: no reconnect storm).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { makeUscc } from '../../common/ids.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { ROOT, startService, waitForPort, type ServiceProcess } from '../../scripts/launch.ts';
import { dataDirLayout, type DataDirLayout } from '../../common/data-dir.ts';
import type { LoadConfig } from './loadgen.ts';
import { cpuSeconds, percentile, runLoad, storedInSlice, watchPeakRss } from './common.ts';
import { reconnectStorm, type StormFigures } from './storm.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rates: { type: 'string' },
    devices: { type: 'string', default: '200' },
    'outage-seconds': { type: 'string' },
    'storm-devices': { type: 'string' },
    'render-only': { type: 'boolean', default: false },
    /** Where to write latest.json and benchmarks.md instead of bench-results/ and docs/ (exploratory runs). */
    out: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const seconds = Number(args.seconds ?? (quick ? 5 : 10));
const rates = (args.rates ?? (quick ? '5000,15000,30000' : '5000,10000,15000,20000,25000,30000,40000,50000,60000')).split(',').map(Number);
if (!rates.includes(15000)) rates.push(15000);
rates.sort((a, b) => a - b);
const deviceCount = Number(args.devices);
const outageSeconds = Number(args['outage-seconds'] ?? (quick ? 10 : 60));
const stormDevices = Number(args['storm-devices'] ?? (quick ? 2000 : 10_000));
const log = (...m: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...m);

// ---------------------------------------------------------------- influxd raw ceiling
async function influxRaw(influxd: PrivateInfluxd): Promise<number> {
  const db = 'raw';
  await fetch(`${influxd.url}/query?q=${encodeURIComponent(`CREATE DATABASE "${db}"`)}`, { method: 'POST' });
  const series = 1000;
  const total = quick ? 300_000 : 600_000;
  const base = Date.now() - 86_400_000;
  const batches: string[] = [];
  let lines: string[] = [];
  for (let i = 0; i < total; i++) {
    const s = i % series;
    const t = Math.floor(i / series);
    lines.push(`loom,county=533102,device=raw-${s},firm=F${s % 40},park=ruili-coop,segment=weaving speed_rpm=${600 + (t % 50)},efficiency_pct=90,picks_total=${t * 10},fabric_m_total=${t / 100},power_kw=4,energy_kwh_total=${t / 1000},seq=${t}i ${base + t * 1000}`);
    if (lines.length === 5000) { batches.push(lines.join('\n')); lines = []; }
  }
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++]!;
      const res = await fetch(`${influxd.url}/write?db=${db}&precision=ms`, { method: 'POST', body });
      if (res.status !== 204) throw new Error(`raw write ${res.status}: ${await res.text()}`);
    }
  };
  await Promise.all([worker(), worker()]);
  return total / ((performance.now() - started) / 1000);
}

// ---------------------------------------------------------------- bare Aedes relay ceiling
async function bareRelay(): Promise<{ msgPerSec: number; cpuMicrosPerMsg: number }> {
  const port = await freePort();
  const broker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/ingest/bare-broker.ts'), String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((r) => broker.stdout!.once('data', () => r()));
  const url = `mqtt://127.0.0.1:${port}`;
  const sink = await mqtt.connectAsync(url, { clientId: 'bench-sink', clean: false, reconnectPeriod: 0 });
  let received = 0;
  sink.on('message', () => { received++; });
  await sink.subscribeAsync('bench/#', { qos: 1 });
  const devices = Array.from({ length: deviceCount }, (_, i) => ({ id: `bare-${i}`, token: '', topic: `bench/${i}` }));
  const cpu0 = cpuSeconds(broker.pid);
  let windowStart = 0;
  let atStart = 0;
  let atEnd = 0;
  const load = runLoad({ url, devices, rate: 0, seconds, inflight: 20, baseTs: 0, auth: false });
  // The load generator spends a moment connecting; measure the subscriber over the publishing window.
  await waitFor(async () => received > 0, 30_000, 'first relayed message');
  windowStart = performance.now();
  atStart = received;
  await new Promise((r) => setTimeout(r, (seconds - 1) * 1000));
  atEnd = received;
  const elapsed = (performance.now() - windowStart) / 1000;
  const cpu = cpuSeconds(broker.pid) - cpu0;
  await load;
  await sink.endAsync(true);
  broker.kill('SIGKILL');
  const msgPerSec = (atEnd - atStart) / elapsed;
  return { msgPerSec, cpuMicrosPerMsg: (cpu * 1e6) / Math.max(received, 1) };
}

// ---------------------------------------------------------------- our system
interface Step {
  rate: number;
  ackedPerSec: number;
  sent: number;
  acked: number;
  stored: number;
  loss: number;
  pubackP50Ms: number;
  pubackP99Ms: number;
  drainMs: number;
  cpuSeconds: { broker: number; ingest: number; influxd: number };
  cpuMicrosPerMsg: number;
  peakRssMb: { broker: number; ingest: number; influxd: number };
}

type ProbedStep = Step & { probeP50Ms?: number; probeP99Ms?: number };

async function main(): Promise<void> {
  if (args['render-only']) {
    // Re-render docs/benchmarks.md from the last results (after editing the analysis text).
    const r = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench-results/latest.json'), 'utf8')) as Result;
    Object.assign(r, lastCluster());
    fs.writeFileSync(path.join(ROOT, 'bench-results/latest.json'), `${JSON.stringify(r, null, 2)}\n`);
    fs.writeFileSync(path.join(ROOT, 'docs/benchmarks.md'), renderMarkdown(r));
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-bench-'));
  const files = dataDirLayout(path.join(dir, 'data'));
  log(`working in ${dir}; rates ${rates.join(', ')} msg/s, ${seconds} s each, ${deviceCount} devices`);
  const influxd = await startPrivateInfluxd(files.influxdb);
  const raw = await influxRaw(influxd);
  log(`influxd raw write: ${Math.round(raw)} points/s`);
  const bare = await bareRelay();
  log(`bare Aedes QoS1 relay: ${Math.round(bare.msgPerSec)} msg/s`);

  const sys = await startSystem(files, influxd);
  const rated = await rateSteps(sys);
  const outage = await outageRun(sys);
  let storm: StormFigures | null = null;
  if (stormDevices > 0) {
    const r = await reconnectStorm({ ...sys, registryFile: files.registry, logDir: files.logs, otherDevices: deviceCount + 1, waitDrained: () => spoolDrained(sys, 300_000, 'storm drained', 100) }, stormDevices, sys.nextSlice(), log);
    storm = r.figures;
    sys.broker = r.broker;
  }
  await sys.broker.stop();
  await sys.ingest.stop();
  await sys.spool.close();
  await sys.store.close();
  await influxd.stop();

  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  const { steps, sustainedStep, sustained, latencyStep, latencyAt } = rated;
  const result: Result = {
    date: new Date().toISOString(), machine, command: `npm run bench${quick ? ' -- --quick' : ''}`, secondsPerStep: seconds, devices: deviceCount,
    sustainedMsgPerSec: sustained,
    p99LatencyMs: latencyStep.probeP99Ms ?? null, p50LatencyMs: latencyStep.probeP50Ms ?? null, latencyAtMsgPerSec: latencyAt,
    bareRelayMsgPerSec: Math.round(bare.msgPerSec), bareRelayCpuMicrosPerMsg: bare.cpuMicrosPerMsg,
    influxRawPointsPerSec: Math.round(raw),
    relayRatio: bare.msgPerSec > 0 ? sustained / bare.msgPerSec : null,
    cpuMicrosPerMsg: sustainedStep?.cpuMicrosPerMsg ?? null,
    pubackP99MsAt15k: steps.find((s) => s.rate === 15000)?.pubackP99Ms ?? null,
    outage,
    reconnectStorm: storm,
    ...lastCluster(),
    steps,
  };
  const out = args.out ? path.resolve(args.out) : undefined;
  const jsonFile = out ? path.join(out, 'latest.json') : path.join(ROOT, 'bench-results/latest.json');
  const mdFile = out ? path.join(out, 'benchmarks.md') : path.join(ROOT, 'docs/benchmarks.md');
  fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
  fs.writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(mdFile, renderMarkdown(result));
  log(`wrote ${jsonFile} and ${mdFile}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The system under test: broker and writer processes on one data directory, with the bench's fleet. */
interface System {
  url: string;
  mqttPort: number;
  env: NodeJS.ProcessEnv;
  influxd: PrivateInfluxd;
  broker: ServiceProcess;
  ingest: ServiceProcess;
  spool: SqliteSpool;
  store: InfluxStore;
  fleet: Fleet;
  /** Each step writes into its own 10,000 s slice of device time, so the stored points of a step can be counted. */
  nextSlice(): number;
  /** The slice of the warm-up, before every step's. */
  t0: number;
}

interface Fleet { firmId: string; creds: LoadConfig['devices']; probeToken: string }

/** One firm with `deviceCount` looms and a latency probe device, in the registry the broker will open. */
async function seedFleet(registryFile: string): Promise<Fleet> {
  const registry = new SqliteRegistry(registryFile);
  const firm = { id: makeUscc('533102', 4242), name: 'bench', county: '533102', park: 'ruili-coop', segment: 'weaving', aboveScale: true, employees: 1, landMu: 1, smartFactoryTier: 'none' as const, demo: true };
  await registry.createFirm(firm);
  const creds: LoadConfig['devices'] = [];
  for (let i = 0; i < deviceCount; i += 20) {
    const made = await Promise.all(Array.from({ length: Math.min(20, deviceCount - i) }, (_, k) => registry.createDevice({ firmId: firm.id, type: 'loom', name: `b${i + k}`, id: `bench-${i + k}` })));
    for (const m of made) creds.push({ id: m.device.id, token: m.token, topic: topicFor(firm.id, m.device.id, 'telemetry') });
  }
  const probe = await registry.createDevice({ firmId: firm.id, type: 'loom', name: 'probe', id: 'bench-probe' });
  await registry.close();
  return { firmId: firm.id, creds, probeToken: probe.token };
}

async function startSystem(files: DataDirLayout, influxd: PrivateInfluxd): Promise<System> {
  const fleet = await seedFleet(files.registry);
  const mqttPort = await freePort();
  const env = { ...process.env, DATA_DIR: files.root, INFLUX_URL: influxd.url, INFLUX_DB: 'bench', MQTT_PORT: String(mqttPort), MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'warn', CONNECTS_PER_MINUTE: '100000', MAX_INFLIGHT: '100000', PRELOGIN_CONNECTIONS_PER_ADDRESS: '1000' };
  fs.mkdirSync(files.logs, { recursive: true });
  // BENCH_PROFILE=dir: V8 CPU profiles of the broker and the writer, to see where the time goes.
  const prof = [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_PROFILE)] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const broker = startService('broker', { env, logDir: files.logs, nodeArgs: prof });
  await waitForPort(mqttPort, broker);
  const ingest = startService('ingest', { env, logDir: files.logs, nodeArgs: prof });
  const spool = new SqliteSpool(files.spool);
  const store = new InfluxStore({ url: influxd.url, db: 'bench' });
  await waitFor(async () => { try { await store.query('SHOW MEASUREMENTS'); return true; } catch { return false; } }, 30_000, 'bench database');
  const t0 = Date.now() - 20 * 86_400_000;
  let slice = 0;
  return { url: `mqtt://127.0.0.1:${mqttPort}`, mqttPort, env, influxd, broker, ingest, spool, store, fleet, t0, nextSlice: () => t0 + ++slice * 10_000_000 };
}

function spoolDrained(sys: System, timeoutMs: number, what: string, everyMs?: number): Promise<void> {
  return waitFor(async () => (await sys.spool.stats()).rows === 0, timeoutMs, what, everyMs);
}

/** One rate step: load for `seconds`, wait for the spool to drain, count what InfluxDB stored. */
async function step(sys: System, rate: number, withProbe = false): Promise<ProbedStep> {
  const baseTs = sys.nextSlice();
  const p = { broker: sys.broker.child.pid, ingest: sys.ingest.child.pid, influxd: sys.influxd.process.pid };
  let cpu0 = { broker: 0, ingest: 0, influxd: 0 };
  const snapshotCpu = () => { cpu0 = { broker: cpuSeconds(p.broker), ingest: cpuSeconds(p.ingest), influxd: cpuSeconds(p.influxd) }; };
  const rss = watchPeakRss(p, 250);
  let probeLat: number[] | undefined;
  let stopProbe = async () => {};
  if (withProbe) {
    probeLat = [];
    stopProbe = await runProbe(sys.url, sys.fleet.probeToken, sys.fleet.firmId, sys.store, baseTs, probeLat);
  }
  const r = await runLoad({ url: sys.url, devices: sys.fleet.creds, rate, seconds, inflight: 200, baseTs, auth: true }, snapshotCpu);
  await stopProbe();
  const loadDone = performance.now();
  await spoolDrained(sys, 300_000, 'spool drained', 20);
  const drainMs = performance.now() - loadDone;
  rss.stop();
  const cpu = { broker: cpuSeconds(p.broker) - cpu0.broker, ingest: cpuSeconds(p.ingest) - cpu0.ingest, influxd: cpuSeconds(p.influxd) - cpu0.influxd };
  const stored = await storedInSlice(sys.store, baseTs, `"device" <> 'bench-probe' AND `);
  const s: ProbedStep = {
    // Everything was published inside the window; a message counts once its PUBACK arrived, even just after it.
    rate, ackedPerSec: r.ackedTotal / r.seconds, sent: r.sent, acked: r.ackedTotal, stored, loss: Math.max(0, r.ackedTotal - stored),
    pubackP50Ms: r.pubackP50Ms, pubackP99Ms: r.pubackP99Ms, drainMs, cpuSeconds: cpu,
    cpuMicrosPerMsg: ((cpu.broker + cpu.ingest + cpu.influxd) * 1e6) / Math.max(r.ackedTotal, 1), peakRssMb: rss.peak,
    ...(probeLat ? { probeP50Ms: percentile(probeLat, 0.5), probeP99Ms: percentile(probeLat, 0.99) } : {}),
  };
  log(`rate ${rate}: acked ${Math.round(s.ackedPerSec)}/s, stored ${stored}/${s.acked}, PUBACK p50/p99 ${s.pubackP50Ms.toFixed(1)}/${s.pubackP99Ms.toFixed(1)} ms, drain ${Math.round(drainMs)} ms, ${s.cpuMicrosPerMsg.toFixed(1)} µs CPU/msg`);
  return s;
}

interface Rated { steps: Step[]; sustainedStep: Step | undefined; sustained: number; latencyAt: number; latencyStep: ProbedStep }

/** Warm-up, the rate steps until saturation, then publish-to-queryable latency at half the sustained rate. */
async function rateSteps(sys: System): Promise<Rated> {
  // Warm-up: the first connections pay for checking each device token (scrypt); the broker then caches them.
  await runLoad({ url: sys.url, devices: sys.fleet.creds, rate: 1000, seconds: 1, inflight: 200, baseTs: sys.t0, auth: true });
  await spoolDrained(sys, 60_000, 'warm-up drained');

  const steps: Step[] = [];
  for (const rate of rates) {
    const s = await step(sys, rate);
    steps.push(s);
    if (s.ackedPerSec < 0.9 * rate && rate > 15000) break; // saturated: higher rates say nothing new
  }
  const keptUp = (s: Step) => s.ackedPerSec >= 0.95 * s.rate && s.loss === 0 && s.drainMs <= 2000;
  const sustainedStep = [...steps].filter(keptUp).pop();
  const sustained = sustainedStep ? Math.round(sustainedStep.ackedPerSec) : 0;
  const latencyAt = Math.max(1000, Math.round(sustained / 2 / 1000) * 1000);
  const latencyStep = await step(sys, latencyAt, true);
  log(`publish-to-queryable at ${latencyAt} msg/s: p50 ${latencyStep.probeP50Ms?.toFixed(0)} ms, p99 ${latencyStep.probeP99Ms?.toFixed(0)} ms`);
  return { steps, sustainedStep, sustained, latencyAt, latencyStep };
}

/** Memory through an InfluxDB outage under steady load, and how long the backlog then takes to drain. */
async function outageRun(sys: System): Promise<Result['outage']> {
  const rate = 5000;
  const baseTs = sys.nextSlice();
  const rss = watchPeakRss({ broker: sys.broker.child.pid, ingest: sys.ingest.child.pid }, 500);
  const load = runLoad({ url: sys.url, devices: sys.fleet.creds, rate, seconds: outageSeconds + 10, inflight: 200, baseTs, auth: true });
  await new Promise((r) => setTimeout(r, 5000));
  await sys.influxd.stop();
  log(`InfluxDB stopped for ${outageSeconds} s at ${rate} msg/s`);
  await new Promise((r) => setTimeout(r, outageSeconds * 1000));
  await sys.influxd.restart();
  const result = await load;
  const drainStart = performance.now();
  await spoolDrained(sys, 600_000, 'backlog drained', 100);
  const drainMs = performance.now() - drainStart;
  rss.stop();
  const stored = await storedInSlice(sys.store, baseTs);
  log(`outage: acked ${result.ackedTotal}, stored ${stored}, peak RSS broker ${rss.peak.broker.toFixed(0)} MB, writer ${rss.peak.ingest.toFixed(0)} MB, drained in ${Math.round(drainMs)} ms`);
  return { seconds: outageSeconds, rate, acked: result.ackedTotal, stored, peakRssMb: rss.peak, drainMs };
}

async function runProbe(url: string, token: string, firmId: string, store: InfluxStore, baseTs: number, out: number[]): Promise<() => Promise<void>> {
  const client = await mqtt.connectAsync(url, { clientId: 'bench-probe', username: 'bench-probe', password: token, reconnectPeriod: 0 });
  const sentAt = new Map<number, number>();
  let seq = 0;
  let seen = -1;
  const pub = setInterval(() => {
    const s = seq++;
    sentAt.set(s, performance.now());
    client.publish(topicFor(firmId, 'bench-probe', 'telemetry'), JSON.stringify({ ts: baseTs + 5_000_000 + s, seq: s, metrics: { speed_rpm: 1 } }), { qos: 1 });
  }, 50);
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        const r = await store.query(`SELECT last("seq") FROM "loom" WHERE "device" = 'bench-probe' AND time >= ${baseTs}ms`);
        const last = r[0]?.values[0]?.[1];
        if (typeof last === 'number' && last > seen) {
          const now = performance.now();
          for (let s = seen + 1; s <= last; s++) { const t = sentAt.get(s); if (t !== undefined) out.push(now - t); }
          seen = last;
        }
      } catch { /* InfluxDB busy: try again */ }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    clearInterval(pub);
    await new Promise((r) => setTimeout(r, 1500));
    polling = false;
    await poll;
    await client.endAsync();
  };
}

interface Result {
  date: string; machine: string; command: string; secondsPerStep: number; devices: number; sustainedMsgPerSec: number;
  p99LatencyMs: number | null; p50LatencyMs: number | null; latencyAtMsgPerSec: number; bareRelayMsgPerSec: number; bareRelayCpuMicrosPerMsg: number;
  influxRawPointsPerSec: number; relayRatio: number | null; cpuMicrosPerMsg: number | null; pubackP99MsAt15k: number | null;
  outage: { seconds: number; rate: number; acked: number; stored: number; peakRssMb: { broker: number; ingest: number }; drainMs: number };
  reconnectStorm?: StormFigures | null;
  /** From the last `npm run bench:cluster` (bench-results/cluster.json): it starts Redis, PostgreSQL and three shapes, too long to repeat here. */
  clusterCpuRatio?: number | null;
  cluster?: { atMsgPerSec: number | null; twoNodeRatio: number | null; measured: string } | null;
  steps: Step[];
}

/** The cluster figures of the last `npm run bench:cluster`, if it has run on this checkout. */
function lastCluster(): Pick<Result, 'clusterCpuRatio' | 'cluster'> {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench-results/cluster.json'), 'utf8')) as { date: string; clusterCpuRatio?: number | null; clusterCpuRatioAtMsgPerSec?: number | null; twoNodeCpuRatio?: number | null };
    return { clusterCpuRatio: c.clusterCpuRatio ?? null, cluster: { atMsgPerSec: c.clusterCpuRatioAtMsgPerSec ?? null, twoNodeRatio: c.twoNodeCpuRatio ?? null, measured: c.date } };
  } catch {
    return { clusterCpuRatio: null, cluster: null };
  }
}

function renderMarkdown(r: Result): string {
  const f = (n: number | null | undefined, d = 0) => (n === null || n === undefined ? '–' : n.toFixed(d));
  const rows = r.steps.map((s) => `| ${s.rate} | ${f(s.ackedPerSec)} | ${s.acked} | ${s.stored} | ${s.loss} | ${f(s.pubackP50Ms, 1)} / ${f(s.pubackP99Ms, 1)} | ${f(s.drainMs)} | ${f(s.cpuSeconds.broker, 1)} / ${f(s.cpuSeconds.ingest, 1)} / ${f(s.cpuSeconds.influxd, 1)} | ${f(s.cpuMicrosPerMsg, 1)} | ${f(s.peakRssMb.broker)} / ${f(s.peakRssMb.ingest)} / ${f(s.peakRssMb.influxd)} |`).join('\n');
  return `# Benchmarks

Measured by \`${r.command}\` on ${r.date.slice(0, 10)} (${r.date}).
Machine: ${r.machine}. Load generator, broker, ingest writer and influxd (Debian 1.6) all on this machine.
${r.devices} device connections at QoS1, 6 metrics per message, unique device timestamps, ${r.secondsPerStep} s per rate step.

## Summary

| figure | value | target |
|---|---|---|
| sustained zero-loss ingest (highest step acknowledged ≥ 95 % of its rate, stored = acknowledged, spool drained ≤ 2 s) | **${r.sustainedMsgPerSec} msg/s** | ≥ 45,000 msg/s |
| bare Aedes QoS1 relay, same run (publishers → Aedes → one persistent QoS1 subscriber) | ${r.bareRelayMsgPerSec} msg/s (${f(r.bareRelayCpuMicrosPerMsg, 1)} µs broker CPU/msg) | |
| ratio sustained ÷ bare relay | **${f(r.relayRatio, 2)}** | ≥ 2 |
| influxd raw write, same run (5,000-line batches, 2 concurrent POSTs) | ${r.influxRawPointsPerSec} points/s | |
| server CPU per acknowledged message at the sustained step (broker + writer + influxd, from /proc) | **${f(r.cpuMicrosPerMsg, 1)} µs** | ≤ 25 µs |
| PUBACK p99 at 15,000 msg/s | **${f(r.pubackP99MsAt15k, 1)} ms** | < 100 ms |
| publish-to-queryable p50 / p99 at ${r.latencyAtMsgPerSec} msg/s (half the sustained rate) | ${f(r.p50LatencyMs)} / **${f(r.p99LatencyMs)} ms** | p99 < 1 s |
| InfluxDB outage of ${r.outage.seconds} s at ${r.outage.rate} msg/s: acknowledged / stored | ${r.outage.acked} / ${r.outage.stored} | equal |
| peak RSS through the outage: broker / writer | ${f(r.outage.peakRssMb.broker)} / ${f(r.outage.peakRssMb.ingest)} MB | < 300 MB each |
| backlog drained after InfluxDB returned | ${f(r.outage.drainMs / 1000, 1)} s | |
${stormRow(r.reconnectStorm)}
${clusterRow(r)}

## Rate steps

| target msg/s | acknowledged msg/s | acknowledged | stored | loss | PUBACK p50 / p99 ms | drain ms | CPU s broker / writer / influxd | µs CPU per msg | peak RSS MB broker / writer / influxd |
|---|---|---|---|---|---|---|---|---|---|
${rows}

The machine-readable results are in \`bench-results/latest.json\`.

${ANALYSIS}
`.replace('\n## Rate steps', `${handWritten()}\n## Rate steps`);
}

function clusterRow(r: Result): string {
  const target = '≤ 1.3';
  const c = r.cluster;
  if (!c || r.clusterCpuRatio === null || r.clusterCpuRatio === undefined) return `| CPU per message, 2 broker processes with Redis ÷ 1 process (\`npm run bench:cluster\`) | not measured | ${target} |`;
  return `| CPU per message, 2 broker processes with Redis ÷ 1 process, at ${c.atMsgPerSec} msg/s (\`npm run bench:cluster\` of ${c.measured.slice(0, 10)}; 2 nodes ÷ 1: ${c.twoNodeRatio?.toFixed(2) ?? '–'}) | **${r.clusterCpuRatio.toFixed(2)}** | ${target} |`;
}

function stormRow(st: StormFigures | null | undefined): string {
  if (!st) return '| reconnect storm | not run | ≥ 10,000 devices back ≤ 30 s, 0 lost |';
  const back = st.seconds === null ? `${st.returned} of ${st.devices} back by the deadline` : `**${st.seconds.toFixed(1)} s**`;
  return `| reconnect storm: ${st.devices} devices connected, broker killed and restarted (listening again after ${(st.brokerRestartMs / 1000).toFixed(1)} s); until all are connected and acknowledged again / acknowledged messages lost | ${back} / ${st.lost} of ${st.acked} | ≥ 10,000 devices back ≤ 30 s, 0 lost |`;
}

const GENERATED = new Set(['Summary', 'Rate steps', 'Where the time goes, and what would move it']);

/** Sections of docs/benchmarks.md this script does not write (other benchmarks' summaries), kept as they are. */
function handWritten(): string {
  const file = path.join(ROOT, 'docs/benchmarks.md');
  if (!fs.existsSync(file)) return '';
  const sections = fs.readFileSync(file, 'utf8').split(/^(?=## )/m).slice(1);
  const kept = sections.filter((sec) => !GENERATED.has(sec.slice(3, sec.indexOf('\n')).trim()));
  return kept.map((sec) => `\n${sec.trimEnd()}\n`).join('');
}

// Written from this run's figures and from profiles taken on 2026-11-27 (BENCH_PROFILE=dir npm run bench -- --rates
// 20000); update it when the numbers move. It explains the targets this machine does not reach.
const ANALYSIS = `## Where the time goes, and what would move it

**Conditions.** One 2-core machine runs the load generator, the broker, the ingest writer and influxd. The generator
now writes MQTT frames on plain sockets (prebuilt topic header, mqtt-packet only for CONNECT and parsing PUBACKs, in
its own process); with MQTT.js and a callback per publish it had taken a large share of the two cores. The bare
relay is measured with the same generator and an MQTT.js subscriber (the relay's outgoing path), round by round in
the same run. Runs vary by about ±25 % with other work on the machine.

**2026-12-03 (this run):** sustained 29,478 msg/s with zero loss, **2.08 ×** the bare relay (target ≥ 2: met in this
run; the 2026-11-27 runs measured 1.04 with the old generator and with telemetry still relayed through Aedes),
publish-to-queryable p99 127 ms, nothing acknowledged lost through a 60 s InfluxDB outage (broker 299 MB, writer
145 MB peak), and a reconnect storm of 10,000 devices back in 28.7 s with 0 of 40,597 acknowledged messages lost
(devices reconnect with a random delay doubling to 10 s while refused; the broker listened again 2.1 s after the
kill). **Not met:** sustained ≥ 45,000 msg/s, ≤ 25 µs server CPU per message (56 µs at the sustained step; 86 µs at
15,000 msg/s, where commits carry fewer messages each), PUBACK p99 < 100 ms at 15,000 msg/s (100.4 ms in the step,
81 ms when the step was repeated for the latency probe). **Met in the cluster run of the same day**
([benchmarks-cluster.md](benchmarks-cluster.md)): with admitted telemetry no longer relayed through Aedes (so no
Redis PUBLISH per message), 2 broker processes on Redis cost 1.10 × the CPU per message of one at 20,000 msg/s, and
both multi-process shapes kept up with 29,700-29,800 msg/s where one process reached 25,700.

**Admission alone** (\`node --import tsx bench/ingest/admission-micro.ts\`: validation, line protocol and group
commits into a real spool on its worker thread, no sockets, no Aedes): about 24 µs CPU per message on this machine,
of which the main thread about 11 (JSON parse, Ajv, line protocol, and about a fifth garbage collection), the spool's
worker thread about 7 (SQLite inserts about 3.4 per row; the WAL appends, checkpoints and the writer's deletes grow
with the bytes per row, not the rows), V8's helper threads about 5. Handing a commit to the worker as columns instead
of record objects, and rows of many messages, were tried on 2026-12-03 and showed no gain above the noise of a shared
machine (large rows spill into overflow pages and were slower).

**Profile (2026-11-27: V8 CPU profiles of the broker and the writer at 20,000 msg/s, CPU from /proc per process):**
- Broker: about 26 µs CPU per message in all. Its event loop is about 73 % idle since the spool commits moved to a
  worker thread; before that, SQLite commits with \`synchronous=FULL\` (about 3 ms of fsync each on this disk) held the
  loop 15 % of the time. Of the loop's busy time: socket writes of PUBACKs (writev) 5 %, garbage collection 2 %,
  JSON parse and Ajv validation 1-2 %, Aedes packet parsing and topic matching 1-2 %. Most of the broker's CPU is
  therefore the commit path on the worker thread and in the kernel (WAL appends and fsync, counted as system time):
  at low rates, where each commit carries few messages, it dominates (60-100 µs per message at 5,000 msg/s).
- Writer: about 4 µs per message (DELETE of acknowledged rows 5 % of its time, reading rows 1 %); influxd about 9 µs.
- The load generator's own CPU competes for the same two cores; the prototype's 52,000 msg/s was measured with a
  lighter generator.

**What would move it:**
1. \`synchronous=NORMAL\` for the spool: a commit then costs 0.01-0.5 ms instead of about 3 ms (measured here), and
   acknowledged data still survives a process crash, but not a power loss. Offer it as an option for sites with a UPS.
2. Fewer, larger commits at moderate rates (a minimum gap of a few milliseconds between group commits): the fsync
   count, not the message count, drives the commit path's cost.
3. A load generator on another machine: the plain-socket generator is cheap, but it still shares the two cores.
4. Deleting acknowledged rows in larger ranges less often (the writer's DELETE competes with the broker's inserts for
   SQLite's write lock).

**Memory.** Without a cap, V8 let the broker's heap grow to 594 MB during a 60 s outage at 5,000 msg/s (garbage not yet
collected, not a leak: with \`--max-old-space-size=160\` the same run peaked at 259 MB with the same throughput). The
broker therefore runs with a heap cap sized for the fleet (\`scripts/launch.ts\`: 128 MB + 64 KB per registered device,
at least 192 MB, unless \`BROKER_MAX_HEAP_MB\` is set); the backlog of an outage lives in the spool on disk.
`;

void main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
