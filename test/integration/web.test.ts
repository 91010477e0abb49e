// The web dashboard in a real headless Chromium (Debian's package, driven by playwright-core) against the whole
// system in-process: real influxd, the broker on a real socket, the ingest writer and the API serving the bundle
// from api/public, with a Monitoring (live rooms, as api/main.ts has). Each test saves a screenshot under
// test-results/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { io as connectSocket } from 'socket.io-client';
import type { RoomAck } from '../../api/live.ts';
import { Monitoring } from '../../analytics/index.ts';
import type { RoomAggregate } from '../../analytics/live/live-rooms.ts';
import { waitFor } from '../../scripts/net.ts';
import { api, mqttConnectOnce, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { startWebApi, withBrowser } from '../helpers/browser.ts';
import { SimulatedDevice } from '../../simulators/device.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, 'test-results');
const run = promisify(execFile);

let sys: TestSystem;
/** The API the browser uses: the test system's stores, broker and live feed, plus a Monitoring (live rooms). */
let web: { app: FastifyInstance; monitoring: Monitoring; apiUrl: string };
const firmA = testFirm({ name: '网页测试织造甲厂', county: '533102', park: 'ruili-coop', segment: 'weaving' });
const firmB = testFirm({ name: '网页测试印染乙厂', county: '533103', park: 'mangshi', segment: 'dyeing' });
let engineerA = '';
let loomA: DeviceCredentials;
let quietLoomA: SimulatedDevice;
let dyeingB: DeviceCredentials;
const running: SimulatedDevice[] = [];

/** Signs in with a token (the #token= link the README gives) and waits for the live feed. */
async function signIn(page: Page, token: string, hash = '#/'): Promise<void> {
  await page.goto(`${web.apiUrl}/#token=${encodeURIComponent(token)}`);
  await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
  if (hash !== '#/') await page.evaluate((h) => { location.hash = h; }, hash);
}

/** A socket.io client of the test following a live room: every aggregate of that room it got, by time. */
async function followRoom(token: string, room: string): Promise<{ byAt: Map<number, RoomAggregate>; close(): void }> {
  const socket = connectSocket(web.apiUrl, { auth: { token }, transports: ['websocket'], reconnection: false });
  const byAt = new Map<number, RoomAggregate>();
  socket.on('aggregate', (a: RoomAggregate) => { if (a.room === room) byAt.set(a.at, a); });
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  const ack = await socket.timeout(5000).emitWithAck('subscribe', room) as RoomAck;
  assert.deepEqual(ack, { ok: true, room });
  return { byAt, close: () => { socket.close(); } };
}

interface Shown { raw: number; at: number; room: string; text: string; statesAt: number; states: Record<string, number> }

/**
 * Waits until the element `power` shows an aggregate newer than `after`, reads it with the state counts of
 * `states`, and returns it with the aggregate of the same time the test's own follower received.
 */
async function shownAggregate(page: Page, power: string, states: string, follower: { byAt: Map<number, RoomAggregate> }, after: number): Promise<{ shown: Shown; agg: RoomAggregate }> {
  await page.waitForFunction(([sel, t]) => Number(document.querySelector(sel)?.getAttribute('data-at')) > t, [power, after] as const, { timeout: 10_000 });
  const shown = await page.evaluate(([p, s]) => {
    const el = document.querySelector<HTMLElement>(p);
    const box = document.querySelector<HTMLElement>(s);
    const counts: Record<string, number> = {};
    for (const pill of box?.querySelectorAll<HTMLElement>('.pill[data-state]') ?? []) counts[pill.dataset.state ?? ''] = Number(pill.dataset.count);
    return { raw: Number(el?.dataset.raw), at: Number(el?.dataset.at), room: el?.dataset.room ?? '', text: el?.textContent ?? '', statesAt: Number(box?.dataset.at), states: counts };
  }, [power, states] as const);
  await waitFor(async () => follower.byAt.has(shown.at), 5000, `the test's own aggregate of ${shown.room} at ${shown.at}`);
  const agg = follower.byAt.get(shown.at);
  assert.ok(agg);
  return { shown, agg };
}

/** Checks that the page shows exactly the aggregate: power (figure and text, in kW) and the devices per state. */
function assertShows(shown: Shown, agg: RoomAggregate, room: string): void {
  assert.equal(shown.room, room);
  assert.equal(shown.raw, agg.rates.electricity, 'the power shown is the aggregate\'s');
  assert.match(shown.text, / kW$/);
  const text = Number(shown.text.replace(/[^\d.]/g, ''));
  assert.ok(Math.abs(text - agg.rates.electricity) <= Math.max(0.006, agg.rates.electricity * 0.0006), `"${shown.text}" shows ${agg.rates.electricity} kW`);
  assert.equal(shown.statesAt, agg.at, 'the states are of the same aggregate');
  assert.deepEqual(shown.states, Object.fromEntries(Object.entries(agg.states).filter(([, n]) => n > 0)), 'devices per state as the aggregate says');
}

before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  sys = await startTestSystem();
  // startTestSystem's API has no Monitoring, so no live rooms: the browser uses a second API on the same stores
  // and live feed with one, as api/main.ts runs it.
  web = await startWebApi(sys);
  for (const f of [firmA, firmB]) {
    const r = await api(sys, sys.adminToken, 'POST', '/api/v1/firms', f);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const tok = await api<{ token: string }>(sys, sys.adminToken, 'POST', '/api/v1/tokens', { role: 'engineer', firmId: firmA.id, name: 'web test engineer A' });
  assert.equal(tok.status, 201);
  engineerA = tok.body.token;

  loomA = await provisionDevice(sys.apiUrl, sys.adminToken, firmA.id, 'loom', '1号织机', '织造一车间');
  const meterA = await provisionDevice(sys.apiUrl, sys.adminToken, firmA.id, 'electricity_meter', '总电表', '配电房');
  const quiet = await provisionDevice(sys.apiUrl, sys.adminToken, firmA.id, 'loom', '2号织机（手动发布）', '织造一车间');
  dyeingB = await provisionDevice(sys.apiUrl, sys.adminToken, firmB.id, 'dyeing_machine', '乙厂染缸', '染色车间');
  // Three devices publish every second for the whole file; the quiet loom publishes only when a test says so.
  for (const [i, c] of [loomA, meterA, dyeingB].entries()) {
    const d = new SimulatedDevice(c, createModel(c.type, seededRng(100 + i)), sys.mqttUrl);
    await d.connect();
    d.run(1000);
    running.push(d);
  }
  quietLoomA = new SimulatedDevice(quiet, createModel('loom', seededRng(7)), sys.mqttUrl);
  await quietLoomA.connect();
  // Half an hour of history for the charts, one point a minute.
  const start = Date.now() - 30 * 60_000;
  for (let i = 0; i < 30; i++) await quietLoomA.publishOnce(start + i * 60_000, 60_000);
  await sys.drained();
});

