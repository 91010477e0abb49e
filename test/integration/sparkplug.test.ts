// Sparkplug B end to end: an edge node built on Eclipse Tahu's client (a gateway's credential) → the broker as
// Primary Host Application on a real socket → admission → spool → ingest writer → a real influxd → the API.
// Births and data by alias stored; an unknown alias answered with NCMD Node Control/Rebirth; an unmapped metric
// rejected with a reason that says how to map it, then mapped through the API; historical metrics stored with
// their own timestamps; DDEATH and NDEATH take devices offline; after a broker restart the host's STATE is online
// again, the edge node rebirths and its data goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { TestEdgeNode, type BirthMetric } from '../helpers/sparkplug-edge.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { createBroker, type DehongBroker } from '../../broker/broker.ts';
import { DEFAULT_HOST_ID } from '../../broker/sparkplug/host.ts';
import { stateTopic } from '../../broker/sparkplug/topic.ts';
import { decodeSparkplug, encodeSparkplug } from '../../broker/sparkplug/payload.ts';
import { createLogger } from '../../common/log.ts';
import type { LiveDevice, LiveSummary } from '../../common/contract/live.ts';
import { freePort, waitFor } from '../../scripts/net.ts';

let sys: TestSystem;
let broker: DehongBroker;
let port: number;
let mqttUrl: string;

/** The broker under test, on its own port so it can be restarted (the registry and spool are the system's). */
async function startBroker(): Promise<DehongBroker> {
  const b = await createBroker({
    registry: sys.registry, spool: sys.spool, serviceSecret: sys.serviceSecret, log: createLogger('sparkplug-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    limits: { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 }, admission: { liveIntervalMs: 200 }, seenFlushMs: 200,
    sparkplug: { mappingsTtlMs: 0, rebirthIntervalMs: 500 },
  });
  await b.listen(port, '127.0.0.1');
  return b;
}

before(async () => {
  sys = await startTestSystem();
  port = await freePort();
  mqttUrl = `mqtt://127.0.0.1:${port}`;
  broker = await startBroker();
});
after(async () => {
  await broker.close();
  await sys.close();
});

const LOOM: BirthMetric[] = [
  { name: 'speed_rpm', alias: 1, type: 'Float', value: 600 },
  { name: 'Loom/power_kw', alias: 2, type: 'Float', value: 5 },
  { name: 'Machine/State', alias: 3, type: 'String', value: 'running' },
];
const DYEING: BirthMetric[] = [{ name: 'bath_temp_c', alias: 11, type: 'Double', value: 60 }];

interface Setup { firmId: string; loom: string; dyeing: string; gatewayId: string; token: string; edge: TestEdgeNode }

/** A firm with a loom and a dyeing machine behind one gateway, its state metric mapped, and its edge node born. */
async function setup(): Promise<Setup> {
  const firm = testFirm();
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  const loom = (await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'sp loom')).id;
  const dyeing = (await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'dyeing_machine', 'sp dyeing')).id;
  const { gateway, token } = await sys.registry.createGateway({ firmId: firm.id, name: 'PLC gateway', deviceIds: [loom, dyeing] });
  const put = await api(sys, sys.adminToken, 'PUT', `/api/v1/gateways/${gateway.id}/sparkplug-mappings`, { loom: { 'Machine/State': 'state' } });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const edge = new TestEdgeNode({ mqttUrl, firmId: firm.id, gatewayId: gateway.id, token, devices: { [loom]: LOOM, [dyeing]: DYEING } });
  await edge.bornTimes(1);
  return { firmId: firm.id, loom, dyeing, gatewayId: gateway.id, token, edge };
}

async function drained(): Promise<void> {
  await broker.admission.flushNow();
  await waitFor(async () => (await sys.spool.stats()).rows === 0, 20_000, 'the spool to drain');
}

