// The plant boundary per firm against a real influxd: where a firm's steam comes from decides whether it counts.
// Counters are written straight into InfluxDB; every expected figure is computed here from the readings written
// (the increment of a range = its last reading − the last reading before it), not from the code's own output.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { DAY, HOUR, MINUTE, localMonth, parseLocalMonth } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_boundary_tests_0000';
let sys: MonitoringTestSystem;

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);
const KGCE = { electricity: 0.1229, gas: 1.2143, steam: 0.1286 };

const T0 = Math.floor((Date.now() - 2 * DAY) / (15 * MINUTE)) * 15 * MINUTE;
const RANGE = `from=${T0 + MINUTE}&to=${T0 + 61 * MINUTE}`;

/** Readings every 5 minutes from T0 − 15 min to T0 + 60 min, rising unevenly; minute → value. */
function readings(start: number, steps: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  let v = start;
  for (let m = -15, i = 0; m <= 60; m += 5, i++) {
    v += steps[i % steps.length] ?? 0;
    out.set(m, v);
  }
  return out;
}

/** What the range [T0 + 1 min, T0 + 61 min) must count: its last reading − the last reading before it. */
function increment(r: ReadonlyMap<number, number>): number {
  return (r.get(60) ?? NaN) - (r.get(0) ?? NaN);
}

function previousMonth(): { month: string; from: number; to: number } {
  const cur = parseLocalMonth(localMonth(T0))!;
  const month = localMonth(cur.from - 1);
  return { month, ...parseLocalMonth(month)! };
}

interface Dev { firm: NewFirm; type: string; id: string; metric: string; values: Map<number, number> }
const devs: Dev[] = [];

async function device(firm: NewFirm, type: string, id: string, location: string, metric: string, values: Map<number, number>): Promise<Dev> {
  await sys.registry.createDevice({ firmId: firm.id, type, name: id, id, location });
  const d = { firm, type, id, metric, values };
  devs.push(d);
  return d;
}

function lines(d: Dev): string[] {
  const tags = tagSet({ firmId: d.firm.id, deviceId: d.id, type: d.type, county: d.firm.county, park: d.firm.park, segment: d.firm.segment });
  return [...d.values].map(([m, v], i) => telemetryLine(deviceType(d.type)?.measurement ?? d.type, tags, T0 + m * MINUTE, i, { [d.metric]: v }));
}

interface Figures {
  carriers: Record<'electricity' | 'gas' | 'steam', { measured: number; counted: number }>;
  boundary: { steamSource: string | null; firms: Record<string, number> };
  totalKgce: number;
  outputs: Record<string, { value: number }>;
}
type Summary = Figures & { notes: string[]; breakdown: Array<Figures & { key: string }> };

