// The device page over a picked range (web/src/views/device/range-series.ts): the interval a chart asks for, and
// the state segments of a range with the time per state, counted as the monitoring counts it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chartInterval, rangeSegments, timePerState } from '../../web/src/views/device/range-series.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const KNOWN = ['running', 'idle', 'fault', 'unknown'];

describe('device page over a range', () => {
  test('raw up to 3 hours; then the shortest interval giving at most 3,000 points', () => {
    assert.equal(chartInterval(HOUR), 0);
    assert.equal(chartInterval(3 * HOUR), 0);
    assert.equal(chartInterval(DAY), MIN, '1,440 minutes');
    assert.equal(chartInterval(7 * DAY), 5 * MIN, '2,016 five-minute intervals; 10,080 minutes would be too many');
    assert.equal(chartInterval(30 * DAY), 15 * MIN, '2,880 quarters');
    assert.equal(chartInterval(31 * DAY), 15 * MIN, '2,976 quarters');
    assert.equal(chartInterval(400 * DAY), HOUR, 'the longest interval when none fits');
  });

  test('segments: the state before the range until the first event, each event until the next', () => {
    // From 0 to 100 min: running before, idle at 30, fault at 70, an event at 120 after the range.
    const h = { before: { ts: -5 * MIN, state: 'running' }, events: [{ ts: 30 * MIN, state: 'idle' }, { ts: 70 * MIN, state: 'fault' }, { ts: 120 * MIN, state: 'running' }] };
    const segs = rangeSegments(h, 0, 100 * MIN);
    assert.deepEqual(segs, [
      { state: 'running', from: 0, to: 30 * MIN }, { state: 'idle', from: 30 * MIN, to: 70 * MIN }, { state: 'fault', from: 70 * MIN, to: 100 * MIN },
    ]);
    // 30 + 40 + 30 minutes.
    assert.deepEqual([...timePerState(segs, KNOWN)], [['running', 30 * MIN], ['idle', 40 * MIN], ['fault', 30 * MIN]]);
  });

  test('without a state before, unknown until the first event; an event at the start counts from it', () => {
    assert.deepEqual(rangeSegments({ before: null, events: [{ ts: 10 * MIN, state: 'idle' }] }, 0, 20 * MIN), [
      { state: 'unknown', from: 0, to: 10 * MIN }, { state: 'idle', from: 10 * MIN, to: 20 * MIN },
    ]);
    assert.deepEqual(rangeSegments({ before: { ts: -1, state: 'idle' }, events: [{ ts: 0, state: 'running' }] }, 0, 20 * MIN), [{ state: 'running', from: 0, to: 20 * MIN }]);
  });

  test('after the device went silent the time is unknown; states the page does not know count as unknown', () => {
    // Silent from 50 min: running 0–30, idle 30–50, unknown 50–100 (the fault at 70 is after the silence began).
    const h = { before: { ts: -1, state: 'running' }, events: [{ ts: 30 * MIN, state: 'idle' }, { ts: 70 * MIN, state: 'fault' }] };
    const segs = rangeSegments(h, 0, 100 * MIN, 50 * MIN);
    assert.deepEqual(segs, [{ state: 'running', from: 0, to: 30 * MIN }, { state: 'idle', from: 30 * MIN, to: 50 * MIN }, { state: 'unknown', from: 50 * MIN, to: 100 * MIN }]);
    assert.deepEqual(rangeSegments(h, 0, 100 * MIN, -10 * MIN), [{ state: 'unknown', from: 0, to: 100 * MIN }], 'silent since before the range');
    assert.deepEqual([...timePerState([{ state: 'warming', from: 0, to: MIN }, { state: 'unknown', from: MIN, to: 3 * MIN }], KNOWN)], [['unknown', 3 * MIN]]);
  });
});
