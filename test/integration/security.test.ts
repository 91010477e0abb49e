// Onboarding and isolation: rotation and removal take effect at once, engineers see only their firm (REST and
// live), devices cannot reach other devices' topics, and TCP, TLS and WebSocket share the same rules. Clients
// not written here: mosquitto_pub/mosquitto_sub (Debian) and MQTT.js.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { io as ioClient } from 'socket.io-client';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { waitFor } from '../../scripts/net.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';

const run = promisify(execFile);
let sys: TestSystem;
before(async () => { sys = await startTestSystem({ tls: true }); });
after(async () => { await sys.close(); });

async function firmWith(n: number, type = 'loom') {
  const firm = testFirm();
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  const creds: DeviceCredentials[] = [];
  for (let i = 0; i < n; i++) creds.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, type, `${type} ${i}`));
  return { firm, creds };
}
const connect = (c: DeviceCredentials, over: mqtt.IClientOptions = {}, url = sys.mqttUrl) =>
  mqtt.connectAsync(url, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0, ...over });
const point = (seq: number, ts = Date.now()) => JSON.stringify({ ts, seq, metrics: { speed_rpm: 600 + seq } });
const closed = (client: mqtt.MqttClient) => new Promise<void>((r) => (client.connected ? client.once('close', () => r()) : r()));

describe('onboarding', () => {
  test('rotating a token closes the live connection, the old token stops working and the new one works; audited', async () => {
    const { firm, creds } = await firmWith(1);
    const c = creds[0]!;
    const client = await connect(c);
    const gone = closed(client);
    const r = await api<{ token: string }>(sys, sys.adminToken, 'POST', `/api/v1/devices/${c.id}/token`);
    assert.equal(r.status, 200);
    await gone;
    await assert.rejects(connect(c), /Bad username or password/);
    const again = await connect({ ...c, token: r.body.token });
    await again.publishAsync(topicFor(firm.id, c.id, 'telemetry'), point(1), { qos: 1 });
    await again.endAsync();
    const log = await api<Array<{ action: string; target: string; actor: string }>>(sys, sys.adminToken, 'GET', `/api/v1/audit?target=${c.id}`);
    assert.deepEqual(log.body.map((e) => e.action), ['device.rotate-token', 'device.provision']);
    assert.match(log.body[0]!.actor, /test admin \(admin/);
  });

  test('deleting a device disconnects it and its credential is gone', async () => {
    const { creds } = await firmWith(1);
    const c = creds[0]!;
    const client = await connect(c);
    const gone = closed(client);
    assert.equal((await api(sys, sys.adminToken, 'DELETE', `/api/v1/devices/${c.id}`)).status, 204);
    await gone;
    await assert.rejects(connect(c), /Bad username or password/);
    assert.equal((await api(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}`)).status, 404);
  });

  test('device status: online, retained status, accepted and rejected today, completeness from seq gaps', async () => {
    const { firm, creds } = await firmWith(1);
    const c = creds[0]!;
    const client = await connect(c, { will: { topic: topicFor(firm.id, c.id, 'status'), payload: Buffer.from('{"status":"offline"}'), qos: 1, retain: true } });
    await client.publishAsync(topicFor(firm.id, c.id, 'status'), '{"status":"online"}', { qos: 1, retain: true });
    for (const seq of [1, 2, 5]) await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), point(seq, Date.now() - 10 + seq), { qos: 1 });
    await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), '{"bad":', { qos: 1 });
    type Status = { online: boolean; reportedStatus: string; today: { accepted: number; rejected: number }; completeness: { received: number; expected: number; missing: number } };
    await waitFor(async () => (await api<Status>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body.today.rejected === 1, 5000, 'counts flushed');
    const s = (await api<Status>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body;
    assert.equal(s.online, true);
    assert.equal(s.reportedStatus, 'online');
    assert.deepEqual(s.today.accepted, 3);
    assert.deepEqual(s.completeness, { received: 3, expected: 5, missing: 2, ratio: 0.6 } as unknown as Status['completeness']);
    client.stream.destroy(); // an unclean drop: the broker publishes the last will
    await waitFor(async () => {
      const b = (await api<Status>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/status`)).body;
      return !b.online && b.reportedStatus === 'offline';
    }, 5000, 'offline with the last will recorded');
  });
});

