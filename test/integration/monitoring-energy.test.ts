// Energy, rollups, data quality, OEE and the plan tracker against a real influxd, with hand-checked values.
// Telemetry is written straight into InfluxDB in the contract's shape (measurement per device type, tags
// county/device/firm/park/segment/type), so the expected figures are exactly known.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { createLogger } from '../../common/log.ts';
import { Monitoring } from '../../analytics/index.ts';
import { DAY, HOUR, MINUTE, localDate, localDayStart, localMonth } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_monitoring_tests_00';
let sys: MonitoringTestSystem;
let store: InfluxStore;
let registry: SqliteRegistry;
let spool: SqliteSpool;
let monitoring: Monitoring;
let app: FastifyInstance;

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);

async function get<T = Record<string, unknown>>(url: string, token = admin): Promise<T> {
  const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return r.json() as T;
}

async function send(method: 'PUT' | 'POST', url: string, payload: object, token = admin) {
  return app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
}

const firms = new Map<string, NewFirm>();
async function firm(over: Partial<NewFirm>): Promise<NewFirm> {
  const f = testFirm(over);
  await registry.createFirm(f);
  firms.set(f.id, f);
  return f;
}

const deviceFirm = new Map<string, { firm: NewFirm; type: string }>();
async function device(f: NewFirm, type: string, id: string): Promise<string> {
  await registry.createDevice({ firmId: f.id, type, name: id, id });
  deviceFirm.set(id, { firm: f, type });
  return id;
}

function tags(id: string): string {
  const d = deviceFirm.get(id);
  assert.ok(d, id);
  return tagSet({ firmId: d.firm.id, deviceId: id, type: d.type, county: d.firm.county, park: d.firm.park, segment: d.firm.segment });
}

function point(id: string, ts: number, metrics: Record<string, number>, seq = 0): string {
  const type = deviceFirm.get(id)?.type ?? '';
  return telemetryLine(deviceType(type)?.measurement ?? type, tags(id), ts, seq, metrics);
}

/** Readings every 5 minutes from T0 − 15 min to T0 + 60 min of counters growing linearly (per hour). */
function linear(id: string, perHour: Record<string, number>, base: Record<string, number> = {}): string[] {
  const lines: string[] = [];
  for (let m = -15; m <= 60; m += 5) {
    const metrics: Record<string, number> = {};
    for (const [k, rate] of Object.entries(perHour)) metrics[k] = (base[k] ?? 0) + (rate * (m + 15)) / 60;
    lines.push(point(id, T0 + m * MINUTE, metrics, m + 15));
  }
  return lines;
}

const NOW = Date.now();
/** A quarter hour two days ago. */
const T0 = Math.floor((NOW - 2 * DAY) / (15 * MINUTE)) * 15 * MINUTE;
const RAW = `from=${T0 + MINUTE}&to=${T0 + 61 * MINUTE}&source=raw`;
let A: NewFirm;
let B: NewFirm;
let C: NewFirm;
let D: NewFirm;
let E: NewFirm;
/** Local midnight five days ago: the quality fixture covers that day (D0) and the next (clear of T0). */
const D0 = localDayStart(NOW) - 5 * DAY;

