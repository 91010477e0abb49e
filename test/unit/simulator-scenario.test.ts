// Scenario files: the shipped ones load and describe what the issue asks for; the Dehong demo is reproducible
// from its seed; bad files are answered with the file, the path and what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { admitMessage } from '../../common/contract/admit.ts';
import { countyCodes } from '../../common/places.ts';
import { demoFirms } from '../../common/demo.ts';
import { ScenarioError, loadScenario, parseScenario, planScenario, resolveScenarioPath, summarisePlan, type Plan } from '../../simulators/scenario.ts';
import { entriesOf, programFor } from '../../simulators/fleet.ts';
import { parseDays, parseHours, scheduleOf } from '../../simulators/schedule.ts';
import type { Outgoing } from '../../simulators/program.ts';

const demoFile = resolveScenarioPath('dehong-demo');

test('the shipped scenarios load: dehong-demo, load and faults-demo', () => {
  for (const name of ['dehong-demo', 'load', 'faults-demo']) {
    const file = resolveScenarioPath(name);
    assert.match(file, new RegExp(`simulators/scenarios/${name}\\.yaml$`));
    const plan = planScenario(loadScenario(file));
    assert.ok(plan.devices.length > 0, name);
  }
  const load = summarisePlan(planScenario(loadScenario(resolveScenarioPath('load'))));
  assert.ok(load.devices >= 2000, 'the load scenario runs thousands of devices');
  assert.equal(Object.keys(planScenario(loadScenario(resolveScenarioPath('load'))).scenario.faults).length, 0, 'no faults in the load scenario');
});

test('the Dehong demo: five counties, about 40 firms and 400 devices, fewer than half of the above-scale firms connected', () => {
  const plan = planScenario(loadScenario(demoFile));
  const s = summarisePlan(plan);
  assert.ok(s.firms >= 35 && s.firms <= 45, `${s.firms} firms`);
  assert.ok(s.devices >= 350 && s.devices <= 450, `${s.devices} devices`);
  assert.deepEqual(Object.keys(s.byCounty).sort(), [...countyCodes].sort(), 'devices in all five counties');
  assert.ok(s.aboveScaleWithDevices / s.aboveScale < 0.5, `connected share ${s.aboveScaleWithDevices}/${s.aboveScale} is below the 50 % goal`);
  assert.ok(s.aboveScaleWithDevices / s.aboveScale > 0.3, 'but a visible share');
  // Every firm is a demo firm, and every simulated type of the cluster is there.
  const demoIds = new Set(demoFirms().map((f) => f.id));
  for (const f of plan.firms) assert.ok(demoIds.has(f.id) && f.demo, f.id);
  for (const t of ['loom', 'rapier_loom', 'water_jet_loom', 'spinning_frame', 'rotor_spinning', 'dyeing_machine', 'stenter', 'sewing_line', 'sock_knitter', 'silk_reeling', 'electricity_meter', 'gas_meter', 'steam_meter', 'water_meter']) {
    assert.ok((s.byType[t] ?? 0) > 0, `${t} in the demo`);
  }
  // Device ids are valid contract ids and unique.
  const ids = plan.devices.map((d) => d.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z0-9][a-z0-9_-]{2,63}$/);
});

/** The first n ticks of every device, on a virtual clock: what a run of the scenario would send. */
function firstMessages(plan: Plan, n: number): Outgoing[][] {
  const start = Date.parse('2026-11-27T09:00:00+08:00');
  const entries = entriesOf(plan, (id) => {
    const d = plan.devices.find((x) => x.id === id)!;
    return { id, firmId: d.firmId, type: d.type, token: 'unused' };
  });
  return entries.map((e) => {
    const p = programFor(e, plan.scenario.faults, plan.scenario.utcOffsetMin);
    const out: Outgoing[] = [];
    for (let i = 0; i < n; i++) out.push(...p.tick(start + (e.startDelayMs ?? 0) + i * e.intervalMs, e.intervalMs).messages);
    return out;
  });
}

test('the demo scenario is reproducible from its seed: same seed → same device list and same first messages; another seed → other messages', () => {
  const a = planScenario(loadScenario(demoFile), 2027);
  const b = planScenario(loadScenario(demoFile), 2027);
  assert.deepEqual(a.devices, b.devices);
  const ma = firstMessages(a, 20);
  const mb = firstMessages(b, 20);
  assert.deepEqual(ma, mb);
  assert.ok(ma.flat().length >= a.devices.length * 20);
  const c = planScenario(loadScenario(demoFile), 2028);
  assert.deepEqual(c.devices.map((d) => [d.id, d.type, d.firmId]), a.devices.map((d) => [d.id, d.type, d.firmId]), 'the same devices');
  assert.notDeepEqual(firstMessages(c, 20), ma, 'with other readings');
  // Without faults switched on, everything the demo sends in its first ticks is valid for the contract.
  const clean = planScenario({ ...loadScenario(demoFile), faults: {} }, 2027);
  for (const [i, msgs] of firstMessages(clean, 5).entries()) {
    const d = clean.devices[i]!;
    for (const m of msgs) {
      const r = admitMessage(m.kind, { deviceId: d.id, firmId: d.firmId, type: d.type, tags: `device=${d.id}` }, Buffer.from(m.payload), m.ts, { maxClockAheadMs: 300_000, maxAgeMs: 86_400_000 });
      assert.deepEqual(r.problems, [], `${d.id}: ${m.payload}`);
    }
  }
});