async function points(deviceId: string, metric: string, from: number): Promise<Array<{ ts: number; value: number }>> {
  const r = await api<{ points: Array<{ ts: number; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${deviceId}/telemetry?metric=${metric}&from=${from}&to=${Date.now() + 1000}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.points;
}

/** Waits until the metric has a point at ts with this value (QoS 0 publishes have no PUBACK to wait for). */
async function stored(deviceId: string, metric: string, ts: number, value: number): Promise<void> {
  await waitFor(async () => {
    await drained();
    return (await points(deviceId, metric, ts - 1)).some((p) => p.ts === ts && p.value === value);
  }, 20_000, `${metric}=${value} of ${deviceId} at ${ts}`);
}

async function rejected(firmId: string, deviceId: string): Promise<Array<{ rule: string; reason: string; topic: string; payload: string }>> {
  await drained();
  const r = await api<Array<{ rule: string; reason: string; topic: string; payload: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firmId}/rejected?deviceId=${deviceId}`);
  assert.equal(r.status, 200);
  return r.body;
}

/** A time for data just after the births (a DBIRTH's values at the same millisecond would make it a conflict). */
const afterBirth = (): number => Date.now() + 10;

const online = async (deviceId: string): Promise<boolean> => (await sys.registry.getDevice(deviceId))?.online === true;

describe('Sparkplug B edge node', () => {
  test('births and data by alias are stored and read back through the API; the devices are online; the state metric is a state', async () => {
    const s = await setup();
    // The firm page's live view comes from admission's per-second summaries, as for JSON devices.
    const live = new Promise<LiveDevice>((resolve) => {
      const listener = (summary: LiveSummary): void => {
        const d = summary.devices.find((x) => x.deviceId === s.loom && x.metrics.speed_rpm === 612.5);
        if (d) { broker.admission.off('live', listener); resolve(d); }
      };
      broker.admission.on('live', listener);
    });
    const t = afterBirth();
    s.edge.data(s.loom, [{ alias: 1, type: 'Float', value: 612.5 }, { alias: 2, type: 'Float', value: 6.5 }], t);
    const seen = await Promise.race([live, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('no live summary with the loom')), 10_000).unref())]);
    assert.equal(seen.firmId, s.firmId);
    assert.equal(seen.state, 'running');
    s.edge.data(s.dyeing, [{ alias: 11, type: 'Double', value: 98.5 }], t);
    await stored(s.loom, 'speed_rpm', t, 612.5);
    await stored(s.loom, 'power_kw', t, 6.5);
    await stored(s.dyeing, 'bath_temp_c', t, 98.5);
    // The DBIRTH's values are data too.
    assert.ok((await points(s.loom, 'speed_rpm', t - 60_000)).some((p) => p.value === 600));
    const states = await api<{ events: Array<{ state: string }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${s.loom}/states?from=${t - 60_000}`);
    assert.equal(states.status, 200, JSON.stringify(states.body));
    assert.ok(states.body.events.some((e) => e.state === 'running'), JSON.stringify(states.body));
    await waitFor(async () => (await online(s.loom)) && (await online(s.dyeing)), 5000, 'devices online');
    const latest = await api<{ values: Array<{ metric: string; value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${s.dyeing}/latest`);
    assert.deepEqual(latest.body.values.map((v) => [v.metric, v.value]), [['bath_temp_c', 98.5]]);
    assert.deepEqual(await rejected(s.firmId, s.loom), []);
    s.edge.stop();
  });

  test('an unknown alias is answered with NCMD Node Control/Rebirth; the edge node rebirths and its data goes on', async () => {
    const s = await setup();
    s.edge.data(s.loom, [{ alias: 99, type: 'Float', value: 1 }]);
    await s.edge.bornTimes(2);
    assert.equal(s.edge.rebirthRequests, 1);
    const reasons = await rejected(s.firmId, s.loom);
    assert.ok(reasons.some((r) => /alias 99 was not defined/.test(r.reason) && r.topic.endsWith(`/DDATA/${s.gatewayId}/${s.loom}`)), JSON.stringify(reasons));
    const t = afterBirth();
    s.edge.data(s.loom, [{ alias: 1, type: 'Float', value: 640 }], t);
    await stored(s.loom, 'speed_rpm', t, 640);
    s.edge.stop();
  });

  test('an unmapped metric is rejected with how to map it; a wrong mapping is refused naming the entry; a right one makes it flow', async () => {
    const s = await setup();
    s.edge.data(s.loom, [{ name: 'Spindle Speed', type: 'Float', value: 300 }]);
    await waitFor(async () => (await rejected(s.firmId, s.loom)).length > 0, 10_000, 'the rejection');
    const [first] = await rejected(s.firmId, s.loom);
    assert.equal(first!.rule, 'sparkplug-mapping');
    // Kept readable: the decoded Sparkplug payload as JSON.
    assert.equal((JSON.parse(first!.payload) as { metrics: Array<{ name: string; value: number }> }).metrics[0]?.name, 'Spindle Speed');
    assert.match(first!.reason, new RegExp(`"Spindle Speed" of device type loom is not mapped.*PUT /api/v1/gateways/${s.gatewayId}/sparkplug-mappings`));
    const path = `/api/v1/gateways/${s.gatewayId}/sparkplug-mappings`;
    const bad = await api<{ message: string }>(sys, sys.adminToken, 'PUT', path, { loom: { 'Spindle Speed': 'spindle_rpm' }, looms: {} });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /loom\["Spindle Speed"\] maps to "spindle_rpm", which is not a metric of device type loom/);
    assert.match(bad.body.message, /"looms" is not a device type/);
    const good = await api<{ mappings: unknown }>(sys, sys.adminToken, 'PUT', path, { loom: { 'Spindle Speed': 'speed_rpm', 'Machine/State': 'state' } });
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.deepEqual((await api(sys, sys.adminToken, 'GET', path)).body, { gatewayId: s.gatewayId, firmId: s.firmId, mappings: { loom: { 'Spindle Speed': 'speed_rpm', 'Machine/State': 'state' } } });
    const t = afterBirth();
    s.edge.data(s.loom, [{ name: 'Spindle Speed', type: 'Float', value: 301 }], t);
    await stored(s.loom, 'speed_rpm', t, 301);
    s.edge.stop();
  });

  test('mappings: read by whoever sees the firm, replaced by its engineer or an admin; other firms get 404', async () => {
    const firm = testFirm();
    assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
    const { gateway } = await sys.registry.createGateway({ firmId: firm.id, name: 'gw', deviceIds: [] });
    const path = `/api/v1/gateways/${gateway.id}/sparkplug-mappings`;
    const own = (await sys.registry.createApiToken('engineer', firm.id, 'own engineer')).token;
    const otherFirm = testFirm();
    assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', otherFirm)).status, 201);
    const other = (await sys.registry.createApiToken('engineer', otherFirm.id, 'other engineer')).token;
    const bureau = (await sys.registry.createApiToken('bureau', null, 'bureau')).token;
    const body = { electricity_meter: { 'Meter/P': 'power_kw' } };
    assert.equal((await api(sys, own, 'PUT', path, body)).status, 200);
    assert.deepEqual((await api<{ mappings: unknown }>(sys, bureau, 'GET', path)).body.mappings, body);
    assert.equal((await api(sys, bureau, 'PUT', path, body)).status, 403);
    assert.equal((await api(sys, other, 'GET', path)).status, 404);
    assert.equal((await api(sys, other, 'PUT', path, body)).status, 404);
    assert.equal((await api(sys, sys.adminToken, 'GET', '/api/v1/gateways/gw-nonexistent/sparkplug-mappings')).status, 404);
    const audit = await sys.registry.listAudit({ limit: 5, target: gateway.id });
    assert.ok(audit.some((e) => e.action === 'gateway.sparkplug-mappings'));
  });

  test('with QoS 1 the PUBACK comes once the message is kept; a seq gap asks for a rebirth (an edge node on MQTT.js)', async () => {
    const firm = testFirm();
    assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
    const loom = (await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'qos1 loom')).id;
    const { gateway, token } = await sys.registry.createGateway({ firmId: firm.id, name: 'qos1', deviceIds: [loom] });
    const c = await mqtt.connectAsync(mqttUrl, { clientId: gateway.id, username: gateway.id, password: token, reconnectPeriod: 0 });
    const ncmd = new Promise<string[]>((resolve) => c.on('message', (_t, p) => resolve(decodeSparkplug(p).metrics.map((m) => `${m.name}=${String(m.value)}`))));
    await c.subscribeAsync(`spBv1.0/${firm.id}/NCMD/${gateway.id}`, { qos: 0 });
    const base = `spBv1.0/${firm.id}`;
    const now = Date.now();
    await c.publishAsync(`${base}/NBIRTH/${gateway.id}`, encodeSparkplug({ timestamp: now, seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }] }), { qos: 1 });
    await c.publishAsync(`${base}/DBIRTH/${gateway.id}/${loom}`, encodeSparkplug({ timestamp: now, seq: 1, metrics: [{ name: 'speed_rpm', alias: 1, type: 'Float', value: 600 }] }), { qos: 1 });
    await c.publishAsync(`${base}/DDATA/${gateway.id}/${loom}`, encodeSparkplug({ timestamp: now + 10, seq: 2, metrics: [{ name: 'Bobbin', type: 'Float', value: 1 }] }), { qos: 1 });
    // Acknowledged only after the dead letter was committed: it is there at once.
    const dead = await sys.spool.listDeadLetters({ firmId: firm.id, deviceId: loom, limit: 10 });
    assert.equal(dead[0]?.rule, 'sparkplug-mapping');
    await c.publishAsync(`${base}/DDATA/${gateway.id}/${loom}`, encodeSparkplug({ timestamp: now + 20, seq: 9, metrics: [{ alias: 1, type: 'Float', value: 615 }] }), { qos: 1 });
    assert.deepEqual(await ncmd, ['Node Control/Rebirth=true']);
    await stored(loom, 'speed_rpm', now + 20, 615);
    await c.endAsync();
  });

  test('historical metrics are stored with their own timestamps (the backfill path)', async () => {
    const s = await setup();
    const t0 = Date.now() - 3_600_000;
    s.edge.data(s.loom, [
      { alias: 1, type: 'Float', value: 500, timestamp: t0, isHistorical: true },
      { alias: 1, type: 'Float', value: 505, timestamp: t0 + 1000, isHistorical: true },
    ]);
    await stored(s.loom, 'speed_rpm', t0, 500);
    await stored(s.loom, 'speed_rpm', t0 + 1000, 505);
    s.edge.stop();
  });

  test('DDEATH takes its device offline, NDEATH all of the node\'s', async () => {
    const s = await setup();
    await waitFor(async () => (await online(s.loom)) && (await online(s.dyeing)), 5000, 'devices online');
    s.edge.deviceDeath(s.dyeing);
    await waitFor(async () => !(await online(s.dyeing)), 5000, 'the dyeing machine offline');
    assert.ok(await online(s.loom));
    s.edge.stop();
    await waitFor(async () => !(await online(s.loom)), 5000, 'the loom offline');
  });

  test('after a broker restart the host STATE is online again, the edge node rebirths and its data goes on', async () => {
    const s = await setup();
    // Another gateway of the firm watches the host's STATE (retained) with a plain MQTT client.
    const watcherGw = await sys.registry.createGateway({ firmId: s.firmId, name: 'watcher', deviceIds: [] });
    const states: Array<{ online: boolean; timestamp: number }> = [];
    const watcher = mqtt.connect(mqttUrl, { clientId: watcherGw.gateway.id, username: watcherGw.gateway.id, password: watcherGw.token, reconnectPeriod: 200 });
    watcher.on('message', (_topic, payload) => states.push(JSON.parse(payload.toString()) as { online: boolean; timestamp: number }));
    watcher.on('connect', () => { watcher.subscribe(stateTopic(DEFAULT_HOST_ID), { qos: 1 }); });
    await waitFor(async () => states.some((x) => x.online), 5000, 'the online STATE');
    const firstBirth = states.find((x) => x.online)!.timestamp;

    await broker.close();
    broker = await startBroker();
    await waitFor(async () => states.some((x) => x.online && x.timestamp > firstBirth), 10_000, 'a new online STATE');
    await s.edge.bornTimes(2);
    const t = afterBirth();
    s.edge.data(s.loom, [{ alias: 1, type: 'Float', value: 655 }], t);
    await stored(s.loom, 'speed_rpm', t, 655);
    watcher.end(true);
    s.edge.stop();
  });
});
