// Time in state, OEE, shifts, the live room aggregates and the KPI projection: pure logic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveRoomAggregator, mayJoinRoom, type LiveRoomDevice } from '../../analytics/live/live-rooms.ts';
import { aggregateOee, oeeFigures, timeInStates } from '../../analytics/states/states.ts';
import { DEFAULT_SHIFTS, HOUR, MINUTE, localMidnight, shiftCalendarProblem, shiftInstances } from '../../common/time.ts';
import { projectLine } from '../../analytics/plan/service.ts';

const close = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

describe('time in state and OEE', () => {
  const ev = (h: number, state: string) => ({ ts: h * HOUR, state });
  const events = [ev(7, 'running'), ev(9, 'fault'), ev(9.5, 'running'), ev(12, 'idle'), ev(13, 'running'), ev(14, 'maintenance'), ev(15, 'stopped')];

  test('a scripted 8-hour shift', () => {
    const t = timeInStates(events, 8 * HOUR, 16 * HOUR);
    assert.deepEqual(t, { running: 4.5 * HOUR, fault: 0.5 * HOUR, idle: HOUR, setup: 0, maintenance: HOUR, stopped: HOUR, unknown: 0 });
    const f = oeeFigures(t, { meanSpeed: 600, nominal: 800 }, null, true);
    assert.equal(f.plannedMs, 6 * HOUR);
    close(f.availability, 0.75);
    close(f.performance, 0.75);
    close(f.oee, 0.5625);
    assert.equal(f.oeeFormula, 'A×P (quality not reported)');
    close(f.loomEfficiency, 0.9);
    // Mills: running 4.5 h ÷ scheduled 7 h (8 h − 1 h stopped; idle, maintenance and fault count against the loom).
    close(f.loomEfficiencyScheduled, 4.5 / 7);
    assert.equal(f.nominalExceeded, false);
    const withQ = oeeFigures(t, { meanSpeed: 600, nominal: 800 }, { good: 95, total: 100 }, false);
    close(withQ.oee, 0.5625 * 0.95);
    assert.equal(withQ.loomEfficiency, null);
  });

  test('performance is capped at 1 and says when the nominal was exceeded', () => {
    const t = timeInStates(events, 8 * HOUR, 16 * HOUR);
    // 900 rpm against an 800 rpm nominal: 1.125 uncapped, so P = 1 and OEE = A × 1 = 0.75.
    const f = oeeFigures(t, { meanSpeed: 900, nominal: 800 }, null, true);
    close(f.speedRatio, 1.125);
    close(f.performance, 1);
    close(f.oee, 0.75);
    assert.equal(f.nominalExceeded, true);
    // Firm: one loom at 900/800 for 8 h, one at 400/800 for 4 h: P = (1 × 8 + 0.5 × 4) ÷ 12, not (1.125 × 8 + 2) ÷ 12.
    const a = timeInStates([ev(0, 'running')], 0, 8 * HOUR);
    const b = timeInStates([ev(0, 'running'), ev(4, 'fault')], 0, 8 * HOUR);
    const agg = aggregateOee([{ times: a, perf: { meanSpeed: 900, nominal: 800 }, quality: null, isLoom: true }, { times: b, perf: { meanSpeed: 400, nominal: 800 }, quality: null, isLoom: true }]);
    close(agg.performance, 10 / 12);
    close(agg.speedRatio, (1.125 * 8 + 0.5 * 4) / 12);
    assert.equal(agg.nominalExceeded, true);
    assert.ok((agg.oee ?? 2) <= 1);
  });

  test('before the first event and after the device went silent the state is unknown', () => {
    const t = timeInStates(events, 0, 10 * HOUR, 8.5 * HOUR);
    assert.equal(t.unknown, 7 * HOUR + 1.5 * HOUR);
    assert.equal(t.running, 1.5 * HOUR);
    assert.equal(t.fault, 0);
  });

  test('firm aggregate: times add up, performance weighted by running time', () => {
    const a = timeInStates([ev(0, 'running')], 0, 8 * HOUR);
    const b = timeInStates([ev(0, 'running'), ev(4, 'fault')], 0, 8 * HOUR);
    const agg = aggregateOee([{ times: a, perf: { meanSpeed: 800, nominal: 800 }, quality: null, isLoom: true }, { times: b, perf: { meanSpeed: 400, nominal: 800 }, quality: null, isLoom: true }]);
    close(agg.availability, 12 / 16);
    close(agg.performance, (1 * 8 + 0.5 * 4) / 12);
    close(agg.loomEfficiency, 12 / 16);
    close(agg.loomEfficiencyScheduled, 12 / 16);
    assert.equal(agg.nominalExceeded, false);
  });
});

