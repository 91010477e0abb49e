// Quarantined readings kept whole, the counter memory checkpointed and seeded after a restart, a device's own
// counter rates, the quarantine alarm, and the broker's re-check of a connected device's credential.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage, type AdmitDevice } from '../../common/contract/admit.ts';
import { tagSet } from '../../common/contract/line-protocol.ts';
import type { Problem } from '../../common/contract/messages.ts';
import { MAX_OVERRIDE_FACTOR, counterRules, deviceCounterRules, overrideProblem } from '../../common/admission/plausibility.ts';
import { PointHistory } from '../../common/admission/point-history.ts';
import { AlarmEngine, SqliteAlarmStore, type AlarmEvent } from '../../analytics/alarms/alarms.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';
import { revocationOf } from '../../broker/credential-check.ts';

const now = Date.parse('2026-11-27T08:00:00Z');
const limits = { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 };
const MIN = 60_000;
const meter: AdmitDevice = { deviceId: 'm1', firmId: 'F', type: 'electricity_meter', tags: tagSet({ firmId: 'F', deviceId: 'm1', type: 'electricity_meter', county: '533102', park: 'ruili-coop', segment: 'weaving' }) };
const kwh = (ts: number, seq: number, v: number) => Buffer.from(JSON.stringify({ ts, seq, metrics: { energy_kwh_total: v } }));
const admit = (h: PointHistory, ts: number, seq: number, v: number) => admitMessage('telemetry', meter, kwh(ts, seq, v), now, limits, h);

test('an implausible point is refused and kept whole: its line protocol is what would have been stored', async () => {
  const h = new PointHistory();
  assert.equal(admit(h, now - 2 * MIN, 1, 100).lines.length, 1);
  const r = admit(h, now - MIN, 2, 1e13);
  assert.equal(r.lines.length, 0);
  const problem = r.problems[0] as Problem;
  assert.equal(problem.rule, 'implausible');
  const line = h.readingOf(problem);
  assert.ok(line, 'the reading is kept');
  assert.match(line, /^electricity_meter,.*device=m1.* energy_kwh_total=10000000000000,seq=2i \d+$/);
  assert.ok(line.endsWith(` ${now - MIN}`));
  assert.equal(h.readingOf({ field: 'x', rule: 'maximum', message: '' }), undefined, 'other problems keep nothing');
});

test('after a restart the counter memory comes from the checkpoint: the first reading is bounded, not accepted as it is', async () => {
  const before = new PointHistory();
  assert.equal(admit(before, now - 3 * MIN, 1, 100).lines.length, 1);
  const checkpoint = before.drainCheckpoint();
  assert.deepEqual(checkpoint.map((c) => [c.deviceId, c.counter, c.value]), [['m1', 'energy_kwh_total', 100]]);
  assert.deepEqual(before.drainCheckpoint(), [], 'only what changed since the last checkpoint');

  const fresh = new PointHistory();
  assert.equal(admit(fresh, now - MIN, 2, 1e13).lines.length, 1, 'without a seed the first reading is accepted as it is');
  const seeded = new PointHistory();
  seeded.seed(checkpoint);
  assert.equal(admit(seeded, now - MIN, 2, 1e13).problems[0]?.rule, 'implausible');
  // A reading plausible against points accepted after the checkpoint (one more allowance bucket) still passes.
  const slack = counterRules('electricity_meter')[0]!.slack;
  const perMs = counterRules('electricity_meter')[0]!.perMs;
  assert.equal(admit(seeded, now - MIN, 3, 100 + perMs * 2 * MIN + 2 * slack - 1).lines.length, 1);
});

