// Benchmark of the monitoring overview endpoints: seeds a private influxd with firms, devices and minute data,
// builds the 15-minute rollups, then measures the latency (p50/p95/max) of each overview endpoint over HTTP and
// the cost of the per-second live work (alarm evaluation, room aggregates). Writes docs/benchmarks-monitoring.md.
//
//   node --import tsx bench/monitoring/run.ts
//
// Knobs (environment): BENCH_FIRMS (300), BENCH_DEVICES_PER_FIRM (100), BENCH_METER_DAYS (30: days of 1-minute
// data of every firm's main meters), BENCH_MACHINE_DAYS (1: days of 1-minute data of every machine),
// BENCH_REQUESTS (20 per endpoint), BENCH_OUT (docs/benchmarks-monitoring.md), BENCH_DIR (a data directory that
// is kept; a second run with the same BENCH_DIR reuses the seeded data and only measures; with BENCH_KEEP_ROLLUPS=1
// it also keeps the earlier run's rollups instead of rebuilding 30 days), BENCH_ROLLUP_THREAD (0: the rollup job on
// the API's event loop instead of its worker thread, for comparison).
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { buildApp } from '../../api/app.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { makeUscc } from '../../common/ids.ts';
import { startPrivateInfluxd } from '../../scripts/influxd.ts';
import { createLogger } from '../../common/log.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { Monitoring } from '../../analytics/index.ts';
import type { LiveDeviceSample } from '../../analytics/alarms/alarms.ts';
import { DAY, MINUTE, localDate, localDayStart } from '../../common/time.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const FIRMS = env('BENCH_FIRMS', 300);
const PER_FIRM = env('BENCH_DEVICES_PER_FIRM', 100);
const METER_DAYS = env('BENCH_METER_DAYS', 30);
const MACHINE_DAYS = env('BENCH_MACHINE_DAYS', 1);
const REQUESTS = env('BENCH_REQUESTS', 20);
const OUT = path.resolve(ROOT, process.env.BENCH_OUT ?? 'docs/benchmarks-monitoring.md');
const ADMIN = 'at_bench_admin_token_0123456789';

const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const dir = process.env.BENCH_DIR ? path.resolve(process.env.BENCH_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), 'dh-bench-monitoring-'));
fs.mkdirSync(dir, { recursive: true });
const files = dataDirLayout(dir);
const seededFile = path.join(dir, 'seeded.json');
interface SeedStats { points: number; meterPoints: number; machinePoints: number; stateEvents: number; writeSeconds: number; meters: number; machines: number; now: number }
const previous: SeedStats | undefined = fs.existsSync(seededFile) ? (JSON.parse(fs.readFileSync(seededFile, 'utf8')) as SeedStats) : undefined;
const started = Date.now();
log(`data in ${dir}`);
const influxd = await startPrivateInfluxd(files.influxdb);
const store = new InfluxStore({ url: influxd.url, db: 'bench', timeoutMs: 600_000 });
await store.ensureDatabase();
const registry = new SqliteRegistry(files.registry);
const spool = new SqliteSpool(files.spool);
await registry.ensureApiToken(ADMIN, 'admin', null, 'bench admin');

// ---- firms and devices ----------------------------------------------------------------------------------------
const firms: NewFirm[] = [];
for (let i = 0; i < FIRMS; i++) {
  const park = PARKS[i % PARKS.length]!;
  const segment = SEGMENTS[i % SEGMENTS.length]!;
  firms.push({
    id: makeUscc(park.county, 7_000_000 + i), name: `基准企业 ${i + 1}`, county: park.county, park: park.id, segment: segment.id,
    aboveScale: i % 2 === 0, employees: 50 + (i % 17) * 40, landMu: 5 + (i % 23) * 4, smartFactoryTier: i % 40 === 0 ? 'basic' : 'none', demo: true,
  });
}
if (!previous) for (const f of firms) await registry.createFirm(f);

