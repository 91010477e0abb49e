// Fault injection as pure logic: each fault turns a good message into what the contract says it rejects (or,
// for the ones the contract tolerates, into something it stores), checked with admission itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage, type AdmitResult } from '../../common/contract/admit.ts';
import { createModel, seededRng, simulatedTypes } from '../../simulators/models.ts';
import {
  FAULT_NAMES, applyOffsets, batchPayloads, countersOf, faultPlanFrom, malformedPayload, outOfRange, parseFaultFlag, perStepChance,
  resetOffsets, withRates, withoutRequiredField, wrongType, type FaultPlan,
} from '../../simulators/faults.ts';
import { DeviceProgram, type Outgoing } from '../../simulators/program.ts';

const NOW = Date.parse('2026-11-27T10:00:00+08:00');
const LIMITS = { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 };

function admit(type: string, kind: 'telemetry' | 'state', payload: string, now = NOW): AdmitResult {
  return admitMessage(kind, { deviceId: 'd1', firmId: 'f', type, tags: 'device=d1' }, Buffer.from(payload), now, LIMITS);
}

function pointOf(type: string, seed = 1) {
  const m = createModel(type, seededRng(seed));
  m.step(60_000);
  return { ts: NOW - 1000, seq: 7, metrics: m.step(60_000).metrics };
}

test('--fault NAME=RATE is parsed, and a bad flag says what is wrong', () => {
  assert.deepEqual(parseFaultFlag('malformed=0.01'), ['malformed', 0.01]);
  assert.deepEqual(parseFaultFlag('clock-skew=1'), ['clock-skew', 1]);
  assert.throws(() => parseFaultFlag('malformed'), /expected NAME=RATE/);
  assert.throws(() => parseFaultFlag('malfromed=0.1'), /unknown fault "malfromed"; faults: malformed, missing-field/);
  assert.throws(() => parseFaultFlag('duplicate=2'), /between 0 and 1 \(per message\), got "2"/);
  assert.throws(() => parseFaultFlag('stuck=lots'), /got "lots"/);
  assert.throws(() => parseFaultFlag('stuck='), /got ""/);
});

test("a scenario's faults section: rates or settings, with the path of the first problem", () => {
  const plan = faultPlanFrom({ malformed: 0.001, 'clock-skew': { rate: 0.01, skewS: [360, 900], durationS: [60, 120] } }, 'x.yaml.faults');
  assert.deepEqual(plan, { malformed: { rate: 0.001 }, 'clock-skew': { rate: 0.01, skewS: [360, 900], durationS: [60, 120] } });
  assert.throws(() => faultPlanFrom({ stuk: 0.1 }, 'x.yaml.faults'), /x\.yaml\.faults\.stuk: unknown fault "stuk"/);
  assert.throws(() => faultPlanFrom({ stuck: 1.5 }, 'f'), /f\.stuck must be a probability between 0 and 1, got 1\.5/);
  assert.throws(() => faultPlanFrom({ stuck: { rate: 0.1, durationS: [30, 10] } }, 'f'), /f\.stuck\.durationS: min 30 is above max 10/);
  assert.throws(() => faultPlanFrom({ backfill: { rate: 0.1, batchPoints: 5000 } }, 'f'), /batchPoints must be a whole number 1–1000/);
  assert.throws(() => faultPlanFrom({ storm: { rate: 0.1, shar: [0, 1] } }, 'f'), /f\.storm: unknown setting "shar"/);
  assert.throws(() => faultPlanFrom([0.1], 'f'), /f must be a mapping/);
  // Flags override the rate and keep the scenario's other settings.
  assert.deepEqual(withRates(plan, [['clock-skew', 0.5], ['duplicate', 0.1]])['clock-skew'], { rate: 0.5, skewS: [360, 900], durationS: [60, 120] });
});

test('per-minute rates become per-step probabilities that add up to the rate over a minute', () => {
  assert.equal(perStepChance(0, 1000), 0);
  assert.equal(perStepChance(1, 1000), 1);
  assert.ok(Math.abs(perStepChance(0.1, 60_000) - 0.1) < 1e-12);
  const perSecond = perStepChance(0.1, 1000);
  assert.ok(Math.abs(1 - (1 - perSecond) ** 60 - 0.1) < 1e-12);
});