before(async () => {
  sys = await startMonitoringSystem('mon-energy', { adminToken: admin });
  ({ store, registry, spool, monitoring, app } = sys);

  A = await firm({ segment: 'dyeing', name: 'A 印染' });
  B = await firm({ segment: 'weaving', name: 'B 热电联产' });
  C = await firm({ segment: 'weaving', name: 'C resets', county: '533103', park: 'mangshi' });
  D = await firm({ segment: 'spinning', name: 'D quality' });
  E = await firm({ segment: 'weaving', name: 'E oee' });
  for (const [t, id] of [['electricity_meter', 'a-em'], ['gas_meter', 'a-gas'], ['steam_meter', 'a-steam'], ['water_meter', 'a-water'], ['loom', 'a-loom']] as const) await device(A, t, id);
  await device(B, 'loom', 'b-loom');
  await device(B, 'gas_meter', 'b-gas');
  await device(C, 'loom', 'c-loom');
  await device(C, 'loom', 'c-jit');
  await device(D, 'electricity_meter', 'd-em');
  await device(E, 'loom', 'e-loom');

  const lines = [
    ...linear('a-em', { energy_kwh_total: 1000 }, { energy_kwh_total: 4750 }),
    ...linear('a-gas', { gas_m3_total: 100 }, { gas_m3_total: 175 }),
    ...linear('a-steam', { steam_kg_total: 2000 }, { steam_kg_total: 9500 }),
    ...linear('a-water', { water_m3_total: 10 }, { water_m3_total: 47.5 }),
    // The loom's own register is sub-metering under A's main meter: it must not be added again.
    ...linear('a-loom', { energy_kwh_total: 50, fabric_m_total: 1000 }, { energy_kwh_total: 100 }),
    ...linear('b-loom', { energy_kwh_total: 100 }),
    ...linear('b-gas', { gas_m3_total: 50 }),
  ];
  // c-loom: a device restart at T0 + 25 min (register 140 → 3); c-jit: meter jitter 1000 → 999.99.
  const reset: Array<[number, number]> = [[-5, 95], [0, 100], [5, 110], [10, 120], [15, 130], [20, 140], [25, 3], [30, 13], [35, 23], [40, 33], [45, 43], [50, 53], [55, 63], [60, 73]];
  for (const [m, v] of reset) lines.push(point('c-loom', T0 + m * MINUTE, { energy_kwh_total: v }));
  const jitter: Array<[number, number]> = [[-5, 999], [0, 1000], [5, 999.99], [10, 1000.5], [15, 1000.5], [30, 1000.5], [60, 1000.5]];
  for (const [m, v] of jitter) lines.push(point('c-jit', T0 + m * MINUTE, { energy_kwh_total: v }));
  // d-em: one reading per 15 minutes (7 min into each), 4 kWh per interval, from the last interval before D0
  // through D0 and D0 + 1 day; intervals 10–19 of D0 are lost (the register keeps counting).
  for (let k = -1; k < 192; k++) {
    if (k >= 10 && k < 20) continue;
    lines.push(point('d-em', D0 + k * 15 * MINUTE + 7 * MINUTE, { energy_kwh_total: 1000 + 4 * (k + 1) }, k + 1));
  }
  // e-loom: a scripted shift on D0 (shift B = 08:00–16:00 local).
  const events: Array<[number, string]> = [[7, 'running'], [9, 'fault'], [9.5, 'running'], [12, 'idle'], [13, 'running'], [14, 'maintenance'], [15, 'stopped']];
  for (const [h, s] of events) lines.push(stateLine(tags('e-loom'), D0 + h * HOUR, s, undefined));
  for (let t = D0 + 7 * HOUR; t < D0 + 16 * HOUR; t += 10 * MINUTE) {
    const h = (t - D0) / HOUR;
    const running = (h >= 7 && h < 9) || (h >= 9.5 && h < 12) || (h >= 13 && h < 14);
    lines.push(point('e-loom', t, { speed_rpm: running ? 600 : 0, efficiency_pct: 88 }));
  }
  await store.write(lines);
});

after(async () => { await sys.close(); });

interface Summary {
  source: string;
  basis: { id: string; zh: string; factors: Record<string, { kgcePerUnit: number }> };
  carriers: Record<string, { measured: number; counted: number; kgce: number }>;
  totalKgce: number;
  totalTce: number;
  outputs: Record<string, { value: number }>;
  resets: number;
  notes: string[];
  breakdown: Array<{ key: string; totalKgce: number; carriers: Record<string, { measured: number; counted: number }> }>;
}