after(async () => {
  await Promise.all([...running, quietLoomA].filter(Boolean).map((d) => d.stop()));
  await web?.app.close();
  await web?.monitoring.close();
  await sys?.close();
});

describe('web dashboard in Chromium', () => {
  test('the committed bundle in api/public is a fresh build of web/', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-web-build-'));
    try {
      await run(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT });
      const list = (dir: string) => (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
      const built = list(out);
      const committed = list(path.join(ROOT, 'api/public'));
      const stale = 'api/public is not the build of web/: run `npm run build:web` and commit api/public';
      assert.deepEqual(committed, built, stale);
      for (const f of built) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(ROOT, 'api/public', f))), `${f}: ${stale}`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('the overview loads with no console errors, in Chinese, with live power and the KPI', async () => {
    await withBrowser('overview', async (_ctx, page, problems) => {
      const failed: string[] = [];
      page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
      page.on('requestfailed', (r) => failed.push(`failed ${r.url()}: ${r.failure()?.errorText ?? ''}`));
      await signIn(page, sys.adminToken);
      assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
      assert.equal(await page.textContent('[data-testid=app-title]'), '德宏纺织服装工业互联网平台');
      await page.waitForSelector('[data-testid=kpi-share]');
      assert.match(await page.textContent('[data-testid=kpi-share]') ?? '', /%$/);
      // Live power comes from socket.io and carries its unit; energy figures name their basis.
      await page.waitForSelector('[data-testid=live-power][data-raw]', { timeout: 10_000 });
      assert.match(await page.textContent('[data-testid=live-power]') ?? '', /kW$/);
      await page.waitForSelector('#energy [data-basis=calorific]');
      assert.match(await page.textContent('#energy .basis') ?? '', /当量值.*GB\/T 2589-2020/);
      await page.waitForSelector('#plan [data-target=connectedShare]');
      await page.waitForSelector('#breakdown tr[data-county="533102"]');
      await page.waitForSelector(`#firms tr[data-firm="${firmA.id}"]`);
      await page.waitForSelector('#alarms [data-testid=no-alarms], #alarms table');
      await page.waitForTimeout(1500);
      assert.deepEqual(problems, [], 'no console errors');
      assert.deepEqual(failed, [], 'no failed requests');
      // The same page on a phone-sized screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `the page fits a phone's width (overflow ${overflow} px)`);
      await page.screenshot({ path: path.join(RESULTS, 'web-overview-phone.png') });
      await page.setViewportSize({ width: 1920, height: 1080 });
    });
  });

  test("the overview's live power and device states are those of the aggregates of the rooms it follows", async () => {
    const all = await followRoom(sys.adminToken, 'all');
    const ruili = await followRoom(sys.adminToken, `county:${firmA.county}`);
    try {
      await withBrowser('overview-aggregate', async (_ctx, page, problems) => {
        await signIn(page, sys.adminToken);
        await page.waitForSelector('[data-testid=live-power][data-source=aggregate]', { timeout: 10_000 });
        // The simulated devices publish (the quiet loom now, the others every second): the figures shown are
        // those of an aggregate computed afterwards, the same the server sent to this test's own socket.
        const t0 = Date.now();
        await quietLoomA.apply(quietLoomA.program.tick(t0, 1000));
        const { shown, agg } = await shownAggregate(page, '[data-testid=live-power]', '[data-testid=live-states]', all, t0);
        assertShows(shown, agg, 'all');
        assert.ok(agg.rates.electricity > 0 && agg.reporting >= 3, `devices report power (${JSON.stringify(agg)})`);
        assert.match(await page.textContent('#energy .live-power') ?? '', new RegExp(`${agg.reporting} 台设备在报`));
        // The county row follows its own room.
        const cell = `#breakdown [data-power-county="${firmA.county}"]`;
        const county = await shownAggregate(page, cell, '[data-testid=live-states]', ruili, t0);
        assert.equal(county.shown.room, `county:${firmA.county}`);
        assert.equal(county.shown.raw, county.agg.rates.electricity);
        assert.match(county.shown.text, / kW$/);
        assert.deepEqual(problems, []);
      });
    } finally {
      all.close();
      ruili.close();
    }
  });

  test("an engineer's firm page shows the aggregate of the firm's room, and follows it again after a reconnect", async () => {
    const room = `firm:${firmA.id}`;
    const firm = await followRoom(engineerA, room);
    try {
      await withBrowser('firm-aggregate', async (ctx, page) => {
        await signIn(page, engineerA);
        await page.waitForSelector(`[data-firm="${firmA.id}"] [data-testid=firm-power][data-source=aggregate]`, { timeout: 10_000 });
        // The energy card says how electricity was counted at the plant boundary (the main meter's grid import).
        await page.waitForSelector('[data-testid=electricity-rule]');
        assert.match(await page.textContent('[data-testid=electricity-rule]') ?? '', /电力：电表计购入（正向）电量/);
        const t0 = Date.now();
        await quietLoomA.apply(quietLoomA.program.tick(t0, 1000));
        const { shown, agg } = await shownAggregate(page, '[data-testid=firm-power]', '[data-testid=firm-states]', firm, t0);
        assertShows(shown, agg, room);
        assert.equal(agg.firms, 1);
        assert.ok(agg.rates.electricity > 0, 'the main meter reports power');
        assert.equal(await page.textContent('[data-testid=firm-power-note]'), `${agg.reporting}/${agg.devices} 台设备在报`);

        // socket.io does not restore rooms on reconnect: new aggregates show only if the page subscribes again.
        await ctx.setOffline(true);
        await page.waitForSelector('#conn[data-state=offline]', { timeout: 10_000 });
        await ctx.setOffline(false);
        await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
        const again = await shownAggregate(page, '[data-testid=firm-power]', '[data-testid=firm-states]', firm, Date.now());
        assertShows(again.shown, again.agg, room);
      });
    } finally {
      firm.close();
    }
  });

  test('a value published by a simulated device appears on the device view within 2 s, without reload', async () => {
    await withBrowser('device', async (_ctx, page, problems) => {
      await signIn(page, engineerA, `#/device/${quietLoomA.creds.id}`);
      await page.waitForSelector('[data-metric=speed_rpm]');
      // The chart shows the last hour from the telemetry endpoint first.
      await page.waitForFunction(() => Number(document.querySelector('[data-chart=speed_rpm] .chart')?.getAttribute('data-points')) >= 30, null, { timeout: 10_000 });
      const before = Number(await page.getAttribute('[data-chart=speed_rpm] .chart', 'data-points'));
      await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });

      const tick = quietLoomA.program.tick(Date.now(), 1000);
      const msg = tick.messages.find((m) => m.kind === 'telemetry');
      assert.ok(msg, 'the tick carries telemetry');
      const sent = JSON.parse(msg.payload) as { ts: number; metrics: Record<string, number> };
      const speed = sent.metrics.speed_rpm;
      assert.equal(typeof speed, 'number');
      const t0 = Date.now();
      await quietLoomA.apply(tick);
      await page.waitForSelector(`[data-metric=speed_rpm][data-ts="${sent.ts}"][data-raw="${speed}"]`, { timeout: 2000 });
      const elapsed = Date.now() - t0;
      assert.ok(elapsed < 2000, `shown after ${elapsed} ms`);
      assert.match(await page.textContent('[data-metric=speed_rpm]') ?? '', /rpm$/);
      await page.waitForFunction((n) => Number(document.querySelector('[data-chart=speed_rpm] .chart')?.getAttribute('data-points')) === n + 1, before, { timeout: 2000 });
      assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the page was not reloaded');
      await page.waitForSelector('[data-testid=state-strip] .seg');
      assert.deepEqual(problems, []);
    });
  });

  test('the language toggle switches labels and is remembered after reload', async () => {
    await withBrowser('language', async (_ctx, page) => {
      await signIn(page, sys.adminToken);
      await page.waitForSelector('#kpi h2');
      assert.equal(await page.textContent('#kpi h2'), '规上企业接入平台比例');
      assert.equal(await page.textContent('#lang'), 'English');
      await page.click('#lang');
      await page.waitForFunction(() => document.querySelector('[data-testid=app-title]')?.textContent === 'Dehong Textile & Garment Industrial Internet Platform');
      assert.equal(await page.getAttribute('html', 'lang'), 'en-GB');
      assert.equal(await page.textContent('#kpi h2'), 'Above-scale firms connected to the platform');
      assert.equal(await page.textContent('#conn'), 'Live feed connected');
      await page.waitForSelector('#energy .basis');
      assert.match(await page.textContent('#energy .basis') ?? '', /calorific equivalent \(当量值\)/);

      await page.reload();
      await page.waitForSelector('#kpi h2');
      assert.equal(await page.textContent('#kpi h2'), 'Above-scale firms connected to the platform', 'English after reload');
      assert.equal(await page.textContent('#lang'), '中文');
      assert.equal(await page.evaluate(() => localStorage.getItem('lang')), 'en');
      await page.waitForSelector('[data-testid=live-power][data-raw]', { timeout: 10_000 });
      await page.waitForSelector('#plan [data-target=connectedShare]');
      await page.screenshot({ path: path.join(RESULTS, 'web-language-en.png'), fullPage: true });

      await page.click('#lang');
      await page.waitForFunction(() => document.querySelector('#kpi h2')?.textContent === '规上企业接入平台比例');
      assert.equal(await page.evaluate(() => localStorage.getItem('lang')), 'zh');
    });
  });

  test("an engineer of firm A cannot open firm B's page and sees no firm-B data", async () => {
    await withBrowser('forbidden', async (_ctx, page) => {
      await signIn(page, engineerA);
      // An engineer starts on their own firm, with no prefecture overview in the navigation.
      await page.waitForSelector(`[data-firm="${firmA.id}"] [data-testid=firm-name]`);
      assert.equal(await page.$('nav a[data-nav=overview]'), null);
      await page.waitForSelector(`#devices tr[data-device="${loomA.id}"]`);

      const firmB404 = page.waitForResponse((r) => r.url().endsWith(`/api/v1/firms/${firmB.id}`));
      await page.evaluate((h) => { location.hash = h; }, `#/firm/${firmB.id}`);
      assert.equal((await firmB404).status(), 404);
      await page.waitForSelector('[data-testid=not-found]');
      assert.match(await page.textContent('[data-testid=not-found]') ?? '', /未找到该企业，或您无权查看/);
      // Live summaries keep coming (firm B's dyeing machine publishes every second); none of it may show.
      await page.waitForTimeout(2500);
      const text = await page.evaluate(() => document.body.innerText);
      for (const secret of [firmB.name, dyeingB.id, '乙厂染缸']) assert.ok(!text.includes(secret), `firm B's "${secret}" is not on the page`);
      await page.screenshot({ path: path.join(RESULTS, 'web-forbidden.png'), fullPage: true });

      await page.evaluate((h) => { location.hash = h; }, `#/device/${dyeingB.id}`);
      await page.waitForSelector('[data-testid=not-found]');
      assert.match(await page.textContent('[data-testid=not-found]') ?? '', /未找到该设备/);
      await page.waitForTimeout(1500);
      const text2 = await page.evaluate(() => document.body.innerText);
      for (const secret of [firmB.name, '乙厂染缸', 'bath_temp_c', '染液温度']) assert.ok(!text2.includes(secret), `firm B's "${secret}" is not on the page`);
    });
  });

  test('the onboarding form creates a device and shows its token once, with working MQTT settings', async () => {
    await withBrowser('onboarding', async (_ctx, page, problems) => {
      await signIn(page, engineerA, `#/firm/${firmA.id}`);
      await page.waitForSelector('[data-testid=onboard-form]');
      await page.selectOption('[data-testid=onboard-type]', 'sock_knitter');
      await page.fill('[data-testid=onboard-name]', '3号织袜机');
      await page.fill('[data-testid=onboard-location]', '袜机车间');
      await page.click('[data-testid=onboard-form] button[type=submit]');
      await page.waitForSelector('[data-testid=provision-result]');
      const deviceId = await page.getAttribute('[data-testid=provision-result]', 'data-device');
      const deviceToken = await page.textContent('[data-testid=device-token]');
      assert.ok(deviceId && deviceToken, 'id and token shown');
      const shown = await page.textContent('[data-testid=provision-result]') ?? '';
      assert.match(shown, /只显示这一次/);
      assert.ok(shown.includes(`dh/v1/${firmA.id}/${deviceId}/telemetry`), 'the telemetry topic is shown');
      // The broker address is the one this stack really listens on (a random port here), from the API, never a default.
      const mqttUrl = await page.textContent('[data-testid=broker-mqtt]');
      assert.equal(mqttUrl, `mqtt://127.0.0.1:${sys.mqttPort}`);
      assert.match(await page.textContent('[data-testid=broker-ws]') ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      await page.waitForSelector(`#devices tr[data-device="${deviceId}"]`);
      await page.screenshot({ path: path.join(RESULTS, 'web-onboarding.png'), fullPage: true });

      // The credentials work against the broker.
      const client = await mqttConnectOnce(mqttUrl, { clientId: deviceId, username: deviceId, password: deviceToken, protocolVersion: 4 });
      await client.endAsync();

      // Shown once: after a reload the device is listed and its token is gone.
      await page.reload();
      await page.waitForSelector(`#devices tr[data-device="${deviceId}"]`);
      assert.equal(await page.$('[data-testid=device-token]'), null);
      assert.ok(!((await page.evaluate(() => document.body.innerText)).includes(deviceToken)), 'the token is not shown again');
      assert.deepEqual(problems, []);
    });
  });

  test('the plan view counts demo firms only when switched on, says so, and ranks per mu with coverage; an engineer edits the firm\'s head-count', async () => {
    const demo = testFirm({ name: '网页测试演示企业', demo: true, aboveScale: true });
    // Through the page's own API: another API node would see the new firm only at its index's next refresh.
    assert.equal((await api(web, sys.adminToken, 'POST', '/api/v1/firms', demo)).status, 201);
    await withBrowser('plan-demo', async (_ctx, page, problems) => {
      await signIn(page, sys.adminToken);
      await page.waitForSelector('#kpi [data-testid=demo-note]');
      assert.match(await page.textContent('#kpi [data-testid=demo-note]') ?? '', /未计入演示企业 1 家/);
      assert.match(await page.textContent('#kpi [data-testid=kpi-official]') ?? '', /统计局口径.*未录入.*瑞丽市/);
      await page.click('#kpi .official-entry summary');
      await page.fill('#kpi [data-field=official-count]', '12');
      await page.click('#kpi [data-testid=official-form] button[type=submit]');
      await page.waitForFunction(() => !/瑞丽市/.test(document.querySelector('#kpi [data-testid=kpi-official]')?.textContent ?? '瑞丽市'));
      assert.match(await page.textContent('#kpi [data-testid=kpi-official]') ?? '', /未录入 芒市/, 'the other counties still lack a count');
      await page.waitForSelector('#per-mu [data-testid=per-mu-table]');
      assert.match(await page.textContent('#per-mu [data-testid=per-mu-measure]') ?? '', /产值/);
      assert.equal(await page.$(`#per-mu tr[data-firm="${demo.id}"]`), null, 'no demo firm in the ranking');
      // The energy rankings say the same: demo firms left out by default.
      await page.waitForSelector('#top-users [data-testid=demo-note]');
      assert.match(await page.textContent('#top-users [data-testid=demo-note]') ?? '', /未计入演示企业 1 家/);
      await page.click('#kpi [data-testid=include-demo]');
      await page.waitForFunction(() => /已计入演示企业/.test(document.querySelector('#kpi [data-testid=demo-note]')?.textContent ?? ''));
      await page.waitForSelector(`#per-mu tr[data-firm="${demo.id}"]`);
      await page.waitForFunction(() => /已计入演示企业/.test(document.querySelector('#top-users [data-testid=demo-note]')?.textContent ?? ''));
      // The county page lists the demo firm only while the toggle (remembered) counts it, and has the toggle itself.
      await page.goto(`${web.apiUrl}/#/county/${demo.county}`);
      await page.waitForSelector(`#place-firms tr[data-firm="${demo.id}"]`);
      await page.click('[data-testid=include-demo]');
      await page.waitForFunction(() => /未计入演示企业/.test(document.querySelector('#place-firms [data-testid=demo-note]')?.textContent ?? ''));
      assert.equal(await page.$(`#place-firms tr[data-firm="${demo.id}"]`), null, 'no demo firm in the county\'s list by default');
      assert.deepEqual(problems, []);
    });
    await withBrowser('firm-edit', async (_ctx, page, problems) => {
      await signIn(page, engineerA, `#/firm/${firmA.id}`);
      await page.waitForSelector('#firm-edit summary');
      await page.click('#firm-edit summary');
      assert.equal(await page.$('#firm-edit [data-field=name]'), null, 'an engineer edits head-count and land only');
      await page.fill('#firm-edit [data-field=employees]', '321');
      await page.click('#firm-edit button[type=submit]');
      await waitFor(async () => (await api<{ employees: number }>(sys, engineerA, 'GET', `/api/v1/firms/${firmA.id}`)).body.employees === 321, 10_000, 'the edit saved');
      await page.waitForSelector('#firm-edit summary');
      await page.click('#firm-edit summary');
      await page.waitForFunction(() => /从业人数 = 321/.test(document.querySelector('[data-testid=firm-history]')?.textContent ?? ''));
      assert.deepEqual(problems, []);
    });
  });

  test('when the live connection drops the page says so and recovers by itself', async () => {
    await withBrowser('reconnect', async (ctx, page) => {
      await signIn(page, engineerA, `#/device/${loomA.id}`);
      await page.waitForSelector('[data-metric=speed_rpm][data-ts]', { timeout: 10_000 });
      await ctx.setOffline(true);
      await page.waitForSelector('#conn[data-state=offline]', { timeout: 10_000 });
      assert.ok(await page.isVisible('#offline-banner'), 'the offline banner is shown');
      assert.match(await page.textContent('#offline-banner') ?? '', /实时连接已断开/);
      await page.screenshot({ path: path.join(RESULTS, 'web-reconnect-offline.png') });
      await page.waitForTimeout(1500);
      await ctx.setOffline(false);
      await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
      assert.ok(!(await page.isVisible('#offline-banner')), 'the banner is gone');
      // Values flow again without a reload.
      const ts = Number(await page.getAttribute('[data-metric=speed_rpm]', 'data-ts'));
      await page.waitForFunction((t) => Number(document.querySelector('[data-metric=speed_rpm]')?.getAttribute('data-ts')) > t, ts, { timeout: 5000 });
    });
  });
});