function machineType(segment: string): string {
  if (segment === 'spinning' || segment === 'chemical-fibre') return 'spinning_frame';
  if (segment === 'dyeing') return 'dyeing_machine';
  return 'loom';
}
interface BenchDevice { id: string; firm: NewFirm; type: string; tags: string; measurement: string }
const devices: BenchDevice[] = [];
for (const [i, f] of firms.entries()) {
  for (let k = 0; k < PER_FIRM; k++) {
    const type = k === 0 ? 'electricity_meter' : k === 1 && i % 3 === 0 ? 'gas_meter' : machineType(f.segment);
    const id = `b${i}-${k}`;
    devices.push({ id, firm: f, type, measurement: deviceType(type)?.measurement ?? type, tags: tagSet({ firmId: f.id, deviceId: id, type, county: f.county, park: f.park, segment: f.segment }) });
  }
}
// createDevice hashes a token with scrypt (tens of ms each): for 30,000 devices the bench writes the rows
// directly, with a placeholder hash no token can match, and falls back to the API if the schema differs.
let direct = false;
if (!previous) try {
  const db = new Database(files.registry);
  const insert = db.prepare('INSERT INTO devices (id, firm_id, type, name, location, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => { for (const d of devices) insert.run(d.id, d.firm.id, d.type, d.id, 'bench', 'bench$no-token', Date.now()); })();
  db.close();
  direct = true;
} catch (err) {
  log(`direct device insert failed (${(err as Error).message}); using registry.createDevice`);
  for (const d of devices) await registry.createDevice({ firmId: d.firm.id, type: d.type, name: d.id, id: d.id });
}
log(`${firms.length} firms, ${devices.length} devices registered${direct ? ' (rows written directly)' : ''}${previous ? ' (reused)' : ''}`);

// ---- telemetry ------------------------------------------------------------------------------------------------
const now = previous?.now ?? Date.now();
const end = Math.floor(now / MINUTE) * MINUTE;
let points = 0;
let stateEvents = 0;
const pending: Array<Promise<void>> = [];
let batch: string[] = [];
async function push(line: string): Promise<void> {
  batch.push(line);
  if (batch.length < 10_000) return;
  const lines = batch;
  batch = [];
  points += lines.length;
  pending.push(store.write(lines));
  if (pending.length >= 3) await pending.shift();
}
async function flush(): Promise<void> {
  if (batch.length > 0) { points += batch.length; pending.push(store.write(batch)); batch = []; }
  await Promise.all(pending.splice(0));
}

let writeSeconds = previous?.writeSeconds ?? 0;
const meters = devices.filter((d) => d.type === 'electricity_meter' || d.type === 'gas_meter');
const machines = devices.filter((d) => !(d.type === 'electricity_meter' || d.type === 'gas_meter'));
const meterFrom = end - METER_DAYS * DAY;
const machineFrom = end - MACHINE_DAYS * DAY;
const round3 = (v: number) => Math.round(v * 1000) / 1000;

function meterLine(d: BenchDevice, t: number): string {
  const i = Number(d.id.slice(1, d.id.indexOf('-')));
  const minutes = (t - meterFrom) / MINUTE;
  const hourOfDay = ((t + 8 * 3_600_000) % DAY) / 3_600_000;
  const load = hourOfDay >= 7 && hourOfDay < 23 ? 1 : 0.4;
  const rated = 200 + (i % 50) * 20;
  return d.type === 'electricity_meter'
    ? telemetryLine(d.measurement, d.tags, t, minutes, { power_kw: rated * load, energy_kwh_total: round3((minutes * rated * 0.8) / 60) })
    : telemetryLine(d.measurement, d.tags, t, minutes, { flow_m3_h: 30 * load, gas_m3_total: round3(minutes * 0.4) });
}

function machineLine(d: BenchDevice, j: number, t: number): string {
  const minutes = (t - machineFrom) / MINUTE;
  const running = (minutes + j) % 120 < 100;
  if (d.type === 'loom') return telemetryLine(d.measurement, d.tags, t, minutes, { speed_rpm: running ? 620 : 0, power_kw: running ? 4 : 0.3, energy_kwh_total: round3((minutes * 3.5) / 60), fabric_m_total: round3(minutes * 0.28) });
  if (d.type === 'spinning_frame') return telemetryLine(d.measurement, d.tags, t, minutes, { spindle_speed_rpm: running ? 17_500 : 0, power_kw: running ? 60 : 2, energy_kwh_total: minutes, yarn_kg_total: round3(minutes * 0.38) });
  return telemetryLine(d.measurement, d.tags, t, minutes, { bath_temp_c: 80 + (minutes % 60) / 2, power_kw: 40, energy_kwh_total: round3(minutes * 0.66), steam_kg_total: minutes * 8, water_m3_total: round3(minutes * 0.05) });
}

let meterPoints = previous?.meterPoints ?? 0;
let machinePoints = previous?.machinePoints ?? 0;
if (previous) {
  points = previous.points;
  stateEvents = previous.stateEvents;
} else {
  const writeStart = Date.now();
  // Main meters: METER_DAYS of 1-minute data (power and register).
  for (let t = meterFrom; t <= end; t += MINUTE) for (const d of meters) await push(meterLine(d, t));
  await flush();
  meterPoints = points;
  log(`meters: ${meterPoints.toLocaleString('en')} points (${meters.length} meters × ${METER_DAYS} days × 1/min) in ${((Date.now() - writeStart) / 1000).toFixed(0)} s`);
  // Machines: MACHINE_DAYS of 1-minute data, and a state change every two hours (running 100 min, then idle or fault).
  const machineStart = Date.now();
  for (let t = machineFrom; t <= end; t += MINUTE) {
    const minutes = (t - machineFrom) / MINUTE;
    for (const [j, d] of machines.entries()) {
      if ((minutes + j) % 120 === 0) { await push(stateLine(d.tags, t, 'running', undefined)); stateEvents++; }
      if ((minutes + j) % 120 === 100) { await push(stateLine(d.tags, t, j % 5 === 0 ? 'fault' : 'idle', j % 5 === 0 ? 'warp stop' : undefined)); stateEvents++; }
      await push(machineLine(d, j, t));
    }
  }
  await flush();
  machinePoints = points - meterPoints;
  writeSeconds = (Date.now() - writeStart) / 1000;
  log(`machines: ${machinePoints.toLocaleString('en')} points incl. ${stateEvents.toLocaleString('en')} state events (${machines.length} machines × ${MACHINE_DAYS} day(s) × 1/min) in ${((Date.now() - machineStart) / 1000).toFixed(0)} s`);
  fs.writeFileSync(seededFile, JSON.stringify({ points, meterPoints, machinePoints, stateEvents, writeSeconds, meters: meters.length, machines: machines.length, now } satisfies SeedStats));
}
// The live figures look at the last minutes: every device reports once more, now (the series continue, no resets).
{
  const t = Math.floor(Date.now() / MINUTE) * MINUTE;
  const before = points;
  for (const d of meters) await push(meterLine(d, t));
  for (const [j, d] of machines.entries()) await push(machineLine(d, j, t));
  await flush();
  points = before;
}
// Connectivity in the registry (what the broker records): most above-scale firms connected.
if (!previous) await registry.markSeen(devices.filter((d) => Number(d.id.slice(1, d.id.indexOf('-'))) % 5 !== 4).map((d) => ({ deviceId: d.id, seenAt: now, telemetryAt: now - MINUTE })));

// ---- rollups --------------------------------------------------------------------------------------------------
// The rollup job on its worker thread, as api/main.ts runs it (BENCH_ROLLUP_THREAD=0: on this event loop, for comparison).
const rollupThread = process.env.BENCH_ROLLUP_THREAD !== '0';
const monitoring = new Monitoring({
  file: files.monitoring, registry, store, connectedWindowDays: 30,
  ...(rollupThread ? { rollupWorker: { influx: store.options, registry: { file: files.registry }, logLevel: 'warn' } } : {}),
});
const rollStart = Date.now();
// BENCH_KEEP_ROLLUPS=1 with reused data: the rollups of the earlier run stand (a 30-day rebuild takes minutes).
const keepRollups = previous !== undefined && process.env.BENCH_KEEP_ROLLUPS === '1';
const rolled = keepRollups ? { points: 0 } : await monitoring.rollups.rebuild(meterFrom, now);
const rollupSeconds = (Date.now() - rollStart) / 1000;
log(keepRollups ? 'rollups of the earlier run kept' : `rollups for ${METER_DAYS} days: ${rolled.points.toLocaleString('en')} points in ${rollupSeconds.toFixed(0)} s`);
const tickTimes: number[] = [];
// What the recompute leaves of the API thread's event loop: its longest stall while the worker computes.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  await monitoring.rollups.rebuild(now - 15 * MINUTE, now);
  tickTimes.push(Date.now() - t);
}
loopDelay.disable();
const tickLoopDelayMs = loopDelay.max / 1e6;
log(`rollup of the current and previous 15 min over every firm: ${tickTimes.join(', ')} ms; the API thread's event loop stalled at most ${tickLoopDelayMs.toFixed(0)} ms meanwhile`);
const year = new Date(now + 8 * 3_600_000).getUTCFullYear();
for (const [i, f] of firms.entries()) if (i % 4 !== 3) monitoring.planStore.setFigures(f.id, year, 5e7 + i * 1e6, 2e6 + i * 5e4, { name: 'bench', tokenId: '' });

