// Each fault the simulators inject, through the real platform (private influxd, the broker on a real socket,
// the ingest writer, an API with its Monitoring fed by the broker's live summaries): its alarm appears in
// GET /alarms, and the firm's 企业微信 group (a local stand-in) is told. Rule durations are seconds here so
// the file stays short.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import type { FastifyInstance } from 'fastify';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { waitFor } from '../../scripts/net.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { buildApp } from '../../api/app.ts';
import { openMonitoring, type Monitoring } from '../../analytics/index.ts';
import { createLogger } from '../../common/log.ts';
import type { Alarm } from '../../analytics/alarms/alarms.ts';

let sys: TestSystem;
let monitoring: Monitoring;
let app: FastifyInstance;
const node = { apiUrl: '' };
let firmId: string;
/** Stands in for the firm's 企业微信 group robot: what the platform posted to it. */
const posted: Array<{ markdown: { content: string } }> = [];
const robot = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
  req.on('end', () => {
    posted.push(JSON.parse(body) as { markdown: { content: string } });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
  });
});
const dev: Record<'skewed' | 'dyer' | 'meter' | 'loom', DeviceCredentials | undefined> = { skewed: undefined, dyer: undefined, meter: undefined, loom: undefined };
const creds = (k: keyof typeof dev) => dev[k] as DeviceCredentials;

before(async () => {
  sys = await startTestSystem();
  monitoring = openMonitoring({ file: `${sys.dir}/monitoring.db`, registry: sys.registry, store: sys.store, spool: sys.spool, connectedWindowDays: 30, offlineCheckMs: 500, alarmCheckMs: 500 });
  monitoring.start({ live: sys.broker.admission });
  app = await buildApp({ registry: sys.registry, spool: sys.spool, store: sys.store, log: createLogger('test', 'silent'), connectedWindowDays: 30, live: sys.broker.admission, monitoring });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  node.apiUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const firm = testFirm();
  firmId = firm.id;
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  dev.skewed = await provisionDevice(sys.apiUrl, sys.adminToken, firmId, 'dyeing_machine', '1号染色机');
  dev.dyer = await provisionDevice(sys.apiUrl, sys.adminToken, firmId, 'dyeing_machine', '3号染色机');
  dev.meter = await provisionDevice(sys.apiUrl, sys.adminToken, firmId, 'electricity_meter', '总电表');
  dev.loom = await provisionDevice(sys.apiUrl, sys.adminToken, firmId, 'loom', '7号织机');
  const rule = { firmId, severity: 'warning', windowS: 60, durationS: 0 };
  for (const r of [
    { ...rule, name: 'clock', kind: 'clock_skew', value: 5 },
    { ...rule, name: 'rejected', kind: 'rejected', value: 3 },
    { ...rule, name: 'stuck', kind: 'stuck', deviceType: 'dyeing_machine', metric: 'bath_temp_c', value: 0, durationS: 2 },
    { ...rule, name: 'fault', kind: 'state', states: ['fault'], durationS: 1 },
    { ...rule, name: 'reset', kind: 'counter_reset', value: 5 },
    { ...rule, name: 'offline', kind: 'offline', deviceId: creds('loom').id, value: 0.05 },
    { ...rule, firmId: null, name: 'spool', kind: 'spool', value: 5 },
    { ...rule, firmId: null, name: 'influx', kind: 'store_down', durationS: 1 },
  ]) {
    const res = await api(node, sys.adminToken, 'POST', '/api/v1/alarm-rules', r);
    assert.equal(res.status, 201, `${r.name}: ${JSON.stringify(res.body)}`);
  }
  await new Promise<void>((r) => robot.listen(0, '127.0.0.1', r));
  const wecom = { name: '染整车间群', kind: 'wecom', url: `http://127.0.0.1:${(robot.address() as AddressInfo).port}/cgi-bin/webhook/send?key=k`, firmId, minSeverity: 'info', maxPerHour: 100 };
  assert.equal((await api(node, sys.adminToken, 'POST', '/api/v1/alarm-channels', wecom)).status, 201);
});
after(async () => {
  await new Promise((r) => robot.close(r));
  await app.close();
  await monitoring.close();
  await sys.close();
});

async function publish(c: DeviceCredentials, messages: Array<[kind: 'telemetry' | 'state', body: unknown]>, gapMs = 0): Promise<void> {
  const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });
  for (const [kind, body] of messages) {
    await client.publishAsync(topicFor(c.firmId, c.id, kind), JSON.stringify(body), { qos: 1 });
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  await client.endAsync();
}

