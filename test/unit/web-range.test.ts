// The dashboard's time ranges (web/src/range.ts): Asia/Shanghai days, weeks from Monday, calendar months and
// years, the interval each is charted by, the previous period up to the same point, and the address round trip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { customRange, hashPath, hashWithRange, keepRange, localDate, parseDate, presetRange, rangeFromHash } from '../../web/src/range.ts';

const at = (iso: string) => Date.parse(iso);
// Thursday 3 December 2026, 10:30 in Shanghai.
const now = at('2026-12-03T10:30:00+08:00');

describe('dashboard time ranges', () => {
  test('local dates are Shanghai days, and impossible dates are refused', () => {
    assert.equal(localDate(at('2026-12-02T16:00:00Z')), '2026-12-03');
    assert.equal(parseDate('2026-12-03'), at('2026-12-03T00:00:00+08:00'));
    assert.equal(parseDate('2026-02-30'), undefined);
    assert.equal(parseDate('3 Dec'), undefined);
  });

  test('today runs to now and is compared with yesterday up to the same time, by 15 minutes', () => {
    const r = presetRange('today', now);
    assert.equal(r.from, at('2026-12-03T00:00:00+08:00'));
    assert.equal(r.end, at('2026-12-04T00:00:00+08:00'));
    assert.equal(r.to, now);
    assert.equal(r.live, true);
    assert.equal(r.interval, '15m');
    assert.deepEqual(r.prev, { from: at('2026-12-02T00:00:00+08:00'), to: at('2026-12-02T10:30:00+08:00') });
    assert.deepEqual([r.fromDate, r.toDate], ['2026-12-03', '2026-12-03']);
  });

  test('yesterday is whole and past', () => {
    const r = presetRange('yesterday', now);
    assert.deepEqual([r.from, r.to, r.live, r.fromDate, r.toDate], [at('2026-12-02T00:00:00+08:00'), at('2026-12-03T00:00:00+08:00'), false, '2026-12-02', '2026-12-02']);
    assert.deepEqual(r.prev, { from: at('2026-12-01T00:00:00+08:00'), to: at('2026-12-02T00:00:00+08:00') });
  });

  test('a week starts on Monday and goes by hour; a month by day against the previous month; a year by day', () => {
    const w = presetRange('week', now);
    assert.equal(w.fromDate, '2026-11-30');
    assert.equal(w.toDate, '2026-12-06');
    assert.equal(w.interval, '1h');
    assert.equal(w.prev.from, at('2026-11-23T00:00:00+08:00'));
    const m = presetRange('month', at('2026-03-31T12:00:00+08:00'));
    assert.equal(m.fromDate, '2026-03-01');
    assert.equal(m.interval, '1d');
    // February is shorter: the previous period stops at the start of March, not in it.
    assert.deepEqual(m.prev, { from: at('2026-02-01T00:00:00+08:00'), to: at('2026-03-01T00:00:00+08:00') });
    const y = presetRange('year', now);
    assert.deepEqual([y.fromDate, y.toDate, y.interval], ['2026-01-01', '2026-12-31', '1d']);
    assert.equal(y.prev.from, at('2025-01-01T00:00:00+08:00'));
  });

  test('the last 7 and 30 days end today; custom dates are whole days compared with as many before', () => {
    assert.equal(presetRange('7d', now).fromDate, '2026-11-27');
    assert.equal(presetRange('30d', now).fromDate, '2026-11-04');
    const c = customRange('2026-12-01', '2026-12-02', now);
    assert.ok(!('error' in c));
    assert.deepEqual([c.from, c.end, c.interval], [at('2026-12-01T00:00:00+08:00'), at('2026-12-03T00:00:00+08:00'), '15m']);
    assert.deepEqual(c.prev, { from: at('2026-11-29T00:00:00+08:00'), to: at('2026-12-01T00:00:00+08:00') });
    assert.deepEqual(customRange('2026-12-02', '2026-12-01', now), { error: 'order' });
    assert.deepEqual(customRange('2026-12-32', '2026-12-01', now), { error: 'dates' });
  });

  test('the range round-trips through the address, which keeps its path and other parameters', () => {
    const hash = hashWithRange(presetRange('7d', now), '#/firm/X?tab=a');
    assert.equal(hash, '#/firm/X?tab=a&range=7d');
    assert.equal(hashPath(hash), '/firm/X');
    assert.equal(rangeFromHash('today', undefined, hash, now).preset, '7d');
    const c = customRange('2026-11-01', '2026-11-30', now);
    assert.ok(!('error' in c));
    const custom = hashWithRange(c, '#/county/533102?range=7d');
    assert.equal(custom, '#/county/533102?from=2026-11-01&to=2026-11-30');
    assert.equal(rangeFromHash('today', undefined, custom, now).from, c.from);
    assert.equal(rangeFromHash('today', ['today', 'week'], '#/firm/X?range=1h', now).preset, 'today', 'a preset the view does not offer falls back');
    assert.equal(keepRange('#/park/p', custom), '#/park/p?from=2026-11-01&to=2026-11-30');
    assert.equal(keepRange('#/park/p', '#/county/1'), '#/park/p');
  });
});