// ---- the API process as deployed: live feed, background jobs ---------------------------------------------------
// monitoring.start() as api/main.ts does: rollup timers (a recompute every 2 minutes), the offline check, the
// KPI snapshot, and the live feed, which keeps each device's latest values in memory (warmed from InfluxDB).
const live = new EventEmitter();
monitoring.start({ live });
const warmStart = Date.now();
await monitoring.liveLatest.warmUp();
const warmMs = Date.now() - warmStart;
await monitoring.rollups.rebuild(now, now + 1); // waits for the start-up catch-up queued before it
log(`latest values of ${monitoring.liveLatest.size.toLocaleString('en')} devices loaded from InfluxDB in ${warmMs} ms`);
// While the endpoints are measured, a live summary every second with 1/60 of the devices (each device once a
// minute), as the broker sends them.
let liveTurn = 0;
const liveTimer = setInterval(() => {
  const at = Date.now();
  const slice = devices.filter((_, i) => i % 60 === liveTurn % 60);
  liveTurn++;
  live.emit('live', { at, devices: slice.map((d) => ({ deviceId: d.id, firmId: d.firm.id, county: d.firm.county, park: d.firm.park, segment: d.firm.segment, type: d.type, ts: at - 500, metrics: d.type === 'gas_meter' ? { flow_m3_h: 30 } : { power_kw: d.type === 'electricity_meter' ? 400 : 4 }, state: 'running' })) });
}, 1000);

