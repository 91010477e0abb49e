// Each fault the simulators inject, through the real platform (private influxd, the broker on a real socket,
// the ingest writer, an API with its Monitoring fed by the broker's live summaries): its alarm appears in
// GET /alarms, and the firm's 企业微信 group (a local stand-in) is told. Then the alarms issue's "done when" as one
// check on the same running system: every fault kind reached a generic webhook whose HMAC signature the test
// recomputes on its own, is in the history (cleared ones too), and is listed in Chinese on the page in headless
// Chromium. Rule durations are seconds here so the file stays short.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
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
import { signIn, withBrowser } from '../helpers/browser.ts';

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
/** Stands in for a generic receiver (a firm's MES, a duty system): each request's raw body and headers. */
const HOOK_SECRET = 'whsec_测试_0123456789';
const hooked: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
const hook = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    hooked.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(204).end();
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
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  // Every firm and the platform, so the platform alarms (spool, InfluxDB) reach it too.
  const webhook = { name: '值班系统', kind: 'webhook', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alarms`, secret: HOOK_SECRET, firmId: null, minSeverity: 'info', maxPerHour: 100 };
  assert.equal((await api(node, sys.adminToken, 'POST', '/api/v1/alarm-channels', webhook)).status, 201);
});
after(async () => {
  await new Promise((r) => robot.close(r));
  await new Promise((r) => hook.close(r));
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
    // Its state came before any reading: no clock is judged from that (it once read as 57 years behind).
    const clock = await api<Alarm[]>(node, sys.adminToken, 'GET', `/api/v1/alarms?status=all&kind=clock_skew&deviceId=${c.id}`);
    assert.deepEqual(clock.body.map((a) => a.messages.zh), []);
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

/** Every kind the faults above raise, with a word its Chinese template must contain (analytics/alarms/templates.ts). */
const FAULT_KINDS: Record<string, string> = {
  clock_skew: '时钟', rejected: '条消息被拒收', stuck: '停在', state: '处于故障状态', counter_reset: '计数归零',
  quarantine: '被隔离', offline: '分钟无消息', store_down: 'InfluxDB 无法访问', spool: '缓冲队列积压',
};

/** The receiver's own check, written from the documented contract rather than with the platform's signer. */
function verifies(timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', HOOK_SECRET).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`);
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

interface Hooked { event: string; alarm: Alarm; text: string; timestamp: string; signature: string; body: string }
const hookedEvents = (): Hooked[] => hooked.map((h) => {
  const parsed = JSON.parse(h.body) as { event: string; alarm: Alarm; text: string };
  return { ...parsed, timestamp: String(h.headers['x-dehong-timestamp'] ?? ''), signature: String(h.headers['x-dehong-signature'] ?? ''), body: h.body };
});

/** The newest alarm of each fault kind in the history (status=all), once every kind is there. */
async function historyByKind(): Promise<Map<string, Alarm>> {
  const all = await api<Alarm[]>(node, sys.adminToken, 'GET', '/api/v1/alarms?status=all&limit=500');
  assert.equal(all.status, 200);
  const byKind = new Map<string, Alarm>();
  for (const a of all.body) if (!byKind.has(a.kind)) byKind.set(a.kind, a);
  assert.deepEqual(Object.keys(FAULT_KINDS).filter((k) => !byKind.has(k)), [], 'every fault kind in the history');
  return byKind;
}

describe('done when: signed delivery, history and the page in Chinese for every fault kind', () => {
  test('a signed webhook delivery for each kind raised; the receiver\'s own HMAC check refuses a tampered body', async () => {
    const byKind = await historyByKind();
    const raisedIds = [...byKind.values()].map((a) => a.id);
    let missing: string[] = [];
    await waitFor(async () => {
      const got = new Set(hookedEvents().filter((e) => e.event === 'raised').map((e) => e.alarm.id));
      missing = [...byKind.values()].filter((a) => !got.has(a.id)).map((a) => a.kind);
      return missing.length === 0;
    }, 15_000, 'a webhook delivery of each kind').catch(() => assert.fail(`no webhook delivery for ${missing.join(', ')}`));
    for (const e of hookedEvents().filter((x) => x.event === 'raised' && raisedIds.includes(x.alarm.id))) {
      assert.match(e.signature, /^sha256=[0-9a-f]{64}$/, e.alarm.kind);
      assert.ok(verifies(e.timestamp, e.body, e.signature), `${e.alarm.kind}: the signature verifies`);
      assert.ok(Math.abs(Date.now() - Number(e.timestamp)) < 5 * 60_000, `${e.alarm.kind}: a fresh timestamp`);
      assert.ok(e.text.includes(e.alarm.messages.zh), `${e.alarm.kind}: the Chinese text is in the message`);
      const tampered = e.body.replace(e.alarm.severity, e.alarm.severity === 'critical' ? 'info' : 'critical');
      assert.notEqual(tampered, e.body);
      assert.equal(verifies(e.timestamp, tampered, e.signature), false, `${e.alarm.kind}: a tampered body is refused`);
      assert.equal(verifies(String(Number(e.timestamp) + 1), e.body, e.signature), false, `${e.alarm.kind}: a replayed signature under another timestamp is refused`);
    }
  });

  test('the history keeps every kind, cleared ones too: InfluxDB back, its alarm clears and the clearing is delivered signed', async () => {
    await sys.influxd.restart();
    await waitFor(async () => (await historyByKind()).get('store_down')?.clearedAt != null, 20_000, 'the InfluxDB alarm to clear');
    const byKind = await historyByKind();
    for (const [kind, word] of Object.entries(FAULT_KINDS)) assert.ok(byKind.get(kind)?.messages.zh.includes(word), `${kind}: ${byKind.get(kind)?.messages.zh}`);
    const down = byKind.get('store_down') as Alarm;
    assert.ok(['cleared', 'closed'].includes(down.status), down.status);
    await waitFor(async () => hookedEvents().some((e) => e.event === 'cleared' && e.alarm.id === down.id), 15_000, 'the clearing to be delivered');
    const cleared = hookedEvents().find((e) => e.event === 'cleared' && e.alarm.id === down.id) as Hooked;
    assert.ok(verifies(cleared.timestamp, cleared.body, cleared.signature), 'the clearing is signed');
  });

  test('the page lists each kind\'s alarm in Chinese, with its status (one headless Chromium)', async () => {
    const byKind = await historyByKind();
    await withBrowser('alarm-faults', async (_ctx, page, problems) => {
      await signIn(page, node.apiUrl, sys.adminToken, '#/');
      for (const [kind, word] of Object.entries(FAULT_KINDS)) {
        const a = byKind.get(kind) as Alarm;
        const row = page.locator(`[data-alarm="${a.id}"]`).first();
        await row.waitFor({ timeout: 15_000 });
        const text = await row.textContent() ?? '';
        assert.ok(text.includes(a.messages.zh) && text.includes(word), `${kind}: the page shows ${JSON.stringify(text)}`);
      }
      const down = page.locator(`[data-alarm="${(byKind.get('store_down') as Alarm).id}"]`).first();
      assert.match(await down.textContent() ?? '', /已恢复|已关闭/, 'the cleared InfluxDB alarm says so');
      assert.deepEqual(problems, []);
    });
  });
});
