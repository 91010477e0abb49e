// The alarm engine on an in-memory monitoring database: each rule kind, durations, acknowledgement, clearing,
// restart recovery and rule deletion.
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, AlarmStore, type AlarmEvent, type AlarmRuleInput, type LiveDeviceSample } from '../../analytics/alarms/alarms.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';
import type { Db } from '../../common/sqlite.ts';

const actor = { name: 'eng', tokenId: 'tok1' };
let db: Db;
let store: AlarmStore;
let engine: AlarmEngine;
let events: Array<{ rooms: string[]; ev: AlarmEvent }>;

const base: AlarmRuleInput = { name: 'x', kind: 'threshold', firmId: null, deviceType: null, deviceId: null, metric: null, op: null, value: null, states: null, windowS: 60, durationS: 0, severity: 'warning', enabled: true };

/** Only the given rule (the defaults are removed so each test sees one kind). */
function only(rule: Partial<AlarmRuleInput>): void {
  for (const r of store.rules()) store.deleteRule(r.id);
  store.createRule({ ...base, ...rule }, actor);
  engine.reloadRules();
}

const dye = (ts: number, metrics: Record<string, number>, state?: string): LiveDeviceSample => ({ deviceId: 'dye-1', firmId: 'F1', type: 'dyeing_machine', ts, metrics, ...(state ? { state } : {}) });

beforeEach(() => {
  db = openMonitoringDb(':memory:');
  store = new AlarmStore(db);
  engine = new AlarmEngine(store);
  events = [];
  engine.setEmitter((rooms, ev) => events.push({ rooms, ev }));
});

describe('alarm rules', () => {
  test('the defaults are seeded: dyeing ramp, over-temperature, stuck sensor, fault, offline, clock skew, quarantined readings', () => {
    assert.deepEqual(store.rules().map((r) => r.kind), ['rate', 'threshold', 'stuck', 'state', 'offline', 'clock_skew', 'quarantine']);
  });

  test('threshold with duration: raised after it held 30 s, cleared when it stops, pushed to all and the firm', () => {
    only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140, durationS: 30, severity: 'critical' });
    engine.onLive({ at: 0, devices: [dye(0, { bath_temp_c: 141 })] });
    engine.onLive({ at: 29_000, devices: [dye(29_000, { bath_temp_c: 141 })] });
    assert.equal(events.length, 0);
    engine.onLive({ at: 30_000, devices: [dye(30_000, { bath_temp_c: 142 })] });
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.rooms, ['all', 'firm:F1']);
    assert.equal(events[0]?.ev.alarm.raisedAt, 30_000);
    assert.equal(events[0]?.ev.alarm.status, 'active');
    engine.onLive({ at: 35_000, devices: [dye(35_000, { bath_temp_c: 143 })] });
    assert.equal(events.length, 1, 'raised once');
    engine.onLive({ at: 40_000, devices: [dye(40_000, { bath_temp_c: 120 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
    assert.equal(events[1]?.ev.alarm.clearedAt, 40_000);
    assert.equal(events[1]?.ev.alarm.status, 'cleared');
    const acked = engine.ack(events[0]?.ev.alarm.id ?? 0, actor);
    assert.equal(acked?.status, 'closed');
    assert.equal(acked?.ackedBy, 'eng');
    assert.equal(engine.ack(acked?.id ?? 0, actor), undefined, 'only once');
  });

  test('rate of change: a dyeing ramp above 3 °C/min over a minute', () => {
    only({ kind: 'rate', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 3, windowS: 60, durationS: 0 });
    // 2 °C/min: fine.
    for (let s = 0; s <= 60; s += 10) engine.onLive({ at: s * 1000, devices: [dye(s * 1000, { bath_temp_c: 80 + (2 * s) / 60 })] });
    assert.equal(events.length, 0);
    // Then 6 °C/min for a minute.
    for (let s = 70; s <= 150; s += 10) engine.onLive({ at: s * 1000, devices: [dye(s * 1000, { bath_temp_c: 82 + (6 * (s - 60)) / 60 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /changing at [\d.]+ °C\/min \(> 3 °C\/min\)/);
    assert.ok((events[0]?.ev.alarm.value ?? 0) > 3);
  });

  test('state for a duration', () => {
    only({ kind: 'state', states: ['fault'], durationS: 600 });
    engine.onLive({ at: 0, devices: [dye(0, {}, 'fault')] });
    engine.onLive({ at: 599_000, devices: [dye(599_000, {}, 'fault')] });
    assert.equal(events.length, 0);
    engine.onLive({ at: 600_000, devices: [dye(600_000, {}, 'fault')] });
    assert.equal(events[0]?.ev.alarm.kind, 'state');
    engine.onLive({ at: 601_000, devices: [dye(601_000, {}, 'running')] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('stuck sensor: unchanged while the device keeps reporting', () => {
    only({ kind: 'stuck', deviceType: 'dyeing_machine', metric: 'bath_temp_c', value: 0, durationS: 1800 });
    for (let m = 0; m <= 30; m++) engine.onLive({ at: m * 60_000, devices: [dye(m * 60_000, { bath_temp_c: 85.2 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /unchanged at 85.2 °C for 30 min/);
    engine.onLive({ at: 31 * 60_000, devices: [dye(31 * 60_000, { bath_temp_c: 85.4 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('offline beyond N minutes (registry lastSeenAt), cleared when the device is seen', () => {
    only({ kind: 'offline', value: 10 });
    const devices = [{ id: 'dye-1', firmId: 'F1', type: 'dyeing_machine', lastSeenAt: 0 }, { id: 'never', firmId: 'F1', type: 'loom', lastSeenAt: null }];
    engine.checkOffline(devices, 9 * 60_000);
    assert.equal(events.length, 0);
    engine.checkOffline(devices, 11 * 60_000);
    assert.equal(events.length, 1, 'a device never seen is not offline');
    assert.match(events[0]?.ev.alarm.message ?? '', /no message for 11 min \(limit 10 min\)/);
    engine.onLive({ at: 12 * 60_000, devices: [dye(12 * 60_000, { bath_temp_c: 80 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('clock skew: the device\'s own time far from the platform\'s', () => {
    only({ kind: 'clock_skew', value: 120, durationS: 60 });
    for (let s = 0; s <= 60; s += 10) engine.onLive({ at: 1_000_000 + s * 1000, devices: [dye(1_000_000 + s * 1000 - 300_000, { bath_temp_c: 80 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /300 s behind/);
  });

  test('open alarms survive a restart and still clear; deleting a rule clears its alarms', () => {
    only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140 });
    engine.onLive({ at: 0, devices: [dye(0, { bath_temp_c: 141 })] });
    assert.equal(store.openAlarms().length, 1);
    const restarted = new AlarmEngine(store);
    const after: AlarmEvent[] = [];
    restarted.setEmitter((_rooms, ev) => after.push(ev));
    restarted.onLive({ at: 1000, devices: [dye(1000, { bath_temp_c: 141 })] });
    assert.equal(after.length, 0, 'not raised twice');
    restarted.onLive({ at: 2000, devices: [dye(2000, { bath_temp_c: 100 })] });
    assert.equal(after[0]?.event, 'cleared');
    restarted.onLive({ at: 3000, devices: [dye(3000, { bath_temp_c: 150 })] });
    assert.equal(store.openAlarms().length, 1);
    for (const r of store.rules()) store.deleteRule(r.id);
    restarted.reloadRules(4000);
    assert.equal(store.openAlarms().length, 0);
    assert.equal(store.list({ status: 'all', limit: 10 }).length, 2);
  });
});
