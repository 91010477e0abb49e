// Limits against bad clients, each with a test: the offender gets an answer per the MQTT spec or an HTTP status,
// and nothing else is disturbed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, mqttConnectOnce, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { connackFor, connectPacket } from '../helpers/raw-mqtt.ts';

const point = (seq: number) => JSON.stringify({ ts: Date.now(), seq, metrics: { speed_rpm: 600 } });

async function firmWith(sys: TestSystem, n: number) {
  const firm = testFirm();
  await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  const creds: DeviceCredentials[] = [];
  for (let i = 0; i < n; i++) creds.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', `l${i}`));
  return { firm, creds };
}
const connect = (sys: TestSystem, c: DeviceCredentials) => mqttConnectOnce(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token });

/** The throttles count per wall-clock minute: start a sequence well inside one. */
async function awayFromMinuteEdge(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 50_000) await new Promise((r) => setTimeout(r, 60_000 - into + 200));
}

describe('message limits', () => {
  let sys: TestSystem;
  before(async () => { sys = await startTestSystem({ clientLimits: { maxPayloadBytes: 1024, maxTopicLevels: 6, maxInflight: 5 }, apiRequestsPerMinute: 40 }); });
  after(async () => { await sys.close(); });

  test('a payload over the limit is acked, dropped and reported; the device stays connected', async () => {
    const { firm, creds } = await firmWith(sys, 1);
    const c = creds[0]!;
    const client = await connect(sys, c);
    const big = JSON.stringify({ ts: Date.now(), seq: 1, metrics: { speed_rpm: 600 }, pad: 'x'.repeat(2000) });
    await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), big, { qos: 1 });
    await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), point(2), { qos: 1 });
    assert.equal(client.connected, true);
    await client.endAsync();
    await sys.drained();
    assert.equal(await sys.countPoints('loom', c.id), 1);
    const dead = await api<Array<{ rule: string; reason: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected`);
    assert.equal(dead.body[0]?.rule, 'payload-size');
    assert.match(dead.body[0]!.reason, /at most 1024 are accepted/);
  });

  test('a topic deeper than the limit closes that connection only', async () => {
    const { firm, creds } = await firmWith(sys, 2);
    const [bad, good] = creds as [DeviceCredentials, DeviceCredentials];
    const other = await connect(sys, good);
    const client = await connect(sys, bad);
    const gone = new Promise<void>((r) => client.once('close', () => r()));
    client.publish('dh/v1/a/b/c/d/e/f/g', point(1), { qos: 1 });
    await gone;
    await other.publishAsync(topicFor(firm.id, good.id, 'telemetry'), point(1), { qos: 1 });
    await other.endAsync();
    client.end(true);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', good.id), 1);
  });

  test('more publishes in flight than allowed disconnects the client; others carry on', async () => {
    const { firm, creds } = await firmWith(sys, 2);
    const [flood, calm] = creds as [DeviceCredentials, DeviceCredentials];
    const other = await connect(sys, calm);
    const client = await connect(sys, flood);
    const gone = new Promise<void>((r) => client.once('close', () => r()));
    for (let i = 0; i < 40; i++) client.publish(topicFor(firm.id, flood.id, 'telemetry'), point(i), { qos: 1 });
    await gone;
    await other.publishAsync(topicFor(firm.id, calm.id, 'telemetry'), point(1), { qos: 1 });
    await other.endAsync();
    client.end(true);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', calm.id), 1);
  });

  test('API requests over the per-token rate get 429 with a reason; another token is not affected', async () => {
    await awayFromMinuteEdge();
    const bureau = (await api<{ token: string }>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role: 'bureau', name: 'busy' })).body.token;
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await api(sys, bureau, 'GET', '/api/v1/catalogue')).status);
    assert.equal(statuses.filter((s) => s === 200).length, 40);
    const r = await api<{ message: string }>(sys, bureau, 'GET', '/api/v1/catalogue');
    assert.equal(r.status, 429);
    assert.match(r.body.message, /Rate limit exceeded/i);
    assert.equal((await api(sys, sys.adminToken, 'GET', '/api/v1/catalogue')).status, 200);
  });
});

describe('connection throttles per source address', () => {
  let sys: TestSystem;
  before(async () => { sys = await startTestSystem({ clientLimits: { connectsPerMinute: 12, authFailuresPerMinute: 3 } }); });
  after(async () => { await sys.close(); });

  test('after too many failed authentications, even the right token is refused for the rest of the minute', async () => {
    const { creds } = await firmWith(sys, 1);
    const c = creds[0]!;
    await awayFromMinuteEdge();
    for (let i = 0; i < 3; i++) await assert.rejects(mqttConnectOnce(sys.mqttUrl, { clientId: c.id, username: c.id, password: 'dt_guess' }), /Bad username or password/);
    await assert.rejects(connect(sys, c));
  });
});

describe('connection attempts per source address', () => {
  let sys: TestSystem;
  before(async () => { sys = await startTestSystem({ clientLimits: { connectsPerMinute: 5 } }); });
  after(async () => { await sys.close(); });

  test('connections beyond the per-minute limit are refused', async () => {
    const { creds } = await firmWith(sys, 1);
    const c = creds[0]!;
    await awayFromMinuteEdge();
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 8; i++) {
      try {
        const client = await connect(sys, c);
        ok++;
        await client.endAsync();
      } catch {
        refused++;
      }
    }
    assert.deepEqual({ ok, refused }, { ok: 5, refused: 3 });
  });
});

describe('per-address limits behind the WebSocket bridge', () => {
  let sys: TestSystem;
  before(async () => { sys = await startTestSystem({ clientLimits: { authFailuresPerMinute: 3 } }); });
  after(async () => { await sys.close(); });

  /** MQTT over WebSocket through the API, from a chosen loopback address. */
  const overWs = (c: DeviceCredentials, from: string, token = c.token) => mqttConnectOnce(`${sys.apiUrl.replace('http', 'ws')}/mqtt`, {
    clientId: c.id, username: c.id, password: token, protocolVersion: 4, wsOptions: { localAddress: from },
  });

  test("one WebSocket client's wrong passwords lock out that client only, not the others behind the bridge", async () => {
    const { creds } = await firmWith(sys, 2);
    const [attacked, other] = creds as [DeviceCredentials, DeviceCredentials];
    await awayFromMinuteEdge();
    for (let i = 0; i < 3; i++) await assert.rejects(overWs(attacked, '127.0.0.2', 'dt_guess'), /Bad username or password/);
    await assert.rejects(overWs(attacked, '127.0.0.2')); // that address is locked out, even with the right token
    const client = await overWs(other, '127.0.0.3');
    await client.publishAsync(topicFor(other.firmId, other.id, 'telemetry'), point(1), { qos: 1 });
    await client.endAsync();
    (await overWs(attacked, '127.0.0.3')).end(true);
  });

  test('a PROXY line from an address that is not a trusted proxy is ignored: failures count against the sender', async () => {
    const { creds } = await firmWith(sys, 1);
    const c = creds[0]!;
    await awayFromMinuteEdge();
    const spoofed = (token: string) => connackFor(sys.mqttPort, '127.0.0.4', `PROXY TCP4 127.0.0.9 127.0.0.1 40000 ${sys.mqttPort}\r\n`, connectPacket(c.id, token));
    for (let i = 0; i < 3; i++) assert.equal(await spoofed('dt_guess'), 4);
    (await overWs(c, '127.0.0.9')).end(true); // the named address was not blamed
    assert.notEqual(await spoofed(c.token), 0); // the sender was
  });
});
