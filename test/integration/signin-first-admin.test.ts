// A password given to a person must be replaced at first sign-in: the first admin `npm start` creates (its
// one-time password kept in the data directory only until then) and anyone an admin resets. Until they set their
// own, their session may read GET /session, change the password and sign out; every other route answers 403.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { dataDirLayout } from '../../common/data-dir.ts';
import { FIRST_ADMIN_LOGIN, firstAdminPassword } from '../../common/secrets.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const ADMIN = 'at_first_admin_token_for_tests_0';
const PAGE = { 'x-dh-page': '1' };
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const cookieOf = (r: LightMyRequestResponse): string | undefined => String(r.headers['set-cookie'] ?? '').split(';')[0] || undefined;

describe('the first admin of npm start', () => {
  test('is created once with a one-time password kept 0600, shown until replaced, then forgotten', async () => {
    const dir = tempDir('first-admin');
    const registry = new SqliteRegistry(path.join(dir, 'r.db'));
    try {
      const file = dataDirLayout(dir).adminPassword;
      const password = await firstAdminPassword(registry, dir);
      assert.ok(password && password.length >= 12, 'a generated password');
      assert.equal(fs.readFileSync(file, 'utf8').trim(), password);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const [admin] = await registry.listUsers();
      assert.deepEqual([admin?.login, admin?.role, admin?.mustChangePassword], [FIRST_ADMIN_LOGIN, 'admin', true]);
      assert.equal(await firstAdminPassword(registry, dir), password, 'the next start shows it again');
      assert.equal((await registry.listUsers()).length, 1, 'and creates no second admin');
      await registry.setUserPassword(admin!.id, 'chosen-by-the-admin');
      assert.equal(await firstAdminPassword(registry, dir), undefined, 'replaced: not shown again');
      assert.equal(fs.existsSync(file), false, 'nor kept');
    } finally {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is not created when an admin user exists already', async () => {
    const dir = tempDir('first-admin-exists');
    const registry = new SqliteRegistry(path.join(dir, 'r.db'));
    try {
      await registry.createUser({ login: 'chen.admin', displayName: '陈', role: 'admin', firmId: null, password: 'existing-admin-pw' });
      assert.equal(await firstAdminPassword(registry, dir), undefined);
      assert.deepEqual((await registry.listUsers()).map((u) => u.login), ['chen.admin']);
    } finally {
      await registry.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a session that must set a new password first', () => {
  let api: OfflineApi;
  let password: string;
  const dataDir = tempDir('first-admin-api');
  const firm = testFirm({ name: '改密测试厂' });
  const inject = (method: Method, url: string, headers: Record<string, string>, payload?: object) =>
    api.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const signIn = async (login: string, pw: string) => {
    const r = await inject('POST', '/api/v1/session', {}, { login, password: pw });
    assert.equal(r.statusCode, 200, r.body);
    return { user: r.json().user as { id: string; mustChangePassword: boolean }, cookie: cookieOf(r)! };
  };

  before(async () => {
    api = await offlineApi('signin-first-admin', { apiAuthFailuresPerMinute: 1000 }, async (r) => {
      await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
      await r.createFirm(firm);
    });
    password = (await firstAdminPassword(api.registry, dataDir))!;
  });
  after(async () => {
    await api.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('may read its session and nothing else until the password is changed; then everything', async () => {
    const { user, cookie } = await signIn(FIRST_ADMIN_LOGIN, password);
    assert.equal(user.mustChangePassword, true, 'sign-in tells the page');
    const as = (method: Method, url: string, payload?: object) => inject(method, url, { cookie, ...PAGE }, payload);
    const session = await as('GET', '/api/v1/session');
    assert.equal(session.statusCode, 200);
    assert.equal(session.json().user.mustChangePassword, true);
    for (const [method, url, body] of [
      ['GET', '/api/v1/me'], ['GET', '/api/v1/firms'], ['GET', `/api/v1/firms/${firm.id}`], ['GET', '/api/v1/users'],
      ['POST', '/api/v1/firms', testFirm()], ['POST', '/api/v1/tokens', { role: 'bureau', name: 'x' }],
    ] as const) {
      const r = await as(method, url, body);
      assert.equal(r.statusCode, 403, `${method} ${url}`);
      assert.match(r.json().message, /set a new password first/);
    }
    const other = await api.registry.createUser({ login: 'li.na', displayName: '李娜', role: 'bureau', firmId: null, password: 'bureau-password-1' });
    assert.equal((await as('PUT', `/api/v1/users/${other.id}/password`, { password: 'taken-over-pw' })).statusCode, 403, 'no resetting others meanwhile');

    const url = '/api/v1/session/password';
    assert.equal((await as('PUT', url, { currentPassword: 'not-the-password', password: 'my-own-password-1' })).statusCode, 403, 'the current one first');
    const same = await as('PUT', url, { currentPassword: password, password });
    assert.equal(same.statusCode, 400, 'not the same one again');
    assert.equal((await as('PUT', url, { currentPassword: password, password: 'short' })).statusCode, 400);
    const changed = await as('PUT', url, { currentPassword: password, password: 'my-own-password-1' });
    assert.equal(changed.statusCode, 204, changed.body);
    const renewed = cookieOf(changed)!;
    assert.equal((await as('GET', '/api/v1/session')).statusCode, 401, 'the old session ended');
    const after = await inject('GET', '/api/v1/session', { cookie: renewed });
    assert.equal(after.json().user.mustChangePassword, false);
    assert.equal((await inject('GET', '/api/v1/me', { cookie: renewed })).statusCode, 200, 'now everything is open');
    assert.equal((await inject('GET', `/api/v1/firms/${firm.id}`, { cookie: renewed })).statusCode, 200);
    assert.equal((await inject('PUT', url, { authorization: `Bearer ${ADMIN}` }, { currentPassword: 'x', password: 'token-has-none-1' })).statusCode, 401, 'a token has no password');
    const actions = (await api.registry.listAudit({ limit: 10, target: user.id })).map((e) => e.action);
    assert.ok(actions.includes('user.password-change'), actions.join());
  });

  test('an admin reset makes the person set their own at sign-in; changing it themselves clears that', async () => {
    const eng = await api.registry.createUser({ login: 'eng.wang', displayName: '王工', role: 'engineer', firmId: firm.id, password: 'engineer-password-1' });
    assert.equal((await inject('PUT', `/api/v1/users/${eng.id}/password`, { authorization: `Bearer ${ADMIN}` }, { password: 'given-by-admin-1' })).statusCode, 204);
    const { user, cookie } = await signIn('eng.wang', 'given-by-admin-1');
    assert.equal(user.mustChangePassword, true);
    assert.equal((await inject('GET', `/api/v1/firms/${firm.id}/devices`, { cookie })).statusCode, 403);
    const own = await inject('PUT', `/api/v1/users/${eng.id}/password`, { cookie, ...PAGE }, { currentPassword: 'given-by-admin-1', password: 'engineer-own-pw-2' });
    assert.equal(own.statusCode, 204, own.body);
    assert.equal((await inject('GET', `/api/v1/firms/${firm.id}/devices`, { cookie: cookieOf(own)! })).statusCode, 200);
    assert.equal((await api.registry.getUser(eng.id))?.mustChangePassword, false);
  });

  test('sign-out works meanwhile', async () => {
    const reset = await api.registry.createUser({ login: 'zhao.reset', displayName: '赵', role: 'bureau', firmId: null, password: 'given-password-1', mustChangePassword: true });
    const { cookie } = await signIn(reset.login, 'given-password-1');
    assert.equal((await inject('DELETE', '/api/v1/session', { cookie, ...PAGE })).statusCode, 204);
    assert.equal((await inject('GET', '/api/v1/session', { cookie })).statusCode, 401);
  });
});
