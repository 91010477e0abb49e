// Plausible counters and immutable history through the real broker, a real MQTT client and a private influxd: a
// meter publishing 0, 1e13, 0, 1e13 and then rewriting a stored timestamp. Every message is acknowledged, InfluxDB
// holds only the plausible points, the energy total is the hand-computed one, and the rejections are listed and
// reported on the device's errors topic.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { waitFor } from '../../scripts/net.ts';

let sys: TestSystem;
before(async () => { sys = await startTestSystem(); });
after(async () => { await sys.close(); });

const MIN = 60_000;

interface Summary { carriers: Record<string, { measured: number; counted: number }> }

test('a meter publishing 0, 1e13, 0, 1e13 and rewriting a stored timestamp: all acknowledged, only plausible points stored and counted, the rest listed and reported', async () => {
  const firm = testFirm();
  await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  const c = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'electricity_meter', 'main meter');
  const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });
  const reports: Array<{ problems: Array<{ field: string; rule: string; message: string }> }> = [];
  client.on('message', (_t, payload) => reports.push(JSON.parse(payload.toString()) as (typeof reports)[number]));
  await client.subscribeAsync(topicFor(firm.id, c.id, 'errors'), { qos: 0 });

  const t0 = Math.floor((Date.now() - 30 * MIN) / MIN) * MIN;
  const reading = (minute: number, seq: number, kwh: number) => JSON.stringify({ ts: t0 + minute * MIN, seq, metrics: { energy_kwh_total: kwh } });
  const messages = [
    reading(0, 0, 0), // first reading: accepted
    reading(1, 1, 1e13), // 1e13 kWh in a minute from a 20 MW meter: quarantined
    reading(2, 2, 0), // accepted (no rise)
    reading(3, 3, 1e13), // quarantined
    reading(4, 4, 300), // +300 kWh in 2 min (at most 30,000 kWh/h): accepted
    reading(5, 5, 700), // +400: accepted
    reading(6, 6, 50), // an ordinary reset, counted from zero: +50
    reading(5, 5, 999), // rewriting minute 5: conflict
    reading(6, 6, 50), // the same message again (a redelivery): acknowledged, harmless
  ];
  let acked = 0;
  for (const m of messages) {
    await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), m, { qos: 1 });
    acked++;
  }
  assert.equal(acked, messages.length, 'every message got its PUBACK');
  await sys.drained();

  assert.equal(await sys.countPoints('electricity_meter', c.id), 5, 'only the plausible points reached InfluxDB');
  const stored = await api<{ points: Array<{ ts: number; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/telemetry?metric=energy_kwh_total&from=${t0 - 1}&to=${Date.now()}`);
  assert.deepEqual(stored.body.points.map((p) => [(p.ts - t0) / MIN, p.value]), [[0, 0], [2, 0], [4, 300], [5, 700], [6, 50]]);

  // 300 + 400 + 50 (the reset's new reading counted from zero) = 750 kWh, for the firm and for the prefecture.
  const range = `from=${t0 - 1}&to=${Date.now()}&source=raw`;
  const own = await api<Summary>(sys, sys.adminToken, 'GET', `/api/v1/energy/summary?scope=firm&id=${firm.id}&${range}`);
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.equal(own.body.carriers.electricity!.measured, 750);
  const all = await api<Summary>(sys, sys.adminToken, 'GET', `/api/v1/energy/summary?scope=prefecture&${range}`);
  assert.equal(all.status, 200, JSON.stringify(all.body));
  assert.equal(all.body.carriers.electricity!.measured, 750);

  const rejected = await api<Array<{ rule: string; field: string; reason: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected?deviceId=${c.id}`);
  assert.deepEqual(rejected.body.map((r) => r.rule).sort(), ['conflict', 'implausible', 'implausible']);
  const implausible = rejected.body.find((r) => r.rule === 'implausible')!;
  assert.equal(implausible.field, 'metrics.energy_kwh_total');
  assert.match(implausible.reason, /energy_kwh_total rose by 1e13 kWh in 60 s; at most 500 kWh \(1\.5 × 20000 kW rated power, 30000 kWh\/h\)/);
  assert.match(rejected.body.find((r) => r.rule === 'conflict')!.reason, /already admitted for this device with other values/);
  const counted = await api<Array<{ deviceId: string; rule: string; count: number }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected/summary`);
  assert.deepEqual(counted.body.map((r) => [r.rule, r.count]).sort(), [['conflict', 1], ['implausible', 2]]);

  await waitFor(async () => reports.length === 3, 5000, 'three error reports');
  assert.deepEqual(reports.map((r) => r.problems[0]!.rule), ['implausible', 'implausible', 'conflict']);
  assert.match(reports[0]!.problems[0]!.message, /is plausible for an electricity meter/);
  await client.endAsync();
});
