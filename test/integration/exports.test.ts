// CSV exports (energy summary, OEE, alarms, plan tracker) against a real influxd: each CSV is parsed and held
// against its JSON twin's numbers for the same query, with the twin's access rules; dates as YYYY-MM-DD, the
// byte-order mark on request, readable file names in Chinese or English.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { DAY, HOUR, MINUTE, localDate, localDayStart } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_csv_exports_test_0';
const live = new EventEmitter();
let sys: MonitoringTestSystem;
let app: FastifyInstance;
let A: NewFirm;
let B: NewFirm;
let engA: string;
/** A local day three days ago: the fixture's readings and shift. */
const D0 = localDayStart(Date.now()) - 3 * DAY;
const day = localDate(D0);

/** RFC 4180 fields (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') quoted = false; else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; } else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += ch;
  }
  return rows;
}

/** The CSV as objects keyed by its header. */
function table(r: LightMyRequestResponse): Array<Record<string, string>> {
  assert.equal(r.statusCode, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/csv; charset=utf-8/);
  const [header, ...rows] = parseCsv(r.body.replace(/^\ufeff/, ''));
  return rows.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i] ?? ''])));
}

const get = (token: string, url: string) => app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` } });
const json = async <T>(token: string, url: string): Promise<T> => {
  const r = await get(token, url);
  assert.equal(r.statusCode, 200, r.body);
  return r.json<T>();
};
const near = (csv: string, want: number | null, eps = 1e-9) => {
  if (want === null) return assert.equal(csv, '');
  assert.ok(Math.abs(Number(csv) - want) <= eps * Math.max(1, Math.abs(want)), `${csv} ≠ ${want}`);
};
/** A share as the CSV writes it: percent with two decimals. */
const nearPct = (csv: string, share: number | null) => (share === null ? assert.equal(csv, '') : assert.ok(Math.abs(Number(csv) - share * 100) <= 0.005 + 1e-9, `${csv} % ≠ ${share}`));
const fileNameOf = (r: LightMyRequestResponse) => decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(String(r.headers['content-disposition']))?.[1] ?? '');

before(async () => {
  sys = await startMonitoringSystem('csv-exports', {
    adminToken: admin, live,
    prepare: async (registry) => {
      A = testFirm({ name: 'A, "导出" 织造' });
      B = testFirm({ name: 'B', county: '533103', park: 'mangshi' });
      await registry.createFirm(A);
      await registry.createFirm(B);
      for (const [firm, type, id] of [[A, 'electricity_meter', 'x-em'], [A, 'loom', 'x-loom'], [A, 'dyeing_machine', 'x-dye'], [B, 'electricity_meter', 'y-em'], [B, 'dyeing_machine', 'y-dye']] as const) {
        await registry.createDevice({ firmId: firm.id, type, name: id, id });
      }
      engA = (await registry.createApiToken('engineer', A.id, 'engineer A')).token;
    },
  });
  ({ app } = sys);
  const tags = (firm: NewFirm, id: string, type: string) => tagSet({ firmId: firm.id, deviceId: id, type, county: firm.county, park: firm.park, segment: firm.segment });
  const point = (firm: NewFirm, id: string, type: string, ts: number, metrics: Record<string, number>, seq: number) =>
    telemetryLine(deviceType(type)?.measurement ?? type, tags(firm, id, type), ts, seq, metrics);
  const lines: string[] = [];
  for (let k = 0; k <= 24 * 4; k++) {
    lines.push(point(A, 'x-em', 'electricity_meter', D0 - 5 * MINUTE + k * 15 * MINUTE, { energy_kwh_total: 500 + 12.5 * k }, k));
    lines.push(point(B, 'y-em', 'electricity_meter', D0 - 5 * MINUTE + k * 15 * MINUTE, { energy_kwh_total: 20 * k }, k));
  }
  const events: Array<[number, string]> = [[7, 'running'], [9, 'fault'], [9.5, 'running'], [12, 'idle'], [13, 'running'], [15, 'stopped']];
  for (const [h, s] of events) lines.push(stateLine(tags(A, 'x-loom', 'loom'), D0 + h * HOUR, s, undefined));
  for (let t = D0 + 7 * HOUR; t < D0 + 16 * HOUR; t += 10 * MINUTE) lines.push(point(A, 'x-loom', 'loom', t, { speed_rpm: 600, fabric_m_total: (t - D0) / MINUTE }, 0));
  await sys.store.write(lines);
  // Over-temperature for 30 s (the default dyeing rule) at both firms: an alarm each.
  for (const [firm, id] of [[A, 'x-dye'], [B, 'y-dye']] as const) {
    const summary = (at: number, temp: number) => ({ at, devices: [{ deviceId: id, firmId: firm.id, county: firm.county, park: firm.park, segment: firm.segment, type: 'dyeing_machine', ts: at - 500, metrics: { bath_temp_c: temp, setpoint_c: 130 }, state: 'running' }] });
    const t = Date.now();
    live.emit('live', summary(t, 142));
    live.emit('live', summary(t + 31_000, 143.5));
  }
  for (let i = 0; i < 100 && (await json<unknown[]>(admin, '/alarms?status=all')).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
});

after(async () => { await sys.close(); });

describe('CSV exports', () => {
  test('energy summary: the total and each firm as GET /energy/summary says, kWh and kgce in the header', async () => {
    const q = `scope=prefecture&from=${day}&to=${day}`;
    const s = await json<{ from: number; to: number; carriers: Record<string, { counted: number; kgce: number }>; totalKgce: number; totalTce: number; breakdown: Array<{ key: string; carriers: Record<string, { counted: number }>; totalKgce: number }> }>(admin, `/energy/summary?${q}&by=firm`);
    assert.equal(s.from, D0, 'a date is the local day');
    const rows = table(await get(admin, `/energy/summary.csv?${q}`));
    assert.equal(rows.length, 1 + s.breakdown.length);
    assert.ok(s.breakdown.length >= 2);
    assert.equal(rows[0]!.key, 'total');
    near(rows[0]!['electricity (kWh)']!, s.carriers.electricity!.counted);
    near(rows[0]!['electricity (kgce)']!, s.carriers.electricity!.kgce);
    near(rows[0]!['total (kgce)']!, s.totalKgce);
    near(rows[0]!['total (tce)']!, s.totalTce);
    for (const b of s.breakdown) {
      const row = rows.find((r) => r.key === b.key);
      assert.ok(row, b.key);
      near(row['electricity (kWh)']!, b.carriers.electricity!.counted);
      near(row['total (kgce)']!, b.totalKgce);
    }
    assert.ok(s.carriers.electricity!.counted > 0, 'the fixture counted');
  });

  test('bom=true puts the byte-order mark first; lang=zh names columns and the file in Chinese', async () => {
    const r = await get(admin, `/energy/summary.csv?scope=firm&id=${A.id}&from=${day}&to=${day}&bom=true&lang=zh`);
    assert.equal(r.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf');
    assert.equal(fileNameOf(r), `德宏-能耗汇总-企业-${A.id}-${day}至${day}.csv`);
    assert.match(String(r.headers['content-disposition']), new RegExp(`^attachment; filename="energy-summary-firm-${A.id}-${day}_to_${day}\\.csv"`));
    const [row] = table(r);
    assert.equal(row!['分组'], 'total');
    assert.ok('电（kWh）' in row!, Object.keys(row!).join());
    const plain = await get(admin, `/energy/summary.csv?scope=firm&id=${A.id}&from=${day}&to=${day}`);
    assert.notEqual(plain.rawPayload[0], 0xef, 'no mark unless asked');
    assert.equal(fileNameOf(plain), `energy-summary-firm-${A.id}-${day}_to_${day}.csv`);
    const rollups = await get(admin, `/energy/rollups.csv?scope=firm&id=${A.id}&from=${day}&to=${day}&bom=true`);
    assert.equal(rollups.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf', 'the rollups export too');
  });

  test('OEE: each period\'s firm and device figures as GET /monitoring/oee says, hours and percentages', async () => {
    const q = `firmId=${A.id}&from=${day}&to=${day}&by=day`;
    type Figures = { runningMs: number; plannedMs: number; availability: number | null; oee: number | null; loomEfficiency: number | null };
    const report = await json<{ periods: Array<{ id: string; firm: Figures; devices: Array<Figures & { deviceId: string }> }> }>(admin, `/monitoring/oee?${q}`);
    const rows = table(await get(admin, `/monitoring/oee.csv?${q}`));
    const want = report.periods.flatMap((p) => [{ period: p.id, deviceId: '', f: p.firm }, ...p.devices.map((d) => ({ period: p.id, deviceId: d.deviceId, f: d as Figures }))]);
    assert.equal(rows.length, want.length);
    const loom = want.find((w) => w.deviceId === 'x-loom');
    assert.ok(loom && loom.f.runningMs > 0, 'the loom ran');
    for (const [i, w] of want.entries()) {
      const r = rows[i]!;
      assert.deepEqual([r.period, r.device_id], [w.period, w.deviceId]);
      near(r['running (h)']!, w.f.runningMs / HOUR, 1e-3);
      near(r['planned (h)']!, w.f.plannedMs / HOUR, 1e-3);
      nearPct(r['availability (%)']!, w.f.availability);
      nearPct(r['OEE (%)']!, w.f.oee);
      nearPct(r['loom efficiency (%)']!, w.f.loomEfficiency);
    }
    assert.equal((await get(engA, `/monitoring/oee.csv?firmId=${B.id}`)).statusCode, 404, 'another firm is not found, as in the JSON');
  });

  test('alarms: the history with /alarms\' filters and access; an engineer gets only their firm\'s', async () => {
    const all = await json<Array<{ id: number; firmId: string; value: number; messages: { zh: string } }>>(admin, '/alarms?status=all');
    const rows = table(await get(admin, `/alarms.csv?from=${localDate(Date.now())}&lang=zh`));
    assert.deepEqual(rows.map((r) => Number(r['编号'])), all.map((a) => a.id));
    assert.deepEqual(rows.map((r) => r['说明']), all.map((a) => a.messages.zh));
    assert.deepEqual(rows.map((r) => Number(r['触发值'])), all.map((a) => a.value));
    const mine = table(await get(engA, '/alarms.csv'));
    assert.deepEqual(mine.map((r) => r.firm_id), [A.id]);
    assert.deepEqual(table(await get(admin, `/alarms.csv?firmId=${B.id}`)).map((r) => r.device_id), ['y-dye']);
    assert.equal(table(await get(admin, `/alarms.csv?to=${localDate(Date.now() - 2 * DAY)}`)).length, 0, 'a date range');
  });

  test('plan tracker: every target as GET /plan/targets says; admin and bureau only, as there', async () => {
    const year = new Date(D0).getFullYear();
    const put = await app.inject({ method: 'PUT', url: `/api/v1/plan/firms/${A.id}/figures/${year}`, headers: { authorization: `Bearer ${admin}` }, payload: { outputValueYuan: 123_000_000, taxYuan: 4_000_000 } });
    assert.equal(put.statusCode, 200, put.body);
    const plan = await json<{ targets: Array<{ id: string; target: number; value: number | null; unit: string; progress: number | null; fromFirmFigures: { value: number } | null }> }>(admin, '/plan/targets');
    const rows = table(await get(admin, '/plan/targets.csv'));
    assert.deepEqual(rows.map((r) => r.id), plan.targets.map((t) => t.id));
    for (const [i, t] of plan.targets.entries()) {
      near(rows[i]!.target_value!, t.target);
      near(rows[i]!.current_value!, t.value);
      assert.equal(rows[i]!.unit, t.unit);
      nearPct(rows[i]!['progress (%)']!, t.progress);
      near(rows[i]!.from_firm_figures!, t.fromFirmFigures?.value ?? null);
    }
    assert.ok(plan.targets.some((t) => t.fromFirmFigures !== null), 'the firms\' figures are in it');
    assert.equal((await get(engA, '/plan/targets.csv')).statusCode, 403);
  });

  test('a session cookie downloads too, and without credentials the answer is 401', async () => {
    await sys.registry.createUser({ login: 'csv.bureau', displayName: '局', role: 'bureau', firmId: null, password: 'bureau-password-1' });
    const signIn = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'csv.bureau', password: 'bureau-password-1' } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const r = await app.inject({ method: 'GET', url: '/api/v1/plan/targets.csv', headers: { cookie } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/alarms.csv' })).statusCode, 401);
  });
});
