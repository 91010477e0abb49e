// End to end through real parts: devices (MQTT.js simulators and Debian's mosquitto_pub/mosquitto_sub) → the
// broker's admission on a real socket → spool → ingest writer → a real influxd → back out through the API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { SimulatedDevice } from '../../simulators/device.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { waitFor } from '../../scripts/net.ts';

const run = promisify(execFile);
let sys: TestSystem;

before(async () => { sys = await startTestSystem(); });
after(async () => { await sys.close(); });

async function newFirmWithDevices(types: string[]) {
  const firm = testFirm();
  const r = await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const creds = [];
  for (const [i, t] of types.entries()) creds.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, t, `test ${t} ${i}`));
  return { firm, creds };
}

describe('spine', () => {
  test('simulated devices publish a known number of messages and exactly that many points come back through the API', async () => {
    const { creds } = await newFirmWithDevices(['loom', 'loom', 'dyeing_machine']);
    const rng = seededRng(7);
    const devices = creds.map((c) => new SimulatedDevice(c, createModel(c.type, rng), sys.mqttUrl));
    await Promise.all(devices.map((d) => d.connect()));
    const perDevice = 40;
    const start = Date.now() - perDevice * 1000;
    for (let i = 0; i < perDevice; i++) await Promise.all(devices.map((d) => d.publishOnce(start + i * 1000)));
    const acked = devices.reduce((n, d) => n + d.stats.acked, 0);
    assert.ok(acked >= perDevice * devices.length, 'every telemetry message was acknowledged');
    await sys.drained();
    for (const d of devices) {
      const metric = d.creds.type === 'loom' ? 'speed_rpm' : 'bath_temp_c';
      const r = await api<{ points: Array<{ ts: number; value: number }>; unit: string }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${d.creds.id}/telemetry?metric=${metric}&from=${start - 1}&to=${Date.now()}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.points.length, perDevice, `${d.creds.id}: published ${perDevice}, stored ${r.body.points.length}`);
      assert.equal(r.body.points[0]?.ts, start);
      assert.equal(r.body.unit, metric === 'speed_rpm' ? 'rpm' : '°C');
    }
    await Promise.all(devices.map((d) => d.stop()));
  });

  test('a wrong token is refused at CONNECT', async () => {
    const { creds } = await newFirmWithDevices(['loom']);
    const c = creds[0]!;
    await assert.rejects(
      mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: 'dt_wrong', reconnectPeriod: 0 }),
      (err: Error) => /Bad username or password/i.test(err.message),
    );
    // clientId must equal the device id, even with the right token.
    await assert.rejects(
      mqtt.connectAsync(sys.mqttUrl, { clientId: 'someone-else', username: c.id, password: c.token, reconnectPeriod: 0 }),
      (err: Error) => /Not authorized/i.test(err.message),
    );
  });

  test("a device publishing under another device's topic stores nothing, stays connected and is told why", async () => {
    const { firm, creds } = await newFirmWithDevices(['loom', 'loom']);
    const [a, b] = creds as [typeof creds[0], typeof creds[0]];
    const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: a.id, username: a.id, password: a.token, reconnectPeriod: 0 });
    await client.subscribeAsync(topicFor(firm.id, a.id, 'errors'), { qos: 1 });
    const report = new Promise<{ problems: Array<{ rule: string; message: string }> }>((resolve) => client.once('message', (_t, p) => resolve(JSON.parse(p.toString()))));
    let closed = false;
    client.on('close', () => { closed = true; });
    await client.publishAsync(topicFor(firm.id, b.id, 'telemetry'), JSON.stringify({ ts: Date.now(), seq: 1, metrics: { speed_rpm: 600 } }), { qos: 1 });
    const r = await report;
    assert.equal(r.problems[0]?.rule, 'topic');
    assert.match(r.problems[0]!.message, new RegExp(`publish on dh/v1/${firm.id}/${a.id}/`));
    // Still connected: a valid publish on its own topic goes through.
    await client.publishAsync(topicFor(firm.id, a.id, 'telemetry'), JSON.stringify({ ts: Date.now(), seq: 2, metrics: { speed_rpm: 610 } }), { qos: 1 });
    assert.equal(closed, false);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', b.id), 0, 'nothing stored for the device whose topic was used');
    assert.equal(await sys.countPoints('loom', a.id), 1);
    const dead = await api<Array<{ deviceId: string; rule: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected`);
    assert.deepEqual(dead.body.map((d) => [d.deviceId, d.rule]), [[a.id, 'topic']]);
    await client.endAsync();
  });

  test('a malformed message is rejected with a reason while the valid ones around it are stored (mosquitto_pub as the device)', async () => {
    const { firm, creds } = await newFirmWithDevices(['loom']);
    const c = creds[0]!;
    const base = ['-h', '127.0.0.1', '-p', String(sys.mqttPort), '-i', c.id, '-u', c.id, '-P', c.token, '-q', '1'];
    const now = Date.now();
    const messages = [
      JSON.stringify({ ts: now - 3000, seq: 1, metrics: { speed_rpm: 600, power_kw: 4.2 } }),
      '{"ts": 1, "seq": 2, "metrics": {',
      JSON.stringify({ ts: now - 2000, seq: 3, metrics: { speed_rpm: 99999 } }),
      JSON.stringify({ ts: now - 1000, seq: 4, metrics: { speed_rpm: 605, colour: 3 } }),
      JSON.stringify({ ts: new Date(now).toISOString(), seq: 5, metrics: { speed_rpm: 610 } }),
    ];
    for (const m of messages) await run('mosquitto_pub', [...base, '-t', topicFor(firm.id, c.id, 'telemetry'), '-m', m]);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', c.id), 2, 'the two valid messages are stored');
    const dead = await api<Array<{ rule: string; field: string; reason: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected?deviceId=${c.id}`);
    const rules = dead.body.map((d) => `${d.rule}:${d.field}`).sort();
    assert.deepEqual(rules, ['additionalProperties:metrics.colour', 'json:(message)', 'maximum:metrics.speed_rpm'].sort());
    const range = dead.body.find((d) => d.rule === 'maximum')!;
    assert.match(range.reason, /plausible range 0–1600 rpm/);
  });

  test("mosquitto_sub (as the platform's live-feed service) sees a value mosquitto_pub published; a wrong password is refused", async () => {
    const { firm, creds } = await newFirmWithDevices(['electricity_meter']);
    const c = creds[0]!;
    const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(sys.mqttPort), '-i', 'svc-test', '-u', 'svc:test', '-P', sys.serviceSecret, '-t', '$dh/live', '-W', '15', '-v']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    const base = ['-h', '127.0.0.1', '-p', String(sys.mqttPort), '-i', c.id, '-u', c.id, '-q', '1', '-t', topicFor(firm.id, c.id, 'telemetry')];
    await run('mosquitto_pub', [...base, '-P', c.token, '-m', JSON.stringify({ ts: Date.now(), seq: 1, metrics: { power_kw: 432.1, energy_kwh_total: 1000 } })]);
    await waitFor(async () => out.includes(c.id), 10_000, 'the live summary to reach mosquitto_sub');
    child.kill();
    await exited;
    const line = out.split('\n').find((l) => l.includes(c.id))!;
    const summary = JSON.parse(line.slice(line.indexOf(' ') + 1)) as { devices: Array<{ deviceId: string; metrics: Record<string, number> }> };
    assert.equal(summary.devices.find((d) => d.deviceId === c.id)?.metrics.power_kw, 432.1);
    await assert.rejects(run('mosquitto_pub', [...base, '-P', 'dt_wrong', '-m', '{}']), /not authori[sz]ed|Connection Refused|bad user name or password/i);
    await sys.drained();
    assert.equal(await sys.countPoints('electricity_meter', c.id), 1, 'only the authenticated publish was stored');
  });
});