describe('energy in standard coal (GB/T 2589-2020)', () => {
  test('a firm with main meters: 1000 kWh, 100 m³ gas, 2000 kg bought steam → 501.53 kgce on 当量值; the loom register is not added', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${A.id}&${RAW}`);
    assert.equal(s.source, 'raw');
    assert.equal(s.basis.id, 'calorific');
    assert.equal(s.basis.zh, '当量值');
    close(s.carriers.electricity!.measured, 1000);
    close(s.carriers.gas!.counted, 100);
    close(s.carriers.steam!.counted, 2000);
    close(s.carriers.water!.measured, 10);
    // 1000 × 0.1229 + 100 × 1.2143 + 2000 × 0.1286 = 122.9 + 121.43 + 257.2; water is shown but not in the total.
    close(s.totalKgce, 501.53);
    close(s.totalTce, 0.50153);
    close(s.outputs.fabric!.value, 1000);
  });

  test('等价值 uses the year\'s configured electricity factor and the primary steam factor; water can be included', async () => {
    const year = new Date(NOW + 8 * HOUR).getUTCFullYear();
    const cfg = { electricity: { calorific: 0.1229, primaryByYear: { [String(year)]: 0.298, [String(year - 1)]: 0.298 }, primaryDefault: 0.3 }, gas: 1.2143, steam: { calorific: 0.0929, primary: 0.1286 }, water: 0.2571, includeWater: false };
    assert.equal((await send('PUT', '/api/v1/energy/factors', cfg)).statusCode, 200);
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${A.id}&${RAW}&basis=primary`);
    assert.equal(s.basis.zh, '等价值');
    // 1000 × 0.298 + 100 × 1.2143 + 2000 × 0.1286 = 298 + 121.43 + 257.2
    close(s.totalKgce, 676.63);
    assert.equal((await send('PUT', '/api/v1/energy/factors', { ...cfg, includeWater: true })).statusCode, 200);
    const w = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${A.id}&${RAW}`);
    close(w.totalKgce, 430.13 + 10 * 0.2571);
    assert.equal((await send('PUT', '/api/v1/energy/factors', { ...cfg, gas: -1 })).statusCode, 400);
    assert.equal((await send('PUT', '/api/v1/energy/factors', cfg)).statusCode, 200);
  });

  test('cogeneration: gas is counted at the boundary, self-generated power is not counted again', async () => {
    const before = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${B.id}&${RAW}`);
    close(before.totalKgce, 100 * 0.1229 + 50 * 1.2143);
    const r = await send('PUT', `/api/v1/energy/firms/${B.id}/settings`, { cogeneration: true, note: '燃气轮机' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().updatedBy, 'admin');
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${B.id}&${RAW}`);
    close(s.carriers.electricity!.measured, 100);
    assert.equal(s.carriers.electricity!.counted, 0);
    close(s.totalKgce, 50 * 1.2143);
    assert.ok(s.notes.some((n) => n.includes('cogeneration')));
  });

  test('a counter reset counts the new reading from zero; meter jitter counts nothing', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=device&id=c-loom&${RAW}`);
    // 4 × 10 before the restart, 3 from zero, then 7 × 10.
    close(s.carriers.electricity!.measured, 113);
    assert.equal(s.resets, 1);
    const j = await get<Summary>(`/api/v1/energy/summary?scope=device&id=c-jit&${RAW}`);
    close(j.carriers.electricity!.measured, 0.51);
    assert.equal(j.resets, 0);
    const firmC = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${C.id}&${RAW}&by=device`);
    close(firmC.carriers.electricity!.counted, 113.51);
    assert.deepEqual(firmC.breakdown.map((b) => b.key).sort(), ['c-jit', 'c-loom']);
  });

  test('the prefecture adds the firms\' boundary figures, by county', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=prefecture&${RAW}&by=county`);
    close(s.carriers.electricity!.counted, 1000 + 0 + 113.51);
    close(s.carriers.electricity!.measured, 1000 + 100 + 113.51);
    const mangshi = s.breakdown.find((b) => b.key === '533103');
    close(mangshi?.carriers.electricity?.counted ?? -1, 113.51);
  });

  test('intensity per 100 m against the dyeing benchmark', async () => {
    const r = await get<{ rows: Array<{ key: string; kgcePer100m: number; waterTPer100m: number; kwhPer100m: number; dyeingBenchmark: { applies: boolean; kgceOk: boolean; waterOk: boolean } }> }>(`/api/v1/energy/intensity?scope=firm&id=${A.id}&${RAW}`);
    const row = r.rows[0];
    assert.ok(row);
    close(row.kgcePer100m, 43.013);
    close(row.waterTPer100m, 1);
    close(row.kwhPer100m, 100);
    assert.deepEqual(row.dyeingBenchmark, { applies: true, row: 'woven', kgcePer100mMax: 30, waterTPer100mMax: 1.6, kgceOk: false, waterOk: true });
  });

  test('15-minute rollups agree with the raw counters, including the reset interval', async () => {
    await monitoring.rollups.rebuild(T0 - HOUR, T0 + 2 * HOUR);
    const range = `from=${T0 + 15 * MINUTE}&to=${T0 + 60 * MINUTE}`;
    const rolled = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${C.id}&${range}&source=rollup`);
    const raw = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${C.id}&${range}&source=raw`);
    // [15, 30): 10 + 10 before the restart + 3 after it; then 30 and 30.
    close(rolled.carriers.electricity!.measured, 83);
    close(raw.carriers.electricity!.measured, 83);
    const a = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${A.id}&${range}&source=rollup`);
    close(a.carriers.electricity!.measured, 750);
    close(a.carriers.gas!.counted, 75);
  });

  test('counters in other units: a water-jet loom\'s litres are water in m³, a sock knitter\'s pairs are pieces, raw silk is yarn', async () => {
    const H = await firm({ segment: 'weaving', name: 'H 喷水织机' });
    await device(H, 'water_jet_loom', 'h-wjl');
    await device(H, 'sock_knitter', 'h-sock');
    await device(H, 'silk_reeling', 'h-silk');
    monitoring.index.invalidate();
    await store.write([
      ...linear('h-wjl', { water_l_total: 2000, energy_kwh_total: 5, fabric_m_total: 20 }),
      ...linear('h-sock', { pairs_total: 100 }),
      ...linear('h-silk', { raw_silk_kg_total: 3 }),
    ]);
    const raw = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${H.id}&${RAW}`);
    close(raw.carriers.water!.measured, 2); // 2000 L
    close(raw.outputs.pieces!.value, 100);
    close(raw.outputs.yarn!.value, 3);
    close(raw.outputs.fabric!.value, 20);
    await monitoring.rollups.rebuild(T0 - HOUR, T0 + 2 * HOUR);
    const rolled = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${H.id}&from=${T0}&to=${T0 + HOUR}&source=rollup`);
    close(rolled.carriers.water!.measured, 2);
    close(rolled.outputs.pieces!.value, 100);
    close(rolled.outputs.yarn!.value, 3);
  });

  test('a prefecture series (firms summed per counting rule) agrees with the per-firm summary', async () => {
    // B is a cogeneration firm by now, A has every main meter, C only looms, I only a stenter (whose passes are
    // never fabric output): four counting rules.
    const I = await firm({ segment: 'dyeing', name: 'I 定形' });
    await device(I, 'stenter', 'i-stenter');
    monitoring.index.invalidate();
    await store.write(linear('i-stenter', { fabric_m_total: 400 }));
    await monitoring.rollups.rebuild(T0 - HOUR, T0 + 2 * HOUR);
    const range = `from=${T0}&to=${T0 + HOUR}`;
    const series = await get<{ source: string; points: Array<{ carriers: Record<string, { measured: number; counted: number }>; totalKgce: number; outputs: Record<string, number> }> }>(`/api/v1/energy/series?${range}&interval=15m`);
    const summary = await get<Summary>(`/api/v1/energy/summary?${range}&source=rollup`);
    assert.equal(series.source, 'rollup');
    assert.equal(series.points.length, 4);
    const sum = (f: (p: (typeof series.points)[number]) => number) => series.points.reduce((a, p) => a + f(p), 0);
    for (const c of ['electricity', 'gas', 'steam'] as const) {
      close(sum((p) => p.carriers[c]!.counted), summary.carriers[c]!.counted);
      close(sum((p) => p.carriers[c]!.measured), summary.carriers[c]!.measured);
    }
    close(sum((p) => p.totalKgce), summary.totalKgce);
    for (const o of ['fabric', 'yarn', 'pieces'] as const) close(sum((p) => p.outputs[o]!), summary.outputs[o]!.value);
    // B's loom register (100 kWh in the hour) is measured but not counted: its power is made from its own gas.
    close(sum((p) => p.carriers.electricity!.measured - p.carriers.electricity!.counted), 100);
  });

  test('live power comes from the latest power_kw per device', async () => {
    const id = await device(C, 'electricity_meter', 'c-em');
    await store.write([point(id, Date.now() - 30_000, { power_kw: 12.5, energy_kwh_total: 1 })]);
    monitoring.index.invalidate(); // the firm index is cached for a few seconds; C just got a main meter
    const live = await get<{ carriers: Record<string, { measured: number }>; basis: { zh: string } }>(`/api/v1/energy/live?scope=firm&id=${C.id}`);
    assert.equal(live.carriers.electricity!.measured, 12.5);
    assert.equal(live.basis.zh, '当量值');
  });
});

describe('a firm today while the rollup job keeps up', () => {
  test('closed quarters come from the rollups, the rest from the raw counters: the same figure as raw alone', async () => {
    const G = await firm({ segment: 'weaving', name: 'G today' });
    await device(G, 'electricity_meter', 'g-em');
    monitoring.index.invalidate();
    // 1 kWh a minute, a reading every minute from S − 5 min to a minute ago (S: a quarter about an hour ago).
    const now = Date.now();
    const S = Math.floor(now / (15 * MINUTE)) * 15 * MINUTE - HOUR;
    const lines: string[] = [];
    let last = 0;
    for (let t = S - 5 * MINUTE; t <= now - MINUTE; t += MINUTE) { lines.push(point('g-em', t, { energy_kwh_total: (t - (S - 5 * MINUTE)) / MINUTE })); last = t; }
    await store.write(lines);
    monitoring.rollups.start();
    try {
      await monitoring.rollups.rebuild(now, now + 1); // waits for the start-up catch-up queued before it
      const until = monitoring.rollups.completeUntil() ?? 0;
      assert.ok(until >= Math.floor(now / (15 * MINUTE)) * 15 * MINUTE && until <= Date.now(), `complete until ${until}`);
      const auto = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&from=${S}&to=${now}`);
      const raw = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&from=${S}&to=${now}&source=raw`);
      // Quarters written moments ago are read raw until the rollup job has surely recomputed them (rollup-freshness.test.ts covers the split).
      assert.equal(auto.source, 'raw');
      assert.equal(raw.source, 'raw');
      // The readings in [S, now) less the last one before S (S − 1 min): one kWh per minute.
      close(raw.carriers.electricity!.measured, (last - (S - MINUTE)) / MINUTE);
      close(auto.carriers.electricity!.measured, (last - (S - MINUTE)) / MINUTE);
      // Up to now from the rollups alone: the current hour's point stands for the open end (no double count, no loss).
      for (const from of [S, S + 15 * MINUTE, S + 30 * MINUTE]) {
        const open = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&from=${from}&source=rollup`);
        const openRaw = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&from=${from}&source=raw`);
        close(open.carriers.electricity!.measured, openRaw.carriers.electricity!.measured);
        close(open.carriers.electricity!.measured, (last - (from - MINUTE)) / MINUTE);
      }
      // A breakdown by device needs the raw counters throughout.
      assert.equal((await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&from=${S}&to=${now}&by=device`)).source, 'raw');
    } finally {
      await monitoring.rollups.stop();
    }
    assert.equal(monitoring.rollups.completeUntil(), undefined);
  });
});

