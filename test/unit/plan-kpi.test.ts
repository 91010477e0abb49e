// The connected-share KPI with hand-made firm histories: demo firms left out unless asked for, a firm above-scale
// from mid-year counted from that month on, the official counts of the statistics bureau as a second
// denominator; and the per-mu ranking, which ranks only firms whose energy telemetry covers the year.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monthPoint, officialShare, platformConnectionKpi, timelines, type TelemetrySnapshot } from '../../analytics/plan/kpi.ts';
import { EnergyDays, coverageOf } from '../../analytics/plan/coverage.ts';
import type { RollupSeriesQuestion } from '../../common/telemetry-store/questions/energy.ts';
import { perMuRow, scoreAndRank } from '../../analytics/plan/per-mu.ts';
import { newAboveScale } from '../../analytics/plan/service.ts';
import type { Firm, FirmAttributes, FirmConnectivity, FirmVersion } from '../../common/registry/registry.ts';
import { DAY, localMidnight } from '../../common/time.ts';

const now = Date.parse('2026-11-27T00:00:00Z');
const conn = (id: string, county: string, aboveScale: boolean, demo: boolean, last: number | null): FirmConnectivity => ({ firmId: id, county, park: 'p', segment: 's', aboveScale, demo, lastTelemetryAt: last });

test('connected share: demo firms are left out unless asked for, and the answer says how many', () => {
  const firms = [
    conn('real-1', '533102', true, false, now - DAY),
    conn('real-2', '533102', true, false, null),
    conn('demo-1', '533102', true, true, now - DAY),
    conn('demo-2', '533103', true, true, now - DAY),
    conn('demo-3', '533103', false, true, now - DAY),
  ];
  const k = platformConnectionKpi(firms, now, 30);
  // By hand: 2 registered above-scale real firms, 1 connected; 3 demo firms left out.
  assert.deepEqual([k.aboveScaleFirms, k.connected, k.share, k.includeDemo, k.demoFirmsLeftOut], [2, 1, 0.5, false, 3]);
  assert.equal(k.byCounty.find((c) => c.county === '533103')?.aboveScaleFirms, 0);
  const all = platformConnectionKpi(firms, now, 30, true);
  assert.deepEqual([all.aboveScaleFirms, all.connected, all.includeDemo, all.demoFirmsLeftOut], [4, 3, true, 0]);
});

test('official share: against the statistics bureau\'s counts, null and said so where a county has none', () => {
  const connected = new Map([['533102', 3], ['533103', 1]]);
  const all = new Map([['533102', 10], ['533103', 6], ['533122', 2], ['533123', 1], ['533124', 1]]);
  const full = officialShare(connected, all, 2026);
  assert.deepEqual([full.aboveScaleFirms, full.connected, full.share, full.missingCounties, full.note], [20, 4, 0.2, [], null]);
  const partial = officialShare(connected, new Map([['533102', 10]]), 2026);
  assert.equal(partial.share, null);
  assert.equal(partial.aboveScaleFirms, null);
  assert.deepEqual(partial.missingCounties, ['533103', '533122', '533123', '533124']);
  assert.match(partial.note ?? '', /no official count .* 2026 .*芒市 \(533103\)/);
});

const base = (over: Partial<FirmAttributes> = {}): FirmAttributes => ({
  name: 'x', county: '533102', park: 'ruili-coop', segment: 'weaving', aboveScale: false, aboveScaleSince: null, employees: 10, landMu: 5,
  smartFactoryTier: 'none', smartFactoryCertificateId: null, smartFactoryCertifiedOn: null, ...over,
});
let vid = 0;
const version = (firmId: string, validFrom: string, changes: Partial<FirmAttributes>): FirmVersion => ({ id: ++vid, firmId, validFrom, recordedAt: vid, recordedBy: 't', changes });

