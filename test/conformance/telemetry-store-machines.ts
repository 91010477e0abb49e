// The telemetry-store conformance suite for the machine questions: every TelemetryStore adapter must answer
// them alike. The fixture is hand-written line protocol (two firms, a device id used by both) and every expected
// answer is worked out by hand from it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { LatestValue } from '../../common/telemetry-store/questions/machines.ts';
import { DAY, MINUTE } from '../../common/time.ts';

/** Firm A (county 533102) has looms l1 and l2; firm B (county 533103) has its own loom, also called l1. */
const A = 'tags-a';
const B = 'tags-b';
const TAGS: Record<string, string> = {
  [A]: 'county=533102,park=ruili-test,segment=weaving,firm=FA',
  [B]: 'county=533103,park=mangshi-test,segment=dyeing,firm=FB',
};
const OWNER = {
  'FA/l1': { deviceId: 'l1', firmId: 'FA', county: '533102', park: 'ruili-test', segment: 'weaving', type: 'loom' },
  'FA/l2': { deviceId: 'l2', firmId: 'FA', county: '533102', park: 'ruili-test', segment: 'weaving', type: 'loom' },
  'FB/l1': { deviceId: 'l1', firmId: 'FB', county: '533103', park: 'mangshi-test', segment: 'dyeing', type: 'loom' },
};

function fixture(T: number): string[] {
  const m = (n: number) => T + n * MINUTE;
  const state = (tags: string, device: string, ts: number, s: string, reason?: string) =>
    `machine_state,${TAGS[tags]},device=${device},type=loom state="${s}"${reason ? `,reason="${reason}"` : ''} ${ts}`;
  const loom = (tags: string, device: string, ts: number, fields: string) => `loom,${TAGS[tags]},device=${device},type=loom ${fields} ${ts}`;
  return [
    state(A, 'l1', m(-40), 'running'),
    state(A, 'l1', m(-10), 'fault', 'yarn break'),
    state(A, 'l1', m(5), 'running'),
    state(A, 'l1', m(20), 'idle'),
    state(A, 'l1', m(60), 'stopped'),
    state(A, 'l2', T - 3 * DAY, 'stopped'),
    state(A, 'l2', T, 'idle'),
    state(A, 'l2', m(30), 'running'),
    state(B, 'l1', m(-5), 'setup'),
    state(B, 'l1', m(15), 'maintenance'),
    loom(A, 'l1', m(1), 'speed_rpm=600,efficiency_pct=90'),
    loom(A, 'l1', m(2), 'speed_rpm=0,efficiency_pct=2'),
    loom(A, 'l1', m(3), 'speed_rpm=620,efficiency_pct=94'),
    loom(A, 'l1', m(5), 'speed_rpm=590,efficiency_pct=85'),
    loom(A, 'l1', m(6), 'speed_rpm=580,efficiency_pct=80'),
    loom(A, 'l1', m(7), 'speed_rpm=0,efficiency_pct=30'),
    loom(A, 'l1', m(8), 'speed_rpm=570,efficiency_pct=75'),
    loom(A, 'l2', m(4), 'speed_rpm=700,efficiency_pct=95'),
    loom(A, 'l2', m(9), 'speed_rpm=500'),
    loom(B, 'l1', m(1), 'speed_rpm=100,efficiency_pct=50'),
    `loom,device=orphan speed_rpm=1 ${m(4)}`,
  ];
}

const order = (v: LatestValue) => `${v.measurement}/${v.field}/${v.owner.firmId}/${v.owner.deviceId}`;
const sorted = (list: LatestValue[]) => [...list].sort((a, b) => order(a).localeCompare(order(b)));

