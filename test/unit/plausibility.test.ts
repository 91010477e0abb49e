// Plausible counters and the replay window: the pure rules, and admission of messages through them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage, type AdmitDevice } from '../../common/contract/admit.ts';
import { tagSet } from '../../common/contract/line-protocol.ts';
import { CATALOGUE } from '../../common/contract/catalogue.ts';
import {
  MAX_RESETS, STEP_JITTER, STEP_LATE_ABOVE, STEP_RESET, STEP_RISE, STEP_TOO_FAST, allowanceAfter, allowedGain, classifyStep, counterRules,
} from '../../common/admission/plausibility.ts';
import { NOT_FOUND, ReplayWindow, pointHash } from '../../common/admission/replay-window.ts';
import { PointHistory } from '../../common/admission/point-history.ts';
import { createModel, seededRng, simulatedTypes } from '../../simulators/models.ts';
import { applyOffsets, resetOffsets } from '../../simulators/faults.ts';

const now = Date.parse('2026-11-27T08:00:00Z');
const limits = { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 };
const MIN = 60_000;
function device(type: string, id = `${type}-1`): AdmitDevice {
  return { deviceId: id, firmId: 'F', type, tags: tagSet({ firmId: 'F', deviceId: id, type, county: '533102', park: 'ruili-coop', segment: 'weaving' }) };
}
const rule = (type: string, name: string) => counterRules(type).find((r) => r.name === name)!;

test('every counter of the catalogue has a maximum rate and says where it comes from; energy is 1.5 × the rated power', () => {
  for (const t of CATALOGUE) {
    for (const m of t.metrics.filter((x) => x.counter)) {
      assert.ok(m.maxPerHour !== undefined && m.maxPerHour > 0 && Number.isFinite(m.maxPerHour), `${t.type}.${m.name}`);
      assert.ok((m.rateBasis ?? '').length > 5, `${t.type}.${m.name} basis`);
    }
    const power = t.metrics.find((x) => x.name === 'power_kw');
    const energy = t.metrics.find((x) => x.name === 'energy_kwh_total');
    if (power && energy) assert.equal(energy.maxPerHour, 1.5 * power.max, t.type);
  }
  assert.equal(rule('rapier_loom', 'energy_kwh_total').maxPerHour, 22.5);
});

test('a rise within max rate × elapsed time (plus the allowance) is plausible; a faster one is not', () => {
  const r = rule('electricity_meter', 'energy_kwh_total'); // 30,000 kWh/h: 500 kWh a minute, allowance 501 kWh
  assert.equal(allowedGain(r, MIN), 500 + 501);
  assert.equal(classifyStep(r, 0, 1000, r.slack, MIN, 1000 + 1001), STEP_RISE);
  assert.equal(classifyStep(r, 0, 1000, r.slack, MIN, 1000 + 1002), STEP_TOO_FAST);
  assert.equal(classifyStep(r, 0, 0, r.slack, MIN, 1e13), STEP_TOO_FAST);
  assert.equal(classifyStep(r, 0, 5, r.slack, 0, 5), STEP_RISE);
  // The allowance is a bucket: used up by a fast rise, it comes back at the maximum rate, never beyond its size.
  assert.equal(allowanceAfter(r, MIN, r.slack, 1001), 0);
  assert.equal(classifyStep(r, MIN, 2001, 0, MIN + 1000, 2010), STEP_TOO_FAST, 'nothing left and 1 s at 500 kWh/min is 8.3 kWh');
  assert.equal(allowanceAfter(r, 10 * MIN, 0, 0), r.slack);
});

test('a fall to near zero is a reset (bounded like a rise from zero); a small fall is jitter; an earlier reading may not be higher', () => {
  const r = rule('loom', 'energy_kwh_total'); // 22.5 kWh/h, allowance 1.375 kWh
  assert.equal(classifyStep(r, 0, 5000, r.slack, MIN, 0.2), STEP_RESET);
  assert.equal(classifyStep(r, 0, 5000, r.slack, MIN, 4999.9), STEP_JITTER, 'a fall of 0.002 %');
  assert.equal(classifyStep(r, 0, 5000, r.slack, MIN, 3000), STEP_TOO_FAST, 'a fall to 3000 is a reset that climbed back past half: 3000 kWh in a minute');
  assert.equal(classifyStep(r, 0, 5000, r.slack, MIN, 2000), STEP_TOO_FAST, 'a "reset" to 2000 kWh would count 2000 kWh in a minute');
  assert.equal(classifyStep(r, 10 * MIN, 5000, r.slack, 0, 4990), STEP_RISE, 'a late reading below the newest is fine');
  assert.equal(classifyStep(r, 10 * MIN, 5000, r.slack, 0, 5001), STEP_RISE, 'within the allowance');
  assert.equal(classifyStep(r, 10 * MIN, 5000, r.slack, 0, 1e13), STEP_LATE_ABOVE);
});

