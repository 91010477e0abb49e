// Each role through its day in a real headless Chromium against the whole system in-process (real influxd, broker
// with MQTT over TLS, writer, API with a Monitoring): the first admin signs in with the one-time password, sets their
// own and creates a bureau user and an engineer user; the engineer provisions a device with the form, copies the
// mosquitto_pub line it shows and publishes with a real mosquitto_pub (TLS, with the CA downloaded from the page),
// publishes with the device page's line and its MQTT.js example, sees the device live, its 7-day history and why a bad
// message was refused; the bureau user opens a county and a park, picks the last 30 days, downloads the CSV and signs
// out. Figures on the pages are held against the API.
// Screenshots go to test-results/web-roles-*.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { FIRST_ADMIN_LOGIN, firstAdminPassword } from '../../common/secrets.ts';
import { api, startTestSystem, tempDir, testFirm, type TestSystem } from '../helpers/system.ts';
import { RESULTS, startWebApi, withBrowser, type WebApi } from '../helpers/browser.ts';
import { assertHistoryMatches, signInWithPassword, signOutOfPage } from '../helpers/web-pages.ts';
import { SimulatedDevice } from '../../simulators/device.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { provisionDevice } from '../../simulators/provision.ts';

const run = promisify(execFile);
const DAY = 86_400_000;
const OFFSET = 8 * 3_600_000;
const todayStart = Math.floor((Date.now() + OFFSET) / DAY) * DAY - OFFSET;

const firm = testFirm({ name: '角色测试织造厂', county: '533102', park: 'ruili-coop', segment: 'weaving' });
const people = {
  bureau: { login: 'li.bureau', name: '李局', password: 'bureau-first-pw-1', own: 'bureau-own-pw-22' },
  engineer: { login: 'wang.eng', name: '王工', password: 'engineer-first-pw-1', own: 'engineer-own-pw-22' },
};
let sys: TestSystem;
let web: WebApi;
let adminPassword = '';
/** Where mosquitto_pub runs: the CA downloaded from the page is saved here as ca.pem. */
const work = tempDir('web-roles');
/** What the engineer provisioned, for the later steps. */
let loom = { id: '', token: '' };

before(async () => {
  sys = await startTestSystem({ tls: true });
  web = await startWebApi(sys, 'web-roles-monitoring.db');
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  adminPassword = (await firstAdminPassword(sys.registry, sys.dir))!;
  // Two days of 15-minute meter readings before today, and their rollups: the bureau's 30 days have energy.
  const meter = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'electricity_meter', '总电表', '配电房');
  const d = new SimulatedDevice(meter, createModel(meter.type, seededRng(77)), sys.mqttUrl);
  await d.connect();
  for (let t = todayStart - 2 * DAY; t < todayStart; t += 15 * 60_000) await d.publishOnce(t, 15 * 60_000);
  await d.stop();
  await sys.drained();
  await web.monitoring.rollups.rebuild(todayStart - 2 * DAY, todayStart);
});

