// GET /me, a device's machine-state history (GET /devices/{id}/states) and where a device connects
// (GET /devices/{id}/connection), against the real system: influxd, broker, writer and API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import mqtt from 'mqtt';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { AuthThrottle, authPlugin } from '../../api/auth.ts';
import { createLogger } from '../../common/log.ts';
import { deviceConnection, type MqttEndpoints } from '../../api/connection.ts';
import { onboardingRoutes } from '../../api/routes/onboarding.ts';
import { sharedSchemas } from '../../api/schemas.ts';
import { api, mqttConnectOnce, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';

let sys: TestSystem;
before(async () => { sys = await startTestSystem({ tls: true }); });
after(async () => { await sys.close(); });

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Provisioned { id: string; firmId: string; type: string; token: string; mqtt: { username: string; clientId: string; topicPrefix: string }; connect: unknown }
interface Token { token: string; tokenId: string; role: string; firmId: string | null; name: string }
interface StateEvent { ts: number; state: string; reason: string | null }
interface StateHistory { deviceId: string; from: number; to: number; limit: number; before: StateEvent | null; events: StateEvent[]; truncated: boolean }

async function newFirm(): Promise<NewFirm> {
  const f = testFirm();
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', f)).status, 201);
  return f;
}
async function newDevice(firm: NewFirm, type = 'loom'): Promise<Provisioned> {
  const r = await api<Provisioned>(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/devices`, { type, name: `${type} ${Math.random()}` });
  assert.equal(r.status, 201);
  return r.body;
}
async function newToken(role: string, name: string, firmId?: string): Promise<Token> {
  const r = await api<Token>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role, name, ...(firmId ? { firmId } : {}) });
  assert.equal(r.status, 201);
  return r.body;
}
/** Writes machine_state points straight into InfluxDB, as the ingest writer would. */
async function writeStates(firm: NewFirm, device: Provisioned, events: Array<[number, string, string?]>): Promise<void> {
  const tags = tagSet({ firmId: firm.id, deviceId: device.id, type: device.type, county: firm.county, park: firm.park, segment: firm.segment });
  await sys.store.write(events.map(([ts, state, reason]) => stateLine(tags, ts, state, reason)));
}
const states = (token: string, id: string, query = '') => api<StateHistory>(sys, token, 'GET', `/api/v1/devices/${id}/states${query}`);

describe('GET /me', () => {
  test('tells each role who it is; firmId only for an engineer', async () => {
    const firm = await newFirm();
    const admin = await api(sys, sys.adminToken, 'GET', '/api/v1/me');
    assert.equal(admin.status, 200);
    const adminBody = admin.body as Token;
    assert.match(adminBody.tokenId, /\S/);
    assert.deepEqual(adminBody, { role: 'admin', firmId: null, name: 'test admin', tokenId: adminBody.tokenId });

    const bureau = await newToken('bureau', 'statistics bureau');
    assert.deepEqual((await api(sys, bureau.token, 'GET', '/api/v1/me')).body, { role: 'bureau', firmId: null, name: 'statistics bureau', tokenId: bureau.tokenId });

    const engineer = await newToken('engineer', 'engineer of A', firm.id);
    assert.deepEqual((await api(sys, engineer.token, 'GET', '/api/v1/me')).body, { role: 'engineer', firmId: firm.id, name: 'engineer of A', tokenId: engineer.tokenId });
    assert.notEqual(engineer.tokenId, bureau.tokenId);

    assert.equal((await api(sys, 'at_no_such_token', 'GET', '/api/v1/me')).status, 401);
  });
});

describe('GET /devices/{id}/states', () => {
  let firmA: NewFirm;
  let firmB: NewFirm;
  let loom: Provisioned;
  let other: Provisioned;
  let foreign: Provisioned;
  // Whole seconds, five days ago: far from the default 24 h window.
  const t0 = Math.floor((Date.now() - 5 * DAY) / 1000) * 1000;
  const min = 60_000;

  before(async () => {
    firmA = await newFirm();
    firmB = await newFirm();
    loom = await newDevice(firmA);
    other = await newDevice(firmA);
    foreign = await newDevice(firmB);
    await writeStates(firmA, loom, [
      [t0 - 3 * HOUR, 'idle'],
      [t0 - HOUR, 'fault', 'thread break "weft" #3'],
      [t0, 'running'],
      [t0 + 10 * min, 'setup', 'style change'],
      [t0 + 20 * min, 'running'],
      [t0 + HOUR, 'stopped', 'end of shift'],
    ]);
    // Another device of the same firm and a device of another firm, at times inside the range: never shown.
    await writeStates(firmA, other, [[t0 - 30 * min, 'maintenance'], [t0 + 5 * min, 'fault', 'other device']]);
    await writeStates(firmB, foreign, [[t0 + 15 * min, 'idle']]);
  });

  test('events in [from, to) oldest first, with the state before from', async () => {
    const r = await states(sys.adminToken, loom.id, `?from=${t0}&to=${t0 + HOUR}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      deviceId: loom.id, from: t0, to: t0 + HOUR, limit: 1000,
      before: { ts: t0 - HOUR, state: 'fault', reason: 'thread break "weft" #3' },
      events: [
        { ts: t0, state: 'running', reason: null },
        { ts: t0 + 10 * min, state: 'setup', reason: 'style change' },
        { ts: t0 + 20 * min, state: 'running', reason: null },
      ],
      truncated: false,
    });
  });

  test('from just after an event: that event is the state before, not an event', async () => {
    const r = await states(sys.adminToken, loom.id, `?from=${t0 + 1}&to=${t0 + HOUR + 1}`);
    assert.deepEqual(r.body.before, { ts: t0, state: 'running', reason: null });
    assert.deepEqual(r.body.events.map((e) => [e.ts, e.state]), [[t0 + 10 * min, 'setup'], [t0 + 20 * min, 'running'], [t0 + HOUR, 'stopped']]);
  });

  test('nothing before the first event: before is null; RFC 3339 times are accepted', async () => {
    const r = await states(sys.adminToken, loom.id, `?from=${new Date(t0 - 4 * HOUR).toISOString()}&to=${new Date(t0 - 2 * HOUR).toISOString()}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.from, t0 - 4 * HOUR);
    assert.equal(r.body.before, null);
    assert.deepEqual(r.body.events, [{ ts: t0 - 3 * HOUR, state: 'idle', reason: null }]);
  });

  test('limit cuts the list and says so; the next page starts after the last event', async () => {
    const first = await states(sys.adminToken, loom.id, `?from=${t0 - 4 * HOUR}&to=${t0 + 2 * HOUR}&limit=2`);
    assert.equal(first.status, 200);
    assert.equal(first.body.limit, 2);
    assert.equal(first.body.truncated, true);
    assert.equal(first.body.before, null);
    assert.deepEqual(first.body.events.map((e) => e.ts), [t0 - 3 * HOUR, t0 - HOUR]);
    const next = await states(sys.adminToken, loom.id, `?from=${t0 - HOUR + 1}&to=${t0 + 2 * HOUR}&limit=4`);
    assert.equal(next.body.truncated, false);
    assert.deepEqual(next.body.events.map((e) => e.ts), [t0, t0 + 10 * min, t0 + 20 * min, t0 + HOUR]);
    const exact = await states(sys.adminToken, loom.id, `?from=${t0 - 4 * HOUR}&to=${t0 + 2 * HOUR}&limit=6`);
    assert.equal(exact.body.events.length, 6);
    assert.equal(exact.body.truncated, false, 'exactly limit events is not truncated');
    for (const bad of ['0', '10001', 'x']) assert.equal((await states(sys.adminToken, loom.id, `?limit=${bad}`)).status, 400, `limit=${bad}`);
  });

  test('default range: the last 24 hours', async () => {
    const recent = Date.now() - HOUR;
    await writeStates(firmA, loom, [[recent, 'running']]);
    const before = Date.now();
    const r = await states(sys.adminToken, loom.id);
    assert.equal(r.status, 200);
    assert.equal(r.body.to - r.body.from, DAY);
    assert.ok(r.body.to >= before && r.body.to <= Date.now(), 'to defaults to now');
    assert.deepEqual(r.body.events, [{ ts: recent, state: 'running', reason: null }]);
    assert.deepEqual(r.body.before, { ts: t0 + HOUR, state: 'stopped', reason: 'end of shift' });
  });

  test('400 for from >= to, a range over 31 days, a bad time or one past what InfluxDB stores; exactly 31 days is fine', async () => {
    for (const q of [`?from=${t0}&to=${t0}`, `?from=${t0 + 1}&to=${t0}`, `?from=${t0 - 31 * DAY - 1}&to=${t0}`, '?from=yesterday', `?from=${100_000_000_000_000 - HOUR}&to=100000000000000`]) {
      const r = await states(sys.adminToken, loom.id, q);
      assert.equal(r.status, 400, q);
      assert.equal((r.body as unknown as { statusCode: number }).statusCode, 400);
    }
    const over = await api<{ message: string }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${loom.id}/states?from=${t0 - 32 * DAY}&to=${t0}`);
    assert.match(over.body.message, /at most 31 days/);
    const backwards = await api<{ message: string }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${loom.id}/states?from=${t0}&to=${t0}`);
    assert.match(backwards.body.message, /from must be before to/);
    const full = await states(sys.adminToken, loom.id, `?from=${t0 - 31 * DAY}&to=${t0}`);
    assert.equal(full.status, 200);
    assert.deepEqual(full.body.events.map((e) => e.state), ['idle', 'fault']);
  });

  test('an engineer sees their own firm\'s devices only: 404 for another firm\'s device and for unknown ids', async () => {
    const engineerA = await newToken('engineer', 'eng A', firmA.id);
    const own = await states(engineerA.token, loom.id, `?from=${t0}&to=${t0 + HOUR}`);
    assert.equal(own.status, 200);
    assert.equal(own.body.events.length, 3);
    const theirs = await states(engineerA.token, foreign.id, `?from=${t0}&to=${t0 + HOUR}`);
    assert.equal(theirs.status, 404);
    assert.ok(!JSON.stringify(theirs.body).includes('idle'));
    assert.equal((await states(sys.adminToken, 'no-such-device', `?from=${t0}&to=${t0 + HOUR}`)).status, 404);
    // The bureau reads every firm; the other firm's device has only its own event.
    const bureau = await newToken('bureau', 'bureau');
    const b = await states(bureau.token, foreign.id, `?from=${t0}&to=${t0 + HOUR}`);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.events, [{ ts: t0 + 15 * min, state: 'idle', reason: null }]);
    assert.equal(b.body.before, null);
  });
});

/** The onboarding plugin alone, told the broker's endpoints as the API would be. */
async function onboardingAlone(endpoints: MqttEndpoints) {
  const app = Fastify();
  await app.register(sharedSchemas);
  await app.register(authPlugin, { registry: sys.registry, throttle: new AuthThrottle(1000, createLogger('t', 'silent')) });
  await app.register(onboardingRoutes, { registry: sys.registry, spool: sys.spool, control: undefined, mqtt: endpoints });
  return app;
}

describe('GET /devices/{id}/latest', () => {
  test('the newest stored value of each metric, however long ago the device stopped; never a series under another firm', async () => {
    const firm = await newFirm();
    const device = await newDevice(firm, 'loom');
    const other = await newFirm();
    const now = Date.now();
    const tags = tagSet({ firmId: firm.id, deviceId: device.id, type: 'loom', county: firm.county, park: firm.park, segment: firm.segment });
    const foreign = tagSet({ firmId: other.id, deviceId: device.id, type: 'loom', county: other.county, park: other.park, segment: other.segment });
    const written: Array<[number, Record<string, number>]> = [
      [now - 3 * DAY, { speed_rpm: 500, power_kw: 3 }],
      [now - 2 * DAY, { speed_rpm: 610 }],
      [now - 2 * DAY + HOUR, { efficiency_pct: 88.5 }],
    ];
    await sys.store.write([
      ...written.map(([ts, metrics], i) => telemetryLine('loom', tags, ts, i, metrics)),
      telemetryLine('loom', foreign, now - DAY, 9, { speed_rpm: 999 }),
    ]);
    const r = await api<{ deviceId: string; values: Array<{ metric: string; unit: string; ts: number; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${device.id}/latest`);
    assert.equal(r.status, 200);
    // Expected from what was written: per metric, the value of the newest point that has it.
    const expected = new Map<string, { ts: number; value: number }>();
    for (const [ts, metrics] of written) for (const [m, v] of Object.entries(metrics)) if ((expected.get(m)?.ts ?? -1) < ts) expected.set(m, { ts, value: v });
    assert.deepEqual(new Map(r.body.values.map((v) => [v.metric, { ts: v.ts, value: v.value }])), expected);
    assert.equal(r.body.values.find((v) => v.metric === 'power_kw')?.unit, 'kW');
    const stranger = await newToken('engineer', 'stranger', other.id);
    assert.equal((await api(sys, stranger.token, 'GET', `/api/v1/devices/${device.id}/latest`)).status, 404);
  });
});