describe('shift calendar (Asia/Shanghai)', () => {
  test('default: three 8-hour shifts from 00:00, 08:00, 16:00 local', () => {
    const d = localMidnight(2026, 3, 1);
    const s = shiftInstances(DEFAULT_SHIFTS, d, d + 24 * HOUR);
    assert.deepEqual(s.map((x) => [x.id, (x.end - x.start) / HOUR]), [['2026-03-01/A', 8], ['2026-03-01/B', 8], ['2026-03-01/C', 8]]);
    assert.equal(new Date(s[1]!.start).toISOString(), '2026-03-01T00:00:00.000Z');
  });

  test('a night shift crossing midnight belongs to the day it starts', () => {
    const cal = { timezone: 'Asia/Shanghai' as const, shifts: [{ name: '白班', start: '07:30' }, { name: '夜班', start: '19:30' }] };
    const d = localMidnight(2026, 3, 1);
    const s = shiftInstances(cal, d, d + 24 * HOUR);
    assert.deepEqual(s.map((x) => [x.id, (x.end - x.start) / MINUTE]), [['2026-02-28/夜班', 450], ['2026-03-01/白班', 720], ['2026-03-01/夜班', 270]]);
    assert.match(shiftCalendarProblem({ timezone: 'Asia/Shanghai', shifts: [{ name: 'x', start: '25:00' }] }) ?? '', /not HH:MM/);
  });
});

describe('live rooms', () => {
  const dev = (id: string, firmId: string, type: string, metrics: Record<string, number>, state = 'running'): LiveRoomDevice => ({ deviceId: id, firmId, county: '533102', park: 'ruili-coop', segment: 'weaving', type, ts: 1000, metrics, state });

  test('aggregates per room, meters first per firm, at most once a second per room', () => {
    const agg = new LiveRoomAggregator({ staleMs: 60_000, minIntervalMs: 1000 });
    const first = agg.update({ at: 1000, devices: [dev('l1', 'F1', 'loom', { power_kw: 4 }), dev('m1', 'F1', 'electricity_meter', { power_kw: 50 }), dev('l2', 'F2', 'loom', { power_kw: 3 }, 'fault')] });
    const all = first.find((u) => u.room === 'all');
    assert.equal(all?.rates.electricity, 50 + 3);
    assert.equal(all?.states.fault, 1);
    assert.equal(first.find((u) => u.room === 'firm:F2')?.rates.electricity, 3);
    assert.equal(first.find((u) => u.room === 'device:l1')?.device?.metrics.power_kw, 4);
    const second = agg.update({ at: 1500, devices: [dev('l2', 'F2', 'loom', { power_kw: 5 })] });
    assert.equal(second.length, 0, 'throttled');
    const third = agg.update({ at: 2100, devices: [] });
    assert.deepEqual(third.map((u) => u.room).sort(), ['all', 'county:533102', 'device:l2', 'firm:F2', 'park:ruili-coop', 'segment:weaving']);
    assert.equal(third.find((u) => u.room === 'firm:F2')?.rates.electricity, 5);
  });

  test('an engineer may join only their firm and its devices', () => {
    const p = { tokenId: 't', role: 'engineer' as const, firmId: 'F1', name: 'e' };
    const firmOf = (id: string) => (id === 'l1' ? 'F1' : 'F2');
    assert.equal(mayJoinRoom(p, 'firm:F1', firmOf), true);
    assert.equal(mayJoinRoom(p, 'firm:F2', firmOf), false);
    assert.equal(mayJoinRoom(p, 'device:l1', firmOf), true);
    assert.equal(mayJoinRoom(p, 'device:l2', firmOf), false);
    assert.equal(mayJoinRoom(p, 'county:533102', firmOf), false);
    assert.equal(mayJoinRoom({ ...p, role: 'bureau', firmId: null }, 'county:533102', firmOf), true);
    assert.equal(mayJoinRoom({ ...p, role: 'bureau', firmId: null }, 'nonsense', firmOf), false);
  });
});

describe('projection of the connected share', () => {
  test('a straight line through the monthly values, read at 2027-12', () => {
    const p = projectLine([{ month: '2026-01', share: 0.1 }, { month: '2026-02', share: 0.12 }, { month: '2026-03', share: 0.14 }], 0.49);
    // slope 0.02 per month; 2027-12 is 21 months after 2026-03: 0.14 + 0.42 = 0.56; 0.49 is passed 18 months after 2026-03.
    close(p.share, 0.56);
    assert.equal(p.onTrack, true);
    assert.equal(p.reachesTargetIn, '2027-09');
    assert.equal(projectLine([{ month: '2026-01', share: 0.1 }], 0.5).reason, 'needs snapshots from at least two months');
  });
});
