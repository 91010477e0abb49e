// The alarm engine on an in-memory monitoring database: each rule kind, durations, acknowledgement, clearing,
// restart recovery and rule deletion.
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, SqliteAlarmStore, type AlarmStore, type AlarmEvent, type AlarmRuleInput, type LiveDeviceSample } from '../../analytics/alarms/alarms.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';
import type { Db } from '../../common/sqlite.ts';

const actor = { name: 'eng', tokenId: 'tok1' };
let db: Db;
let store: AlarmStore;
let engine: AlarmEngine;
let events: Array<{ rooms: string[]; ev: AlarmEvent }>;

const base: AlarmRuleInput = { name: 'x', kind: 'threshold', firmId: null, deviceType: null, deviceId: null, metric: null, op: null, value: null, states: null, windowS: 60, durationS: 0, severity: 'warning', enabled: true };

/** Only the given rule (the defaults are removed so each test sees one kind). */
async function only(rule: Partial<AlarmRuleInput>): Promise<void> {
  for (const r of await store.rules()) await store.deleteRule(r.id);
  await store.createRule({ ...base, ...rule }, actor);
  await engine.reloadRules();
}

const dye = (ts: number, metrics: Record<string, number>, state?: string): LiveDeviceSample => ({ deviceId: 'dye-1', firmId: 'F1', type: 'dyeing_machine', ts, metrics, ...(state ? { state } : {}) });

beforeEach(async () => {
  db = openMonitoringDb(':memory:');
  store = new SqliteAlarmStore(db);
  engine = new AlarmEngine(store);
  events = [];
  engine.setEmitter((rooms, ev) => events.push({ rooms, ev }));
});

