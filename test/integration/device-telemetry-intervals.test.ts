// The device telemetry endpoint downsampled: with `every` (or `points`) one point per interval whose mean, min,
// max and count equal what the test works out itself from the raw points the same endpoint answers without it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { writeLoomRange } from '../helpers/device-range.ts';
import { provisionDevice } from '../../simulators/provision.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

interface Series { from: number; to: number; everyMs: number | null; points: Array<{ ts: number; value: number; min?: number; max?: number; count?: number }> }

let sys: TestSystem;
let deviceId = '';
const to = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
const from = to - 2 * DAY;

before(async () => {
  sys = await startTestSystem();
  const firm = testFirm({ name: '降采样测试织造厂' });
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  deviceId = (await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', '1号织机')).id;
  // From a day before the range to a minute after it: the range's edges cut through the data.
  await writeLoomRange(sys.store, firm, deviceId, from - DAY, to + 2 * MINUTE);
});

after(async () => { await sys?.close(); });

const series = async (query: string) => {
  const r = await api<Series>(sys, sys.adminToken, 'GET', `/api/v1/devices/${deviceId}/telemetry?metric=speed_rpm&from=${from}&to=${to}&${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};

test('15-minute intervals: mean, min, max and count equal those of the raw points in each interval', async () => {
  const raw = await series('limit=100000');
  assert.equal(raw.everyMs, null);
  assert.equal(raw.points.length, 2 * 24 * 60 + 1, 'one a minute over the closed range');
  assert.equal(raw.points[0]?.min, undefined, 'raw points carry no extremes');
  const every = 15 * MINUTE;
  const groups = new Map<number, number[]>();
  for (const p of raw.points) {
    const start = from + Math.floor((p.ts - from) / every) * every;
    groups.set(start, [...(groups.get(start) ?? []), p.value]);
  }
  const expected = [...groups].map(([ts, v]) => ({ ts, value: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v), count: v.length }));
  const down = await series('every=15m');
  assert.equal(down.everyMs, every);
  assert.equal(down.points.length, expected.length);
  for (const [i, p] of down.points.entries()) {
    const e = expected[i]!;
    assert.deepEqual({ ...p, value: 0 }, { ...e, value: 0 }, `interval ${i}`);
    assert.ok(Math.abs(p.value - e.value) < 1e-9, `mean of interval ${i}: ${p.value} vs ${e.value}`);
  }
  assert.ok(down.points.some((p) => p.max === 1500 && p.value < 1000), 'a spike shows in max, not in the mean');
  assert.deepEqual((await series('every=900s')).points, down.points, '900s is 15m');
});

test('points=N picks the shortest round interval giving at most N; a bad interval is refused', async () => {
  // Two days: 15 min gives 192 intervals, 30 min gives 96.
  assert.equal((await series('points=100')).everyMs, 30 * MINUTE);
  assert.equal((await series('points=100&every=1h')).everyMs, 60 * MINUTE, 'every wins');
  const limited = await series('every=1h&limit=3');
  assert.deepEqual(limited.points.map((p) => p.ts), [from, from + 60 * MINUTE, from + 120 * MINUTE]);
  for (const bad of ['every=15', 'every=0m', 'every=1w', 'points=0']) {
    const r = await api(sys, sys.adminToken, 'GET', `/api/v1/devices/${deviceId}/telemetry?metric=speed_rpm&${bad}`);
    assert.equal(r.status, 400, bad);
  }
});