test('the replay window finds recent timestamps newest first, forgets the oldest beyond its capacity, and grows lazily', () => {
  const w = new ReplayWindow(100, 4);
  for (let i = 0; i < 150; i++) w.add(1000 + i, i);
  assert.equal(w.length, 100);
  assert.equal(w.find(1000 + 149), 149);
  assert.equal(w.find(1000 + 50), 50);
  assert.equal(w.find(1000 + 49), NOT_FOUND, 'left the window');
  assert.equal(w.find(5000), NOT_FOUND, 'newer than everything');
  w.add(10, 7); // a late point
  assert.equal(w.find(10), 7);
  assert.equal(pointHash(1, { a: 1, b: 2 }), pointHash(1, { b: 2, a: 1 }), 'the order of metrics does not matter');
  assert.notEqual(pointHash(1, { a: 1, b: 2 }), pointHash(1, { a: 2, b: 1 }));
  assert.notEqual(pointHash(1, { a: 1 }), pointHash(2, { a: 1 }));
});

function admitter(type: string) {
  const history = new PointHistory();
  const d = device(type);
  return (v: unknown) => admitMessage('telemetry', d, Buffer.from(JSON.stringify(v)), now, limits, history);
}

test('0, 1e13, 0, 1e13 from a meter: the two 1e13 readings are quarantined (rule implausible) with a reason naming the bound', () => {
  const admit = admitter('rapier_loom');
  const t0 = now - 10 * MIN;
  const results = [0, 1e13, 0, 1e13].map((v, i) => admit({ ts: t0 + i * MIN, seq: i, metrics: { energy_kwh_total: v } }));
  assert.deepEqual(results.map((r) => r.lines.length), [1, 0, 1, 0]);
  const p = results[1]!.problems[0]!;
  assert.equal(p.rule, 'implausible');
  assert.equal(p.field, 'metrics.energy_kwh_total');
  assert.match(p.message, /energy_kwh_total rose by 1e13 kWh in 60 s; at most 0\.375 kWh \(1\.5 × 15 kW rated power, 22\.5 kWh\/h\) plus 1\.375 kWh allowance is plausible for a rapier loom/);
  // A plausible rise and one ordinary reset later on are accepted.
  assert.equal(admit({ ts: t0 + 4 * MIN, seq: 4, metrics: { energy_kwh_total: 0.3 } }).lines.length, 1);
  assert.equal(admit({ ts: t0 + 5 * MIN, seq: 5, metrics: { energy_kwh_total: 0.01 } }).lines.length, 1);
});

test('a device reporting often cannot gain the allowance again with every reading: over time it gains at most max rate × time + allowance', () => {
  const admit = admitter('loom'); // 22.5 kWh/h = 0.375 kWh a minute, allowance 1.375 kWh
  const t0 = now - 20 * MIN;
  let kwh = 0;
  let accepted = 0;
  for (let s = 0; s <= 600; s++) { // one reading a second for 10 minutes, each +1 kWh (3600 kWh/h)
    const r = admit({ ts: t0 + s * 1000, seq: s, metrics: { energy_kwh_total: kwh } });
    if (r.lines.length === 1) { accepted++; kwh += 1; }
  }
  // 10 minutes at 22.5 kWh/h is 3.75 kWh, plus the 1.375 kWh allowance: at most 5 rises of 1 kWh after the first reading.
  assert.ok(accepted - 1 <= 5 && accepted - 1 >= 4, `${accepted - 1} rises accepted`);
});

test('the first reading after start is accepted whatever it says; a batch is judged point by point in order', () => {
  const admit = admitter('electricity_meter');
  const t0 = now - 10 * MIN;
  assert.equal(admit({ ts: t0, seq: 0, metrics: { energy_kwh_total: 9e12 } }).lines.length, 1);
  const r = admit({ points: [
    { ts: t0 + MIN, seq: 1, metrics: { energy_kwh_total: 9e12 + 400 } },
    { ts: t0 + 2 * MIN, seq: 2, metrics: { energy_kwh_total: 9e12 + 5000 } },
    { ts: t0 + 3 * MIN, seq: 3, metrics: { energy_kwh_total: 9e12 + 900, power_kw: 12 } },
  ] });
  assert.equal(r.lines.length, 2);
  assert.deepEqual(r.problems.map((p) => [p.field, p.rule]), [['points[1].metrics.energy_kwh_total', 'implausible']]);
});

