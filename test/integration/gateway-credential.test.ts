// One gateway credential for several devices, against the real broker, ingest writer, influxd and API, with MQTT.js:
// - a gateway logs in with its id and token and publishes for its two devices: both are stored in InfluxDB and
//   counted as seen and online;
// - a publish for another firm's device, or one of its firm's devices not assigned to it, is refused, kept as a dead
//   letter and reported on the gateway's own errors topic (the only one it may subscribe to);
// - rotation, removal, a new device list and the removal of one of its devices through the API close its
//   connection; the old token is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { topicFor } from '../../common/contract/topics.ts';
import { waitFor } from '../../scripts/net.ts';
import { api, mqttConnectOnce, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';

let sys: TestSystem;
const firm = testFirm();
const otherFirm = testFirm();

before(async () => {
  sys = await startTestSystem();
  await sys.registry.createFirm(firm);
  await sys.registry.createFirm(otherFirm);
});
after(async () => { await sys.close(); });

async function devices() {
  const loom = (await sys.registry.createDevice({ firmId: firm.id, type: 'loom', name: '织机 1' })).device;
  const meter = (await sys.registry.createDevice({ firmId: firm.id, type: 'electricity_meter', name: '电表 1' })).device;
  const unassigned = (await sys.registry.createDevice({ firmId: firm.id, type: 'loom', name: '织机 2' })).device;
  const foreign = (await sys.registry.createDevice({ firmId: otherFirm.id, type: 'loom', name: 'X' })).device;
  return { loom, meter, unassigned, foreign };
}

const connectAs = (id: string, token: string) => mqttConnectOnce(sys.mqttUrl, { clientId: id, username: id, password: token });
const closedWithin = (client: mqtt.MqttClient, ms: number) => new Promise<boolean>((resolve) => {
  const t = setTimeout(() => resolve(false), ms);
  client.once('close', () => { clearTimeout(t); resolve(true); });
});
const telemetry = (seq: number, metrics: Record<string, number>) => JSON.stringify({ ts: Date.now(), seq, metrics });

describe('a gateway publishes for the devices assigned to it with one credential', () => {
  test('its devices\' data is stored; other devices\' is refused and reported on its errors topic', async () => {
    const { loom, meter, unassigned, foreign } = await devices();
    const { gateway, token } = await sys.registry.createGateway({ firmId: firm.id, name: '车间网关', deviceIds: [loom.id, meter.id] });
    const client = await connectAs(gateway.id, token);
    const errors: Array<{ topic: string; problems: Array<{ rule: string; message: string }> }> = [];
    client.on('message', (_t, payload) => errors.push(JSON.parse(payload.toString())));
    const granted = await client.subscribeAsync(topicFor(firm.id, gateway.id, 'errors'), { qos: 0 });
    assert.equal(granted[0]?.qos, 0, 'the gateway may subscribe to its own errors topic');
    await assert.rejects(client.subscribeAsync(topicFor(firm.id, loom.id, 'errors'), { qos: 0 }), /Subscribe error/, 'not to a device\'s');
    await waitFor(async () => (await sys.registry.getGateway(gateway.id))?.online === true, 5000, 'the gateway online');

    for (let seq = 1; seq <= 3; seq++) {
      await client.publishAsync(topicFor(firm.id, loom.id, 'telemetry'), telemetry(seq, { speed_rpm: 600 + seq }), { qos: 1 });
      await client.publishAsync(topicFor(firm.id, meter.id, 'telemetry'), telemetry(seq, { energy_kwh_total: 100 + seq, power_kw: 4 }), { qos: 1 });
    }
    const refusedTopics = [topicFor(firm.id, unassigned.id, 'telemetry'), topicFor(otherFirm.id, foreign.id, 'telemetry'), topicFor(firm.id, gateway.id, 'telemetry')];
    for (const t of refusedTopics) await client.publishAsync(t, telemetry(1, { speed_rpm: 1 }), { qos: 1 });
    await sys.drained();
    assert.equal(await sys.countPoints('loom', loom.id), 3);
    assert.equal(await sys.countPoints('electricity_meter', meter.id, 'power_kw'), 3);
    assert.equal(await sys.countPoints('loom', unassigned.id), 0, 'an unassigned device\'s data is not stored');
    assert.equal(await sys.countPoints('loom', foreign.id), 0, 'nor another firm\'s');

    await waitFor(async () => errors.length >= 3, 5000, 'three refusals on the gateway\'s errors topic');
    assert.deepEqual(errors.map((e) => e.topic), refusedTopics);
    for (const e of errors) {
      assert.equal(e.problems[0]?.rule, 'topic');
      assert.match(e.problems[0]?.message ?? '', new RegExp(`gateway ${gateway.id} may not publish`));
    }
    const dead = await api<Array<{ deviceId: string; topic: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected?deviceId=${gateway.id}`);
    assert.equal(dead.status, 200);
    assert.deepEqual(new Set(dead.body.map((d) => d.topic)), new Set(refusedTopics), 'kept as dead letters of the gateway');

    await waitFor(async () => (await sys.registry.getDevice(loom.id))?.lastTelemetryAt !== null, 5000, 'the loom seen');
    assert.equal((await sys.registry.getDevice(meter.id))?.online, true, 'devices behind a connected gateway are online');
    assert.equal((await sys.registry.getDevice(unassigned.id))?.online, false);
    client.end();
    await waitFor(async () => (await sys.registry.getGateway(gateway.id))?.online === false && (await sys.registry.getDevice(loom.id))?.online === false, 5000, 'offline after it left');
  });

  test('a device token is no gateway\'s and a gateway token no device\'s; a wrong token is refused', async () => {
    const { loom } = await devices();
    const { gateway, token } = await sys.registry.createGateway({ firmId: firm.id, name: 'g', deviceIds: [loom.id] });
    await assert.rejects(connectAs(gateway.id, `${token}x`));
    await assert.rejects(connectAs(loom.id, token), 'a gateway token does not log a device in');
    await assert.rejects(connectAs(gateway.id.replace('gw-', 'xx-'), token));
  });

  test('the periodic re-check closes a gateway rotated, given another device list, or removed straight in the registry', async () => {
    const { loom, meter } = await devices();
    const { gateway, token } = await sys.registry.createGateway({ firmId: firm.id, name: 'g', deviceIds: [loom.id] });
    let client = await connectAs(gateway.id, token);
    assert.equal(await sys.broker.checkCredentials(), 0, 'nothing changed: it stays');
    let closed = closedWithin(client, 3000);
    await sys.registry.updateGateway(gateway.id, { deviceIds: [loom.id, meter.id] });
    assert.equal(await sys.broker.checkCredentials(), 1);
    assert.ok(await closed, 'a new device list: reconnect to take it up');
    client = await connectAs(gateway.id, token);
    await client.publishAsync(topicFor(firm.id, meter.id, 'telemetry'), telemetry(1, { energy_kwh_total: 5, power_kw: 1 }), { qos: 1 });
    await sys.drained();
    assert.equal(await sys.countPoints('electricity_meter', meter.id, 'power_kw'), 1, 'the newly assigned device is taken');
    closed = closedWithin(client, 3000);
    const rotated = await sys.registry.rotateGatewayToken(gateway.id);
    assert.equal(await sys.broker.checkCredentials(), 1);
    assert.ok(await closed, 'rotated');
    await assert.rejects(connectAs(gateway.id, token), 'the old token is refused');
    client = await connectAs(gateway.id, rotated);
    closed = closedWithin(client, 3000);
    await sys.registry.deleteGateway(gateway.id);
    assert.equal(await sys.broker.checkCredentials(), 1);
    assert.ok(await closed, 'removed');
  });

  test('through the API: engineers of the firm and admins manage, the bureau reads, another firm sees nothing; changes are audited and close the connection', async () => {
    const { loom, meter, foreign } = await devices();
    const eng = (await sys.registry.createApiToken('engineer', firm.id, 'eng')).token;
    const bureau = (await sys.registry.createApiToken('bureau', null, 'bureau')).token;
    const stranger = (await sys.registry.createApiToken('engineer', otherFirm.id, 'other eng')).token;
    const base = `/api/v1/firms/${firm.id}/gateways`;
    type Provisioned = { id: string; token: string; deviceIds: string[]; mqtt: { errorsTopic: string } };
    assert.equal((await api(sys, bureau, 'POST', base, { name: 'g', deviceIds: [loom.id] })).status, 403);
    assert.equal((await api(sys, stranger, 'POST', base, { name: 'g', deviceIds: [loom.id] })).status, 404);
    const foreignDevice = await api<{ message: string }>(sys, eng, 'POST', base, { name: 'g', deviceIds: [loom.id, foreign.id] });
    assert.equal(foreignDevice.status, 400);
    assert.match(foreignDevice.body.message, new RegExp(`device ${foreign.id} is not a device of firm`));
    assert.equal((await api(sys, eng, 'POST', base, { name: 'g', deviceIds: [], id: loom.id })).status, 409, 'a device\'s id is not free');
    const created = await api<Provisioned>(sys, eng, 'POST', base, { name: '前纺网关', deviceIds: [loom.id] });
    assert.equal(created.status, 201);
    const g = created.body;
    assert.match(g.token, /^gt_/);
    assert.equal(g.mqtt.errorsTopic, topicFor(firm.id, g.id, 'errors'));
    assert.equal((await api<Array<{ id: string }>>(sys, bureau, 'GET', base)).body.some((x) => x.id === g.id), true, 'the bureau reads');
    assert.equal((await api(sys, stranger, 'GET', `/api/v1/gateways/${g.id}`)).status, 404, 'another firm\'s engineer: as if it did not exist');
    assert.equal((await api(sys, stranger, 'GET', base)).status, 404);
    assert.ok(!JSON.stringify((await api(sys, sys.adminToken, 'GET', `/api/v1/gateways/${g.id}`)).body).includes(g.token));

    let client = await connectAs(g.id, g.token);
    let closed = closedWithin(client, 3000);
    const patched = await api<{ deviceIds: string[] }>(sys, eng, 'PATCH', `/api/v1/gateways/${g.id}`, { deviceIds: [loom.id, meter.id] });
    assert.deepEqual(patched.body.deviceIds, [loom.id, meter.id].sort());
    assert.ok(await closed, 'a new device list closes the connection');
    assert.equal((await api(sys, bureau, 'PATCH', `/api/v1/gateways/${g.id}`, { name: 'x' })).status, 403);
    assert.equal((await api(sys, eng, 'PATCH', `/api/v1/gateways/${g.id}`, { deviceIds: [foreign.id] })).status, 400);

    client = await connectAs(g.id, g.token);
    closed = closedWithin(client, 3000);
    const rotated = await api<{ token: string }>(sys, eng, 'POST', `/api/v1/gateways/${g.id}/token`);
    assert.equal(rotated.status, 200);
    assert.ok(await closed, 'rotation closes the connection');
    await assert.rejects(connectAs(g.id, g.token), 'the old token is refused');
    client = await connectAs(g.id, rotated.body.token);
    closed = closedWithin(client, 3000);
    assert.equal((await api(sys, eng, 'DELETE', `/api/v1/devices/${meter.id}`)).status, 204);
    assert.ok(await closed, 'a device of the gateway removed: it reconnects with the shorter list');
    assert.deepEqual((await sys.registry.getGateway(g.id))?.deviceIds, [loom.id]);
    client = await connectAs(g.id, rotated.body.token);
    closed = closedWithin(client, 3000);
    assert.equal((await api(sys, stranger, 'DELETE', `/api/v1/gateways/${g.id}`)).status, 404);
    assert.equal((await api(sys, eng, 'DELETE', `/api/v1/gateways/${g.id}`)).status, 204);
    assert.ok(await closed, 'removal closes the connection');
    assert.equal((await api(sys, eng, 'GET', `/api/v1/gateways/${g.id}`)).status, 404);
    const trail = await sys.registry.listAudit({ limit: 20, target: g.id });
    assert.deepEqual(trail.map((e) => e.action).reverse(), ['gateway.provision', 'gateway.update', 'gateway.rotate-token', 'gateway.delete']);
  });
});