describe('data quality (GB/T 38692-2020)', () => {
  test('completeness per day and daily/monthly consistency', async () => {
    await monitoring.rollups.rebuild(D0 - HOUR, D0 + 2 * DAY + HOUR);
    const q = await get<{ carriers: Array<{ carrier: string; boundary: string; days: Array<{ date: string; presentIntervals: number; completeness: number; complete: boolean; from15min: number; register: number; consistent: boolean }>; month: { sumOfDaily: number; register: number; consistent: boolean } }> }>(
      `/api/v1/energy/quality?firmId=${D.id}&month=${localMonth(D0)}`);
    const el = q.carriers.find((c) => c.carrier === 'electricity');
    assert.ok(el);
    assert.equal(el.boundary, 'meters');
    const d0 = el.days.find((d) => d.date === localDate(D0));
    assert.ok(d0);
    assert.equal(d0.presentIntervals, 86);
    close(d0.completeness, 86 / 96);
    assert.equal(d0.complete, false);
    close(d0.from15min, 384);
    close(d0.register, 384);
    assert.equal(d0.consistent, true);
    const d1 = el.days.find((d) => d.date === localDate(D0 + DAY));
    if (d1) {
      assert.equal(d1.presentIntervals, 96);
      assert.equal(d1.complete, true);
      close(d1.from15min, 384);
    }
    close(el.month.sumOfDaily, el.month.register);
    assert.equal(el.month.consistent, true);
    const overview = await get<{ firms: Array<{ firmId: string; carriers: { electricity?: { present: number } } }> }>(`/api/v1/energy/quality/overview?date=${localDate(D0)}`);
    assert.equal(overview.firms.find((f) => f.firmId === D.id)?.carriers.electricity?.present, 86);
  });

  test('whole days come from the daily rollups, whole hours from the hourly ones, the rest from the 15-minute ones', async () => {
    // D's main meter: 4 kWh per 15 minutes, 384 kWh on each of D0 and D0 + 1 day (see the quality test).
    const days = await get<{ points: Array<{ time: number; carriers: Record<string, { measured: number }> }> }>(`/api/v1/energy/series?scope=firm&id=${D.id}&from=${D0}&to=${D0 + 2 * DAY}&interval=1d`);
    assert.deepEqual(days.points.map((p) => p.time), [D0, D0 + DAY]);
    close(days.points[0]!.carriers.electricity!.measured, 384);
    close(days.points[1]!.carriers.electricity!.measured, 384);
    const stored = await store.query(`SELECT sum("value") AS "v", sum("intervals") AS "n" FROM "rollup_1d" WHERE "firm" = '${D.id}' AND "quantity" = 'electricity' AND time >= ${D0}ms AND time < ${D0 + 2 * DAY}ms`);
    close(Number(stored[0]?.values[0]?.[1]), 768);
    // From D0 + 6 h: the rest of D0 from the 15-minute rollups, D0 + 1 day from its daily rollup.
    const range = `scope=firm&id=${D.id}&from=${D0 + 6 * HOUR}&to=${D0 + 2 * DAY}`;
    const rolled = await get<Summary>(`/api/v1/energy/summary?${range}&source=rollup`);
    const raw = await get<Summary>(`/api/v1/energy/summary?${range}&source=raw`);
    close(rolled.carriers.electricity!.measured, raw.carriers.electricity!.measured);
    // The daily point is what is read: spoil it, see the figure move, rebuild, see it restored.
    await store.write([`rollup_1d,county=${D.county},firm=${D.id},park=${D.park},quantity=electricity,segment=${D.segment},source=electricity_meter value=0,resets=0i,intervals=96i ${D0 + DAY}`]);
    const spoiled = await get<Summary>(`/api/v1/energy/summary?${range}&source=rollup`);
    close(spoiled.carriers.electricity!.measured, rolled.carriers.electricity!.measured - 384);
    await monitoring.rollups.rebuild(D0 + DAY, D0 + DAY + HOUR);
    const restored = await get<Summary>(`/api/v1/energy/summary?${range}&source=rollup`);
    close(restored.carriers.electricity!.measured, rolled.carriers.electricity!.measured);
    // Hours: a 1-hour series reads the hourly rollups (16 kWh an hour); a range starting at :30 reads two quarters first.
    const hours = await get<{ points: Array<{ time: number; carriers: Record<string, { measured: number }> }> }>(`/api/v1/energy/series?scope=firm&id=${D.id}&from=${D0 + DAY}&to=${D0 + DAY + 3 * HOUR}&interval=1h`);
    assert.deepEqual(hours.points.map((p) => p.carriers.electricity!.measured), [16, 16, 16]);
    const offHour = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${D.id}&from=${D0 + DAY + 30 * MINUTE}&to=${D0 + DAY + 3 * HOUR}&source=rollup`);
    close(offHour.carriers.electricity!.measured, 40);
  });

  test('at start the rollup job builds missing hourly and daily rollups from the 15-minute ones', async () => {
    const day = `/api/v1/energy/series?scope=firm&id=${D.id}&from=${D0}&to=${D0 + 2 * DAY}&interval=1d`;
    type Days = { points: Array<{ carriers: Record<string, { measured: number }> }> };
    const before = await get<Days>(day);
    assert.deepEqual(before.points.map((p) => p.carriers.electricity!.measured), [384, 384]);
    // As after an upgrade from a version that had only rollup_15m.
    for (const m of ['rollup_1d', 'rollup_1h']) {
      const r = await fetch(`${sys.influxd.url}/query?db=${sys.db}`, { method: 'POST', body: new URLSearchParams({ q: `DROP MEASUREMENT "${m}"` }) });
      const body = await r.text();
      assert.equal(r.status, 200, body);
      assert.doesNotMatch(body, /error/, body);
    }
    assert.deepEqual((await get<Days>(day)).points, []);
    monitoring.rollups.start();
    try {
      await monitoring.rollups.rebuild(Date.now(), Date.now() + 1); // waits for the start-up work queued before it
    } finally {
      await monitoring.rollups.stop();
    }
    // D0 is five days back: beyond the start-up recompute (2 days), so only the backfill brings it back.
    assert.deepEqual((await get<Days>(day)).points.map((p) => p.carriers.electricity!.measured), [384, 384]);
  });

  test('the 15-minute rollups export as CSV', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/v1/energy/rollups.csv?scope=firm&id=${D.id}&from=${D0}&to=${D0 + DAY}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/csv/);
    const lines = r.body.trim().split('\r\n');
    assert.match(lines[0] ?? '', /^firm_id,firm_name,county,park,segment,quantity,unit,source,used_for_firm_total,boundary_rule,counting_rule,interval_start,interval_end,value,devices,resets$/);
    assert.equal(lines.length, 1 + 86);
    assert.ok(lines.slice(1).every((l) => l.startsWith(`${D.id},D quality,533102,ruili-coop,spinning,electricity,kWh,electricity_meter,yes,bought,the meters' grid import counted; export and own generation measured and not counted,`)));
    assert.match(lines[1] ?? '', /,\d{4}-\d\d-\d\dT00:00\+08:00,\d{4}-\d\d-\d\dT00:15\+08:00,4,1,0$/);
  });
});