describe('where a device connects', () => {
  test('GET /devices/{id}/connection and the provisioning response: URLs and topics of the device', async () => {
    const firm = await newFirm();
    const d = await newDevice(firm);
    const prefix = `dh/v1/${firm.id}/${d.id}`;
    assert.equal(d.mqtt.topicPrefix, prefix);
    const r = await api(sys, sys.adminToken, 'GET', `/api/v1/devices/${d.id}/connection`);
    assert.equal(r.status, 200);
    const apiHost = new URL(sys.apiUrl).host;
    assert.deepEqual(r.body, {
      deviceId: d.id,
      urls: [
        { transport: 'mqtt', url: `mqtt://127.0.0.1:${sys.mqttPort}`, host: '127.0.0.1', port: sys.mqttPort },
        { transport: 'mqtts', url: `mqtts://127.0.0.1:${sys.mqttsPort}`, host: '127.0.0.1', port: sys.mqttsPort },
        { transport: 'ws', url: `ws://${apiHost}/mqtt`, host: '127.0.0.1', port: Number(new URL(sys.apiUrl).port) },
      ],
      caUrl: '/api/v1/tls/ca.pem',
      publish: { telemetry: `${prefix}/telemetry`, state: `${prefix}/state`, status: `${prefix}/status` },
      subscribe: { errors: `${prefix}/errors` },
    });
    assert.deepEqual(d.connect, r.body);
    const otherEngineer = await newToken('engineer', 'other firm', (await newFirm()).id);
    assert.equal((await api(sys, otherEngineer.token, 'GET', `/api/v1/devices/${d.id}/connection`)).status, 404);
    const ownEngineer = await newToken('engineer', 'own firm', firm.id);
    assert.equal((await api(sys, ownEngineer.token, 'GET', `/api/v1/devices/${d.id}/connection`)).status, 200);
  });

  test('with the ports configured: MQTT, MQTT over TLS and WebSocket URLs that work, with topics a state lands on', async () => {
    const firm = await newFirm();
    const d = await newDevice(firm);
    const apiHost = new URL(sys.apiUrl).host;
    // The onboarding plugin alone, told the broker's ports as the API would be.
    const app = await onboardingAlone({ port: sys.mqttPort, tlsPort: sys.mqttsPort, webSocket: true });
    try {
      const res = await app.inject({ method: 'GET', url: `/devices/${d.id}/connection`, headers: { authorization: `Bearer ${sys.adminToken}`, host: apiHost } });
      assert.equal(res.statusCode, 200);
      const c = res.json() as { urls: Array<{ transport: string; url: string }>; publish: { state: string } };
      assert.deepEqual(c.urls.map(({ transport, url }) => ({ transport, url })), [
        { transport: 'mqtt', url: `mqtt://127.0.0.1:${sys.mqttPort}` },
        { transport: 'mqtts', url: `mqtts://127.0.0.1:${sys.mqttsPort}` },
        { transport: 'ws', url: `ws://${apiHost}/mqtt` },
      ]);
      // Each URL reaches the broker with the device's credentials, and a state published on the given topic is stored.
      const ca = fs.readFileSync(sys.tlsFiles!.ca);
      const t = Math.floor(Date.now() / 1000) * 1000 - 10_000;
      for (const [i, u] of c.urls.entries()) {
        const client = await mqtt.connectAsync(u.url, { clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 0, ...(u.transport === 'mqtts' ? { ca } : {}) });
        await client.publishAsync(c.publish.state, JSON.stringify({ ts: t + i * 1000, state: 'running', reason: `via ${u.transport}` }), { qos: 1 });
        await client.endAsync();
      }
      await sys.drained();
      const h = await states(sys.adminToken, d.id, `?from=${t - 1000}&to=${t + 10_000}`);
      assert.deepEqual(h.body.events, [
        { ts: t, state: 'running', reason: 'via mqtt' },
        { ts: t + 1000, state: 'running', reason: 'via mqtts' },
        { ts: t + 2000, state: 'running', reason: 'via ws' },
      ]);
    } finally {
      await app.close();
    }
  });

  test('a configured public host wins over the request host; HTTPS gives wss; no TLS port, no mqtts URL', () => {
    const device = { id: 'loom-7', firmId: '91533102MA6N000000' };
    const origin = { hostname: '10.0.0.5', host: '10.0.0.5:8443', protocol: 'https' };
    assert.deepEqual(deviceConnection(device, { host: 'iot.dehong.example', port: 1883, webSocket: true }, origin).urls, [
      { transport: 'mqtt', url: 'mqtt://iot.dehong.example:1883', host: 'iot.dehong.example', port: 1883 },
      { transport: 'wss', url: 'wss://10.0.0.5:8443/mqtt', host: '10.0.0.5', port: 8443 },
    ]);
    assert.deepEqual(deviceConnection(device, { port: 2883 }, origin).urls, [{ transport: 'mqtt', url: 'mqtt://10.0.0.5:2883', host: '10.0.0.5', port: 2883 }]);
    assert.deepEqual(deviceConnection(device, undefined, origin).urls, []);
  });

  test('GET /tls/ca.pem: the CA certificate without a token, only its certificates; 404 with a reason when TLS is off or no CA is set', async () => {
    const res = await fetch(`${sys.apiUrl}/api/v1/tls/ca.pem`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/x-pem-file/);
    assert.equal((await res.text()).trim(), fs.readFileSync(sys.tlsFiles!.ca, 'utf8').trim());
    // A bundle that also holds a key gives out the certificate only.
    const bundle = path.join(sys.dir, 'ca-bundle.pem');
    fs.writeFileSync(bundle, `${fs.readFileSync(sys.tlsFiles!.key, 'utf8')}${fs.readFileSync(sys.tlsFiles!.ca, 'utf8')}`);
    const answers = async (endpoints: MqttEndpoints) => {
      const app = await onboardingAlone(endpoints);
      try {
        const r = await app.inject({ method: 'GET', url: '/tls/ca.pem' });
        return { status: r.statusCode, body: r.body };
      } finally {
        await app.close();
      }
    };
    const fromBundle = await answers({ port: 1883, tlsPort: 8883, caFile: bundle });
    assert.equal(fromBundle.status, 200);
    assert.doesNotMatch(fromBundle.body, /PRIVATE KEY/);
    assert.match(fromBundle.body, /^-----BEGIN CERTIFICATE-----/);
    const off = await answers({ port: 1883 });
    assert.deepEqual([off.status, JSON.parse(off.body).message], [404, 'MQTT over TLS is off on this platform (no TLS_CERT_FILE): devices connect with plain MQTT']);
    const noCa = await answers({ port: 1883, tlsPort: 8883 });
    assert.equal(noCa.status, 404);
    assert.match(JSON.parse(noCa.body).message, /TLS_CA_FILE/);
  });
});

describe('device token expiry', () => {
  test('the broker refuses an expired device token at CONNECT, also one it trusted a moment before', async () => {
    const firm = await newFirm();
    const expiresAt = Date.now() + 1500;
    const r = await api<Provisioned & { tokenExpiresAt: number | null }>(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/devices`, { type: 'loom', name: 'short-lived', tokenExpiresAt: expiresAt });
    assert.equal(r.status, 201);
    assert.equal(r.body.tokenExpiresAt, expiresAt);
    const login = { clientId: r.body.id, username: r.body.id, password: r.body.token };
    const before = await mqttConnectOnce(sys.mqttUrl, login);
    await before.endAsync();
    await new Promise((done) => setTimeout(done, Math.max(0, expiresAt - Date.now()) + 50));
    await assert.rejects(mqttConnectOnce(sys.mqttUrl, login), /Bad username or password/);
    const rotated = await api<{ token: string }>(sys, sys.adminToken, 'POST', `/api/v1/devices/${r.body.id}/token`);
    const after = await mqttConnectOnce(sys.mqttUrl, { ...login, password: rotated.body.token });
    await after.endAsync();
  });
});