test('malformed, missing-field, out-of-range and wrong-type messages are rejected by admission with the rule the contract names, for every type', () => {
  const rng = seededRng(4);
  for (const type of simulatedTypes) {
    const p = pointOf(type);
    assert.deepEqual(admit(type, 'telemetry', JSON.stringify(p)).problems, [], `${type}: the original is valid`);
    for (let i = 0; i < 20; i++) {
      const bad = admit(type, 'telemetry', malformedPayload(JSON.stringify(p), rng));
      assert.deepEqual(bad.problems.map((x) => x.rule), ['json'], `${type} malformed`);
      const missing = withoutRequiredField(p, rng);
      const r = admit(type, 'telemetry', JSON.stringify(missing.value));
      assert.deepEqual(r.problems.map((x) => [x.rule, x.field]), [['required', missing.field]], `${type} without ${missing.field}`);
      const oor = outOfRange(type, p, rng);
      const r2 = admit(type, 'telemetry', JSON.stringify(oor.point));
      assert.deepEqual(r2.problems.map((x) => [x.rule, x.field]), [[oor.rule, `metrics.${oor.metric}`]], `${type} out of range ${oor.metric}=${oor.point.metrics[oor.metric]}`);
      const wt = wrongType(p, rng);
      const r3 = admit(type, 'telemetry', JSON.stringify(wt.value));
      assert.deepEqual(r3.problems.map((x) => [x.rule, x.field]), [['type', `metrics.${wt.metric}`]], `${type} wrong type`);
      for (const res of [bad, r, r2, r3]) assert.equal(res.lines.length, 0);
    }
  }
});

test('a counter reset makes the counters restart from 0 and climb again; gauges are untouched', () => {
  const model = createModel('loom', seededRng(2));
  const first = model.step(3_600_000).metrics;
  const offsets = resetOffsets('loom', first);
  assert.deepEqual(Object.keys(offsets).sort(), countersOf('loom').sort());
  const atReset = applyOffsets(first, offsets);
  for (const c of countersOf('loom')) assert.equal(atReset[c], 0, c);
  assert.equal(atReset.speed_rpm, first.speed_rpm);
  const later = applyOffsets(model.step(3_600_000).metrics, offsets);
  assert.ok(later.picks_total! > 0 && later.picks_total! < first.picks_total! * 1.5);
  assert.deepEqual(admit('loom', 'telemetry', JSON.stringify({ ts: NOW, seq: 1, metrics: atReset })).problems, []);
});

test('a backlog goes out as batches of at most batchPoints points that admission stores in full, old timestamps included', () => {
  const model = createModel('water_jet_loom', seededRng(3));
  const points = Array.from({ length: 130 }, (_, i) => ({ ts: NOW - 3 * 3_600_000 + i * 60_000, seq: 100 + i, metrics: model.step(60_000).metrics }));
  const batches = batchPayloads(points, 50);
  assert.deepEqual(batches.map((b) => b.points.length), [50, 50, 30]);
  let stored = 0;
  for (const b of batches) {
    const r = admit('water_jet_loom', 'telemetry', b.payload);
    assert.deepEqual(r.problems, []);
    stored += r.lines.length;
  }
  assert.equal(stored, 130);
  assert.equal(batchPayloads(points, 5000).length, 1, 'never more than the contract allows (1000)');
});

/** Ticks a program through `n` steps of dtMs from `start` and collects what it sends. */
function run(type: string, faults: FaultPlan, n: number, dtMs = 1000, start = NOW - n * dtMs, seed = 5): { program: DeviceProgram; out: Outgoing[]; injected: string[] } {
  const program = new DeviceProgram({ id: 'dev-1', firmId: 'f', type }, createModel(type, seededRng(seed)), { faults, rng: seededRng(seed + 1), victim: { firmId: 'f', deviceId: 'dev-2' } });
  const out: Outgoing[] = [];
  const injected: string[] = [];
  for (let i = 1; i <= n; i++) {
    const t = program.tick(start + i * dtMs, dtMs);
    out.push(...t.messages);
    injected.push(...t.injected);
  }
  return { program, out, injected };
}

test("the program labels every message with its fault and whether the platform should store it, and admission agrees", () => {
  const faults: FaultPlan = { malformed: { rate: 0.1 }, 'missing-field': { rate: 0.1 }, 'out-of-range': { rate: 0.1 }, 'wrong-type': { rate: 0.1 }, 'foreign-topic': { rate: 0.1 }, duplicate: { rate: 0.2 } };
  const { out, injected } = run('loom', faults, 300);
  for (const name of ['malformed', 'missing-field', 'out-of-range', 'wrong-type', 'foreign-topic', 'duplicate']) assert.ok(injected.includes(name), `${name} happened`);
  const seqs = new Set<number>();
  for (const m of out) {
    if (m.topic.includes('/dev-2/')) {
      assert.ok(m.fault === 'foreign-topic' || m.fault === 'duplicate', `${m.fault} on the other device's topic`);
      assert.equal(m.valid, false);
      continue;
    }
    assert.match(m.topic, /^dh\/v1\/f\/dev-1\/(telemetry|state)$/);
    const r = admit('loom', m.kind, m.payload, m.ts);
    assert.equal(r.problems.length === 0, m.valid, `${m.fault ?? 'no fault'}: ${JSON.stringify(r.problems)}`);
    if (m.fault === 'duplicate') assert.ok(m.seqs.every((s) => seqs.has(s)), 'a duplicate resends a seq already sent');
    m.seqs.forEach((s) => seqs.add(s));
  }
  const dups = out.filter((m) => m.fault === 'duplicate');
  for (const d of dups) assert.ok(out.some((m) => m !== d && m.payload === d.payload && m.topic === d.topic), 'same ts, seq and payload');
});

