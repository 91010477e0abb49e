// The telemetry-store conformance suite for the energy questions: every TelemetryStore adapter must answer them
// alike. The fixtures are hand-written line protocol: cumulative counters of three firms (resets, meter jitter,
// gaps, a first reading, a range split into pieces) and 15-minute rollup points; every expected answer is worked
// out by hand from them in the comments.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { ROLLUP_BUCKETS, type CounterDelta, type RollupPoint } from '../../common/telemetry-store/questions/energy.ts';
import { DAY, HOUR, MINUTE, QUARTER_HOUR, localDayStart } from '../../common/time.ts';

const FA = { county: '533102', park: 'ruili-test', segment: 'weaving' };
const FB = { county: '533103', park: 'mangshi-test', segment: 'dyeing' };
const FC = { county: '533103', park: 'mangshi-test', segment: 'dyeing' };
const PREFECTURE = { kind: 'prefecture' as const, id: '' };

/**
 * Firm FA: main meter m1 and loom m2; firm FB: main meter m3. Readings of energy_kwh_total, in minutes from T.
 * With 15-minute steps s0 = [T, T+15m) … s7 = [T+105m, T+120m) and each step's last reading:
 * - m1: 100 before T; s0 110 (+10), s1 125 (+15); s2 130 then 3: a reset (3 < the fall of 122), so 3 from zero
 *   plus the 130 − 125 = 5 gained before it (+8); s3 and s4 empty (a gap); s5 23 (+20 over the gap); s6
 *   22.9990234375 (23 − 2⁻¹⁰: a fall of 0.004 % of the reading, within COUNTER_JITTER = 0.01 %: jitter, +0); s7 30
 *   (+7.0009765625). Total 60.0009765625, first hour 33, second 27.0009765625.
 * - m2: 50 before T; s0 52 (+2), s3 56 (+4), s7 60 (+4). Total 10, first hour 6, second 4.
 * - m3: 1000 before T, then 1001, 1003, 1006, 1010, 1015, 1021, 1028, 1036 in s0…s7 (+1 … +8). Total 36.
 */
function counters(T: number): string[] {
  const line = (measurement: string, firm: string, place: typeof FA, device: string, minute: number, value: number) =>
    `${measurement},county=${place.county},device=${device},firm=${firm},park=${place.park},segment=${place.segment},type=${measurement} energy_kwh_total=${value} ${T + minute * MINUTE}`;
  const m1 = [[-5, 100], [5, 110], [20, 125], [35, 130], [40, 3], [80, 23], [100, 22.9990234375], [110, 30]] as const;
  const m2 = [[-5, 50], [10, 52], [50, 56], [115, 60]] as const;
  const m3 = [[-5, 1000], [14, 1001], [29, 1003], [44, 1006], [59, 1010], [74, 1015], [89, 1021], [104, 1028], [119, 1036]] as const;
  return [
    ...m1.map(([t, v]) => line('electricity_meter', 'FA', FA, 'm1', t, v)),
    ...m2.map(([t, v]) => line('loom', 'FA', FA, 'm2', t, v)),
    ...m3.map(([t, v]) => line('electricity_meter', 'FB', FB, 'm3', t, v)),
  ];
}

/**
 * Firm FC's gas meters (gas_m3_total), one-hour steps h0 = [T, T+1h) … h23, read as a day, in two pieces split at
 * T+10h and in three split at T+1h and T+10h. Each step counts its last reading minus the device's last reading
 * before it, however old; a device's first readings count from its first reading.
 * - g1: 1000 three days before T. h0 1010 (+10 from the reading three days old); h1 1030 (+20); silent from
 *   T+1h30m to T+17h20m, across the T+10h boundary; h17 1100 (+70, from the reading in the first piece); h23 1110
 *   (+10). Day 110; pieces 30 and 80; three pieces 10, 20, 80; 12-hour buckets 30 and 80.
 * - g2: 5000 two hours before T. h2 5040, 5060, then 2 (a reset) and 2900 at T+2h50m: the step's last reading
 *   2900 is more than half of 5000, yet the register began again from zero: 2900 from zero plus the 5060 − 5000 =
 *   60 gained before the reset, +2960. h3 2950 (+50). Day 3010 with one reset, all of it in the first piece.
 * - g3: 800 an hour before T. h1 800.5 (+0.5); h4 800.4921875 (a fall of 2⁻⁷, 0.001 % of the reading: jitter,
 *   +0); h12 801 (+0.5078125 from the jittered reading). Day 1.0078125; pieces and 12-hour buckets 0.5
 *   and 0.5078125.
 * - g4: first reading ever 300 at T+5h20m, 306 at T+5h40m (h5: +6 from its first reading); h11 310 (+4). Day 10;
 *   pieces 6 and 4.
 */