test('a count range is drawn from the seed', () => {
  const s = parseScenario({ name: 'r', firms: [{ firm: 0, devices: [{ type: 'loom', count: [1, 50] }] }] });
  const sizes = new Set([1, 2, 3, 4, 5, 6].map((seed) => planScenario(s, seed).devices.length));
  assert.ok(sizes.size > 1, 'different seeds, different counts');
  assert.equal(planScenario(s, 3).devices.length, planScenario(s, 3).devices.length);
});

function loadText(name: string, text: string): () => unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-scn-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return () => loadScenario(file);
}

test('a bad scenario file is answered with the file, the place and what is expected', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a.yaml', 'name: x\nfirms: [\n', /a\.yaml: not valid YAML: .*line 3/s],
    ['b.json', '{"name": "x", "firms": [}', /b\.json: not valid JSON/],
    ['c.yaml', 'firms: [{firm: 0}]\n', /c\.yaml\.name: must be a non-empty string/],
    ['d.yaml', 'name: x\nfirms: []\n', /d\.yaml\.firms: must be a non-empty list/],
    ['e.yaml', 'name: x\nfirms:\n  - firm: 0\n    devices:\n      - {type: lom, count: 3}\n', /e\.yaml\.firms\[0\]\.devices\[0\]\.type: unknown device type "lom" \(not in the catalogue\); types: loom, rapier_loom/],
    ['f.yaml', 'name: x\nfirms:\n  - firm: 0\n    devices:\n      - {type: loom, count: -1}\n', /f\.yaml\.firms\[0\]\.devices\[0\]\.count: must be a whole number 0–100000, got -1/],
    ['g.yaml', 'name: x\nfirms:\n  - firm: 99\n', /g\.yaml\.firms\[0\]\.firm: demo firm index must be 0–39/],
    ['h.yaml', 'name: x\nfirms:\n  - firm: 0\n    shifts: [day]\n', /h\.yaml\.firms\[0\]\.shifts\[0\]: unknown shift "day"; shifts defined under "shifts": \(none\)/],
    ['i.yaml', 'name: x\nshifts: {day: "8-16"}\nfirms: [{firm: 0}]\n', /i\.yaml\.shifts\.day: "8" is not a time of day/],
    ['j.yaml', 'name: x\nfirms: [{firm: 0, devcies: []}]\n', /j\.yaml\.firms\[0\]\.devcies: unknown key; expected one of firm, shifts, intervalMs, devices/],
    ['k.yaml', 'name: x\nfirms: [{firm: 0}, {firm: "9153310209100000XB"}]\n', /k\.yaml\.firms\[1\]\.firm: firm 9153310209100000XB is already listed at k\.yaml\.firms\[0\]/],
    ['l.yaml', 'name: x\nfirms: [{firm: 0}]\nfaults: {malformed: 3}\n', /l\.yaml\.faults\.malformed must be a probability between 0 and 1, got 3/],
    ['m.yaml', 'name: x\nfirms: [{firm: "91533102MA6N0000XX"}]\n', /m\.yaml\.firms\[0\]\.firm: .*(check character|not one of the demo firms)/],
    ['n.yaml', 'name: x\nintervalMs: 10\nfirms: [{firm: 0}]\n', /n\.yaml\.intervalMs: must be a whole number 50–86400000, got 10/],
    ['o.yaml', 'name: x\nidPrefix: Sim\nfirms: [{firm: 0}]\n', /o\.yaml\.idPrefix: must be 1–16 lower-case letters/],
    ['p.yaml', 'name: x\nfirms: [{firm: {id: "9153310209100000XB", name: n, county: "533199", park: mangshi, segment: weaving, aboveScale: true}}]\n', /p\.yaml\.firms\[0\]\.firm\.county: unknown county "533199"/],
    ['q.yaml', 'name: x\nfirms:\n  - firm: 0\n    devices: [{type: loom, count: 1}, {type: loom, count: 1}]\n', /^(?!x)/],
  ];
  for (const [name, text, re] of cases) {
    if (name === 'q.yaml') {
      // Two groups of one type under one firm number on: ids stay unique.
      const s = loadText(name, text)() as ReturnType<typeof loadScenario>;
      assert.deepEqual(planScenario(s).devices.map((d) => d.id.slice(-7)), ['oom-001', 'oom-002']);
      continue;
    }
    assert.throws(loadText(name, text), (err: Error) => {
      assert.ok(err instanceof ScenarioError, `${name}: ${err.name}`);
      assert.match(err.message, re, name);
      return true;
    });
  }
  assert.throws(() => loadScenario('/nonexistent/x.yaml'), /\/nonexistent\/x\.yaml: cannot read the scenario file \(ENOENT\)/);
});

test('shifts: day shifts, night shifts past midnight, weekdays', () => {
  assert.deepEqual(parseHours('08:00-16:00'), [480, 960]);
  assert.deepEqual(parseHours('22:00-06:00'), [1320, 360]);
  assert.deepEqual(parseDays('mon-sat'), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(parseDays('sat-mon'), [0, 1, 6]);
  assert.throws(() => parseDays('weekdays'), /not a list of weekdays/);
  const on = scheduleOf([{ name: 'n', startMin: 1320, endMin: 360, days: [1] }], 480)!;
  const at = (iso: string) => on(Date.parse(iso));
  assert.equal(at('2026-11-23T23:00:00+08:00'), true, 'Monday 23:00');
  assert.equal(at('2026-11-24T05:59:00+08:00'), true, 'Tuesday 05:59 belongs to Monday night');
  assert.equal(at('2026-11-24T06:00:00+08:00'), false);
  assert.equal(at('2026-11-24T23:00:00+08:00'), false, 'Tuesday night is not a shift');
  assert.equal(scheduleOf([]), undefined, 'no shifts: always on');
});
