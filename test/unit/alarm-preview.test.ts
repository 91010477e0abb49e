// The rule preview: stored points replayed through the live engine, per device, with episodes, peaks and the cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { previewRule, type PreviewStore } from '../../analytics/alarms/preview.ts';
import type { AlarmRuleInput } from '../../analytics/alarms/rules.ts';
import type { DeviceSeriesQuery, SeriesPoint } from '../../common/telemetry-store/store.ts';
import type { DeviceStateHistory, StateHistoryQuestion } from '../../common/telemetry-store/questions/machines.ts';

const MIN = 60_000;
const from = 0;
const to = 24 * 60 * MIN;
const hot: AlarmRuleInput = {
  name: 'hot', kind: 'threshold', firmId: null, deviceType: 'dyeing_machine', deviceId: null, metric: 'bath_temp_c', op: '>', value: 140,
  states: null, windowS: 60, durationS: 30, severity: 'critical', enabled: false,
};
const devices = [
  { id: 'dye-1', firmId: 'F1', type: 'dyeing_machine', name: '1号染色机', lastSeenAt: 3 },
  { id: 'dye-2', firmId: 'F1', type: 'dyeing_machine', name: '2号染色机', lastSeenAt: 2 },
  { id: 'dye-9', firmId: 'F2', type: 'dyeing_machine', lastSeenAt: 1 },
  { id: 'loom-1', firmId: 'F1', type: 'loom' },
];

/** Every 10 s for an hour from `start`: 100 °C, hot (145..150) in [hotFrom, hotTo). */
function series(start: number, spans: Array<[number, number]>): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (let t = start; t < start + 60 * MIN; t += 10_000) {
    const on = spans.some(([a, b]) => t >= a && t < b);
    out.push({ ts: t, value: on ? 145 + ((t / 10_000) % 6) : 100 });
  }
  return out;
}

function fakeStore(points: Record<string, SeriesPoint[]>, states: Record<string, DeviceStateHistory> = {}): PreviewStore & { asked: DeviceSeriesQuery[] } {
  const asked: DeviceSeriesQuery[] = [];
  return {
    asked,
    async deviceSeries(q) {
      asked.push(q);
      return (points[q.deviceId] ?? []).filter((p) => p.ts >= q.from && p.ts <= q.to).slice(0, q.limit);
    },
    async stateHistory(q: StateHistoryQuestion) {
      const h = q.deviceId ? states[q.deviceId] : undefined;
      return h ? [h] : [];
    },
  };
}

test('threshold with duration: each episode once, with start, end and peak; devices the rule does not apply to are not read', async () => {
  const store = fakeStore({
    'dye-1': series(0, [[5 * MIN, 10 * MIN], [20 * MIN, 20 * MIN + 20_000], [40 * MIN, 45 * MIN]]),
    'dye-2': series(0, []),
  });
  const p = await previewRule({ ...hot, firmId: 'F1' }, devices, store, { from, to });
  assert.equal(p.fired, 2, 'the 20 s spike is shorter than the 30 s duration');
  assert.deepEqual([p.devicesMatched, p.devicesEvaluated, p.sampled], [2, 2, false]);
  assert.deepEqual(store.asked.map((q) => [q.deviceId, q.measurement, q.metric]), [['dye-1', 'dyeing_machine', 'bath_temp_c'], ['dye-2', 'dyeing_machine', 'bath_temp_c']]);
  const d1 = p.devices[0]!;
  assert.equal(d1.deviceId, 'dye-1');
  assert.equal(d1.name, '1号染色机');
  assert.deepEqual(d1.episodes.map((e) => [e.start, e.end]), [[5 * MIN + 30_000, 10 * MIN], [40 * MIN + 30_000, 45 * MIN]]);
  assert.equal(d1.episodes[0]!.peak, 150);
  assert.equal(p.devices[1]!.fired, 0);
  assert.equal(p.pointsRead, 720);
});

test('the cap: devices beyond maxDevices and points beyond each share are left out and said so', async () => {
  const store = fakeStore({ 'dye-1': series(0, [[50 * MIN, 60 * MIN]]), 'dye-2': series(0, []) });
  const p = await previewRule(hot, devices, store, { from, to, limits: { maxDevices: 2, maxPoints: 200 } });
  assert.equal(p.devicesMatched, 3);
  assert.equal(p.devicesEvaluated, 2);
  assert.equal(p.sampled, true);
  assert.equal(p.notes.length, 2);
  assert.match(p.notes[0]!.en, /2 most recently seen of 3 devices/);
  assert.equal(p.devices.find((d) => d.deviceId === 'dye-1')?.coveredUntil, 990_000);
  assert.equal(p.fired, 0, 'the hot hour end was beyond the points read');
});

test('state for a duration, replayed from stored changes', async () => {
  const store = fakeStore({}, {
    'dye-1': { deviceId: 'dye-1', before: { ts: -MIN, state: 'running', reason: null }, events: [
      { ts: 60 * MIN, state: 'fault', reason: null }, { ts: 80 * MIN, state: 'running', reason: null },
      { ts: 100 * MIN, state: 'fault', reason: null }, { ts: 105 * MIN, state: 'running', reason: null },
    ] },
  });
  const p = await previewRule({ ...hot, kind: 'state', deviceType: null, deviceId: 'dye-1', metric: null, op: null, value: null, states: ['fault'], durationS: 900 }, devices, store, { from, to });
  assert.equal(p.fired, 1);
  assert.deepEqual(p.devices[0]!.episodes, [{ start: 75 * MIN, end: 80 * MIN, peak: null }]);
});

test('offline: a silence longer than the limit, with the longest silence as its peak', async () => {
  const pts = series(0, []).filter((p) => p.ts < 10 * MIN || p.ts >= 40 * MIN);
  const p = await previewRule({ ...hot, kind: 'offline', deviceType: null, deviceId: 'dye-2', metric: null, op: null, value: 10, durationS: 0 }, devices, fakeStore({ 'dye-2': pts }), { from, to: 60 * MIN });
  assert.equal(p.fired, 1);
  const e = p.devices[0]!.episodes[0]!;
  assert.equal(e.end, 40 * MIN);
  assert.ok(e.start >= 20 * MIN && e.start <= 21 * MIN);
  assert.ok((e.peak ?? 0) > 29, `peak ${e.peak}`);
});

test('rate of change: a ramp above 3 °C/min fires once, its peak the steepest rate per minute', async () => {
  const pts: SeriesPoint[] = [];
  for (let t = 0; t <= 20 * MIN; t += 10_000) pts.push({ ts: t, value: t < 5 * MIN ? 80 : t < 8 * MIN ? 80 + (6 * (t - 5 * MIN)) / MIN : 98 });
  const p = await previewRule({ ...hot, kind: 'rate', op: '>', value: 3, windowS: 60, durationS: 0 }, devices.slice(0, 1), fakeStore({ 'dye-1': pts }), { from, to });
  assert.equal(p.fired, 1);
  const e = p.devices[0]!.episodes[0]!;
  assert.ok(e.start > 5 * MIN && e.end !== null && e.end > 8 * MIN, JSON.stringify(e));
  assert.ok(Math.abs((e.peak ?? 0) - 6) < 0.01, `peak ${e.peak}`);
});
