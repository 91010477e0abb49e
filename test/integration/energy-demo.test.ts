// Demo firms are left out of every energy figure over a scope wider than a firm (totals, breakdowns, rankings,
// series, the completeness overview) unless includeDemo=true, and every such answer says so. A demo firm's own
// page still shows its own figures. Against a real influxd, through the API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceType } from '../../common/contract/catalogue.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { HOUR, MINUTE, QUARTER_HOUR, floorTo, localDate } from '../../common/time.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_energy_demo_000000';
let sys: MonitoringTestSystem;
const real = testFirm({ county: '533102', park: 'ruili-coop', name: 'Real firm' });
const demo = testFirm({ county: '533102', park: 'ruili-coop', name: 'Demo firm', demo: true });
const NOW = Date.now();
const FROM = floorTo(NOW - 2 * HOUR, QUARTER_HOUR);
const TO = floorTo(NOW, QUARTER_HOUR) + QUARTER_HOUR;

async function get<T>(url: string): Promise<T> {
  const r = await sys.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return r.json() as T;
}

/** A main meter gaining `perHour` kWh an hour over the last two hours. */
async function meter(f: NewFirm, perHour: number): Promise<void> {
  const id = `${f.name.split(' ')[0]!.toLowerCase()}-main`;
  await sys.registry.createDevice({ firmId: f.id, type: 'electricity_meter', name: id, id });
  const tags = tagSet({ firmId: f.id, deviceId: id, type: 'electricity_meter', county: f.county, park: f.park, segment: f.segment });
  const lines = [];
  for (let t = FROM; t < NOW - MINUTE; t += 5 * MINUTE) lines.push(telemetryLine(deviceType('electricity_meter')!.measurement, tags, t, 0, { energy_kwh_total: ((t - FROM) / HOUR) * perHour }));
  await sys.store.write(lines);
}

interface Demo { includeDemo: boolean; demoFirmsLeftOut: number }
type Summary = Demo & { carriers: { electricity: { measured: number } }; breakdown: Array<{ key: string }> };

before(async () => {
  sys = await startMonitoringSystem('energy-demo', { adminToken: admin });
  for (const f of [real, demo]) await sys.registry.createFirm(f);
  await meter(real, 100);
  await meter(demo, 1000);
  sys.monitoring.index.invalidate();
  await sys.monitoring.rollups.rebuild(FROM, NOW);
});
after(async () => { await sys.close(); });

test('summaries, rankings, series and the completeness overview leave demo firms out by default and say so', async () => {
  const range = `from=${FROM}&to=${TO}`;
  const own = (await get<Summary>(`/energy/summary?scope=firm&id=${real.id}&${range}&source=rollup`)).carriers.electricity.measured;
  assert.ok(own > 100, `the real firm counted ${own} kWh`);
  for (const scope of ['scope=prefecture', `scope=county&id=${real.county}`, `scope=park&id=${real.park}`]) {
    const s = await get<Summary>(`/energy/summary?${scope}&${range}&by=firm`);
    assert.deepEqual(s.breakdown.map((b) => b.key), [real.id], `${scope}: the ranking by firm has no demo firm`);
    assert.ok(Math.abs(s.carriers.electricity.measured - own) < 1e-6, `${scope}: the total is the real firm's`);
    assert.equal(s.includeDemo, false);
    assert.equal(s.demoFirmsLeftOut, 1);
    const withDemo = await get<Summary>(`/energy/summary?${scope}&${range}&by=firm&includeDemo=true`);
    assert.deepEqual(new Set(withDemo.breakdown.map((b) => b.key)), new Set([real.id, demo.id]), `${scope}: the toggle counts the demo firm`);
    assert.equal(withDemo.demoFirmsLeftOut, 0);
  }
  const intensity = await get<Demo & { rows: Array<{ key: string }> }>(`/energy/intensity?${range}`);
  assert.ok(!intensity.rows.some((r) => r.key === demo.id) && intensity.demoFirmsLeftOut === 1, 'no demo firm among the intensity rows');
  assert.ok((await get<{ rows: Array<{ key: string }> }>(`/energy/intensity?${range}&includeDemo=true`)).rows.some((r) => r.key === demo.id));

  const series = await get<Demo & { points: Array<{ carriers: { electricity: { measured: number } } }> }>(`/energy/series?scope=county&id=${real.county}&${range}&interval=15m`);
  const sum = series.points.reduce((a, p) => a + p.carriers.electricity.measured, 0);
  assert.ok(Math.abs(sum - own) < 1e-6 && series.demoFirmsLeftOut === 1, `the county's series adds up to the real firm only: ${sum} against ${own}`);

  const overview = await get<Demo & { firms: Array<{ firmId: string }> }>(`/energy/quality/overview?date=${localDate(NOW)}`);
  assert.deepEqual(overview.firms.map((f) => f.firmId), [real.id]);
  assert.equal((await get<{ firms: unknown[] }>(`/energy/quality/overview?date=${localDate(NOW)}&includeDemo=true`)).firms.length, 2);

  // The demo firm's own page: its own figure.
  const mine = await get<Summary>(`/energy/summary?scope=firm&id=${demo.id}&${range}&source=rollup`);
  assert.ok(mine.carriers.electricity.measured > 1000 && mine.demoFirmsLeftOut === 0, 'a demo firm\'s own figure is its own');
});

test('the rollups CSV of a county leaves demo firms\' rows out by default, counts them with includeDemo=true, and says so', async () => {
  const csv = async (query: string) => {
    const r = await sys.app.inject({ method: 'GET', url: `/api/v1/energy/rollups.csv?scope=county&id=${real.county}&from=${FROM}&to=${TO}${query}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.statusCode, 200, r.body);
    const firms = new Set(r.body.trim().split('\r\n').slice(1).map((line) => line.split(',')[0]));
    return { firms, leftOut: r.headers['x-demo-firms-left-out'] };
  };
  const plain = await csv('');
  assert.deepEqual(plain.firms, new Set([real.id]), 'only the real firm\'s rows');
  assert.equal(plain.leftOut, '1');
  const all = await csv('&includeDemo=true');
  assert.deepEqual(all.firms, new Set([real.id, demo.id]));
  assert.equal(all.leftOut, '0');
});

test('a demo firm created through the API is left out at once, not after the firm index refreshes', async () => {
  const range = `from=${FROM}&to=${TO}`;
  assert.equal((await get<Summary>(`/energy/summary?${range}`)).demoFirmsLeftOut, 1, 'the index is warm');
  const another = testFirm({ county: '533102', park: 'ruili-coop', name: 'Another demo firm', demo: true });
  const r = await sys.app.inject({ method: 'POST', url: '/api/v1/firms', headers: { authorization: `Bearer ${admin}` }, payload: another });
  assert.equal(r.statusCode, 201, r.body);
  assert.equal((await get<Summary>(`/energy/summary?${range}`)).demoFirmsLeftOut, 2);
});