test(`more than ${MAX_RESETS} resets of a counter within an hour are quarantined; single resets are not`, () => {
  const admit = admitter('electricity_meter');
  const t0 = now - 60 * MIN;
  let accepted = 0;
  const rules: string[] = [];
  for (let i = 0; i < 2 * (MAX_RESETS + 3); i++) {
    const r = admit({ ts: t0 + i * MIN, seq: i, metrics: { energy_kwh_total: i % 2 === 0 ? 400 : 0 } });
    accepted += r.lines.length;
    rules.push(...r.problems.map((p) => p.rule));
  }
  // Every other reading is a reset; the first MAX_RESETS are accepted, later ones quarantined.
  assert.ok(rules.length >= 2 && rules.every((x) => x === 'implausible'), JSON.stringify(rules));
  assert.equal(accepted + rules.length, 2 * (MAX_RESETS + 3));
});

test('a timestamp admitted again with other values is a conflict; the same values again are a harmless redelivery', () => {
  const admit = admitter('loom');
  const ts = now - 5 * MIN;
  const first = { ts, seq: 3, metrics: { speed_rpm: 600, energy_kwh_total: 10 } };
  assert.equal(admit(first).lines.length, 1);
  assert.equal(admit({ ts, seq: 3, metrics: { energy_kwh_total: 10, speed_rpm: 600 } }).lines.length, 1, 'same values, other order');
  const r = admit({ ts, seq: 3, metrics: { speed_rpm: 601, energy_kwh_total: 10 } });
  assert.equal(r.lines.length, 0);
  assert.equal(r.problems[0]?.rule, 'conflict');
  assert.equal(r.problems[0]?.field, 'ts');
  assert.match(r.problems[0]!.message, /already admitted for this device with other values/);
  assert.equal(admit({ ts, seq: 4, metrics: { speed_rpm: 600, energy_kwh_total: 10 } }).problems[0]?.rule, 'conflict', 'another seq is another message');
  // A batch replayed after an outage: the same points again are accepted, a changed one is not.
  const batch = { points: [1, 2, 3].map((s) => ({ ts: ts + s * 1000, seq: 3 + s, metrics: { speed_rpm: 600 + s } })) };
  assert.equal(admit(batch).lines.length, 3);
  assert.equal(admit(batch).lines.length, 3);
  batch.points[1]!.metrics.speed_rpm = 1;
  assert.deepEqual(admit(batch).problems.map((p) => [p.field, p.rule]), [['points[1].ts', 'conflict']]);
});

test('a conflict or an implausible point changes nothing remembered; another device is judged on its own', () => {
  const history = new PointHistory();
  const a = device('water_meter', 'wm-a');
  const b = device('water_meter', 'wm-b');
  const send = (d: AdmitDevice, ts: number, v: number) => admitMessage('telemetry', d, Buffer.from(JSON.stringify({ ts, seq: 1, metrics: { water_m3_total: v } })), now, limits, history).lines.length;
  const t0 = now - 10 * MIN;
  assert.equal(send(a, t0, 100), 1);
  assert.equal(send(a, t0 + MIN, 1e9), 0);
  assert.equal(send(a, t0 + 2 * MIN, 120), 1, 'measured against the last accepted reading, not the quarantined one');
  assert.equal(send(b, t0 + MIN, 1e9), 1, 'the first reading of another device');
  history.forget('wm-a');
  assert.equal(send(a, t0 + 3 * MIN, 5e8), 1, 'a forgotten device starts again');
  assert.equal(history.size, 2);
});

test('every simulator model passes the plausibility checks over a simulated day, a counter reset included', () => {
  for (const type of simulatedTypes) {
    const model = createModel(type, seededRng(12));
    const history = new PointHistory();
    const d = device(type);
    const start = now - 86_400_000;
    let offsets: Record<string, number> = {};
    for (let i = 0; i < 8640; i++) {
      const r = model.step(10_000);
      if (i === 5000) offsets = resetOffsets(type, r.metrics); // the device reboots: its registers start again from 0
      const ts = start + i * 10_000;
      const res = admitMessage('telemetry', d, Buffer.from(JSON.stringify({ ts, seq: i, metrics: applyOffsets(r.metrics, offsets) })), ts, limits, history);
      assert.deepEqual(res.problems, [], `${type} step ${i}`);
    }
  }
});
