// Signing in through the dashboard's form in a real headless Chromium: a wrong password gets a clear message; the
// right one opens the engineer's firm with the live feed on the session cookie (nothing kept in localStorage, the
// cookie out of the page's reach); signing out ends the session. The holder of the admin token (#token= link)
// creates an admin user on the users page, disables a user and revokes an API token. The first admin of `npm start`
// signs in with the one-time password it printed, is made to set a new one, lands on the overview and downloads the
// alarm history for Excel. The API
// runs without InfluxDB (cards that need it say so); what is tested here is the sign-in. A screenshot goes to test-results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import type { NewFirm } from '../../common/registry/registry.ts';
import { FIRST_ADMIN_LOGIN, firstAdminPassword } from '../../common/secrets.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';
import { withBrowser } from '../helpers/browser.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const firm: NewFirm = testFirm({ name: '登录测试织造厂' });
const ADMIN = 'at_web_signin_admin_token_000000';
let api: OfflineApi;
let base: string;
let adminPassword: string;
const dataDir = tempDir('web-signin-data');

before(async () => {
  api = await offlineApi('web-signin', { live: new EventEmitter() }, async (r) => {
    await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
    await r.createFirm(firm);
    await r.createUser({ login: 'zhang.wei', displayName: '张伟', role: 'engineer', firmId: firm.id, password: 'weaving-floor-7' });
  });
  adminPassword = (await firstAdminPassword(api.registry, dataDir))!;
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await api.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('the first admin signs in with the printed one-time password, must set a new one, then lands on the overview', async () => {
  await withBrowser('signin-first-admin', async (_ctx, page) => {
    await page.goto(`${base}/`);
    await page.fill('#login-input', FIRST_ADMIN_LOGIN);
    await page.fill('#password-input', adminPassword);
    await page.click('[data-testid=login-password] button[type=submit]');
    await page.waitForSelector('[data-testid=set-password]');
    assert.equal(await page.textContent('[data-testid=set-password] h1'), '设置新密码');
    assert.equal(await page.locator('[data-testid=user-menu]').count(), 0, 'nothing but the form');
    await page.reload();
    await page.waitForSelector('[data-testid=set-password]');
    const form = '[data-testid=account-form]';
    await page.fill(`${form} input[name=currentPassword]`, adminPassword);
    await page.fill(`${form} input[name=password]`, 'first-admin-own-pw');
    await page.fill(`${form} input[name=again]`, 'first-admin-own-pw');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
    await page.waitForSelector('main section#kpi', { timeout: 15_000 });
    assert.equal(await page.textContent('[data-testid=user-name]'), FIRST_ADMIN_LOGIN);
    assert.equal((await api.registry.listUsers()).find((u) => u.login === FIRST_ADMIN_LOGIN)?.mustChangePassword, false);
    assert.equal(await firstAdminPassword(api.registry, dataDir), undefined, 'npm start no longer shows it');

    // The alarm card's Excel download: with the session cookie, the API's Chinese name, a byte-order mark.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-alarms] [data-export=excel]')]);
    assert.match(download.suggestedFilename(), /^德宏-告警-\d{4}-\d{2}-\d{2}至\d{4}-\d{2}-\d{2}\.csv$/);
    const body = fs.readFileSync((await download.path())!);
    assert.equal(body.subarray(0, 3).toString('hex'), 'efbbbf');
    assert.match(body.toString('utf8'), /^\ufeff编号,发生时间,级别/);
  });
});

test('an engineer signs in with the form, sees their firm, and signs out; a wrong password says so', async () => {
  await withBrowser('signin', async (ctx, page) => {
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid=login-password]');
    await page.click('#lang');
    assert.equal(await page.textContent('[data-testid=login-password] h1'), 'Sign in', 'English on request');
    await page.click('#lang');
    assert.equal(await page.textContent('[data-testid=login-password] h1'), '登录');
    await page.fill('#login-input', 'zhang.wei');
    await page.fill('#password-input', 'not-my-password');
    await page.click('[data-testid=login-password] button[type=submit]');
    const error = await page.waitForSelector('[data-testid=login-error]:not([hidden])');
    assert.equal(await error.textContent(), '登录名或密码错误，请重试。');

    await page.fill('#password-input', 'weaving-floor-7');
    await page.click('[data-testid=login-password] button[type=submit]');
    await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=firm-name]', { timeout: 15_000 });
    assert.match(await page.textContent('[data-testid=firm-name]') ?? '', /登录测试织造厂/);
    assert.equal(new URL(page.url()).hash, `#/firm/${firm.id}`);
    assert.equal(await page.textContent('[data-testid=user-name]'), '张伟');
    assert.equal(await page.evaluate(() => localStorage.getItem('token')), null, 'no token in localStorage');
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('dh_session'), 'the session cookie is out of the page\'s reach');
    const cookies = await ctx.cookies(base);
    assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.sameSite]), [['dh_session', true, 'Strict']]);

    await page.click('[data-testid=sign-out]');
    await page.waitForSelector('[data-testid=login-password]');
    const status = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    assert.equal(status, 401, 'signed out for the API too');
    await page.reload();
    await page.waitForSelector('[data-testid=login-password]');
  });
});

test('the admin token opens the users page: an admin user is created there, a user disabled and enabled, a token revoked', async () => {
  const script = await api.registry.createApiToken('bureau', null, '报表脚本');
  await withBrowser('signin-admin', async (_ctx, page) => {
    page.on('dialog', (d) => { void d.accept(); });
    await page.goto(`${base}/#token=${ADMIN}`);
    await page.waitForSelector('#conn[data-state=online]', { timeout: 15_000 });
    await page.evaluate(() => { location.hash = '#/users'; });
    await page.waitForSelector('[data-testid=users]');
    const form = '[data-testid=user-create]';
    await page.fill(`${form} input[name=login]`, 'chen.admin');
    await page.fill(`${form} input[name=displayName]`, '陈管理');
    await page.selectOption(`${form} select[name=role]`, 'admin');
    await page.fill(`${form} input[name=password]`, 'admin-password-web');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('[data-testid=users] tr[data-login="chen.admin"]');
    const created = (await api.registry.listUsers()).find((u) => u.login === 'chen.admin');
    assert.deepEqual([created?.role, created?.displayName], ['admin', '陈管理']);

    await page.click('[data-testid=users] tr[data-login="zhang.wei"] [data-action=disable]');
    await page.waitForSelector('[data-testid=users] tr[data-login="zhang.wei"] [data-action=enable]');
    assert.equal((await api.registry.listUsers()).find((u) => u.login === 'zhang.wei')?.disabled, true);
    await page.click('[data-testid=users] tr[data-login="zhang.wei"] [data-action=enable]');
    await page.waitForSelector('[data-testid=users] tr[data-login="zhang.wei"] [data-action=disable]');

    await page.evaluate(() => { location.hash = '#/tokens'; });
    const row = `[data-testid=tokens] tr[data-token="${script.principal.tokenId}"]`;
    await page.waitForSelector(row);
    assert.match(await page.textContent(row) ?? '', /报表脚本.*工信局.*从未.*有效/);
    await page.click(`${row} [data-action=revoke]`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('已吊销'), row);
    assert.equal((await api.registry.getApiToken(script.principal.tokenId))?.revokedAt !== null, true);
  });
});
