// Alarm notifications against local HTTP receivers standing in for a 企业微信 robot, a 钉钉 robot and a webhook:
// payloads, signatures, retry after a 500, quiet hours, deduplication and the rate limit, each recorded as a
// delivery; and the channel API (admin manages, bureau reads, secrets never returned).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { AlarmEngine, SqliteAlarmStore, type AlarmStore, type AlarmRuleInput, type LiveDeviceSample } from '../../analytics/alarms/alarms.ts';
import { type ChannelStore, channelProblem, publicChannel, type ChannelInput } from '../../analytics/alarms/notify/channels.ts';
import { SqliteChannelStore } from '../../analytics/alarms/notify/sqlite-channels.ts';
import { AlarmNotifier } from '../../analytics/alarms/notify/notifier.ts';
import { createHmac } from 'node:crypto';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../analytics/alarms/notify/send.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';
import type { Db } from '../../common/sqlite.ts';
import { buildApp } from '../../api/app.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { createLogger } from '../../common/log.ts';
import { tempDir } from '../helpers/system.ts';
import { SMTPServer } from 'smtp-server';

interface Received { url: string; headers: http.IncomingHttpHeaders; body: string }

/** A receiver answering each request with the next status in `statuses` (then 200) and a robot's JSON. */
class Receiver {
  received: Received[] = [];
  statuses: number[] = [];
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      this.received.push({ url: req.url ?? '', headers: req.headers, body });
      const status = this.statuses.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { errcode: 0, errmsg: 'ok' } : { errcode: -1, errmsg: 'busy' }));
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    await new Promise((r) => this.server.close(r));
  }
}

const actor = { name: 'admin', tokenId: 't' };
const rx = new Receiver();
let db: Db;
let store: AlarmStore;
let channels: ChannelStore;
let engine: AlarmEngine;
let notifier: AlarmNotifier;
let clock = Date.UTC(2026, 11, 3, 4, 0); // 12:00 in Shanghai

const hot: AlarmRuleInput = { name: '染液超温', kind: 'threshold', firmId: null, deviceType: 'dyeing_machine', deviceId: null, metric: 'bath_temp_c', op: '>', value: 140, states: null, windowS: 60, durationS: 0, severity: 'critical', enabled: true };
const channel = (over: Partial<ChannelInput>): ChannelInput => ({
  name: 'c', kind: 'webhook', url: `${rx.url}/hook`, secret: null, firmId: null, minSeverity: 'info', quietFrom: null, quietTo: null, maxPerHour: 20, dedupMinutes: 10, notifyCleared: true, lang: 'zh', enabled: true, ...over,
});
const dye = (ts: number, v: number, deviceId = 'dye-3'): LiveDeviceSample => ({ deviceId, firmId: 'F1', type: 'dyeing_machine', ts, metrics: { bath_temp_c: v } });
/** One over-temperature episode: raised, then cleared. */
async function episode(v = 142, deviceId = 'dye-3'): Promise<void> {
  clock += 1000;
  await engine.onLive({ at: clock, devices: [dye(clock, v, deviceId)] });
  clock += 1000;
  await engine.onLive({ at: clock, devices: [dye(clock, 100, deviceId)] });
}

before(async () => { await rx.start(); });
after(async () => { await rx.stop(); });
beforeEach(async () => {
  rx.received = [];
  rx.statuses = [];
  db = openMonitoringDb(':memory:');
  store = new SqliteAlarmStore(db);
  for (const r of await store.rules()) await store.deleteRule(r.id);
  await store.createRule(hot, actor);
  engine = new AlarmEngine(store);
  engine.setDeviceNames([{ id: 'dye-3', name: '3号染色机' }]);
  channels = new SqliteChannelStore(db);
  notifier = new AlarmNotifier(channels, { retryBaseMs: 30, maxAttempts: 3, timeoutMs: 2000, now: () => clock });
  engine.subscribe((ev) => notifier.notify(ev));
});

