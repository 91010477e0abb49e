// Times people type: dates read as local (Asia/Shanghai) days, a date as the end of a range meaning the end of that day.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { range, toMs } from '../../api/time-range.ts';
import { HttpError } from '../../api/errors.ts';
import { DAY } from '../../common/time.ts';

describe('times from a request', () => {
  test('a date is local midnight in Asia/Shanghai (UTC+8, no daylight saving)', () => {
    assert.equal(toMs('2026-12-01', 0, 'from'), Date.parse('2026-11-30T16:00:00Z'));
    assert.equal(toMs('2026-12-01', 0, 'to', true), Date.parse('2026-12-01T16:00:00Z'));
    assert.equal(toMs('2026-12-01T08:00:00+08:00', 0, 'from'), Date.parse('2026-12-01T00:00:00Z'));
    assert.equal(toMs(1_700_000_000_000, 0, 'from'), 1_700_000_000_000);
  });

  test('from=D&to=D is the whole local day; to=D+1 two days', () => {
    assert.deepEqual(range('2026-12-01', '2026-12-01', DAY, 31 * DAY), { from: Date.parse('2026-11-30T16:00:00Z'), to: Date.parse('2026-12-01T16:00:00Z') });
    const r = range('2026-12-01', '2026-12-02', DAY, 31 * DAY);
    assert.equal(r.to - r.from, 2 * DAY);
  });

  test('a date that is not on the calendar is refused, naming the parameter', () => {
    assert.throws(() => toMs('2026-02-30', 0, 'from'), (e: unknown) => e instanceof HttpError && e.statusCode === 400 && /from is not a calendar date: "2026-02-30"/.test(e.message));
    assert.throws(() => toMs('yesterday', 0, 'to'), (e: unknown) => e instanceof HttpError && /to is not a time: "yesterday".*2026-12-01/.test(e.message));
  });
});