describe('alarm rules', () => {
  test('the defaults are seeded: dyeing ramp, over-temperature, stuck sensor, fault, offline, clock skew, counter reset, rejected burst, spool, InfluxDB, quarantined readings', async () => {
    assert.deepEqual((await store.rules()).map((r) => r.kind), ['rate', 'threshold', 'stuck', 'state', 'offline', 'clock_skew', 'counter_reset', 'rejected', 'spool', 'store_down', 'quarantine']);
  });

  test('threshold with duration: raised after it held 30 s, cleared when it stops, pushed to all and the firm', async () => {
    await only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140, durationS: 30, severity: 'critical' });
    await engine.onLive({ at: 0, devices: [dye(0, { bath_temp_c: 141 })] });
    await engine.onLive({ at: 29_000, devices: [dye(29_000, { bath_temp_c: 141 })] });
    assert.equal(events.length, 0);
    await engine.onLive({ at: 30_000, devices: [dye(30_000, { bath_temp_c: 142 })] });
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.rooms, ['all', 'firm:F1']);
    assert.equal(events[0]?.ev.alarm.raisedAt, 30_000);
    assert.equal(events[0]?.ev.alarm.status, 'active');
    await engine.onLive({ at: 35_000, devices: [dye(35_000, { bath_temp_c: 143 })] });
    assert.equal(events.length, 1, 'raised once');
    await engine.onLive({ at: 40_000, devices: [dye(40_000, { bath_temp_c: 120 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
    assert.equal(events[1]?.ev.alarm.clearedAt, 40_000);
    assert.equal(events[1]?.ev.alarm.status, 'cleared');
    const acked = await engine.ack(events[0]?.ev.alarm.id ?? 0, actor);
    assert.equal(acked?.status, 'closed');
    assert.equal(acked?.ackedBy, 'eng');
    assert.equal(await engine.ack(acked?.id ?? 0, actor), undefined, 'only once');
  });

  test('rate of change: a dyeing ramp above 3 °C/min over a minute', async () => {
    await only({ kind: 'rate', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 3, windowS: 60, durationS: 0 });
    // 2 °C/min: fine.
    for (let s = 0; s <= 60; s += 10) await engine.onLive({ at: s * 1000, devices: [dye(s * 1000, { bath_temp_c: 80 + (2 * s) / 60 })] });
    assert.equal(events.length, 0);
    // Then 6 °C/min for a minute.
    for (let s = 70; s <= 150; s += 10) await engine.onLive({ at: s * 1000, devices: [dye(s * 1000, { bath_temp_c: 82 + (6 * (s - 60)) / 60 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /bath temperature changing at [\d.]+ °C\/min, above 3 °C\/min over 60 s/);
    assert.ok((events[0]?.ev.alarm.value ?? 0) > 3);
  });

  test('state for a duration', async () => {
    await only({ kind: 'state', states: ['fault'], durationS: 600 });
    await engine.onLive({ at: 0, devices: [dye(0, {}, 'fault')] });
    await engine.onLive({ at: 599_000, devices: [dye(599_000, {}, 'fault')] });
    assert.equal(events.length, 0);
    await engine.onLive({ at: 600_000, devices: [dye(600_000, {}, 'fault')] });
    assert.equal(events[0]?.ev.alarm.kind, 'state');
    await engine.onLive({ at: 601_000, devices: [dye(601_000, {}, 'running')] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('stuck sensor: unchanged while the device keeps reporting', async () => {
    await only({ kind: 'stuck', deviceType: 'dyeing_machine', metric: 'bath_temp_c', value: 0, durationS: 1800 });
    for (let m = 0; m <= 30; m++) await engine.onLive({ at: m * 60_000, devices: [dye(m * 60_000, { bath_temp_c: 85.2 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /unchanged at 85.2 °C for 30 min/);
    await engine.onLive({ at: 31 * 60_000, devices: [dye(31 * 60_000, { bath_temp_c: 85.4 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('offline beyond N minutes (registry lastSeenAt), cleared when the device is seen', async () => {
    await only({ kind: 'offline', value: 10 });
    const devices = [{ id: 'dye-1', firmId: 'F1', type: 'dyeing_machine', lastSeenAt: 0 }, { id: 'never', firmId: 'F1', type: 'loom', lastSeenAt: null }];
    await engine.checkOffline(devices, 9 * 60_000);
    assert.equal(events.length, 0);
    await engine.checkOffline(devices, 11 * 60_000);
    assert.equal(events.length, 1, 'a device never seen is not offline');
    assert.match(events[0]?.ev.alarm.message ?? '', /no message for 11 min \(limit 10 min\)/);
    await engine.onLive({ at: 12 * 60_000, devices: [dye(12 * 60_000, { bath_temp_c: 80 })] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('clock skew: the device\'s own time far from the platform\'s', async () => {
    await only({ kind: 'clock_skew', value: 120, durationS: 60 });
    for (let s = 0; s <= 60; s += 10) await engine.onLive({ at: 1_000_000 + s * 1000, devices: [dye(1_000_000 + s * 1000 - 300_000, { bath_temp_c: 80 })] });
    assert.equal(events.length, 1);
    assert.match(events[0]?.ev.alarm.message ?? '', /300 s behind/);
  });

  test('open alarms survive a restart and still clear; deleting a rule clears its alarms', async () => {
    await only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140 });
    await engine.onLive({ at: 0, devices: [dye(0, { bath_temp_c: 141 })] });
    assert.equal((await store.openAlarms()).length, 1);
    const restarted = new AlarmEngine(store);
    const after: AlarmEvent[] = [];
    restarted.setEmitter((_rooms, ev) => after.push(ev));
    await restarted.onLive({ at: 1000, devices: [dye(1000, { bath_temp_c: 141 })] });
    assert.equal(after.length, 0, 'not raised twice');
    await restarted.onLive({ at: 2000, devices: [dye(2000, { bath_temp_c: 100 })] });
    assert.equal(after[0]?.event, 'cleared');
    await restarted.onLive({ at: 3000, devices: [dye(3000, { bath_temp_c: 150 })] });
    assert.equal((await store.openAlarms()).length, 1);
    for (const r of await store.rules()) await store.deleteRule(r.id);
    await restarted.reloadRules(4000);
    assert.equal((await store.openAlarms()).length, 0);
    assert.equal((await store.list({ status: 'all', limit: 10 })).length, 2);
  });

  test('texts in Chinese and English name the device and the metric from the catalogue', async () => {
    await only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140, durationS: 30, severity: 'critical' });
    engine.setDeviceNames([{ id: 'dye-1', name: '3号染色机' }]);
    await engine.onLive({ at: 0, devices: [dye(0, { bath_temp_c: 142 })] });
    await engine.onLive({ at: 30_000, devices: [dye(30_000, { bath_temp_c: 142 })] });
    assert.deepEqual(events[0]?.ev.alarm.messages, { zh: '3号染色机 染液温度 142 °C，高于 140 °C 已持续 30 秒', en: '3号染色机 bath temperature 142 °C, above 140 °C for 30 s' });
    assert.equal(events[0]?.ev.alarm.message, events[0]?.ev.alarm.messages.en);
  });

  test('a burst of rejected messages from one device (counted in the spool), cleared once the window passes', async () => {
    await only({ kind: 'rejected', value: 5, windowS: 60 });
    const devices = [{ id: 'dye-1', firmId: 'F1', type: 'dyeing_machine' }];
    const counts = (n: number) => [{ day: '2026-12-03', firmId: 'F1', deviceId: 'dye-1', rule: 'json', count: n }];
    await engine.checkRejections(devices, counts(100), 0);
    assert.equal(events.length, 0, 'the first check only learns the counts');
    await engine.checkRejections(devices, counts(103), 10_000);
    assert.equal(events.length, 0);
    await engine.checkRejections(devices, counts(106), 20_000);
    assert.equal(events[0]?.ev.alarm.kind, 'rejected');
    assert.match(events[0]?.ev.alarm.messages.en ?? '', /6 messages rejected within 60 s \(json\), limit 5/);
    await engine.checkRejections(devices, counts(106), 75_000);
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('clock skew from clock-ahead rejections: the device whose messages never reach a live summary', async () => {
    await only({ kind: 'clock_skew', value: 5, durationS: 0 });
    const devices = [{ id: 'dye-1', firmId: 'F1', type: 'dyeing_machine' }];
    await engine.checkRejections(devices, [], 0);
    await engine.checkRejections(devices, [{ day: '2026-12-03', firmId: 'F1', deviceId: 'dye-1', rule: 'clock-ahead', count: 4 }], 5_000);
    assert.equal(events[0]?.ev.event, 'raised');
    assert.match(events[0]?.ev.alarm.messages.zh ?? '', /消息被拒收/);
    await engine.checkRejections(devices, [{ day: '2026-12-03', firmId: 'F1', deviceId: 'dye-1', rule: 'clock-ahead', count: 4 }], 30_000);
    assert.equal(events.length, 1, 'still on within a minute of the last rejection');
    await engine.onLive({ at: 100_000, devices: [dye(100_000, { bath_temp_c: 80 })] });
    assert.equal(events[1]?.ev.event, 'cleared', 'a message on time clears it');
  });

  test('counter reset: a counter that falls raises an alarm that stays value minutes', async () => {
    await only({ kind: 'counter_reset', value: 1 });
    const meter = (ts: number, kwh: number) => ({ deviceId: 'em-1', firmId: 'F1', type: 'electricity_meter', ts, metrics: { energy_kwh_total: kwh } });
    await engine.onLive({ at: 0, devices: [meter(0, 5000)] });
    await engine.onLive({ at: 1000, devices: [meter(1000, 5001)] });
    assert.equal(events.length, 0);
    await engine.onLive({ at: 2000, devices: [meter(2000, 3)] });
    assert.equal(events[0]?.ev.alarm.metric, 'energy_kwh_total');
    assert.match(events[0]?.ev.alarm.messages.en ?? '', /counter reset/);
    await engine.onLive({ at: 63_000, devices: [meter(63_000, 4)] });
    assert.equal(events[1]?.ev.event, 'cleared');
  });

  test('platform: spool filling and InfluxDB unreachable, only to the room all', async () => {
    for (const r of await store.rules()) await store.deleteRule(r.id);
    await store.createRule({ ...base, kind: 'spool', value: 10, durationS: 5 }, actor);
    await store.createRule({ ...base, kind: 'store_down', durationS: 5 }, actor);
    await engine.reloadRules();
    await engine.checkPlatform({ spoolRows: 50, storeUp: false }, 0);
    await engine.checkPlatform({ spoolRows: 60, storeUp: false }, 5_000);
    assert.deepEqual(events.map((e) => [e.ev.alarm.kind, e.ev.alarm.deviceId, e.ev.alarm.firmId, e.rooms]), [['spool', 'spool', '', ['all']], ['store_down', 'influxdb', '', ['all']]]);
    await engine.checkPlatform({ spoolRows: 0, storeUp: true }, 6_000);
    assert.deepEqual(events.slice(2).map((e) => e.ev.event), ['cleared', 'cleared']);
  });

  test('two nodes on one database raise an alarm once; search by severity, kind and time; counts per firm and day', async () => {
    await only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140, severity: 'critical' });
    const other = new AlarmEngine(store);
    const otherEvents: AlarmEvent[] = [];
    other.setEmitter((_r, ev) => otherEvents.push(ev));
    await engine.onLive({ at: 1000, devices: [dye(1000, { bath_temp_c: 141 })] });
    await other.onLive({ at: 1000, devices: [dye(1000, { bath_temp_c: 141 })] });
    assert.equal(events.length + otherEvents.length, 1);
    assert.equal((await store.list({ status: 'all', limit: 10 })).length, 1);
    assert.equal((await store.list({ status: 'all', severity: 'critical', kind: 'threshold', from: 0, to: 2000, limit: 10 })).length, 1);
    assert.equal((await store.list({ status: 'all', severity: 'info', limit: 10 })).length, 0);
    assert.equal((await store.list({ status: 'all', from: 2000, limit: 10 })).length, 0);
    assert.deepEqual(await store.countsByDay({}), [{ firmId: 'F1', day: '1970-01-01', total: 1, critical: 1, warning: 0, info: 0 }]);
  });
});

describe('open alarm counts', () => {
  test('per firm and for one device, counted by the store, equal a count over the alarms listed', async () => {
    const raise = async (firmId: string, deviceId: string, ruleId: number, severity: 'critical' | 'warning') => (await store.raise({
      ruleId, ruleName: 'r', kind: 'threshold', severity, firmId, deviceId, deviceType: 'loom', metric: 'm', value: 1, raisedAt: 1000, messages: { zh: 'z', en: 'e' },
    })).alarm;
    const a1 = await raise('F1', 'd1', 1, 'critical');
    await raise('F1', 'd2', 1, 'warning');
    const a3 = await raise('F1', 'd3', 2, 'critical');
    const a4 = await raise('F2', 'd4', 1, 'warning');
    await store.ack(a1.id, actor);
    await store.clear(a3.id, 2000, 0);
    await store.ack(a4.id, actor);
    await store.clear(a4.id, 2000, 0); // acknowledged and cleared: closed, not open
    const listed = (await store.list({ status: 'open', limit: 100 })).filter((a) => a.clearedAt === null);
    const expect = (sel: (a: { firmId: string; deviceId: string }) => boolean) => ({
      active: listed.filter((a) => sel(a) && a.status === 'active').length,
      acknowledged: listed.filter((a) => sel(a) && a.status === 'acknowledged').length,
      critical: listed.filter((a) => sel(a) && a.severity === 'critical').length,
    });
    const byFirm = await store.openCounts();
    assert.deepEqual(byFirm.get('F1'), expect((a) => a.firmId === 'F1'));
    assert.deepEqual(byFirm.get('F1'), { active: 1, acknowledged: 1, critical: 1 });
    assert.equal(byFirm.get('F2'), undefined);
    assert.deepEqual((await store.openCounts('d1')).get('d1'), { active: 0, acknowledged: 1, critical: 1 });
  });
});

describe('store failures', () => {
  test('a raise the store refused is tried again by the next observation; the round reports the failure', async () => {
    await only({ kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140 });
    let refuse = true;
    const flaky: AlarmStore = Object.assign(Object.create(store) as AlarmStore, {
      raise: (a: Parameters<AlarmStore['raise']>[0]) => refuse ? Promise.reject(new Error('store down')) : store.raise(a),
    });
    const e = new AlarmEngine(flaky);
    const seen: string[] = [];
    e.subscribe((ev) => seen.push(ev.event));
    await assert.rejects(e.onLive({ at: 1000, devices: [dye(1000, { bath_temp_c: 150 })] }), /store down/);
    refuse = false;
    await e.onLive({ at: 2000, devices: [dye(2000, { bath_temp_c: 151 })] });
    assert.deepEqual(seen, ['raised']);
    assert.equal((await store.openAlarms()).length, 1);
  });
});
