// Cross-process latency histograms: Prometheus' "le" semantics (a value equal to a bound counts in that bucket).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BUCKETS_S, LatencyHistogram, histogramFromStatus } from '../../common/latency.ts';

describe('latency histogram', () => {
  test('cumulative counts per bound, a value on a bound counting in it, +Inf holding everything', () => {
    const h = new LatencyHistogram();
    for (const x of [0, 0.005, 0.0051, 1, 1, 1000]) h.observe(x);
    const back = histogramFromStatus(h.toStatus('q'), 'q')!;
    const at = (le: string) => back.buckets.find((b) => b.le === le)?.count;
    assert.equal(at('0.005'), 2);
    assert.equal(at('0.01'), 3);
    assert.equal(at('1'), 5);
    assert.equal(at('300'), 5);
    assert.equal(at('+Inf'), 6);
    assert.equal(back.buckets.length, LATENCY_BUCKETS_S.length + 1);
    assert.equal(back.count, 6);
    assert.ok(Math.abs(back.sum - 1002.0101) < 1e-9);
    assert.equal(histogramFromStatus({ rows: 3 }, 'q'), undefined);
  });
});