// ---- endpoints ------------------------------------------------------------------------------------------------
const app = await buildApp({ registry, spool, store, log: createLogger('bench', 'silent'), connectedWindowDays: 30, monitoring, apiRequestsPerMinute: 10_000_000 });
await app.listen({ port: 0, host: '127.0.0.1' });
const addr = app.server.address();
const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/v1`;
const firm0 = firms[0]!;
const yesterday = localDate(localDayStart(now) - DAY);
const monthAgo = now - 30 * DAY;
// Overview endpoints (the issue's target: p95 < 300 ms) and, for reference, detail queries of one firm. Ranges
// that a dashboard asks "up to now" leave `to` out, as the web page does (the API takes the present). The bench's
// firms are demo firms (they must never count in real figures), so the wider energy reads ask for them.
const endpoints: Array<[string, string, 'overview' | 'detail']> = [
  ['overview, prefecture', '/monitoring/overview', 'overview'],
  ['overview, county', `/monitoring/overview?scope=county&id=${COUNTIES[0]!.code}`, 'overview'],
  ['live power, prefecture', '/energy/live', 'overview'],
  ['energy today, prefecture by county (rollups)', `/energy/summary?from=${localDayStart(now)}&by=county&includeDemo=true`, 'overview'],
  ['energy 30 days, prefecture by firm (rollups)', `/energy/summary?from=${monthAgo}&by=firm&includeDemo=true`, 'overview'],
  ['energy series 30 days × 1 d, prefecture', `/energy/series?from=${monthAgo}&to=${now}&interval=1d&includeDemo=true`, 'overview'],
  ['energy series 24 h × 15 min, prefecture', `/energy/series?from=${now - DAY}&to=${now}&interval=15m&includeDemo=true`, 'overview'],
  ['intensity 30 days, prefecture (per firm)', `/energy/intensity?from=${monthAgo}&includeDemo=true`, 'overview'],
  ['completeness overview, yesterday', `/energy/quality/overview?date=${yesterday}&includeDemo=true`, 'overview'],
  ['energy today, one firm (auto: rollups, then raw after the last closed quarter; the firm page)', `/energy/summary?scope=firm&id=${firm0.id}&from=${localDayStart(now)}`, 'overview'],
  ['energy today, one firm (raw, 100 devices)', `/energy/summary?scope=firm&id=${firm0.id}&from=${localDayStart(now)}&to=${now}&source=raw`, 'detail'],
  ['data quality, one firm, this month', `/energy/quality?firmId=${firm0.id}`, 'detail'],
  ['OEE by shift, one firm, 24 h', `/monitoring/oee?firmId=${firm0.id}&from=${now - DAY}&to=${now}`, 'detail'],
  ['rollups CSV, one firm, 30 days', `/energy/rollups.csv?scope=firm&id=${firm0.id}&from=${monthAgo}&to=${now}`, 'detail'],
  ['alarms (open)', '/alarms', 'overview'],
  ['plan targets', '/plan/targets', 'overview'],
  ['connected share', '/plan/connected-share', 'overview'],
  ['per mu ranking', '/plan/per-mu', 'overview'],
];
interface Result { name: string; path: string; kind: 'overview' | 'detail'; p50: number; p95: number; max: number; bytes: number; status: number }
const results: Result[] = [];
for (const [name, p, kind] of endpoints) {
  const times: number[] = [];
  let bytes = 0;
  let status = 0;
  for (let i = 0; i < REQUESTS + 2; i++) {
    const t = performance.now();
    const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = await res.arrayBuffer();
    const ms = performance.now() - t;
    status = res.status;
    if (status !== 200) throw new Error(`${p}: ${status} ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
    bytes = body.byteLength;
    if (i >= 2) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const pct = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)] ?? 0;
  results.push({ name, path: p, kind, p50: pct(0.5), p95: pct(0.95), max: times[times.length - 1] ?? 0, bytes, status });
  log(`${name}: p50 ${pct(0.5).toFixed(0)} ms, p95 ${pct(0.95).toFixed(0)} ms (${(bytes / 1024).toFixed(0)} KiB)`);
}

