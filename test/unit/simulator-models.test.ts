import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage } from '../../common/contract/admit.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { createModel, seededRng, simulatedTypes } from '../../simulators/models.ts';

test('every simulator model emits only what admission accepts, over a simulated day, and its counters never go back', () => {
  for (const type of simulatedTypes) {
    const model = createModel(type, seededRng(11));
    const counters = deviceType(type)!.metrics.filter((m) => m.counter).map((m) => m.name);
    const last: Record<string, number> = {};
    const start = Date.parse('2026-11-26T00:00:00Z');
    for (let i = 0; i < 1440; i++) {
      const r = model.step(60_000);
      const ts = start + i * 60_000;
      const res = admitMessage('telemetry', { deviceId: 'd', firmId: 'f', type, tags: 'device=d' }, Buffer.from(JSON.stringify({ ts, seq: i, metrics: r.metrics })), ts, { maxClockAheadMs: 0, maxAgeMs: 86_400_000 });
      assert.deepEqual(res.problems, [], `${type} minute ${i}`);
      for (const c of counters) {
        const v = r.metrics[c]!;
        assert.ok(v >= (last[c] ?? 0), `${type}.${c} went back at minute ${i}`);
        last[c] = v;
      }
    }
    assert.ok(Object.values(last).some((v) => v > 0), `${type} counters moved`);
  }
});

test('a dyeing machine runs its lot through the phases in order and never heats faster than 3 °C/min', () => {
  const model = createModel('dyeing_machine', seededRng(3));
  let prevPhase = 1;
  let prevTemp = 25;
  const seen: number[] = [1];
  for (let i = 0; i < 6 * 60; i++) {
    const m = model.step(60_000).metrics;
    const phase = m.phase!;
    if (phase !== prevPhase) {
      assert.equal(phase, prevPhase === 6 ? 1 : prevPhase + 1, 'phases advance one by one');
      seen.push(phase);
    }
    assert.ok(m.bath_temp_c! - prevTemp <= 3.0001, `ramp ${m.bath_temp_c! - prevTemp} °C/min`);
    prevPhase = phase;
    prevTemp = m.bath_temp_c!;
  }
  assert.ok(seen.includes(3) && seen.includes(4), `went through heat, hold and cool: ${seen.join(',')}`);
});

test('the same seed gives the same readings', () => {
  const a = createModel('loom', seededRng(5));
  const b = createModel('loom', seededRng(5));
  for (let i = 0; i < 50; i++) assert.deepEqual(a.step(1000), b.step(1000));
});
