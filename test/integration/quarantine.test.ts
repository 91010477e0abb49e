// Quarantined counter readings through the real broker, MQTT.js, the spool, the ingest writer and a private
// influxd: an implausible reading is kept whole and raises the quarantine alarm; an engineer of the firm releases
// it (by id, or by device and time range) with a reason and it reaches InfluxDB once, however often it is
// released; the bureau and other firms cannot. A device's own counter rate, set through the API, reaches the
// broker without a reconnect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { AlarmEngine, SqliteAlarmStore, type AlarmEvent } from '../../analytics/alarms/alarms.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';

const MIN = 60_000;
let sys: TestSystem;
let firmId: string;
let meter: DeviceCredentials;
let loom: DeviceCredentials;
const tokens: Record<'eng' | 'other' | 'bureau', string> = { eng: '', other: '', bureau: '' };

before(async () => {
  sys = await startTestSystem();
  const firm = testFirm();
  firmId = firm.id;
  await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  const other = testFirm({ name: 'other' });
  await api(sys, sys.adminToken, 'POST', '/api/v1/firms', other);
  meter = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'electricity_meter', 'main meter');
  loom = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'big loom');
  tokens.eng = (await sys.registry.createApiToken('engineer', firm.id, 'engineer')).token;
  tokens.other = (await sys.registry.createApiToken('engineer', other.id, 'other engineer')).token;
  tokens.bureau = (await sys.registry.createApiToken('bureau', null, 'bureau')).token;
});
after(async () => { await sys.close(); });

interface Row { id: number; rule: string; deviceId: string; releasable: boolean; releasedAt: number | null; releasedBy: string | null; releaseReason: string | null }
interface Released { released: number[]; alreadyReleased: number[]; points: number }