clearInterval(liveTimer);

// ---- the per-second live work ---------------------------------------------------------------------------------
const sample = (at: number): { at: number; devices: Array<LiveDeviceSample & { county: string; park: string; segment: string }> } => ({
  at, devices: devices.map((d) => ({ deviceId: d.id, firmId: d.firm.id, county: d.firm.county, park: d.firm.park, segment: d.firm.segment, type: d.type, ts: at - 500, metrics: { power_kw: 4, bath_temp_c: 90, energy_kwh_total: at / 1e6 }, state: 'running' })),
});
const liveTimes: number[] = [];
const roomTimes: number[] = [];
const watchedTimes: number[] = [];
let roomUpdates = 0;
let watchedUpdates = 0;
// Realistic subscriptions: every prefecture/county/park/segment/firm room, and 100 device rooms.
const watchedDevices = new Set(devices.slice(0, 100).map((d) => `device:${d.id}`));
const watched = (room: string) => !room.startsWith('device:') || watchedDevices.has(room);
for (let i = 0; i < 10; i++) {
  const s = sample(now + i * 2000);
  let t = performance.now();
  await monitoring.alarms.onLive(s);
  liveTimes.push(performance.now() - t);
  t = performance.now();
  roomUpdates = monitoring.rooms.update(s).length;
  roomTimes.push(performance.now() - t);
  const s2 = sample(now + i * 2000 + 1000);
  t = performance.now();
  watchedUpdates = monitoring.rooms.update(s2, watched).length;
  watchedTimes.push(performance.now() - t);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
log(`live summary of ${devices.length} devices: alarm evaluation ${median(liveTimes).toFixed(1)} ms, room aggregates ${median(roomTimes).toFixed(1)} ms (${roomUpdates} rooms), ${median(watchedTimes).toFixed(1)} ms (${watchedUpdates} watched rooms)`);

// ---- report ---------------------------------------------------------------------------------------------------
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const influxSize = (() => {
  let total = 0;
  const walk = (p: string) => { for (const e of fs.readdirSync(p, { withFileTypes: true })) { const f = path.join(p, e.name); if (e.isDirectory()) walk(f); else total += fs.statSync(f).size; } };
  walk(files.influxdb);
  return total;
})();
const md = `# Benchmark: monitoring overview endpoints

- Date: ${new Date().toISOString()}
- Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.platform()} ${os.release()}; Node ${process.version}; InfluxDB 1.6.7 (Debian package, private influxd)
- Command: \`node --import tsx bench/monitoring/run.ts\`${process.env.BENCH_FIRMS || process.env.BENCH_MACHINE_DAYS || process.env.BENCH_METER_DAYS || process.env.BENCH_DEVICES_PER_FIRM || process.env.BENCH_DIR ? ` (with ${['BENCH_FIRMS', 'BENCH_DEVICES_PER_FIRM', 'BENCH_METER_DAYS', 'BENCH_MACHINE_DAYS', 'BENCH_REQUESTS', 'BENCH_DIR'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`).join(' ')})` : ''}
- The machine was shared with other work while this ran; treat the figures as indicative.${previous ? `\n- The data was seeded by an earlier run of the same command (data ending ${new Date(previous.now).toISOString()}); this run reused it, wrote one fresh reading per device for the live figures, ${keepRollups ? 'kept the rollups that run built (BENCH_KEEP_ROLLUPS=1)' : 'rebuilt the rollups'} and measured.` : ''}

## What was seeded

The issue asks for 300 firms, 30,000 devices and 30 days of 1-minute data. 30,000 devices × 30 days × 1/min is
1.3 billion points, about two hours of writing at this machine's measured InfluxDB ceiling (docs/pitfalls.md) and more
disk than a 2-core test box should spend, so the bench seeds less telemetry, exactly as below. The overview
endpoints read the rollups (their size grows with firms × days, not with devices) and the latest values kept in
memory; raw machine data enter only the rollup recompute (a 30-minute window) and a firm's raw tail (30 minutes).
So 29 more days of machine data would add disk and rebuild time, not latency to these endpoints. Exactly:

| what | amount |
|---|---|
| firms | ${firms.length} (${firms.filter((f) => f.aboveScale).length} above-scale), all counties, parks and segments |
| devices registered | ${devices.length.toLocaleString('en')} (${PER_FIRM} per firm: 1 electricity meter, a gas meter in every third firm, the rest looms, spinning frames or dyeing machines by segment) |
| main meters, 1-minute data | ${meters.length} meters × ${METER_DAYS} days = ${meterPoints.toLocaleString('en')} points |
| machines, 1-minute data | ${machines.length.toLocaleString('en')} machines × ${MACHINE_DAYS} day(s) = ${(machinePoints - stateEvents).toLocaleString('en')} points, plus ${stateEvents.toLocaleString('en')} state changes |
| total | ${points.toLocaleString('en')} points written in ${writeSeconds.toFixed(0)} s; InfluxDB data on disk ${(influxSize / 2 ** 20).toFixed(0)} MiB |
| rollups (15-minute, hourly, daily) | ${keepRollups ? `built by the earlier run (${METER_DAYS} days)` : `${rolled.points.toLocaleString('en')} rollup points for ${METER_DAYS} days, built in ${rollupSeconds.toFixed(0)} s`} |
| rollup tick | recomputing the current and the previous 15-minute interval (30 min lookback, what the API does every 2 minutes) over all ${devices.length.toLocaleString('en')} devices, ${rollupThread ? 'on the job\'s worker thread' : 'on the API\'s event loop (BENCH_ROLLUP_THREAD=0)'}: ${tickTimes.map((t) => `${t} ms`).join(', ')}; the API thread's event loop stalled at most ${tickLoopDelayMs.toFixed(0)} ms meanwhile |

## Latency per endpoint (HTTP on loopback, admin token, ${REQUESTS} requests each after 2 warm-ups, one at a time)

The API ran as deployed (\`monitoring.start({ live })\`, as api/main.ts): rollup recompute every 2 minutes on its worker thread, offline
check, KPI snapshot, and a live summary every second with 1/60 of the devices. The latest device values were
loaded from InfluxDB once at start (${warmMs} ms for ${monitoring.liveLatest.size.toLocaleString('en')} devices), then kept from the live feed.
Overview endpoints at p95 under 300 ms: ${results.filter((r) => r.kind === 'overview' && r.p95 < 300).length} of ${results.filter((r) => r.kind === 'overview').length}.

| endpoint | kind | path | p50 ms | p95 ms | max ms | response |
|---|---|---|---:|---:|---:|---:|
${results.map((r) => `| ${r.name} | ${r.kind} | \`${r.path.replace(/[0-9A-HJ-NP-RTUWXY]{18}/g, '<firm>').replace(/\d{13}/g, '<ms>')}\` | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${r.max.toFixed(0)} | ${(r.bytes / 1024).toFixed(0)} KiB |`).join('\n')}

## Per-second live work in the API process

One live summary with all ${devices.length.toLocaleString('en')} devices (the worst case: every device sent something in the second):

- alarm evaluation (${(await monitoring.alarmStore.rules()).filter((r) => r.enabled).length} default rules): median ${median(liveTimes).toFixed(1)} ms
- room aggregates, every room due (${roomUpdates.toLocaleString('en')} rooms, one per device included): median ${median(roomTimes).toFixed(1)} ms
- room aggregates, only rooms someone listens to (${watchedUpdates} rooms: all wider rooms and 100 device rooms): median ${median(watchedTimes).toFixed(1)} ms

## Notes

- Overviews of machine states and live power read each device's latest values from memory (analytics/live/
  latest.ts), kept from the broker's live summaries; InfluxDB is asked once, at start. Asking InfluxDB each time
  (\`SELECT last("state") … GROUP BY "device"\` over 30,000 series) took 1.5-3.6 s per request in the earlier runs.
- Energy over a range reads whole days from the daily rollups (\`rollup_1d\`), whole hours at its ends from the
  hourly ones (\`rollup_1h\`) and the remaining quarters from \`rollup_15m\`, one parallel request per piece; each
  recompute sums hours from quarters and days from hours in InfluxDB. Series over a scope are summed by InfluxDB
  per group of firms with the same counting rule instead of per firm.
- On InfluxDB 1.6 an outer \`GROUP BY "firm"\` over a per-device subquery is several times slower than the same
  subquery without it (measured here: 16 s against 3 s for 30,000 devices and 45 minutes). So the rollup job asks
  InfluxDB for each device's last reading per 15 minutes and differences them in Node (\`stepDeltas\`); ad-hoc
  firm and device queries keep the summing subquery, which only returns sums.

Total run time ${((Date.now() - started) / 1000).toFixed(0)} s.
`;
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, md);
log(`wrote ${OUT}`);

await app.close();
await monitoring.close();
await registry.close();
await spool.close();
await store.close();
await influxd.stop();
if (!process.env.BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
