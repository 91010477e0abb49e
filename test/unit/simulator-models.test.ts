import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage } from '../../common/contract/admit.ts';
import { MACHINE_STATES, deviceType, deviceTypes, metricSpec } from '../../common/contract/catalogue.ts';
import { createModel, machineTypes, seededRng, seedFrom, simulatedTypes } from '../../simulators/models.ts';

/** Registers only some meters of a type have (a bidirectional grid meter's export, a generator meter's generation). */
const METER_ONLY_SOME = new Set(['export_kwh_total', 'generation_kwh_total']);

test('every simulator model emits only what admission accepts, over a simulated day, and its counters never go back', () => {
  for (const type of simulatedTypes) {
    const model = createModel(type, seededRng(11));
    const counters = deviceType(type)!.metrics.filter((m) => m.counter && !METER_ONLY_SOME.has(m.name)).map((m) => m.name);
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

// ---- every type of the cluster, with shifts, states and energy ----

const DAY_START = Date.parse('2026-11-26T00:00:00+08:00');
/** 08:00–20:00 local: half the day off shift. */
const dayShift = (ts: number) => {
  const h = new Date(ts + 8 * 3_600_000).getUTCHours();
  return h >= 8 && h < 20;
};
const limits = { maxClockAheadMs: 0, maxAgeMs: 2 * 86_400_000 };

test('the catalogue has a simulator model for every device type, and the new types are in it', () => {
  for (const t of deviceTypes) assert.ok(simulatedTypes.includes(t), `no model for ${t}`);
  for (const t of ['rapier_loom', 'water_jet_loom', 'rotor_spinning', 'stenter', 'sewing_line', 'sock_knitter', 'silk_reeling']) assert.ok(deviceType(t), t);
  assert.ok(metricSpec('water_jet_loom', 'water_l_total')?.counter);
  for (const z of [1, 2, 3, 4]) assert.equal(metricSpec('stenter', `zone${z}_temp_c`)?.max, 230);
  // The loom metrics are shared by every loom.
  for (const t of ['rapier_loom', 'water_jet_loom']) for (const m of deviceType('loom')!.metrics) assert.deepEqual(metricSpec(t, m.name), m, `${t}.${m.name}`);
});

test('with a day shift, every model stays in range over a simulated day (10-s steps), states are contract states, counters never go back', () => {
  for (const type of simulatedTypes) {
    const model = createModel(type, seededRng(23), { schedule: dayShift });
    const counters = deviceType(type)!.metrics.filter((m) => m.counter && !METER_ONLY_SOME.has(m.name)).map((m) => m.name);
    const metricNames = new Set(deviceType(type)!.metrics.map((m) => m.name));
    const last: Record<string, number> = {};
    const device = { deviceId: 'd', firmId: 'f', type, tags: 'device=d' };
    for (let i = 1; i <= 8640; i++) {
      const ts = DAY_START + i * 10_000;
      const r = model.step(10_000, ts);
      for (const k of Object.keys(r.metrics)) assert.ok(metricNames.has(k), `${type} emits ${k}, which is not in its catalogue entry`);
      if (i % 6 === 0 || r.state) {
        const res = admitMessage('telemetry', device, Buffer.from(JSON.stringify({ ts, seq: i, metrics: r.metrics })), ts, limits);
        assert.deepEqual(res.problems, [], `${type} at ${new Date(ts).toISOString()}`);
      }
      if (r.state) {
        assert.ok((MACHINE_STATES as readonly string[]).includes(r.state.state), `${type} state ${r.state.state}`);
        const res = admitMessage('state', device, Buffer.from(JSON.stringify({ ts, ...r.state })), ts, limits);
        assert.deepEqual(res.problems, [], `${type} state message`);
      }
      for (const c of counters) {
        const v = r.metrics[c]!;
        assert.ok(v >= (last[c] ?? 0), `${type}.${c} went back at step ${i}`);
        last[c] = v;
      }
    }
  }
});

test('machines stop off shift, report it as a state, and draw little power while stopped', () => {
  for (const type of machineTypes) {
    const model = createModel(type, seededRng(5), { schedule: dayShift });
    const states: string[] = [];
    let state = '';
    const power: Record<string, number[]> = {};
    for (let i = 1; i <= 8640; i++) {
      const r = model.step(10_000, DAY_START + i * 10_000);
      if (r.state) {
        state = r.state.state;
        states.push(state);
      }
      (power[state] ??= []).push(r.metrics.power_kw ?? 0);
    }
    assert.equal(states[0], 'stopped', `${type} starts the day (00:00) stopped`);
    assert.ok(states.includes('running'), `${type} runs during the shift`);
    const mean = (xs: number[] = []) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const stopped = mean(power.stopped);
    const running = mean(power.running);
    assert.ok(running > 0 && stopped < 0.1 * running, `${type}: stopped ${stopped.toFixed(2)} kW vs running ${running.toFixed(2)} kW`);
  }
});

test('output and energy follow docs/domain.md (machine ranges) over a day of running', () => {
  const day = (type: string, seed = 9) => {
    const model = createModel(type, seededRng(seed));
    let m: Record<string, number> = {};
    let rpm = 0;
    for (let i = 1; i <= 1440; i++) {
      m = model.step(60_000).metrics;
      rpm = Math.max(rpm, m.speed_rpm ?? m.spindle_speed_rpm ?? m.rotor_speed_rpm ?? 0);
    }
    return { m, rpm };
  };
  const ring = day('spinning_frame').m;
  const kwhPerKg = ring.energy_kwh_total! / ring.yarn_kg_total!;
  assert.ok(kwhPerKg > 1.25 && kwhPerKg < 1.45, `ring frame ${kwhPerKg.toFixed(2)} kWh/kg (≈1.3)`);
  const rotor = day('rotor_spinning').m;
  const rotorKwh = rotor.energy_kwh_total! / rotor.yarn_kg_total!;
  assert.ok(rotorKwh > 0.55 && rotorKwh < 1.1, `rotor ${rotorKwh.toFixed(2)} kWh/kg (0.6–1.0)`);
  const air = day('loom');
  assert.ok(air.rpm >= 490 && air.rpm <= 920, `air-jet ${air.rpm} rpm`);
  assert.ok(air.m.efficiency_pct! >= 60 && air.m.efficiency_pct! <= 100);
  const rapier = day('rapier_loom');
  assert.ok(rapier.rpm >= 290 && rapier.rpm <= 620, `rapier ${rapier.rpm} rpm`);
  const wj = day('water_jet_loom');
  assert.ok(wj.rpm >= 590 && wj.rpm <= 1020, `water-jet ${wj.rpm} rpm`);
  const perPick = wj.m.water_l_total! / wj.m.picks_total!;
  assert.ok(perPick > 0 && perPick < 0.002, `water-jet uses < 2 cm³ per pick (${(perPick * 1000).toFixed(2)} cm³)`);
  const sew = day('sewing_line').m;
  assert.ok(sew.efficiency_pct! > 40 && sew.efficiency_pct! < 85, `sewing line efficiency ${sew.efficiency_pct}`);
  // pieces/h = operators × 60 × efficiency ÷ SAM (§1.2), give or take the stops and the style changes
  const expected = (sew.operators! * 60 * (sew.efficiency_pct! / 100)) / sew.sam_min! * 24;
  assert.ok(sew.pieces_total! > 0.3 * expected && sew.pieces_total! < 2 * expected, `sewing ${sew.pieces_total} pieces vs ≈${Math.round(expected)}`);
  const socks = day('sock_knitter').m;
  const pairsPerHour = socks.pairs_total! / 24;
  assert.ok(pairsPerHour > 4 && pairsPerHour < 25, `sock knitter ${pairsPerHour.toFixed(1)} pairs/h (1.5–4 min per sock)`);
  const stenter = day('stenter').m;
  for (const z of [1, 2, 3, 4]) assert.ok(stenter[`zone${z}_temp_c`]! >= 130 && stenter[`zone${z}_temp_c`]! <= 215, `zone ${z}: ${stenter[`zone${z}_temp_c`]}`);
});

test('a dyeing lot keeps its phase order across shift ends (drain → idle → fill), holds within ±0.5 °C and counts its lots', () => {
  const model = createModel('dyeing_machine', seededRng(8), { schedule: dayShift });
  let prev: number | undefined;
  let prevTemp: number | undefined;
  let lots = 0;
  const transitions = new Set<string>();
  let state = '';
  let runningSince = 0;
  for (let i = 1; i <= 3 * 1440; i++) {
    const r = model.step(60_000, DAY_START + i * 60_000);
    if (r.state) {
      state = r.state.state;
      runningSince = i;
    }
    const m = r.metrics;
    const phase = m.phase!;
    if (prev !== undefined && phase !== prev) {
      transitions.add(`${prev}→${phase}`);
      const ok = phase === prev + 1 || (prev === 6 && (phase === 1 || phase === 0)) || (prev === 0 && phase === 1);
      assert.ok(ok, `phase ${prev} → ${phase} at minute ${i}`);
    }
    if (prevTemp !== undefined) assert.ok(m.bath_temp_c! - prevTemp <= 3.0001, `heating at ${m.bath_temp_c! - prevTemp} °C/min`);
    // Once at temperature, the hold stays within ±0.5 °C while running (a pump fault cools the bath; it reheats).
    const atTemp = prevTemp !== undefined && Math.abs(prevTemp - m.setpoint_c!) <= 0.5001;
    if (phase === 3 && prev === 3 && atTemp && state === 'running' && i > runningSince) assert.ok(Math.abs(m.bath_temp_c! - m.setpoint_c!) <= 0.5001, `hold at ${m.bath_temp_c} for ${m.setpoint_c}`);
    assert.ok(m.lots_total! >= lots);
    lots = m.lots_total!;
    prev = phase;
    prevTemp = m.bath_temp_c!;
  }
  assert.ok(transitions.has('6→0') && transitions.has('0→1'), `idles between shifts: ${[...transitions].join(' ')}`);
  assert.ok(lots >= 6, `${lots} lots in three days of 12-h shifts`);
});

test('readings depend only on the seed and the steps: same seed same day, different seed different machine', () => {
  for (const type of simulatedTypes) {
    const run = (seed: number) => {
      const m = createModel(type, seededRng(seed), { schedule: dayShift });
      const out = [];
      for (let i = 1; i <= 300; i++) out.push(m.step(30_000, DAY_START + 6 * 3_600_000 + i * 30_000));
      return out;
    };
    assert.deepEqual(run(77), run(77), type);
    assert.notDeepEqual(run(77), run(78), type);
  }
  assert.notEqual(seedFrom(1, 'a'), seedFrom(1, 'b'));
  assert.equal(seedFrom(1, 'a'), seedFrom(1, 'a'));
});