async function call(method: 'GET' | 'PUT', url: string, payload?: object) {
  return sys.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${admin}` } });
}
async function get<T>(url: string): Promise<T> {
  const r = await call('GET', url);
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return r.json() as T;
}

// G: a dyeing house with its own gas boiler: gas metered at the boiler (锅炉房), steam metered at the machines.
// P: buys its steam; its gas meter feeds the stenters. S: only a stenter (finishing passes, no looms).
let G: NewFirm;
let P: NewFirm;
let S: NewFirm;
let K: NewFirm;
let W: NewFirm;
const inc = new Map<string, number>();

before(async () => {
  sys = await startMonitoringSystem('mon-boundary', { adminToken: admin });
  G = testFirm({ segment: 'dyeing', name: 'G 自备锅炉' });
  P = testFirm({ segment: 'dyeing', name: 'P 外购蒸汽' });
  S = testFirm({ segment: 'dyeing', name: 'S 只有定形机' });
  K = testFirm({ segment: 'silk', name: 'K 丝绸织造', county: '533124', park: 'longchuan' });
  W = testFirm({ segment: 'weaving', name: 'W 织造 OEE' });
  for (const f of [G, P, S, K, W]) await sys.registry.createFirm(f);
  // W's loom: running 6 h at 900 rpm (nominal 800 by type), idle 1 h, stopped 1 h, from T0 − 8 h.
  await sys.registry.createDevice({ firmId: W.id, type: 'loom', name: 'w-loom', id: 'w-loom' });
  const wTags = tagSet({ firmId: W.id, deviceId: 'w-loom', type: 'loom', county: W.county, park: W.park, segment: W.segment });
  const w0 = T0 - 8 * HOUR;
  const wLines = [stateLine(wTags, w0, 'running', undefined), stateLine(wTags, w0 + 6 * HOUR, 'idle', undefined), stateLine(wTags, w0 + 7 * HOUR, 'stopped', undefined)];
  for (let t = w0; t < w0 + 6 * HOUR; t += 10 * MINUTE) wLines.push(telemetryLine('loom', wTags, t, 0, { speed_rpm: 900 }));
  await sys.store.write(wLines);
  // S's electricity meter in the month before T0's: 10 → 40 kWh, for the intensity against its entered output.
  const prev = previousMonth();
  const sTags = tagSet({ firmId: S.id, deviceId: 's-em', type: 'electricity_meter', county: S.county, park: S.park, segment: S.segment });
  await sys.store.write([telemetryLine('electricity_meter', sTags, prev.from + HOUR, 0, { energy_kwh_total: 10 }), telemetryLine('electricity_meter', sTags, prev.from + 2 * HOUR, 1, { energy_kwh_total: 40 })]);
  const all = [
    await device(G, 'electricity_meter', 'g-em', '配电房', 'energy_kwh_total', readings(5000, [20, 25, 18, 22])),
    await device(G, 'gas_meter', 'g-gas', '锅炉房', 'gas_m3_total', readings(800, [7, 9, 6])),
    await device(G, 'steam_meter', 'g-steam', '染色车间', 'steam_kg_total', readings(12000, [110, 90, 130])),
    await device(G, 'stenter', 'g-stenter', '定形车间', 'fabric_m_total', readings(0, [250, 240])),
    await device(P, 'electricity_meter', 'p-em', '配电房', 'energy_kwh_total', readings(300, [11, 13])),
    await device(P, 'gas_meter', 'p-gas', '定形车间', 'gas_m3_total', readings(40, [3, 4])),
    await device(P, 'steam_meter', 'p-steam', '进厂蒸汽管', 'steam_kg_total', readings(7000, [60, 75, 70])),
    await device(S, 'stenter', 's-stenter', '定形车间', 'fabric_m_total', readings(100, [300, 280])),
    await device(S, 'electricity_meter', 's-em', '配电房', 'energy_kwh_total', readings(10, [5, 6])),
    await device(K, 'loom', 'k-loom', '织造车间', 'fabric_m_total', readings(0, [40, 45])),
    await device(K, 'electricity_meter', 'k-em', '配电房', 'energy_kwh_total', readings(50, [8, 9])),
  ];
  for (const d of all) inc.set(d.id, increment(d.values));
  await sys.store.write(all.flatMap(lines));
  sys.monitoring.index.invalidate();
});

after(async () => { await sys.close(); });

describe('plant boundary: where a firm\'s steam comes from', () => {
  test('own boiler (gas meter at the boiler): the gas counts, the machines\' steam is measured but not counted', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&${RANGE}&source=raw`);
    const [el, gas, steam] = [inc.get('g-em')!, inc.get('g-gas')!, inc.get('g-steam')!];
    close(s.carriers.steam.measured, steam);
    assert.equal(s.carriers.steam.counted, 0);
    close(s.carriers.gas.counted, gas);
    close(s.totalKgce, el * KGCE.electricity + gas * KGCE.gas);
    assert.equal(s.boundary.steamSource, 'own-boiler');
    assert.ok(s.notes.some((n) => n.includes('own boiler')), s.notes.join('; '));
    const settings = (await call('GET', `/api/v1/energy/firms/${G.id}/settings`)).json();
    assert.deepEqual({ steamSource: settings.steamSource, source: settings.rule.source, from: settings.rule.from }, { steamSource: null, source: 'own-boiler', from: 'boiler-meter' });
  });

  test('bought steam crosses the boundary and counts at 0.1286 kgce/kg', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${P.id}&${RANGE}&source=raw`);
    const [el, gas, steam] = [inc.get('p-em')!, inc.get('p-gas')!, inc.get('p-steam')!];
    close(s.carriers.steam.counted, steam);
    close(s.totalKgce, el * KGCE.electricity + gas * KGCE.gas + steam * KGCE.steam);
    assert.equal(s.boundary.steamSource, 'bought');
  });

  test('the setting is entered, cleared and checked; the replaced cogeneration flag still works', async () => {
    const url = `/api/v1/energy/firms/${G.id}/settings`;
    const bought = await call('PUT', url, { steamSource: 'bought', note: '改为外购' });
    assert.equal(bought.statusCode, 200, bought.body);
    assert.deepEqual([bought.json().steamSource, bought.json().rule.from, bought.json().updatedBy], ['bought', 'entered', 'admin']);
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${G.id}&${RANGE}&source=raw`);
    close(s.carriers.steam.counted, inc.get('g-steam')!);
    assert.equal((await call('PUT', url, { steamSource: 'own-boiler', cogeneration: true })).statusCode, 400);
    assert.equal((await call('PUT', url, { note: 'x' })).statusCode, 400);
    assert.equal((await call('PUT', url, { steamSource: 'district' })).statusCode, 400);
    const cogen = await call('PUT', url, { cogeneration: true });
    assert.deepEqual([cogen.json().steamSource, cogen.json().cogeneration], ['cogeneration', true]);
    const cleared = await call('PUT', url, { steamSource: null });
    assert.deepEqual([cleared.json().steamSource, cleared.json().rule.source, cleared.json().cogeneration], [null, 'own-boiler', false]);
  });

  test('a breakdown by firm says which rule each row was counted with; the total says mixed', async () => {
    const s = await get<Summary>(`/api/v1/energy/summary?scope=prefecture&${RANGE}&source=raw&by=firm`);
    const rule = (id: string) => s.breakdown.find((b) => b.key === id)?.boundary.steamSource;
    assert.deepEqual([rule(G.id), rule(P.id), rule(S.id)], ['own-boiler', 'bought', 'bought']);
    assert.equal(s.boundary.steamSource, 'mixed');
    assert.equal(s.boundary.firms['own-boiler'], 1);
    close(s.carriers.steam.counted, inc.get('p-steam')!);
    close(s.carriers.steam.measured, inc.get('p-steam')! + inc.get('g-steam')!);
  });

  test('the CSV names the rule and leaves own-boiler steam out of the firm total', async () => {
    await sys.monitoring.rollups.rebuild(T0 - HOUR, T0 + 2 * HOUR);
    const r = await call('GET', `/api/v1/energy/rollups.csv?scope=prefecture&from=${T0}&to=${T0 + HOUR}`);
    assert.equal(r.statusCode, 200, r.body);
    const rows = r.body.trim().split('\r\n').map((l) => l.split(','));
    const header = rows[0] ?? [];
    const col = (name: string) => header.indexOf(name);
    assert.ok(col('boundary_rule') > 0, header.join(','));
    const of = (firm: string, source: string) => rows.filter((x) => x[0] === firm && x[col('source')] === source);
    assert.ok(of(G.id, 'steam_meter').length > 0);
    assert.ok(of(G.id, 'steam_meter').every((x) => x[col('used_for_firm_total')] === 'no' && x[col('boundary_rule')] === 'own-boiler'));
    assert.ok(of(P.id, 'steam_meter').every((x) => x[col('used_for_firm_total')] === 'yes' && x[col('boundary_rule')] === 'bought'));
    assert.ok(of(S.id, 'stenter').every((x) => x[col('used_for_firm_total')] === 'no'));
  });
});