describe('alarm notifications', () => {
  test('企业微信 robot: a markdown message in Chinese, raised and cleared', async () => {
    const c = await channels.create(channel({ kind: 'wecom', url: `${rx.url}/cgi-bin/webhook/send?key=abc` }), actor);
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 2);
    const body = JSON.parse(rx.received[0]?.body ?? '') as { msgtype: string; markdown: { content: string } };
    assert.equal(body.msgtype, 'markdown');
    assert.match(body.markdown.content, /\*\*\[严重\] 告警\*\*\n> 3号染色机 染液温度 142 °C，高于 140 °C\n/);
    assert.match(JSON.parse(rx.received[1]?.body ?? '').markdown.content as string, /已恢复/);
    assert.deepEqual((await channels.deliveries(c.id, 10)).map((d) => [d.event, d.status, d.attempts]), [['cleared', 'sent', 1], ['raised', 'sent', 1]]);
  });

  test('a test message: sent once on the channel, no delivery recorded; a dead receiver says why', async () => {
    const c = await channels.create(channel({ kind: 'wecom', url: `${rx.url}/cgi-bin/webhook/send?key=abc` }), actor);
    assert.equal(await notifier.sendTest(c, 'admin'), undefined);
    assert.equal(rx.received.length, 1);
    assert.match(JSON.parse(rx.received[0]?.body ?? '').markdown.content as string, /平台测试消息（admin 发送）/);
    assert.deepEqual(await channels.deliveries(c.id, 10), []);
    const dead = await channels.create(channel({ url: 'http://127.0.0.1:9/hook' }), actor);
    assert.ok(await notifier.sendTest(dead, 'admin'));
  });

  test('钉钉 robot: signed with timestamp and HMAC-SHA256 of "timestamp\\nsecret" in the URL', async () => {
    await channels.create(channel({ kind: 'dingtalk', url: `${rx.url}/robot/send?access_token=tok`, secret: 'SECabc123', notifyCleared: false, lang: 'both' }), actor);
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 1, 'cleared is not sent on this channel');
    const u = new URL(rx.received[0]?.url ?? '', rx.url);
    assert.equal(u.searchParams.get('access_token'), 'tok');
    const ts = Number(u.searchParams.get('timestamp'));
    // As DingTalk documents it: Base64 of HMAC-SHA256 keyed with the secret over "timestamp\nsecret", URL-encoded.
    assert.equal(u.searchParams.get('sign'), createHmac('sha256', 'SECabc123').update(`${ts}\nSECabc123`).digest('base64'));
    assert.ok(Math.abs(ts - clock) < 5000);
    const body = JSON.parse(rx.received[0]?.body ?? '') as { msgtype: string; markdown: { title: string; text: string } };
    assert.equal(body.msgtype, 'markdown');
    assert.match(body.markdown.text, /3号染色机 bath temperature 142 °C, above 140 °C/);
  });

  test('webhook: JSON with an HMAC-SHA256 signature header, retried after a 500, the outcome recorded', async () => {
    const c = await channels.create(channel({ secret: 'whsec', notifyCleared: false }), actor);
    rx.statuses = [500];
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 2, 'the 500 was retried');
    const r = rx.received[1] as Received;
    const expected = createHmac('sha256', 'whsec').update(`${String(r.headers[TIMESTAMP_HEADER])}.${r.body}`).digest('hex');
    assert.equal(r.headers[SIGNATURE_HEADER], `sha256=${expected}`);
    assert.equal((JSON.parse(r.body) as { alarm: { kind: string } }).alarm.kind, 'threshold');
    assert.deepEqual((await channels.deliveries(c.id, 10)).map((d) => [d.status, d.attempts, d.why]), [['sent', 2, null]]);
    rx.statuses = [500, 500, 500];
    await episode(150, 'dye-4');
    await notifier.idle();
    const failed = (await channels.deliveries(c.id, 10))[0];
    assert.deepEqual([failed?.status, failed?.attempts], ['failed', 3]);
    assert.match(failed?.why ?? '', /HTTP 500/);
  });

  test('quiet hours hold back all but critical alarms; routing by firm and severity', async () => {
    const quiet = await channels.create(channel({ quietFrom: 11 * 60, quietTo: 13 * 60, notifyCleared: false }), actor);
    await channels.create(channel({ firmId: 'F2', notifyCleared: false }), actor);
    const ruleId = (await store.rules())[0]?.id ?? 0;
    await store.updateRule(ruleId, { ...hot, severity: 'warning' });
    await engine.reloadRules();
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 0, 'a warning at 12:00 in quiet hours 11:00–13:00; the other channel is for another firm');
    assert.match((await channels.deliveries(quiet.id, 1))[0]?.why ?? '', /quiet hours/);
    await store.updateRule(ruleId, hot);
    await engine.reloadRules();
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 1, 'critical goes through');
  });

  test('deduplication of a flapping alarm and the rate limit per channel', async () => {
    const c = await channels.create(channel({ notifyCleared: false, maxPerHour: 3, dedupMinutes: 10 }), actor);
    await episode();
    await episode();
    await notifier.idle();
    assert.equal(rx.received.length, 1, 'raised again within 10 min: not sent again');
    assert.match((await channels.deliveries(c.id, 1))[0]?.why ?? '', /duplicate/);
    for (const d of ['a', 'b', 'c', 'd']) await episode(142, `dye-${d}`);
    await notifier.idle();
    assert.equal(rx.received.length, 3);
    assert.match((await channels.deliveries(c.id, 1))[0]?.why ?? '', /rate limit: 3 messages an hour/);
  });
});