test('a device\'s own rate replaces its type\'s, bounded to 100 × the type\'s', async () => {
  const type = counterRules('loom').find((r) => r.name === 'energy_kwh_total')!;
  assert.equal(overrideProblem('loom', 'energy_kwh_total', type.maxPerHour * MAX_OVERRIDE_FACTOR), undefined);
  assert.match(overrideProblem('loom', 'energy_kwh_total', type.maxPerHour * MAX_OVERRIDE_FACTOR + 1) ?? '', /at most 100 ×/);
  assert.match(overrideProblem('loom', 'energy_kwh_total', 0) ?? '', /above 0/);
  assert.match(overrideProblem('loom', 'speed_rpm', 10) ?? '', /not a counter/);
  assert.equal(deviceCounterRules('loom', { energy_kwh_total: 1e12 }).find((r) => r.name === 'energy_kwh_total')!.maxPerHour, type.maxPerHour * MAX_OVERRIDE_FACTOR, 'clamped');

  const loom: AdmitDevice = { ...meter, deviceId: 'l1', type: 'loom' };
  const h = new PointHistory();
  const send = (ts: number, seq: number, v: number) => admitMessage('telemetry', loom, kwh(ts, seq, v), now, limits, h);
  assert.equal(send(now - 10 * MIN, 1, 0).lines.length, 1);
  // 100 kWh in 5 minutes is 1200 kWh/h: implausible for a loom (22.5 kWh/h)...
  assert.equal(send(now - 5 * MIN, 2, 100).problems[0]?.rule, 'implausible');
  // ...plausible once this loom's own bound is 2000 kWh/h.
  h.setRateOverrides('l1', { energy_kwh_total: 2000 });
  assert.equal(send(now - 5 * MIN, 3, 100).lines.length, 1);
  h.setRateOverrides('l1', undefined);
  assert.equal(send(now - 4 * MIN, 4, 200).problems[0]?.rule, 'implausible', 'removed: the type\'s bound again');
});

test('the quarantine alarm: seeded once (deleting it sticks), raised while readings wait, cleared once released', async () => {
  const db = openMonitoringDb(':memory:');
  let store = new SqliteAlarmStore(db);
  const rule = (await store.rules()).find((r) => r.kind === 'quarantine');
  assert.ok(rule && rule.enabled && rule.firmId === null && rule.value === 24);
  const engine = new AlarmEngine(store);
  const events: AlarmEvent[] = [];
  engine.setEmitter((rooms, ev) => { assert.deepEqual(rooms, ['all', 'firm:F']); events.push(ev); });
  const devices = [{ id: 'm1', firmId: 'F', type: 'electricity_meter' }, { id: 'm2', firmId: 'F', type: 'electricity_meter' }];
  await engine.checkQuarantine(devices, [{ deviceId: 'm1', count: 3, newestAt: now - MIN }], now);
  assert.deepEqual(events.map((e) => [e.event, e.alarm.deviceId, e.alarm.kind]), [['raised', 'm1', 'quarantine']]);
  assert.match(events[0]!.alarm.message, / 3 implausible counter readings quarantined/);
  await engine.checkQuarantine(devices, [{ deviceId: 'm1', count: 4, newestAt: now }], now + MIN);
  assert.equal(events.length, 1, 'still open: not raised again');
  await engine.checkQuarantine(devices, [], now + 2 * MIN);
  assert.deepEqual(events.map((e) => e.event), ['raised', 'cleared']);
  await engine.checkQuarantine(devices, [{ deviceId: 'm2', count: 1, newestAt: now - 25 * 3_600_000 }], now);
  assert.equal(events.length, 2, 'older than the rule\'s 24 h: no alarm');

  await store.deleteRule(rule.id);
  store = new SqliteAlarmStore(db);
  assert.equal((await store.rules()).some((r) => r.kind === 'quarantine'), false, 'not recreated after an admin deleted it');
});

test('a connected device may stay while its credential holds: removed, expired or rotated closes it', async () => {
  const cred = { deviceId: 'd', tokenSha256: 'abc', tokenExpiresAt: null, rateOverrides: {} };
  assert.equal(revocationOf(cred, 'abc', now), undefined);
  assert.equal(revocationOf(undefined, 'abc', now), 'device removed');
  assert.equal(revocationOf({ ...cred, tokenExpiresAt: now }, 'abc', now), 'device token expired');
  assert.equal(revocationOf({ ...cred, tokenExpiresAt: now + 1 }, 'abc', now), undefined);
  assert.equal(revocationOf({ ...cred, tokenSha256: 'new' }, 'abc', now), 'device token rotated');
  assert.equal(revocationOf({ ...cred, tokenSha256: null }, 'abc', now), undefined, 'a credential stored otherwise is not compared');
});