describe('machine states and OEE', () => {
  interface Oee { periods: Array<{ id: string; firm: { availability: number; times: Record<string, number> }; devices: Array<{ times: Record<string, number>; availability: number; performance: number; oee: number; oeeFormula: string; loomEfficiency: number; reportedEfficiencyPct: number; quality: number | null }> }> }
  test('a scripted shift: A = 4.5 h ÷ 6 h, P = 600 ÷ 800 rpm, OEE = A × P, loom efficiency apart', async () => {
    const r = await get<Oee>(`/api/v1/monitoring/oee?firmId=${E.id}&from=${D0}&to=${D0 + DAY}&by=shift`);
    const b = r.periods.find((p) => p.id === `${localDate(D0)}/B`);
    assert.ok(b);
    const d = b.devices[0];
    assert.ok(d);
    assert.equal(d.times.running, 4.5 * HOUR);
    assert.equal(d.times.fault, 0.5 * HOUR);
    assert.equal(d.times.idle, HOUR);
    assert.equal(d.times.maintenance, HOUR);
    assert.equal(d.times.stopped, HOUR);
    close(d.availability, 0.75);
    close(d.performance, 0.75);
    close(d.oee, 0.5625);
    assert.equal(d.oeeFormula, 'A×P (quality not reported)');
    assert.equal(d.quality, null);
    close(d.loomEfficiency, 0.9);
    close(d.reportedEfficiencyPct, 88);
    close(b.firm.availability, 0.75);
    // Shift A: unknown until the first event at 07:00, then running.
    const a = r.periods.find((p) => p.id === `${localDate(D0)}/A`);
    assert.equal(a?.devices[0]?.times.unknown, 7 * HOUR);
    assert.equal(a?.devices[0]?.availability, 1);
    const states = await get<{ periods: Array<{ id: string; firm: Record<string, number> }> }>(`/api/v1/monitoring/states?deviceId=e-loom&from=${D0}&to=${D0 + DAY}&by=day`);
    assert.equal(states.periods[0]?.firm.running, 5.5 * HOUR);
  });

  test('a per-device nominal speed overrides the type\'s', async () => {
    assert.equal((await send('PUT', '/api/v1/monitoring/devices/e-loom/nominal', { nominal: 600 })).statusCode, 200);
    const r = await get<Oee>(`/api/v1/monitoring/oee?deviceId=e-loom&from=${D0 + 8 * HOUR}&to=${D0 + 16 * HOUR}&by=total`);
    close(r.periods[0]?.devices[0]?.performance ?? 0, 1);
  });
});