export function machineQuestionsConformance(name: string, make: () => Promise<{ store: TelemetryStore; cleanup(): Promise<void> }>): void {
  describe(`TelemetryStore machine questions: ${name}`, () => {
    const T = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * 60 * MINUTE;
    const m = (n: number) => T + n * MINUTE;

    async function withFixture(run: (store: TelemetryStore) => Promise<void>): Promise<void> {
      const { store, cleanup } = await make();
      try {
        await store.ensureDatabase();
        await store.write(fixture(T));
        await run(store);
      } finally {
        await store.close();
        await cleanup();
      }
    }

    test('stateHistory: events in [from, to) oldest first, the state before within the lookback, per firm', () => withFixture(async (store) => {
      const range = { from: T, to: m(60), lookbackMs: DAY };
      const l1 = {
        deviceId: 'l1',
        before: { ts: m(-10), state: 'fault', reason: 'yarn break' },
        events: [{ ts: m(5), state: 'running', reason: null }, { ts: m(20), state: 'idle', reason: null }],
      };
      // l2's stop three days ago is beyond the lookback; its event exactly at `from` is in the range.
      const l2 = { deviceId: 'l2', before: null, events: [{ ts: T, state: 'idle', reason: null }, { ts: m(30), state: 'running', reason: null }] };
      assert.deepEqual(await store.stateHistory({ firmId: 'FA', deviceId: 'l1', ...range }), [l1]);
      assert.deepEqual(await store.stateHistory({ firmId: 'FA', ...range }), [l1, l2]);
      assert.deepEqual(await store.stateHistory({ firmId: 'FA', deviceId: 'l1', ...range, limit: 1 }), [{ ...l1, events: [l1.events[0]] }]);
      assert.deepEqual(await store.stateHistory({ firmId: 'FA', deviceId: 'l2', ...range, lookbackMs: 4 * DAY }), [
        { ...l2, before: { ts: T - 3 * DAY, state: 'stopped', reason: null } },
      ]);
      // The same device id under firm B is another machine.
      assert.deepEqual(await store.stateHistory({ firmId: 'FB', deviceId: 'l1', ...range }), [
        { deviceId: 'l1', before: { ts: m(-5), state: 'setup', reason: null }, events: [{ ts: m(15), state: 'maintenance', reason: null }] },
      ]);
      assert.deepEqual(await store.stateHistory({ firmId: 'FC', deviceId: 'l1', ...range }), []);
      assert.deepEqual(await store.stateHistory({ firmId: 'FA', deviceId: "l1' OR '1'='1", ...range }), [], 'ids are quoted');
    }));

    test('meansPerPeriod: means per device and period, optionally of running points only, per firm', () => withFixture(async (store) => {
      const periods = [{ start: T, end: m(5) }, { start: m(5), end: m(10) }];
      const metrics = ['speed_rpm', 'efficiency_pct'];
      // Running points only (speed above zero): the stops at +2 and +7 min do not count.
      assert.deepEqual(await store.meansPerPeriod({ firmId: 'FA', measurement: 'loom', metrics, aboveZero: 'speed_rpm', periods }), [
        { period: 0, deviceId: 'l1', means: { speed_rpm: 610, efficiency_pct: 92 } },
        { period: 0, deviceId: 'l2', means: { speed_rpm: 700, efficiency_pct: 95 } },
        { period: 1, deviceId: 'l1', means: { speed_rpm: 580, efficiency_pct: 80 } },
        { period: 1, deviceId: 'l2', means: { speed_rpm: 500, efficiency_pct: null } },
      ]);
      assert.deepEqual(await store.meansPerPeriod({ firmId: 'FA', deviceId: 'l1', measurement: 'loom', metrics: ['efficiency_pct'], periods }), [
        { period: 0, deviceId: 'l1', means: { efficiency_pct: 62 } },
        { period: 1, deviceId: 'l1', means: { efficiency_pct: 67.5 } },
      ]);
      assert.deepEqual(await store.meansPerPeriod({ firmId: 'FB', measurement: 'loom', metrics, aboveZero: 'speed_rpm', periods }), [
        { period: 0, deviceId: 'l1', means: { speed_rpm: 100, efficiency_pct: 50 } },
      ]);
      assert.deepEqual(await store.meansPerPeriod({ firmId: 'FA', measurement: 'loom', metrics, periods: [{ start: m(-60), end: T }] }), []);
    }));

    test('seriesIntervals: mean, min, max and count per interval from `from`, empty intervals left out, per firm', () => withFixture(async (store) => {
      const q = { firmId: 'FA', deviceId: 'l1', measurement: 'loom', metric: 'speed_rpm', everyMs: 3 * MINUTE, limit: 100 };
      // From T to +7 min (closed) in 3-minute intervals; the point at +8 min is after `to`.
      // [T, +3): +1 600, +2 0 → mean (600 + 0) / 2 = 300. [+3, +6): +3 620, +5 590 → 1210 / 2 = 605.
      // [+6, +7]: +6 580, +7 0 → 580 / 2 = 290.
      const fromT = [
        { ts: T, mean: 300, min: 0, max: 600, count: 2 },
        { ts: m(3), mean: 605, min: 590, max: 620, count: 2 },
        { ts: m(6), mean: 290, min: 0, max: 580, count: 2 },
      ];
      assert.deepEqual(await store.seriesIntervals({ ...q, from: T, to: m(7) }), fromT);
      // From −6 min: [−6, −3) and [−3, T) hold no points and are left out; the rest as above.
      assert.deepEqual(await store.seriesIntervals({ ...q, from: m(-6), to: m(7) }), fromT);
      // From −1 min the intervals shift with it: [−1, +2): 600. [+2, +5): 0, 620 → 310.
      // [+5, +7]: 590, 580, 0 → 1170 / 3 = 390.
      assert.deepEqual(await store.seriesIntervals({ ...q, from: m(-1), to: m(7) }), [
        { ts: m(-1), mean: 600, min: 600, max: 600, count: 1 },
        { ts: m(2), mean: 310, min: 0, max: 620, count: 2 },
        { ts: m(5), mean: 390, min: 0, max: 590, count: 3 },
      ]);
      assert.deepEqual(await store.seriesIntervals({ ...q, from: T, to: m(7), limit: 2 }), fromT.slice(0, 2), 'limit keeps the oldest');
      // Firm B's l1 is another machine: one point of 100 at +1 min.
      assert.deepEqual(await store.seriesIntervals({ ...q, firmId: 'FB', from: T, to: m(7) }), [{ ts: T, mean: 100, min: 100, max: 100, count: 1 }]);
      assert.deepEqual(await store.seriesIntervals({ ...q, deviceId: "l1' OR '1'='1", from: T, to: m(7) }), [], 'ids are quoted');
    }));

    test('latestValues: the newest value per series within (after, until], in a scope', () => withFixture(async (store) => {
      const fields = [
        { measurement: 'machine_state', field: 'state', after: T, until: m(30) },
        { measurement: 'loom', field: 'speed_rpm', after: m(2), until: m(6) },
      ];
      const v = (measurement: string, field: string, owner: keyof typeof OWNER, ts: number, value: string | number) => ({ measurement, field, owner: OWNER[owner], ts, value });
      // l2's idle at exactly `after` is outside; its running at exactly `until` is inside.
      const firmA = [v('loom', 'speed_rpm', 'FA/l1', m(6), 580), v('loom', 'speed_rpm', 'FA/l2', m(4), 700), v('machine_state', 'state', 'FA/l1', m(20), 'idle'), v('machine_state', 'state', 'FA/l2', m(30), 'running')];
      const firmB = [v('machine_state', 'state', 'FB/l1', m(15), 'maintenance')];
      assert.deepEqual(sorted(await store.latestValues({ kind: 'firm', id: 'FA' }, fields)), firmA);
      assert.deepEqual(sorted(await store.latestValues({ kind: 'county', id: '533103' }, fields)), firmB);
      // A device scope holds every series of the id; the series without device and firm tags is left out.
      assert.deepEqual(sorted(await store.latestValues({ kind: 'device', id: 'l1' }, fields)), sorted([firmA[0]!, firmA[2]!, ...firmB]));
      assert.deepEqual(sorted(await store.latestValues({ kind: 'prefecture', id: '' }, fields)), sorted([...firmA, ...firmB]));
      assert.deepEqual(await store.latestValues({ kind: 'firm', id: 'FA' }, []), []);
    }));
  });
}