/** Waits for an alarm of this kind on this device in GET /alarms and returns it. */
async function alarmOf(kind: string, deviceId: string, timeoutMs = 15_000): Promise<Alarm> {
  let found: Alarm | undefined;
  await waitFor(async () => {
    const r = await api<Alarm[]>(node, sys.adminToken, 'GET', `/api/v1/alarms?status=all&kind=${kind}&deviceId=${deviceId}`);
    found = r.body[0];
    return found !== undefined;
  }, timeoutMs, `a ${kind} alarm for ${deviceId}`);
  return found as Alarm;
}

const tele = (ts: number, seq: number, metrics: Record<string, number>) => ['telemetry', { ts, seq, metrics }] as ['telemetry', unknown];

describe('every injected fault raises its alarm', () => {
  test('clock-ahead rejections raise clock skew and a burst of rejected messages', async () => {
    const c = creds('skewed');
    await publish(c, [tele(Date.now() - 1000, 0, { bath_temp_c: 80 })]);
    await new Promise((r) => setTimeout(r, 1200)); // the checks learn the counts before the burst
    const ahead = Date.now() + 10 * 60_000;
    await publish(c, Array.from({ length: 5 }, (_, i) => tele(ahead + i * 1000, i + 1, { bath_temp_c: 80 })));
    const clock = await alarmOf('clock_skew', c.id);
    assert.match(clock.messages.zh, /^1号染色机 时钟超前平台过多，消息被拒收/);
    const burst = await alarmOf('rejected', c.id);
    assert.match(burst.messages.en, /^1号染色机 \d messages rejected within 60 s \(clock-ahead\)/);
    await waitFor(async () => posted.some((p) => p.markdown.content.includes('1号染色机 时钟超前平台过多')), 5000, 'the 企业微信 group to be told');
  });

  test('a stuck bath temperature and a machine in fault', async () => {
    const c = creds('dyer');
    const t = Date.now();
    await publish(c, [['state', { ts: t, state: 'fault' }], ...Array.from({ length: 12 }, (_, i) => tele(t + i * 300, i, { bath_temp_c: 95.5 }))], 300);
    const stuck = await alarmOf('stuck', c.id);
    assert.match(stuck.messages.zh, /^3号染色机 染液温度 停在 95.5 °C/);
    const fault = await alarmOf('state', c.id);
    assert.match(fault.messages.en, /^3号染色机 in state fault/);
  });

  test('a counter reset, then an implausible jump (quarantined)', async () => {
    const c = creds('meter');
    const t = Date.now() - 10_000;
    await publish(c, [tele(t, 0, { energy_kwh_total: 5000 }), tele(t + 1000, 1, { energy_kwh_total: 5001 }), tele(t + 2000, 2, { energy_kwh_total: 2 })], 400);
    const reset = await alarmOf('counter_reset', c.id);
    assert.match(reset.messages.zh, /累计电量 计数归零/);
    await publish(c, [tele(t + 3000, 3, { energy_kwh_total: 1e13 })]);
    await alarmOf('quarantine', c.id);
  });

  test('a device silent beyond its offline limit', async () => {
    const c = creds('loom');
    await publish(c, [tele(Date.now(), 0, { power_kw: 3 })]);
    const off = await alarmOf('offline', c.id);
    assert.match(off.messages.en, /^7号织机 no message for/);
  });

  test('InfluxDB unreachable, then the spool filling while the writer waits', async () => {
    await sys.influxd.stop();
    const c = creds('loom');
    const t = Date.now();
    await publish(c, Array.from({ length: 10 }, (_, i) => tele(t + i, i + 1, { power_kw: 3 })));
    await sys.broker.admission.flushNow();
    const down = await alarmOf('store_down', 'influxdb');
    assert.equal(down.firmId, '');
    await alarmOf('spool', 'spool');
    const counts = await api<Array<{ firmId: string; total: number }>>(node, sys.adminToken, 'GET', '/api/v1/alarms/counts');
    assert.ok((counts.body.find((x) => x.firmId === firmId)?.total ?? 0) >= 6, JSON.stringify(counts.body));
  });

  test('the history is searchable by scope: county, park and device', async () => {
    const get = async (q: string) => (await api<Alarm[]>(node, sys.adminToken, 'GET', `/api/v1/alarms?status=all&${q}`)).body;
    const county = await get('scope=county&id=533102');
    assert.ok(county.length >= 6 && county.every((a) => a.firmId === firmId), JSON.stringify(county.map((a) => a.firmId)));
    assert.deepEqual(await get('scope=park&id=ruili-coop'), county);
    const oneDevice = await get(`scope=device&id=${creds('meter').id}`);
    assert.ok(oneDevice.every((a) => a.deviceId === creds('meter').id));
    // (Its readings were sent 10 s in the past, beyond the 5 s clock rule: a clock alarm may be there too.)
    for (const kind of ['counter_reset', 'quarantine']) assert.ok(oneDevice.some((a) => a.kind === kind), kind);
  });
});