describe('e-mail', () => {
  const mails: Array<{ from: string; to: string[]; user: string; data: string }> = [];
  let smtp: SMTPServer;
  let port = 0;
  before(async () => {
    smtp = new SMTPServer({
      secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'alarm@example.cn' && auth.password === 'smtp-pass') cb(null, { user: auth.username });
        else cb(new Error('bad user or password'));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => { data += c.toString('utf8'); });
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), user: String(session.user), data });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    port = (smtp.server.address() as AddressInfo).port;
  });
  after(async () => { await new Promise<void>((r) => smtp.close(() => r())); });

  test('an alarm by e-mail over SMTP with the channel\'s password; a wrong one is recorded as failed', async () => {
    const url = `smtp://alarm%40example.cn@127.0.0.1:${port}?to=duty@example.cn,boss@example.cn`;
    assert.equal(channelProblem(channel({ kind: 'email', url: `smtp://127.0.0.1:${port}` })), 'an email channel\'s url needs to=recipient@…[,…]');
    const c = await channels.create(channel({ kind: 'email', url, secret: 'smtp-pass', notifyCleared: false }), actor);
    await episode();
    await notifier.idle();
    assert.equal(mails.length, 1, JSON.stringify(await channels.deliveries(c.id, 5)));
    assert.deepEqual([mails[0]?.from, mails[0]?.to, mails[0]?.user], ['alarm@example.cn', ['duty@example.cn', 'boss@example.cn'], 'alarm@example.cn']);
    assert.match(mails[0]?.data ?? '', /Subject: =\?UTF-8\?/);
    assert.equal((await channels.deliveries(c.id, 1))[0]?.status, 'sent');
    assert.equal(publicChannel(c).url, url, 'sender and recipients are not secret');
    await channels.update(c.id, { ...c, secret: 'wrong' });
    await episode(150, 'dye-9');
    await notifier.idle();
    const failed = (await channels.deliveries(c.id, 1))[0];
    assert.deepEqual([failed?.status, failed?.attempts], ['failed', 3]);
    assert.match(failed?.why ?? '', /SMTP/);
  });
});

describe('the channel API', () => {
  let app: FastifyInstance;
  let dir: string;
  let registry: SqliteRegistry;
  let spool: SqliteSpool;
  const tokens = { admin: 'at_notify_admin_0123456789', bureau: '', engineer: '' };
  before(async () => {
    dir = tempDir('notify');
    registry = new SqliteRegistry(path.join(dir, 'r.db'));
    spool = new SqliteSpool(path.join(dir, 's.db'));
    await registry.ensureApiToken(tokens.admin, 'admin', null, 'admin');
    tokens.bureau = (await registry.createApiToken('bureau', null, 'bureau')).token;
    const store = new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 });
    app = await buildApp({ registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30, apiRequestsPerMinute: 100_000 });
  });
  after(async () => {
    await app.close();
    await spool.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload: payload as Record<string, unknown> } : {}) });

  test('admin adds and changes a channel; the bureau reads it; secrets and robot keys never come back', async () => {
    const body = { name: '染整车间群', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=verysecret', secret: 'SECxyz', minSeverity: 'warning', quietFrom: 1320, quietTo: 420 };
    assert.equal((await call(tokens.bureau, 'POST', '/alarm-channels', body)).statusCode, 403);
    assert.equal((await call(tokens.admin, 'POST', '/alarm-channels', { ...body, secret: null })).statusCode, 400, '钉钉 needs its secret');
    assert.equal((await call(tokens.admin, 'POST', '/alarm-channels', { ...body, url: 'http://example.com/x' })).statusCode, 400, 'https only');
    const created = await call(tokens.admin, 'POST', '/alarm-channels', body);
    assert.equal(created.statusCode, 201, created.body);
    assert.ok(!created.body.includes('verysecret') && !created.body.includes('SECxyz'), created.body);
    const c = created.json<{ id: number; url: string; hasSecret: boolean; lang: string }>();
    assert.deepEqual([c.url, c.hasSecret, c.lang], ['https://oapi.dingtalk.com/robot/send?access_token=***', true, 'zh']);
    const put = await call(tokens.admin, 'PUT', `/alarm-channels/${c.id}`, { ...body, url: undefined, secret: undefined, name: 'renamed' });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json<{ hasSecret: boolean }>().hasSecret, true, 'secret kept when omitted');
    const listed = await call(tokens.bureau, 'GET', '/alarm-channels');
    assert.equal(listed.statusCode, 200);
    assert.ok(!listed.body.includes('verysecret') && !listed.body.includes('SECxyz'));
    assert.equal((await call(tokens.bureau, 'GET', `/alarm-channels/${c.id}/deliveries`)).statusCode, 200);
    assert.equal((await call(tokens.bureau, 'DELETE', `/alarm-channels/${c.id}`)).statusCode, 403);
    assert.equal((await call(tokens.admin, 'DELETE', `/alarm-channels/${c.id}`)).statusCode, 204);
  });
});