test('clock skew: beyond 5 minutes ahead is rejected as clock-ahead, a small or backward skew is stored', () => {
  const ahead = run('spinning_frame', { 'clock-skew': { rate: 1, skewS: [600, 600], durationS: [3600, 3600] } }, 20);
  assert.equal(ahead.program.clockOffsetMs, 600_000);
  for (const m of ahead.out) {
    assert.equal(m.fault, 'clock-skew');
    assert.equal(m.valid, false);
    assert.deepEqual(admit('spinning_frame', m.kind, m.payload, m.ts - 600_000).problems.map((p) => p.rule), ['clock-ahead']);
  }
  const slight = run('spinning_frame', { 'clock-skew': { rate: 1, skewS: [-900, 120], durationS: [3600, 3600] } }, 20);
  for (const m of slight.out) {
    assert.equal(m.valid, true);
    assert.deepEqual(admit('spinning_frame', m.kind, m.payload, m.ts - slight.program.clockOffsetMs).problems, []);
  }
});

test('a stuck sensor repeats one value while the others move; the messages stay valid', () => {
  const { program, out } = run('stenter', { stuck: { rate: 1, durationS: [3600, 3600] } }, 60, 10_000);
  const metric = program.stuckMetric!;
  assert.ok(metric, 'a sensor is stuck');
  const values = out.filter((m) => m.kind === 'telemetry').map((m) => (JSON.parse(m.payload) as { metrics: Record<string, number> }).metrics);
  assert.equal(new Set(values.map((v) => v[metric])).size, 1, `${metric} repeats`);
  assert.ok(new Set(values.map((v) => v.energy_kwh_total)).size > 1, 'the energy register still moves');
  for (const m of out) assert.equal(m.valid, true);
});

test('backfill: during an outage nothing goes out, then the backlog arrives as batches with the old timestamps, every seq once', () => {
  const start = NOW - 3_700_000;
  const { program, out } = run('loom', { backfill: { rate: 0.02, durationS: [300, 300], batchPoints: 20 } }, 360, 10_000, start, 11);
  const end = program.endOutage(NOW);
  const all = [...out, ...end.messages].filter((m) => m.kind === 'telemetry');
  const batches = all.filter((m) => m.fault === 'backfill');
  assert.ok(batches.length > 1, 'outages happened and were sent as batches');
  assert.ok(batches.some((b) => b.seqs.length === 20), 'at most batchPoints per batch');
  for (const b of batches) {
    const body = JSON.parse(b.payload) as { points: Array<{ ts: number; seq: number }> };
    assert.ok(Array.isArray(body.points) && body.points.length === b.seqs.length && b.seqs.length <= 20);
    // Each point keeps the time it was measured at (tick seq+1 of the run), however late it is sent.
    for (const p of body.points) assert.equal(p.ts, start + (p.seq + 1) * 10_000);
    assert.deepEqual(admit('loom', 'telemetry', b.payload).problems, []);
  }
  assert.ok(batches.some((b) => b.ts < NOW - 30 * 60_000), 'some backlog is half an hour old or more');
  const seqs = all.flatMap((m) => m.seqs).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 360 }, (_, i) => i), 'every reading was sent exactly once');
});

test('a counter reset in the program: counters drop to 0 once, then only go up again', () => {
  const { out, injected } = run('electricity_meter', { 'counter-reset': { rate: 0.05 } }, 120, 60_000, NOW - 121 * 60_000, 3);
  const resets = injected.filter((n) => n === 'counter-reset').length;
  assert.ok(resets >= 1, 'a reset happened');
  const regs = out.map((m) => (JSON.parse(m.payload) as { metrics: Record<string, number> }).metrics.energy_kwh_total!);
  let drops = 0;
  for (let i = 1; i < regs.length; i++) if (regs[i]! < regs[i - 1]!) drops++;
  assert.equal(drops, resets);
});

test('faults that need a connection ask the device to drop it; without faults the program sends exactly the model readings', () => {
  const { out, injected } = run('loom', { disconnect: { rate: 1, durationS: [2, 2] } }, 3);
  assert.deepEqual(injected, ['disconnect', 'disconnect', 'disconnect']);
  assert.ok(out.every((m) => m.valid && !m.fault));
  const clean = run('loom', {}, 30);
  const model = createModel('loom', seededRng(5));
  const expected = Array.from({ length: 30 }, (_, i) => model.step(1000, NOW - 30_000 + (i + 1) * 1000).metrics);
  assert.deepEqual(clean.out.filter((m) => m.kind === 'telemetry').map((m) => (JSON.parse(m.payload) as { metrics: unknown }).metrics), expected);
  assert.equal(FAULT_NAMES.length, 12);
});