test('monthly trend: each firm as it was at the end of each month (小升规 in June counts from June on)', () => {
  const versions = [
    version('grows', '2026-01-10', base()),
    // Entered in September, effective from June.
    version('grows', '2026-06-01', { aboveScale: true, aboveScaleSince: '2026-06-01' }),
    version('always', '2026-01-05', base({ aboveScale: true })),
    version('late', '2026-08-20', base({ aboveScale: true, county: '533103', park: 'mangshi' })),
    version('demo', '2026-01-01', base({ aboveScale: true })),
    version('shrinks', '2026-01-01', base({ aboveScale: true })),
    version('shrinks', '2026-07-15', { aboveScale: false, aboveScaleSince: null }),
  ];
  const firms = [{ id: 'grows', demo: false }, { id: 'always', demo: false }, { id: 'late', demo: false }, { id: 'demo', demo: true }, { id: 'shrinks', demo: false }];
  const lines = timelines(versions, firms);
  const snap = (month: string, takenAt: number, lastTelemetry: Record<string, number>): TelemetrySnapshot => ({ month, takenAt, windowDays: 30, lastTelemetry });
  const endOf = (y: number, m: number) => localMidnight(y, m + 1, 1) - 1;
  const counts = new Map([['533102', 4], ['533103', 4], ['533122', 0], ['533123', 0], ['533124', 0]]);
  // May: always + shrinks above-scale (grows not yet, late not registered); always connected.
  const may = monthPoint(snap('2026-05', endOf(2026, 5), { always: endOf(2026, 5) - DAY, grows: endOf(2026, 5) - DAY }), lines, false, counts);
  assert.deepEqual([may.aboveScaleFirms, may.connected, may.demoFirmsLeftOut, may.basis], [2, 1, 1, 'firm-history']);
  assert.equal(may.officialShare, 1 / 8);
  // June: grows counts from June on, and is connected.
  const june = monthPoint(snap('2026-06', endOf(2026, 6), { always: endOf(2026, 6) - DAY, grows: endOf(2026, 6) - DAY }), lines, false, counts);
  assert.deepEqual([june.aboveScaleFirms, june.connected], [3, 2]);
  // August: shrinks left in July; late registered in August.
  const aug = monthPoint(snap('2026-08', endOf(2026, 8), { late: endOf(2026, 8) - 40 * DAY }), lines, false, counts);
  assert.deepEqual([aug.aboveScaleFirms, aug.connected], [3, 0], 'telemetry older than the window is not connected');
  // With demo firms: one more above-scale firm, none left out; no official counts: null.
  const withDemo = monthPoint(snap('2026-08', endOf(2026, 8), { demo: endOf(2026, 8) - DAY }), lines, true, new Map());
  assert.deepEqual([withDemo.aboveScaleFirms, withDemo.connected, withDemo.demoFirmsLeftOut, withDemo.officialShare], [4, 1, 0, null]);
});

test('new above-scale firms in a year, from the firms\' dated history', () => {
  const versions = [
    version('grows', '2025-01-10', base()),
    version('grows', '2026-06-01', { aboveScale: true, aboveScaleSince: '2026-06-01' }),
    version('old', '2025-03-01', base({ aboveScale: true })),
    version('fresh', '2026-02-01', base({ aboveScale: true })),
    version('shrinks', '2025-01-01', base()),
    version('shrinks', '2026-03-01', { aboveScale: true, aboveScaleSince: '2026-03-01' }),
    version('shrinks', '2026-09-01', { aboveScale: false, aboveScaleSince: null }),
  ];
  const lines = timelines(versions, ['grows', 'old', 'fresh', 'shrinks'].map((id) => ({ id, demo: false })));
  // 2026 (today 27 Nov): grows (June) and fresh (registered above-scale in February); shrinks is no longer.
  assert.equal(newAboveScale(lines, 2026, now).value, 2);
  assert.equal(newAboveScale(lines, 2025, now).value, 1, 'old, registered above-scale in March 2025');
});

const firm = (id: string, county: string, over: Partial<Firm> = {}): Firm => ({ id, ...base({ county }), demo: false, createdAt: 0, landMu: 10, employees: 100, ...over });
const figures = (firmId: string, output: number, tax: number) => ({ firmId, year: 2026, outputValueYuan: output, taxYuan: tax, enteredBy: 't', enteredAt: 0 });