describe('isolation', () => {
  test('an engineer of firm A gets no live events of firm B; bureau gets both', async () => {
    const a = await firmWith(1);
    const b = await firmWith(1);
    const eng = (await api<{ token: string }>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role: 'engineer', firmId: a.firm.id, name: 'eng A' })).body.token;
    const bureau = (await api<{ token: string }>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role: 'bureau', name: 'bureau' })).body.token;
    const seen = { eng: new Set<string>(), bureau: new Set<string>() };
    const sockets = await Promise.all(([['eng', eng], ['bureau', bureau]] as const).map(([who, token]) => new Promise<ReturnType<typeof ioClient>>((resolve, reject) => {
      const s = ioClient(sys.apiUrl, { auth: { token }, transports: ['websocket'] });
      s.on('live', (sum: { devices: Array<{ deviceId: string }> }) => { for (const d of sum.devices) seen[who].add(d.deviceId); });
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    })));
    const bad = ioClient(sys.apiUrl, { auth: { token: 'at_wrong' }, transports: ['websocket'] });
    const refused = await new Promise<string>((r) => bad.once('connect_error', (e) => r(e.message)));
    assert.match(refused, /unknown API token/);
    bad.close();
    for (const { firm, creds } of [a, b]) {
      const client = await connect(creds[0]!);
      await client.publishAsync(topicFor(firm.id, creds[0]!.id, 'telemetry'), point(1), { qos: 1 });
      await client.endAsync();
    }
    await waitFor(async () => seen.bureau.has(b.creds[0]!.id) && seen.bureau.has(a.creds[0]!.id) && seen.eng.has(a.creds[0]!.id), 5000, 'live events');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.eng.has(b.creds[0]!.id), false, 'engineer of A saw a firm-B device');
    for (const s of sockets) s.close();
  });

  test("devices subscribe only to their own errors topic: other devices' topics, wildcards and $SYS are refused, the connection stays", async () => {
    const { firm, creds } = await firmWith(2);
    const [a, b] = creds as [DeviceCredentials, DeviceCredentials];
    const client = await connect(a);
    // MQTT.js rejects a SUBACK with a failure code; the code itself is what we check.
    const granted = async (topic: string) => client.subscribeAsync(topic, { qos: 1 }).then(
      (g) => g[0]?.qos,
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0] ?? -1,
    );
    assert.equal(await granted(topicFor(firm.id, a.id, 'errors')), 1);
    for (const t of [topicFor(firm.id, b.id, 'errors'), topicFor(firm.id, b.id, 'telemetry'), `dh/v1/${firm.id}/+/telemetry`, 'dh/#', '#', '$SYS/#', '$dh/live', '$dh/control']) {
      assert.equal(await granted(t), 128, t);
    }
    assert.equal(client.connected, true);
    await client.endAsync();
  });

  test("another device's credentials under this device's clientId are refused and do not kick it off; anonymous is refused", async () => {
    const { creds } = await firmWith(2);
    const [a, b] = creds as [DeviceCredentials, DeviceCredentials];
    const client = await connect(a);
    await assert.rejects(mqtt.connectAsync(sys.mqttUrl, { clientId: a.id, username: b.id, password: b.token, reconnectPeriod: 0 }), /Not authorized/);
    await assert.rejects(mqtt.connectAsync(sys.mqttUrl, { clientId: a.id, reconnectPeriod: 0 }), /Bad username or password/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(client.connected, true);
    await client.endAsync();
  });
});

describe('transports', () => {
  test('mosquitto_pub over TLS with the CA file: an allowed publish lands, a forbidden one does not; mosquitto_sub is denied a foreign topic', async () => {
    const { firm, creds } = await firmWith(2);
    const [a, b] = creds as [DeviceCredentials, DeviceCredentials];
    const tls = ['-h', '127.0.0.1', '-p', String(sys.mqttsPort), '--cafile', sys.tlsFiles!.ca, '-q', '1'];
    await run('mosquitto_pub', [...tls, '-i', a.id, '-u', a.id, '-P', a.token, '-t', topicFor(firm.id, a.id, 'telemetry'), '-m', point(1)]);
    await run('mosquitto_pub', [...tls, '-i', a.id, '-u', a.id, '-P', a.token, '-t', topicFor(firm.id, b.id, 'telemetry'), '-m', point(1)]);
    // Without the CA the server certificate is not trusted.
    await assert.rejects(run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(sys.mqttsPort), '--capath', '/nonexistent', '-i', a.id, '-u', a.id, '-P', a.token, '-t', topicFor(firm.id, a.id, 'telemetry'), '-m', point(2)]));
    const sub = await run('mosquitto_sub', [...tls, '-i', b.id, '-u', b.id, '-P', b.token, '-t', topicFor(firm.id, a.id, 'errors'), '-W', '3']).then(
      (r) => `${r.stdout}${r.stderr}`, (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
    assert.match(sub, /denied/i);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', a.id), 1);
    assert.equal(await sys.countPoints('loom', b.id), 0);
  });

  test('MQTT over WebSocket on the API port: same authentication, an allowed publish lands, a forbidden one does not', async () => {
    const { firm, creds } = await firmWith(2);
    const [a, b] = creds as [DeviceCredentials, DeviceCredentials];
    const wsUrl = `${sys.apiUrl.replace('http', 'ws')}/mqtt`;
    await assert.rejects(connect({ ...a, token: 'dt_wrong' }, {}, wsUrl), /Bad username or password/);
    const client = await connect(a, {}, wsUrl);
    await client.publishAsync(topicFor(firm.id, a.id, 'telemetry'), point(1), { qos: 1 });
    await client.publishAsync(topicFor(firm.id, b.id, 'telemetry'), point(1), { qos: 1 });
    await client.endAsync();
    await sys.drained();
    assert.equal(await sys.countPoints('loom', a.id), 1);
    assert.equal(await sys.countPoints('loom', b.id), 0);
  });

  test('a malformed CONNECT and random bytes on the MQTT port leave the broker serving other clients', async () => {
    const { firm, creds } = await firmWith(1);
    const c = creds[0]!;
    const client = await connect(c);
    for (const bytes of [Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x09, 0x02, 0, 0, 0, 0])]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(sys.mqttPort, '127.0.0.1', () => s.end(bytes));
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        s.setTimeout(3000, () => s.destroy());
      });
    }
    await client.publishAsync(topicFor(firm.id, c.id, 'telemetry'), point(1), { qos: 1 });
    await client.endAsync();
    await sys.drained();
    assert.equal(await sys.countPoints('loom', c.id), 1);
  });
});