function split(T: number): string[] {
  const line = (device: string, at: number, value: number) =>
    `gas_meter,county=${FC.county},device=${device},firm=FC,park=${FC.park},segment=${FC.segment},type=gas_meter gas_m3_total=${value} ${T + at}`;
  const readings: Array<[string, number, number]> = [
    ['g1', -3 * DAY, 1000], ['g1', 10 * MINUTE, 1010], ['g1', 90 * MINUTE, 1030], ['g1', 17 * HOUR + 20 * MINUTE, 1100], ['g1', 23 * HOUR + 50 * MINUTE, 1110],
    ['g2', -2 * HOUR, 5000], ['g2', 130 * MINUTE, 5040], ['g2', 140 * MINUTE, 5060], ['g2', 150 * MINUTE, 2], ['g2', 170 * MINUTE, 2900], ['g2', 210 * MINUTE, 2950],
    ['g3', -HOUR, 800], ['g3', 65 * MINUTE, 800.5], ['g3', 245 * MINUTE, 800.4921875], ['g3', 12 * HOUR, 801],
    ['g4', 320 * MINUTE, 300], ['g4', 340 * MINUTE, 306], ['g4', 11 * HOUR, 310],
  ];
  // Written newest first: the store orders readings by time, not by arrival.
  return readings.reverse().map(([d, at, v]) => line(d, at, v));
}

/**
 * 15-minute rollups from D (a local midnight): FA's meter 1, 2, 3 (with a reset), 4 in the first hour, 5 in the
 * second, 10 the next day; FA's looms 0.5; FB's meter 7 and FB's fabric 100 in the first hour.
 */
function rollups(D: number): RollupPoint[] {
  const p = (firmId: string, place: typeof FA, quantity: string, source: string, time: number, value: number, resets = 0): RollupPoint =>
    ({ firmId, ...place, quantity, source, time, value, devices: 1, resets });
  return [
    p('FA', FA, 'electricity', 'electricity_meter', D, 1),
    p('FA', FA, 'electricity', 'electricity_meter', D + QUARTER_HOUR, 2),
    p('FA', FA, 'electricity', 'electricity_meter', D + 2 * QUARTER_HOUR, 3, 1),
    p('FA', FA, 'electricity', 'electricity_meter', D + 3 * QUARTER_HOUR, 4),
    p('FA', FA, 'electricity', 'electricity_meter', D + HOUR, 5),
    p('FA', FA, 'electricity', 'electricity_meter', D + DAY, 10),
    p('FA', FA, 'electricity', 'loom', D, 0.5),
    p('FB', FB, 'electricity', 'electricity_meter', D + QUARTER_HOUR, 7),
    p('FB', FB, 'fabric', 'loom', D + QUARTER_HOUR, 100),
  ];
}

const deltaKey = (r: CounterDelta) => [r.measurement, ...Object.values(r.tags), r.time].join('/');
function deltas(rows: readonly CounterDelta[]): Array<{ key: string; value: number; resets: number }> {
  return rows.map((r) => ({ key: deltaKey(r), value: r.value, resets: r.resets })).sort((a, b) => a.key.localeCompare(b.key));
}

function byKey<T extends { firmId: string; quantity: string; source: string }>(rows: readonly T[]): string[] {
  return rows.map((r) => `${r.firmId}/${r.quantity}/${r.source}`);
}

type Make = () => Promise<{ store: TelemetryStore; cleanup(): Promise<void> }>;
type WithData = (lines: readonly string[], points: readonly RollupPoint[], run: (store: TelemetryStore) => Promise<void>) => Promise<void>;