describe('plan tracker', () => {
  test('the connected share on seeded firms, just inside and just outside the window, with breakdowns, trend and projection', async () => {
    const reg = new SqliteRegistry(path.join(sys.dir, 'kpi.db'));
    await reg.ensureApiToken(admin, 'admin', null, 'admin');
    const mon = new Monitoring({ file: path.join(sys.dir, 'kpi-monitoring.db'), registry: reg, store, connectedWindowDays: 30 });
    const kpiApp = await buildApp({ registry: reg, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30, monitoring: mon, apiRequestsPerMinute: 100_000 });
    try {
      const now = Date.now();
      const f1 = testFirm({ county: '533102', park: 'ruili-coop', segment: 'weaving' });
      const f2 = testFirm({ county: '533103', park: 'mangshi', segment: 'spinning' });
      const f3 = testFirm({ county: '533102', park: 'ruili-border', segment: 'garment', employees: 50 });
      const f4 = testFirm({ county: '533124', park: 'longchuan', segment: 'silk', aboveScale: false });
      for (const f of [f1, f2, f3, f4]) await reg.createFirm(f);
      const d1 = await reg.createDevice({ firmId: f1.id, type: 'loom', name: 'in' });
      const d2 = await reg.createDevice({ firmId: f2.id, type: 'loom', name: 'out' });
      const d4 = await reg.createDevice({ firmId: f4.id, type: 'loom', name: 'small' });
      await reg.markSeen([
        { deviceId: d1.device.id, seenAt: now, telemetryAt: now - 30 * DAY + MINUTE },
        { deviceId: d2.device.id, seenAt: now, telemetryAt: now - 30 * DAY - MINUTE },
        { deviceId: d4.device.id, seenAt: now, telemetryAt: now },
      ]);
      const idx = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7)) - 1;
      const name = (i: number) => `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
      const cur = idx(localMonth(now));
      mon.planStore.putSnapshot(name(cur - 2), 'connectedShare', 0.1, { connected: 0, aboveScaleFirms: 3 });
      mon.planStore.putSnapshot(name(cur - 1), 'connectedShare', 0.2, { connected: 1, aboveScaleFirms: 5 });
      const call = async (url: string) => {
        const r = await kpiApp.inject({ method: 'GET', url, headers: { authorization: `Bearer ${admin}` } });
        assert.equal(r.statusCode, 200, r.body);
        return r.json();
      };
      const k = await call('/api/v1/plan/connected-share');
      assert.deepEqual([k.aboveScaleFirms, k.connected], [3, 1]);
      close(k.share, 1 / 3);
      assert.equal(k.windowDays, 30);
      assert.match(k.definition, /last 30 days/);
      const row = (list: Array<{ id: string; aboveScaleFirms: number; connected: number }>, id: string) => list.find((r) => r.id === id);
      assert.deepEqual([row(k.byCounty, '533102')?.aboveScaleFirms, row(k.byCounty, '533102')?.connected], [2, 1]);
      assert.deepEqual([row(k.byCounty, '533103')?.aboveScaleFirms, row(k.byCounty, '533103')?.connected], [1, 0]);
      assert.deepEqual([row(k.byPark, 'ruili-coop')?.connected, row(k.byPark, 'ruili-border')?.connected, row(k.byPark, 'mangshi')?.connected], [1, 0, 0]);
      assert.deepEqual([row(k.bySegment, 'weaving')?.connected, row(k.bySegment, 'spinning')?.aboveScaleFirms, row(k.bySegment, 'silk')?.aboveScaleFirms], [1, 1, 0]);
      assert.deepEqual(k.trend.map((t: { month: string }) => t.month), [name(cur - 2), name(cur - 1), name(cur)]);
      // Least squares through (0, 0.1), (1, 0.2), (2, 1/3): slope 0.11667, first month ≥ 0.5 is two months ahead.
      const slope = (0.1111111 + 0.1222222) / 2;
      const mean = (0.1 + 0.2 + 1 / 3) / 3;
      assert.equal(k.projection.reachesTargetIn, name(cur + 2));
      close(k.projection.share, Math.min(1, mean + slope * (idx('2027-12') - (cur - 1))), 1e-4);
      const narrow = await call('/api/v1/plan/connected-share?windowDays=29');
      assert.equal(narrow.connected, 0);

      // Targets: computed from the registry, entered with who and when.
      const bureau = await reg.createApiToken('bureau', null, 'bureau staff');
      const entered = await kpiApp.inject({ method: 'PUT', url: '/api/v1/plan/targets/aboveScaleOutputValue', payload: { value: 8.5e9, note: '统计局快报' }, headers: { authorization: `Bearer ${bureau.token}` } });
      assert.equal(entered.statusCode, 200, entered.body);
      assert.equal((await kpiApp.inject({ method: 'PUT', url: '/api/v1/plan/targets/firms', payload: { value: 1 }, headers: { authorization: `Bearer ${bureau.token}` } })).statusCode, 400);
      const t = await call('/api/v1/plan/targets');
      const by = (id: string) => t.targets.find((x: { id: string }) => x.id === id);
      assert.equal(t.targets.length, 13);
      assert.deepEqual([by('firms').value, by('aboveScaleFirms').value, by('employment').value], [4, 3, 350]);
      close(by('connectedShare').value, 1 / 3);
      assert.equal(by('aboveScaleOutputValue').value, 8.5e9);
      close(by('aboveScaleOutputValue').progress, 0.85);
      assert.equal(by('aboveScaleOutputValue').enteredBy, 'bureau staff');
      assert.equal(by('aboveScaleOutputValue').enteredByToken, bureau.principal.tokenId);
      assert.equal(by('specialisedFirms').value, null);

      // Per mu: F1 (10 mu, 100 people) ¥100 m / ¥5 m tax; F3 (10 mu, 50 people) ¥50 m / ¥1 m; F2 (10 mu) ¥200 m / ¥4 m.
      const year = new Date(now + 8 * HOUR).getUTCFullYear();
      for (const [f, output, tax] of [[f1, 1e8, 5e6], [f2, 2e8, 4e6], [f3, 5e7, 1e6]] as const) {
        const r = await kpiApp.inject({ method: 'PUT', url: `/api/v1/plan/firms/${f.id}/figures/${year}`, payload: { outputValueYuan: output, taxYuan: tax }, headers: { authorization: `Bearer ${bureau.token}` } });
        assert.equal(r.statusCode, 200, r.body);
      }
      const pm = await call(`/api/v1/plan/per-mu?year=${year}`);
      const p1 = pm.firms.find((x: { firmId: string }) => x.firmId === f1.id);
      const p3 = pm.firms.find((x: { firmId: string }) => x.firmId === f3.id);
      assert.equal(p1.taxPerMu, 5e5);
      assert.equal(p1.outputPerEmployee, 1e6);
      // No energy telemetry this year: the figures are shown, but no firm is scored or ranked (test/integration/plan-kpi.test.ts ranks).
      assert.deepEqual([p1.score, p1.rankInCounty, p3.rankInCounty, p3.countyFirmsRanked, p1.energyCoverage.daysWithData], [null, null, null, 0, 0]);
      assert.ok(p1.missing.includes('energy') && p1.missing.includes('energyCoverage'));
    } finally {
      await kpiApp.close();
      await mon.close();
      await reg.close();
    }
  });
});