test('energy coverage: local days with energy readings over the days of the period', () => {
  const from = localMidnight(2026, 1, 1);
  const to = localMidnight(2026, 11, 27) + 10 * 3_600_000; // 27 Nov, 10:00: 331 days touched
  assert.deepEqual(coverageOf(300, from, to), { daysWithData: 300, days: 331, coverage: 300 / 331, enough: true });
  assert.equal(coverageOf(297, from, to).enough, false, '297 / 331 < 90 %');
  assert.equal(coverageOf(1, from, to).enough, false);
});

test('per mu: a firm with two hours of energy against a year\'s output is shown but neither scored nor ranked, and sets no scale', () => {
  const from = localMidnight(2026, 1, 1);
  const to = localMidnight(2026, 12, 31);
  const full = coverageOf(364, from, to);
  const thin = coverageOf(1, from, to);
  // Output ¥100 m, tax ¥5 m, 10 mu, 100 people; energy 1000 tce (covered) and 0.6 tce (two hours).
  const a = perMuRow(firm('a', '533102'), figures('a', 1e8, 5e6), 1_000_000, full);
  const b = perMuRow(firm('b', '533102'), figures('b', 5e7, 1e6), 500_000, full);
  const thinRow = perMuRow(firm('t', '533102'), figures('t', 1e8, 5e6), 600, thin);
  const rows = [a, b, thinRow];
  scoreAndRank(rows, { taxPerMu: 0.4, outputPerMu: 0.3, outputPerEmployee: 0.2, outputPerTce: 0.1 });
  assert.equal(thinRow.outputPerTce, null, 'no yuan per tce from two hours of energy');
  assert.equal(thinRow.energyTce, 0.6);
  assert.deepEqual([thinRow.score, thinRow.rankInCounty, thinRow.countyFirmsRanked], [null, null, 0]);
  assert.ok(thinRow.missing.includes('energyCoverage'));
  // By hand: a is best on every indicator (100); b: 0.4·0.2 + 0.3·0.5 + 0.2·0.5 + 0.1·(5e7/500 ÷ 1e8/1000 = 1) = 0.43.
  assert.equal(a.outputPerTce, 1e5);
  assert.equal(a.score, 100);
  assert.ok(Math.abs((b.score ?? 0) - 43) < 1e-9, String(b.score));
  assert.deepEqual([a.rankInCounty, b.rankInCounty, b.countyFirmsRanked], [1, 2, 2]);
});

test('days with energy readings: one question per firm, each local day once, answers reused for ten minutes', async () => {
  const asked: RollupSeriesQuestion[] = [];
  const from = localMidnight(2026, 1, 1);
  const store = {
    rollupSeries: async (q: RollupSeriesQuestion) => {
      asked.push(q);
      // Two quantities on 1 January and one on 3 January for firm a; nothing for b.
      return q.scope.id === 'a' ? [{ time: from, quantity: 'electricity', source: 'm', value: 1 }, { time: from, quantity: 'steam', source: 's', value: 1 }, { time: from + 2 * DAY, quantity: 'electricity', source: 'm', value: 1 }] : [];
    },
  };
  const days = new EnergyDays(store);
  const t0 = from + 10 * DAY;
  assert.deepEqual([...(await days.of(['a', 'b'], from, t0, t0))], [['a', 2], ['b', 0]]);
  assert.deepEqual(asked.map((q) => [q.scope.kind, q.scope.id, q.tier, q.intervalMs]), [['firm', 'a', '1d', DAY], ['firm', 'b', '1d', DAY]]);
  await days.of(['a', 'b'], from, t0, t0 + 9 * 60_000);
  assert.equal(asked.length, 2, 'reused within ten minutes');
  await days.of(['a', 'b', 'c'], from, t0, t0 + 9 * 60_000);
  assert.equal(asked.length, 3, 'only the new firm is asked');
  await days.of(['a'], from, t0, t0 + 11 * 60_000);
  assert.equal(asked.length, 4, 'asked again after ten minutes');
});