function counterQuestions(withData: WithData, T: number): void {
  const m = (n: number) => T + n * MINUTE;
  const counter = { metric: 'energy_kwh_total', from: T, to: m(120), stepMs: QUARTER_HOUR };
  const h = (n: number) => T + n * HOUR;

  test('counterDeltas: increments per group over the range, a reset from zero, jitter as nothing, a gap carried by the next step', () => withData(counters(T), [], async (store) => {
    const q = { ...counter, measurements: ['electricity_meter', 'loom'], scope: PREFECTURE };
    assert.deepEqual(deltas(await store.counterDeltas({ ...q, groupBy: ['firm'] })), [
      { key: `electricity_meter/FA/${T}`, value: 60.0009765625, resets: 1 },
      { key: `electricity_meter/FB/${T}`, value: 36, resets: 0 },
      { key: `loom/FA/${T}`, value: 10, resets: 0 },
    ]);
    // No group tags: one total per measurement; a match narrows the scope to one firm.
    assert.deepEqual(deltas(await store.counterDeltas({ ...q, scope: { kind: 'firm', id: 'FA' }, groupBy: [] })), [
      { key: `electricity_meter/${T}`, value: 60.0009765625, resets: 1 },
      { key: `loom/${T}`, value: 10, resets: 0 },
    ]);
    assert.deepEqual(deltas(await store.counterDeltas({ ...q, match: { firm: 'FB' }, groupBy: ['device'] })), [{ key: `electricity_meter/m3/${T}`, value: 36, resets: 0 }]);
    assert.deepEqual(await store.counterDeltas({ ...q, measurements: [], groupBy: ['firm'] }), []);
  }));

  test('counterDeltas: hourly buckets per device within a county', () => withData(counters(T), [], async (store) => {
    const rows = await store.counterDeltas({
      ...counter, measurements: ['electricity_meter', 'loom'], scope: { kind: 'county', id: FA.county }, groupBy: ['device'], intervalMs: HOUR,
    });
    assert.deepEqual(deltas(rows), [
      { key: `electricity_meter/m1/${T}`, value: 33, resets: 1 },
      { key: `electricity_meter/m1/${m(60)}`, value: 27.0009765625, resets: 0 },
      { key: `loom/m2/${T}`, value: 6, resets: 0 },
      { key: `loom/m2/${m(60)}`, value: 4, resets: 0 },
    ]);
  }));

  test('counterSteps: what each device gained per step, with the firm carried', () => withData(counters(T), [], async (store) => {
    const rows = await store.counterSteps({ ...counter, measurements: ['electricity_meter'], scope: PREFECTURE, carry: ['firm'] });
    const of = (device: string) => rows.filter((r) => r.tags.device === device).sort((a, b) => a.time - b.time);
    assert.deepEqual(of('m1').map((r) => [r.time, r.value, r.reset]), [
      [m(0), 10, false], [m(15), 15, false], [m(30), 8, true], [m(75), 20, false], [m(90), 0, false], [m(105), 7.0009765625, false],
    ]);
    assert.deepEqual(of('m1')[0]?.tags, { firm: 'FA', device: 'm1' });
    assert.deepEqual(of('m3').map((r) => r.value), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(rows.length, 14);
  }));

  test('counterDeltas and counterSteps: a range counts the same whole or in pieces (old baselines, a gap across a boundary, a reset that climbs back past half, jitter, a first reading)', () => withData(split(T), [], async (store) => {
    const q = { metric: 'gas_m3_total', measurements: ['gas_meter'], scope: { kind: 'firm' as const, id: 'FC' }, stepMs: HOUR };
    const total = async (from: number, to: number) => (await store.counterDeltas({ ...q, from, to, groupBy: ['firm'] })).map((r) => [r.value, r.resets]);
    // The whole day: g1 110, g2 3010 (1 reset), g3 1.0078125, g4 10.
    assert.deepEqual(await total(T, h(24)), [[3131.0078125, 1]]);
    // Split at T+10h: g1 30 + g2 3010 + g3 0.5 + g4 6, then g1 80 + g3 0.5078125 + g4 4. Sum: 3131.0078125.
    assert.deepEqual(await total(T, h(10)), [[3046.5, 1]]);
    assert.deepEqual(await total(h(10), h(24)), [[84.5078125, 0]]);
    // Split in three: [T, T+1h) g1 10; [T+1h, T+10h) g1 20 + g2 3010 + g3 0.5 + g4 6. 10 + 3036.5 + 84.5078125 = 3131.0078125.
    assert.deepEqual(await total(T, h(1)), [[10, 0]]);
    assert.deepEqual(await total(h(1), h(10)), [[3036.5, 1]]);
    // Per device in 12-hour buckets (InfluxDB's buckets start at the epoch; the offset puts them at T).
    const perDevice = await store.counterDeltas({ ...q, from: T, to: h(24), groupBy: ['device'], intervalMs: 12 * HOUR, offsetMs: T % (12 * HOUR) });
    assert.deepEqual(deltas(perDevice), [
      { key: `gas_meter/g1/${T}`, value: 30, resets: 0 }, { key: `gas_meter/g1/${h(12)}`, value: 80, resets: 0 },
      { key: `gas_meter/g2/${T}`, value: 3010, resets: 1 },
      { key: `gas_meter/g3/${T}`, value: 0.5, resets: 0 }, { key: `gas_meter/g3/${h(12)}`, value: 0.5078125, resets: 0 },
      { key: `gas_meter/g4/${T}`, value: 10, resets: 0 },
    ]);
    // counterSteps: the same increments step by step, whether asked for the day or for its two pieces.
    const steps = async (from: number, to: number) => (await store.counterSteps({ ...q, from, to, carry: ['firm'] })).map((r) => [r.tags.device, (r.time - T) / HOUR, r.value, r.reset]);
    const expected = [
      ['g1', 0, 10, false], ['g1', 1, 20, false], ['g1', 17, 70, false], ['g1', 23, 10, false],
      ['g2', 2, 2960, true], ['g2', 3, 50, false],
      ['g3', 1, 0.5, false], ['g3', 4, 0, false], ['g3', 12, 0.5078125, false],
      ['g4', 5, 6, false], ['g4', 11, 4, false],
    ];
    const sorted = (rows: unknown[][]) => rows.sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1]));
    assert.deepEqual(sorted(await steps(T, h(24))), expected);
    assert.deepEqual(sorted([...await steps(T, h(10)), ...await steps(h(10), h(24))]), expected);
  }));
}