describe('fabric output', () => {
  interface Intensity { rows: Array<{ key: string; fabricM: number; kgcePer100m: number | null; fabricNote: string | null; fabricSource: string | null; dyeingBenchmark: { row: string | null; kgcePer100mMax: number | null; kgceOk: boolean | null } }> }
  test('a firm with only finishing machines has no fabric output and no fabric intensity, and says why', async () => {
    const r = await get<Intensity>(`/api/v1/energy/intensity?scope=firm&id=${S.id}&${RANGE}&source=raw`);
    const row = r.rows[0];
    assert.ok(row);
    assert.equal(row.fabricM, 0);
    assert.equal(row.kgcePer100m, null);
    assert.match(row.fabricNote ?? '', /stenter counts every pass/);
    const s = await get<Summary>(`/api/v1/energy/summary?scope=firm&id=${S.id}&${RANGE}&source=raw`);
    assert.equal(s.outputs.fabric!.value, 0);
  });

  test('a firm without looms takes the output it entered, for a range of whole local months', async () => {
    const prev = previousMonth();
    const url = `/api/v1/energy/intensity?scope=firm&id=${S.id}&from=${prev.from}&to=${prev.to}&source=raw`;
    assert.match((await get<Intensity>(url)).rows[0]?.fabricNote ?? '', /output is entered/);
    assert.equal((await call('PUT', `/api/v1/energy/firms/${S.id}/output/${prev.month.slice(0, 4)}-13`, { fabricM: 1 })).statusCode, 400);
    const put = await call('PUT', `/api/v1/energy/firms/${S.id}/output/${prev.month}`, { fabricM: 12_000, note: '月报' });
    assert.equal(put.statusCode, 200, put.body);
    assert.deepEqual(put.json().months.map((m: { month: string; fabricM: number }) => [m.month, m.fabricM]), [[prev.month, 12_000]]);
    const row = (await get<Intensity>(url)).rows[0];
    assert.ok(row);
    assert.equal(row.fabricSource, 'entered');
    assert.equal(row.fabricM, 12_000);
    assert.equal(row.fabricNote, null);
    close(row.kgcePer100m ?? NaN, ((40 - 10) * KGCE.electricity / 12_000) * 100);
    // The firm's own engineer reads the entries but may not enter them (nor its steam source); others' firms are 404.
    const eng = (await sys.registry.createApiToken('engineer', S.id, 'S engineer')).token;
    const as = (method: 'GET' | 'PUT', url: string, payload?: object) => sys.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${eng}` } });
    assert.equal((await as('GET', `/api/v1/energy/firms/${S.id}/output`)).statusCode, 200);
    assert.equal((await as('PUT', `/api/v1/energy/firms/${S.id}/output/${prev.month}`, { fabricM: 1 })).statusCode, 403);
    assert.equal((await as('PUT', `/api/v1/energy/firms/${S.id}/settings`, { steamSource: 'bought' })).statusCode, 403);
    assert.equal((await as('GET', `/api/v1/energy/firms/${G.id}/output`)).statusCode, 404);
    // Not whole months: the entry is not prorated.
    const part = (await get<Intensity>(`/api/v1/energy/intensity?scope=firm&id=${S.id}&from=${prev.from}&to=${prev.to - DAY}&source=raw`)).rows[0];
    assert.deepEqual([part?.fabricM, part?.fabricSource], [0, null]);
  });

  test('a silk firm\'s woven metres are checked against the silk row (≤ 36 kgce per 100 m)', async () => {
    const r = await get<Intensity>(`/api/v1/energy/intensity?scope=firm&id=${K.id}&${RANGE}&source=raw`);
    const row = r.rows[0];
    assert.ok(row);
    const fabric = inc.get('k-loom')!;
    close(row.fabricM, fabric);
    const per100m = (inc.get('k-em')! * KGCE.electricity / fabric) * 100;
    close(row.kgcePer100m ?? NaN, per100m);
    assert.deepEqual([row.dyeingBenchmark.row, row.dyeingBenchmark.kgcePer100mMax, row.dyeingBenchmark.kgceOk], ['silk', 36, per100m <= 36]);
  });
});

describe('OEE', () => {
  test('a loom at 900 rpm against an 800 rpm nominal: performance capped at 1, the excess said; both loom efficiencies', async () => {
    const w0 = T0 - 8 * HOUR;
    const r = await get<{ notes: string[]; periods: Array<{ firm: { performance: number; nominalExceeded: boolean }; devices: Array<{ performance: number; speedRatio: number; nominalExceeded: boolean; nominalFrom: string; oee: number; availability: number; loomEfficiency: number; loomEfficiencyScheduled: number }> }> }>(
      `/api/v1/monitoring/oee?firmId=${W.id}&from=${w0}&to=${w0 + 8 * HOUR}&by=total`);
    const d = r.periods[0]?.devices[0];
    assert.ok(d);
    close(d.speedRatio, 900 / 800);
    assert.equal(d.performance, 1);
    assert.equal(d.nominalExceeded, true);
    assert.equal(d.nominalFrom, 'type');
    // Planned = 8 h − 1 h stopped = 7 h; A = 6 ÷ 7; OEE = A × 1.
    close(d.availability, 6 / 7);
    close(d.oee, 6 / 7);
    // Stop-driven: 6 ÷ (6 + 0 fault) = 1; mills: 6 h running ÷ 7 h scheduled.
    close(d.loomEfficiency, 1);
    close(d.loomEfficiencyScheduled, 6 / 7);
    assert.equal(r.periods[0]?.firm.performance, 1);
    assert.equal(r.periods[0]?.firm.nominalExceeded, true);
    assert.ok(r.notes.some((n) => n.includes('faster than their nominal')), r.notes.join('; '));
  });
});