async function publish(c: DeviceCredentials, messages: string[]): Promise<void> {
  const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });
  for (const m of messages) await client.publishAsync(topicFor(c.firmId, c.id, 'telemetry'), m, { qos: 1 });
  await client.endAsync();
  await sys.drained();
}
const kwh = (ts: number, seq: number, v: number) => JSON.stringify({ ts, seq, metrics: { energy_kwh_total: v } });
const stored = async (c: DeviceCredentials, metric: string, from: number) =>
  (await api<{ points: Array<{ ts: number; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/telemetry?metric=${metric}&from=${from}&to=${Date.now()}`)).body.points;
const rejected = async () => (await api<Row[]>(sys, tokens.eng, 'GET', `/api/v1/firms/${firmId}/rejected?deviceId=${meter.id}`)).body;

describe('quarantined readings', () => {
  test('kept whole, raised as an alarm, released once by an engineer of the firm with a reason; audited', async () => {
    const t0 = Math.floor((Date.now() - 20 * MIN) / MIN) * MIN;
    await publish(meter, [kwh(t0, 0, 100), kwh(t0 + MIN, 1, 1e13), kwh(t0 + 2 * MIN, 2, 150)]);
    assert.deepEqual((await stored(meter, 'energy_kwh_total', t0 - 1)).map((p) => p.value), [100, 150], 'the 1e13 reading was quarantined');
    const [q] = (await rejected()).filter((r) => r.rule === 'implausible');
    assert.ok(q && q.releasable && q.releasedAt === null, JSON.stringify(q));

    // The alarm the firm page shows, from the spool's quarantined readings.
    const alarms = new SqliteAlarmStore(openMonitoringDb(':memory:'));
    const engine = new AlarmEngine(alarms);
    const events: AlarmEvent[] = [];
    engine.setEmitter((_rooms, ev) => events.push(ev));
    const check = async () => await engine.checkQuarantine(await sys.registry.listDevices(), await sys.spool.quarantineSummary(0));
    await check();
    assert.deepEqual(events.map((e) => [e.event, e.alarm.kind, e.alarm.deviceId, e.alarm.firmId]), [['raised', 'quarantine', meter.id, firmId]]);

    const body = { ids: [q.id], reason: 'meter replaced; the register was preset at the factory' };
    assert.equal((await api(sys, tokens.bureau, 'POST', `/api/v1/firms/${firmId}/rejected/release`, body)).status, 403, 'the bureau reads, it does not release');
    const foreign = await api<{ message: string }>(sys, tokens.other, 'POST', `/api/v1/firms/${firmId}/rejected/release`, body);
    const nowhere = await api<{ message: string }>(sys, tokens.other, 'POST', '/api/v1/firms/915300000000000000/rejected/release', body);
    assert.deepEqual([foreign.status, nowhere.status], [404, 404], 'another firm: the same answer as for a firm that does not exist');
    assert.equal((await api(sys, tokens.eng, 'POST', `/api/v1/firms/${firmId}/rejected/release`, { reason: 'no selection given' })).status, 400);

    const first = await api<Released>(sys, tokens.eng, 'POST', `/api/v1/firms/${firmId}/rejected/release`, body);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body, { released: [q.id], alreadyReleased: [], points: 1 });
    const again = await api<Released>(sys, sys.adminToken, 'POST', `/api/v1/firms/${firmId}/rejected/release`, body);
    assert.deepEqual(again.body, { released: [], alreadyReleased: [q.id], points: 0 });
    await sys.drained();
    assert.deepEqual((await stored(meter, 'energy_kwh_total', t0 - 1)).map((p) => p.value), [100, 1e13, 150], 'released: stored once, where it belongs');

    const row = (await rejected()).find((r) => r.id === q.id)!;
    assert.equal(row.releaseReason, body.reason);
    assert.match(row.releasedBy ?? '', /engineer \(engineer/);
    assert.ok(row.releasedAt !== null);
    const log = await api<Array<{ action: string; detail: string; actor: string }>>(sys, sys.adminToken, 'GET', `/api/v1/audit?target=${meter.id}`);
    const entries = log.body.filter((e) => e.action === 'reading.release');
    assert.equal(entries.length, 1, 'one release, one entry (the second stored nothing)');
    assert.deepEqual(JSON.parse(entries[0]!.detail), { firmId, ids: [q.id], points: 1, reason: body.reason });
    await check();
    assert.deepEqual(events.map((e) => e.event), ['raised', 'cleared'], 'nothing left to release: the alarm clears');
  });

  test('a batch: every quarantined reading of a device received in a time range', async () => {
    const t0 = Math.floor((Date.now() - 10 * MIN) / MIN) * MIN;
    const from = Date.now();
    await publish(meter, [kwh(t0, 10, 200), kwh(t0 + MIN, 11, 5e12), kwh(t0 + 2 * MIN, 12, 6e12)]);
    const to = Date.now();
    const open = (await rejected()).filter((r) => r.releasable && r.releasedAt === null);
    assert.equal(open.length, 2);
    const r = await api<Released>(sys, tokens.eng, 'POST', `/api/v1/firms/${firmId}/rejected/release`, { deviceId: meter.id, from, to, reason: 'calibration run, values confirmed' });
    assert.deepEqual([...r.body.released].sort(), open.map((x) => x.id).sort());
    await sys.drained();
    const values = (await stored(meter, 'energy_kwh_total', t0 - 1)).map((p) => p.value);
    assert.deepEqual(values, [200, 5e12, 6e12]);
  });
});

describe('a device\'s own counter rate', () => {
  test('set by an engineer (bounded, audited), applied by the broker without a reconnect; others cannot set it', async () => {
    const t0 = Math.floor((Date.now() - 20 * MIN) / MIN) * MIN;
    const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: loom.id, username: loom.id, password: loom.token, reconnectPeriod: 0 });
    const send = async (minute: number, seq: number, v: number) => {
      await client.publishAsync(topicFor(firmId, loom.id, 'telemetry'), kwh(t0 + minute * MIN, seq, v), { qos: 1 });
    };
    await send(0, 0, 0);
    await send(5, 1, 100); // 1200 kWh/h: implausible for a loom rated 22.5 kWh/h
    const url = `/api/v1/devices/${loom.id}/rates/energy_kwh_total`;
    assert.equal((await api(sys, tokens.bureau, 'PUT', url, { maxPerHour: 2000 })).status, 403);
    assert.equal((await api(sys, tokens.other, 'PUT', url, { maxPerHour: 2000 })).status, 404);
    const tooMuch = await api<{ message: string }>(sys, tokens.eng, 'PUT', url, { maxPerHour: 22.5 * 100 + 1 });
    assert.equal(tooMuch.status, 400);
    assert.match(tooMuch.body.message, /at most 100 ×/);
    const set = await api<Array<{ counter: string; typeMaxPerHour: number; maxPerHour: number | null }>>(sys, tokens.eng, 'PUT', url, { maxPerHour: 2000 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.find((r) => r.counter === 'energy_kwh_total'), { counter: 'energy_kwh_total', unit: 'kWh', typeMaxPerHour: 22.5, maxPerHour: 2000, mostPerHour: 2250 });
    assert.equal((await sys.broker.checkCredentials()), 0, 'the periodic check keeps the device and learns its rate');
    await send(5, 2, 100); // the same rise again: now plausible
    await client.endAsync();
    await sys.drained();
    assert.deepEqual((await stored(loom, 'energy_kwh_total', t0 - 1)).map((p) => p.value), [0, 100]);
    const log = await api<Array<{ action: string; detail: string }>>(sys, sys.adminToken, 'GET', `/api/v1/audit?target=${loom.id}`);
    assert.deepEqual(JSON.parse(log.body.find((e) => e.action === 'device.rate-override')!.detail), { firmId, counter: 'energy_kwh_total', maxPerHour: 2000, typeMaxPerHour: 22.5 });
    const removed = await api<Array<{ counter: string; maxPerHour: number | null }>>(sys, tokens.eng, 'DELETE', url);
    assert.equal(removed.body.find((r) => r.counter === 'energy_kwh_total')!.maxPerHour, null);
  });
});