function rollupQuestions(withData: WithData, T: number): void {
  test('rollups: written points replace their quarter; hours and local days are re-summed from the finer tier', () => withData([], [], async (store) => {
    const D = T;
    assert.equal(await store.rollupTime('15m', 'first'), undefined);
    await store.writeRollups([{ firmId: 'FA', ...FA, quantity: 'electricity', source: 'electricity_meter', time: D, value: 99, devices: 3, resets: 0 }]);
    await store.writeRollups(rollups(D));
    assert.equal(await store.rollupTime('15m', 'first'), D);
    assert.equal(await store.rollupTime('15m', 'last'), D + DAY);
    assert.equal(await store.rollupTime('1h', 'first'), undefined);
    // Hours: FA meter 10 (D), 5 (D+1h), 10 (D+1d); FA looms 0.5; FB meter 7; FB fabric 100.
    assert.equal(await store.rebuildRollupTier('1h', D, D + DAY + HOUR), 6);
    // Local days: FA meter 15 and 10; FA looms 0.5; FB meter 7; FB fabric 100.
    assert.equal(await store.rebuildRollupTier('1d', D, D + 2 * DAY), 5);
    assert.equal(await store.rollupTime('1d', 'first'), D);
    assert.equal(await store.rollupTime('1h', 'last'), D + DAY);

    const totals = await store.rollupTotals(PREFECTURE, [{ tier: '1d', from: D, to: D + DAY }, { tier: '15m', from: D + DAY, to: D + DAY + QUARTER_HOUR }]);
    const sum = new Map<string, { value: number; resets: number }>();
    for (const [k, r] of byKey(totals).map((key, i) => [key, totals[i]!] as const)) {
      const cur = sum.get(k) ?? { value: 0, resets: 0 };
      sum.set(k, { value: cur.value + r.value, resets: cur.resets + r.resets });
    }
    assert.deepEqual(Object.fromEntries([...sum].sort()), {
      'FA/electricity/electricity_meter': { value: 25, resets: 1 },
      'FA/electricity/loom': { value: 0.5, resets: 0 },
      'FB/electricity/electricity_meter': { value: 7, resets: 0 },
      'FB/fabric/loom': { value: 100, resets: 0 },
    });
    const hour = await store.rollupTotals({ kind: 'county', id: FA.county }, [{ tier: '1h', from: D, to: D + HOUR }]);
    assert.deepEqual(hour.map((r) => [r.firmId, r.quantity, r.source, r.value, r.resets]).sort(), [['FA', 'electricity', 'electricity_meter', 10, 1], ['FA', 'electricity', 'loom', 0.5, 0]]);
    assert.deepEqual(await store.rollupTotals(PREFECTURE, []), []);
  }));

  test('rollupSeries: sums per interval, quantity and source over selected firms', () => withData([], rollups(T), async (store) => {
    const D = T;
    const q = { scope: PREFECTURE, tier: '15m' as const, from: D, to: D + HOUR, intervalMs: 30 * MINUTE };
    const flat = (list: Awaited<ReturnType<TelemetryStore['rollupSeries']>>) => list.map((b) => [b.time, b.quantity, b.source, b.value]).sort();
    assert.deepEqual(flat(await store.rollupSeries({ ...q, firms: { ids: ['FA'] } })), [
      [D, 'electricity', 'electricity_meter', 3], [D, 'electricity', 'loom', 0.5], [D + 30 * MINUTE, 'electricity', 'electricity_meter', 7],
    ].sort());
    assert.deepEqual(flat(await store.rollupSeries({ ...q, firms: { ids: ['FA'], exclude: true } })), [
      [D, 'electricity', 'electricity_meter', 7], [D, 'fabric', 'loom', 100],
    ].sort());
    assert.deepEqual(flat(await store.rollupSeries({ ...q, firms: { ids: [], exclude: true }, quantity: 'electricity', sources: ['electricity_meter'] })), [
      [D, 'electricity', 'electricity_meter', 10], [D + 30 * MINUTE, 'electricity', 'electricity_meter', 7],
    ].sort());
    await store.rebuildRollupTier('1h', D, D + 2 * DAY);
    await store.rebuildRollupTier('1d', D, D + 2 * DAY);
    const days = { ...q, tier: '1d' as const, to: D + 2 * DAY, intervalMs: DAY, offsetMs: ROLLUP_BUCKETS['1d'].offsetMs, scope: { kind: 'firm' as const, id: 'FA' } };
    assert.deepEqual(flat(await store.rollupSeries(days)), [
      [D, 'electricity', 'electricity_meter', 15], [D, 'electricity', 'loom', 0.5], [D + DAY, 'electricity', 'electricity_meter', 10],
    ].sort());
  }));

  test('rollupCounts and rollupRows: the 15-minute points present, and the points themselves', () => withData([], rollups(T), async (store) => {
    const D = T;
    const counts = await store.rollupCounts(PREFECTURE, ['electricity'], D, D + DAY);
    assert.deepEqual(counts.map((c) => [c.firmId, c.quantity, c.source, c.count]).sort(), [
      ['FA', 'electricity', 'electricity_meter', 5], ['FA', 'electricity', 'loom', 1], ['FB', 'electricity', 'electricity_meter', 1],
    ]);
    const rows = await store.rollupRows({ scope: { kind: 'firm', id: 'FA' }, from: D, to: D + DAY, limit: 3 });
    assert.deepEqual(byKey(rows).sort(), ['FA/electricity/electricity_meter', 'FA/electricity/loom']);
    assert.deepEqual(rows.find((r) => r.source === 'electricity_meter')?.rows, [
      { time: D, value: 1, devices: 1, resets: 0 },
      { time: D + QUARTER_HOUR, value: 2, devices: 1, resets: 0 },
      { time: D + 2 * QUARTER_HOUR, value: 3, devices: 1, resets: 1 },
    ]);
    assert.deepEqual(rows.find((r) => r.source === 'loom')?.rows, [{ time: D, value: 0.5, devices: 1, resets: 0 }]);
  }));
}

export function energyQuestionsConformance(name: string, make: Make): void {
  describe(`TelemetryStore energy questions: ${name}`, () => {
    const T = localDayStart(Date.now()) - 3 * DAY;
    const withData: WithData = async (lines, points, run) => {
      const { store, cleanup } = await make();
      try {
        await store.ensureDatabase();
        await store.write(lines);
        await store.writeRollups(points);
        await run(store);
      } finally {
        await store.close();
        await cleanup();
      }
    };
    counterQuestions(withData, T);
    rollupQuestions(withData, T);
  });
}