after(async () => {
  await web?.close();
  await sys?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Console errors other than the 401s of asking for a session before signing in and after signing out. */
const unexpected = (problems: string[]) => problems.filter((p) => !p.includes('status of 401'));

/** Fills the users page's form for one person. */
async function createUser(page: Page, who: { login: string; name: string; password: string }, role: 'bureau' | 'engineer'): Promise<void> {
  const form = '[data-testid=user-create]';
  await page.fill(`${form} input[name=login]`, who.login);
  await page.fill(`${form} input[name=displayName]`, who.name);
  await page.selectOption(`${form} select[name=role]`, role);
  if (role === 'engineer') await page.selectOption(`${form} select[name=firmId]`, firm.id);
  await page.fill(`${form} input[name=password]`, who.password);
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector(`[data-testid=users] tr[data-login="${who.login}"]`);
}

/** Runs a line the page shows in a POSIX shell, as an engineer pasting it would, next to the downloaded ca.pem. */
async function paste(line: string): Promise<void> {
  assert.match(line, /^mosquitto_pub /);
  await run('sh', ['-c', line], { cwd: work, timeout: 20_000 });
}

/** The text the copy button put on the clipboard, checked against what the page shows. */
async function copied(page: Page, scope: string, name: string): Promise<string> {
  const shown = await page.textContent(`${scope} [data-testid=snippet-${name}]`);
  await page.click(`${scope} [data-testid=copy-${name}]`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent !== '复制', `${scope} [data-testid=copy-${name}]`);
  const text = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(text, shown);
  return text;
}

describe('each role through its day', () => {
  test('the first admin sets their own password and creates a bureau user and an engineer user', async () => {
    await withBrowser('roles-admin', async (_ctx, page, problems) => {
      assert.equal(await signInWithPassword(page, web.apiUrl, FIRST_ADMIN_LOGIN, adminPassword, 'admin-own-password-1'), 'changed-password');
      await page.click('[data-testid=user-menu] summary');
      await page.click('[data-testid=user-menu] a[href="#/users"]');
      await page.waitForSelector('[data-testid=user-create]');
      await createUser(page, people.bureau, 'bureau');
      await createUser(page, people.engineer, 'engineer');
      const users = await sys.registry.listUsers();
      assert.deepEqual(['li.bureau', 'wang.eng'].map((l) => { const u = users.find((x) => x.login === l); return [u?.role, u?.firmId]; }), [['bureau', null], ['engineer', firm.id]]);
      await signOutOfPage(page);
      assert.deepEqual(unexpected(problems), []);
    });
  });

  test('the engineer provisions a device, publishes with the copied mosquitto_pub line, sees it live, its 7 days and a refused message', async () => {
    await withBrowser('roles-engineer', async (ctx, page, problems) => {
      await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.apiUrl });
      await signInWithPassword(page, web.apiUrl, people.engineer.login, people.engineer.password, people.engineer.own);
      await page.waitForSelector(`[data-firm="${firm.id}"] [data-testid=firm-name]`, { timeout: 15_000 });
      await page.selectOption('[data-testid=onboard-type]', 'loom');
      await page.fill('[data-testid=onboard-name]', '1号喷气织机');
      await page.fill('[data-testid=onboard-location]', '织造车间');
      await page.click('[data-testid=onboard-form] button[type=submit]');
      const result = '[data-testid=provision-result]';
      await page.waitForSelector(result);
      loom = { id: (await page.getAttribute(result, 'data-device')) ?? '', token: (await page.textContent(`${result} [data-testid=device-token]`)) ?? '' };
      assert.ok(loom.id && loom.token.length > 10);
      const line = await copied(page, result, 'mosquitto');
      assert.ok(line.includes(`-P '${loom.token}'`) && line.includes(`-p ${sys.mqttsPort} --cafile ca.pem`), line);
      const [ca] = await Promise.all([page.waitForEvent('download'), page.click(`${result} [data-testid=ca-download]`)]);
      await ca.saveAs(path.join(work, 'ca.pem'));
      assert.equal(fs.readFileSync(path.join(work, 'ca.pem'), 'utf8').trim(), fs.readFileSync(sys.tlsFiles!.ca, 'utf8').trim());
      await paste(line);
      await sys.drained();
      await page.screenshot({ path: path.join(RESULTS, 'web-roles-provisioned.png'), fullPage: true });

      // The device page: what it received, live and over the last 7 days, as the API has it.
      await page.click(`tr[data-device="${loom.id}"] a`);
      await page.waitForSelector('#device-connection [data-testid=snippet-mosquitto]');
      const pageLine = await page.textContent('#device-connection [data-testid=snippet-mosquitto]') ?? '';
      assert.equal(pageLine, line.replace(`'${loom.token}'`, "'<TOKEN>'"), 'the device page shows the same line with the token left out');
      // The line's ts has whole seconds: a second later it is another point, not the same one again.
      await new Promise((r) => setTimeout(r, 1100));
      await paste(pageLine.replace('<TOKEN>', loom.token));
      // The MQTT.js example runs as shown too (beside the repository's node_modules, with ca.pem in the working folder).
      const example = path.join(RESULTS, 'web-roles-mqttjs.mjs');
      fs.writeFileSync(example, (await page.textContent('#device-connection [data-testid=snippet-mqttjs]') ?? '').replace('<TOKEN>', loom.token));
      await run(process.execPath, [example], { cwd: work, timeout: 20_000 });
      await sys.drained();
      const series = await api<{ points: Array<{ ts: number; value: number }> }>(web, sys.adminToken, 'GET', `/api/v1/devices/${loom.id}/telemetry?metric=speed_rpm&from=${todayStart - 6 * DAY}`);
      assert.equal(series.body.points.length, 3, 'the three messages are stored');
      await page.waitForFunction((v) => document.querySelector('#device-live [data-metric=speed_rpm]')?.getAttribute('data-raw') === String(v), series.body.points.at(-1)!.value, { timeout: 15_000 });
      await page.selectOption('#device-charts [data-range-preset]', '7d');
      await page.waitForFunction((n) => Number(document.querySelector('[data-chart=speed_rpm] .chart')?.getAttribute('data-points')) === n, series.body.points.length, { timeout: 15_000 });

      // A message out of range: the page says why within a poll, as the API's dead letters do.
      await paste(pageLine.replace('<TOKEN>', loom.token).replace(/"speed_rpm":\d+/, '"speed_rpm":99999'));
      const row = '#device-rejected [data-testid=device-rejected] tr[data-rejected]';
      await page.waitForSelector(row, { timeout: 15_000 });
      const rejected = await api<Array<{ id: number; field: string; rule: string; reason: string }>>(web, sys.adminToken, 'GET', `/api/v1/firms/${firm.id}/rejected?deviceId=${loom.id}`);
      assert.equal(rejected.body.length, 1);
      const shown = await page.$$eval(`${row} td`, (tds) => tds.map((x) => x.textContent));
      assert.deepEqual(shown.slice(1), [rejected.body[0]!.field, rejected.body[0]!.rule, rejected.body[0]!.reason]);
      assert.deepEqual([rejected.body[0]!.field, rejected.body[0]!.rule], ['metrics.speed_rpm', 'maximum']);
      await page.screenshot({ path: path.join(RESULTS, 'web-roles-device.png'), fullPage: true });
      await signOutOfPage(page);
      assert.deepEqual(unexpected(problems), []);
    });
  });

  test('the bureau user opens a county and a park, picks 30 days, downloads the CSV and signs out', async () => {
    await withBrowser('roles-bureau', async (_ctx, page, problems) => {
      await signInWithPassword(page, web.apiUrl, people.bureau.login, people.bureau.password, people.bureau.own);
      await page.click('#breakdown tr[data-county="533102"] a');
      await page.waitForSelector('[data-county="533102"] [data-testid=place-name]');
      await assertHistoryMatches(page, web.apiUrl, sys.adminToken, 'scope=county&id=533102');
      await page.click('#place-parks tr[data-park="ruili-coop"] a');
      await page.waitForSelector('[data-park="ruili-coop"] [data-testid=place-name]');
      await page.selectOption('[data-range-preset]', '30d');
      await page.waitForFunction(() => location.hash.endsWith('?range=30d'));
      const s = await assertHistoryMatches(page, web.apiUrl, sys.adminToken, 'scope=park&id=ruili-coop');
      assert.equal(s.from, todayStart - 29 * DAY);
      assert.ok(s.kwh > 0, 'the meter\'s two days are in the last 30');

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#energy-history [data-testid=download-csv]')]);
      const [, from, to] = /^energy_park_ruili-coop_(\d{4}-\d\d-\d\d)_(\d{4}-\d\d-\d\d)\.csv$/.exec(download.suggestedFilename()) ?? [];
      assert.ok(from && to, download.suggestedFilename());
      const file = fs.readFileSync(await download.path(), 'utf8');
      const res = await fetch(`${web.apiUrl}/api/v1/energy/rollups.csv?scope=park&id=ruili-coop&from=${from}&to=${to}`, { headers: { authorization: `Bearer ${sys.adminToken}` } });
      assert.equal(res.status, 200);
      assert.deepEqual(file.split(/\r?\n/), (await res.text()).split(/\r?\n/), 'the saved file is the API\'s CSV');
      await page.screenshot({ path: path.join(RESULTS, 'web-roles-park.png'), fullPage: true });
      await signOutOfPage(page);
      assert.deepEqual(unexpected(problems), []);
    });
  });
});
