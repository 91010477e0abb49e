// People sign in with a login name and password through app.inject(): the session cookie and its attributes,
// sign-out, idle timeout and lifetime, disabling and password changes ending sessions, the cross-site refusal
// for cookie-carried changes, the throttles (per address and per login name), roles, and the audit trail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { NewFirm } from '../../common/registry/registry.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';
import { testFirm } from '../helpers/system.ts';

const ADMIN = 'at_signin_admin_token_for_tests_0';
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The session cookie a response sets ("name=value"), or undefined. */
function cookieOf(r: LightMyRequestResponse): string | undefined {
  const set = r.headers['set-cookie'];
  const line = Array.isArray(set) ? set[0] : set;
  return line?.split(';')[0];
}

function client(api: OfflineApi) {
  const asToken = (token: string, method: Method, url: string, payload?: object) =>
    api.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  /** As the dashboard calls: the cookie and the page's header. */
  const asCookie = (cookie: string, method: Method, url: string, payload?: object, headers: Record<string, string> = { 'x-dh-page': '1' }) =>
    api.app.inject({ method, url, headers: { cookie, ...headers }, ...(payload ? { payload } : {}) });
  const signIn = (login: string, password: string) => api.app.inject({ method: 'POST', url: '/api/v1/session', payload: { login, password } });
  async function session(login: string, password: string): Promise<string> {
    const r = await signIn(login, password);
    assert.equal(r.statusCode, 200, r.body);
    const cookie = cookieOf(r);
    assert.ok(cookie);
    return cookie;
  }
  async function createUser(body: object): Promise<{ id: string; login: string }> {
    const r = await asToken(ADMIN, 'POST', '/api/v1/users', body);
    assert.equal(r.statusCode, 201, r.body);
    return r.json();
  }
  return { asToken, asCookie, signIn, session, createUser };
}

describe('signing in with a password', () => {
  let api: OfflineApi;
  let c: ReturnType<typeof client>;
  const A: NewFirm = testFirm({ name: 'A 纺织' });
  const B: NewFirm = testFirm({ name: 'B 纺织' });
  let engineer: { id: string; login: string };

  before(async () => {
    api = await offlineApi('signin', { apiAuthFailuresPerMinute: 1000 }, async (r) => {
      await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
      await r.createFirm(A);
      await r.createFirm(B);
    });
    c = client(api);
    await c.createUser({ login: 'admin.chen', displayName: '陈管理', role: 'admin', password: 'admin-password-1' });
    await c.createUser({ login: 'bureau.li', displayName: '李局', role: 'bureau', password: 'bureau-password-1' });
    engineer = await c.createUser({ login: 'eng.zhang', displayName: '张工', role: 'engineer', firmId: A.id, password: 'engineer-password-1' });
  });
  after(async () => { await api.close(); });

  test('the admin token creates users; a password must be long enough and not the login name; names are unique', async () => {
    const short = await c.asToken(ADMIN, 'POST', '/api/v1/users', { login: 'x.short', displayName: 'x', role: 'bureau', password: 'too-short' });
    assert.equal(short.statusCode, 400);
    assert.match(short.json().message, /at least 10 characters/);
    const same = await c.asToken(ADMIN, 'POST', '/api/v1/users', { login: 'same.as.login', displayName: 'x', role: 'bureau', password: 'Same.As.Login' });
    assert.match(same.json().message, /may not be the login name/);
    assert.equal((await c.asToken(ADMIN, 'POST', '/api/v1/users', { login: 'eng.zhang', displayName: 'x', role: 'bureau', password: 'long-enough-pw' })).statusCode, 409);
    assert.equal((await c.asToken(ADMIN, 'POST', '/api/v1/users', { login: 'eng.x', displayName: 'x', role: 'engineer', password: 'long-enough-pw' })).statusCode, 400, 'an engineer needs a firm');
    const created = await api.registry.listAudit({ limit: 50 });
    assert.ok(created.some((e) => e.action === 'user.create' && e.target === engineer.id));
    assert.ok(!JSON.stringify(created).includes('engineer-password-1'), 'no password in the audit trail');
  });

  test('sign in sets an httpOnly SameSite=Strict cookie; /me and the API work with it; sign out ends it', async () => {
    const r = await c.signIn('  Eng.Zhang ', 'engineer-password-1');
    assert.equal(r.statusCode, 200, r.body);
    const set = String(r.headers['set-cookie']);
    assert.match(set, /^dh_session=ss_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=604800$/, 'no Secure over plain HTTP');
    assert.deepEqual([r.json().user.login, r.json().user.firmId], ['eng.zhang', A.id]);
    const cookie = cookieOf(r) as string;
    const me = (await c.asCookie(cookie, 'GET', '/api/v1/me')).json();
    assert.deepEqual([me.role, me.firmId, me.name], ['engineer', A.id, '张工']);
    assert.equal((await c.asCookie(cookie, 'GET', '/api/v1/session')).json().user.id, engineer.id);
    assert.equal((await c.asToken(ADMIN, 'GET', '/api/v1/session')).statusCode, 401, 'a token has no session');
    assert.equal((await c.asCookie(cookie, 'GET', `/api/v1/firms/${A.id}`)).statusCode, 200);
    assert.equal((await c.asCookie(cookie, 'GET', `/api/v1/firms/${B.id}`)).statusCode, 404, 'an engineer sees only their firm');
    const out = await c.asCookie(cookie, 'DELETE', '/api/v1/session');
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /dh_session=; .*Max-Age=0/);
    const after = await c.asCookie(cookie, 'GET', '/api/v1/me');
    assert.equal(after.statusCode, 401);
    assert.match(after.json().message, /sign in again/);
    const entries = await api.registry.listAudit({ limit: 20, target: engineer.id });
    const actions = entries.map((e) => e.action);
    assert.ok(actions.includes('session.start') && actions.includes('session.end'), actions.join());
    assert.equal(entries.find((e) => e.action === 'session.start')?.actor, `张工 (engineer, user ${engineer.id})`, 'the person is named in the audit trail');
  });

  test('a wrong password or an unknown name gets one clear message and is audited', async () => {
    for (const [login, password] of [['eng.zhang', 'not-the-password'], ['nobody.here', 'engineer-password-1']] as const) {
      const r = await c.signIn(login, password);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().message, 'wrong login name or password');
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const refused = await api.registry.listAudit({ limit: 5, target: 'login:nobody.here' });
    assert.deepEqual(refused.map((e) => [e.action, JSON.parse(e.detail).reason]), [['session.refuse', 'unknown']]);
  });

  test('a cookie-carried change from another site is refused; the page\'s own header or origin passes', async () => {
    const cookie = await c.session('admin.chen', 'admin-password-1');
    const firm = testFirm({ name: 'C' });
    const bare = await c.asCookie(cookie, 'POST', '/api/v1/firms', firm, {});
    assert.equal(bare.statusCode, 403);
    assert.match(bare.json().message, /must come from the dashboard itself/);
    const foreign = await c.asCookie(cookie, 'POST', '/api/v1/firms', firm, { origin: 'https://evil.example', host: 'localhost:8080' });
    assert.equal(foreign.statusCode, 403);
    assert.equal((await c.asCookie(cookie, 'DELETE', '/api/v1/session', undefined, { origin: 'https://evil.example' })).statusCode, 403, 'not even sign-out');
    assert.equal((await c.asCookie(cookie, 'GET', '/api/v1/firms', undefined, {})).statusCode, 200, 'reading needs no header');
    assert.equal((await c.asCookie(cookie, 'POST', '/api/v1/firms', firm, { origin: 'http://localhost:8080', host: 'localhost:8080' })).statusCode, 201);
    assert.equal((await c.asCookie(cookie, 'POST', '/api/v1/firms', testFirm(), { 'x-dh-page': '1' })).statusCode, 201);
  });

  test('roles: bureau lists users but cannot create them; an engineer neither; only admins disable', async () => {
    const bureau = await c.session('bureau.li', 'bureau-password-1');
    const eng = await c.session('eng.zhang', 'engineer-password-1');
    assert.deepEqual((await c.asCookie(bureau, 'GET', '/api/v1/users')).json().map((u: { login: string }) => u.login).slice(0, 3), ['admin.chen', 'bureau.li', 'eng.zhang']);
    assert.equal((await c.asCookie(bureau, 'POST', '/api/v1/users', { login: 'x.b', displayName: 'x', role: 'bureau', password: 'long-enough-pw' })).statusCode, 403);
    assert.equal((await c.asCookie(eng, 'GET', '/api/v1/users')).statusCode, 403);
    assert.equal((await c.asCookie(eng, 'GET', `/api/v1/users/${engineer.id}`)).statusCode, 200, 'their own record');
    assert.equal((await c.asCookie(eng, 'PATCH', `/api/v1/users/${engineer.id}`, { disabled: true })).statusCode, 403);
    const admin = await c.session('admin.chen', 'admin-password-1');
    const self = (await c.asCookie(admin, 'GET', '/api/v1/session')).json().user.id as string;
    assert.equal((await c.asCookie(admin, 'PATCH', `/api/v1/users/${self}`, { disabled: true })).statusCode, 400, 'an admin cannot lock themselves out');
  });

  test('disabling a user ends their sessions at once; they cannot sign in again until enabled', async () => {
    const eng = await c.session('eng.zhang', 'engineer-password-1');
    const r = await c.asToken(ADMIN, 'PATCH', `/api/v1/users/${engineer.id}`, { disabled: true });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((await c.asCookie(eng, 'GET', '/api/v1/me')).statusCode, 401);
    const again = await c.signIn('eng.zhang', 'engineer-password-1');
    assert.equal(again.statusCode, 401);
    assert.match(again.json().message, /disabled/);
    assert.equal((await c.asToken(ADMIN, 'PATCH', `/api/v1/users/${engineer.id}`, { disabled: false })).statusCode, 200);
    await c.session('eng.zhang', 'engineer-password-1');
    const actions = (await api.registry.listAudit({ limit: 20, target: engineer.id })).map((e) => e.action);
    assert.ok(actions.includes('user.disable'), actions.join());
  });

  test('changing one\'s own password needs the current one, ends other sessions and keeps this one; an admin reset ends all', async () => {
    const other = await c.session('eng.zhang', 'engineer-password-1');
    const here = await c.session('eng.zhang', 'engineer-password-1');
    const url = `/api/v1/users/${engineer.id}/password`;
    assert.equal((await c.asCookie(here, 'PUT', url, { password: 'engineer-password-2' })).statusCode, 403);
    assert.equal((await c.asCookie(here, 'PUT', url, { password: 'engineer-password-2', currentPassword: 'wrong-password-x' })).statusCode, 403);
    const changed = await c.asCookie(here, 'PUT', url, { password: 'engineer-password-2', currentPassword: 'engineer-password-1' });
    assert.equal(changed.statusCode, 204, changed.body);
    const renewed = cookieOf(changed) as string;
    assert.equal((await c.asCookie(renewed, 'GET', '/api/v1/me')).statusCode, 200, 'this browser stays signed in');
    assert.equal((await c.asCookie(other, 'GET', '/api/v1/me')).statusCode, 401, 'another browser is signed out');
    assert.equal((await c.asCookie(here, 'GET', '/api/v1/me')).statusCode, 401, 'the old session is gone');
    assert.equal((await c.signIn('eng.zhang', 'engineer-password-1')).statusCode, 401);
    assert.equal((await c.asToken(ADMIN, 'PUT', url, { password: 'engineer-password-3' })).statusCode, 204, 'an admin resets without the current one');
    assert.equal((await c.asCookie(renewed, 'GET', '/api/v1/me')).statusCode, 401);
    await c.session('eng.zhang', 'engineer-password-3');
    const actions = (await api.registry.listAudit({ limit: 30, target: engineer.id })).map((e) => e.action);
    assert.ok(actions.includes('user.password-change') && actions.includes('user.password-reset'), actions.join());
    assert.ok(!JSON.stringify(await api.registry.listAudit({ limit: 100 })).includes('engineer-password'), 'never a password');
  });

  test('a login name is locked after repeated failures (429, Retry-After), even for the right password', async () => {
    await c.createUser({ login: 'locked.out', displayName: '锁', role: 'bureau', password: 'right-password-1' });
    for (let i = 0; i < 10; i++) assert.equal((await c.signIn('locked.out', `wrong-password-${i}`)).statusCode, 401);
    const r = await c.signIn('locked.out', 'right-password-1');
    assert.equal(r.statusCode, 429);
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.equal((await c.signIn('bureau.li', 'bureau-password-1')).statusCode, 200, 'other names are not affected');
  });
});

describe('session limits and the address throttle', () => {
  test('an idle session ends; a session ends at its lifetime; failed sign-ins count against the address', async () => {
    const idle = await offlineApi('signin-idle', { session: { idleMs: 700 }, apiAuthFailuresPerMinute: 3 }, async (r) => {
      await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
    });
    const old = await offlineApi('signin-old', { session: { absoluteMs: 700 } }, async (r) => {
      await r.ensureApiToken(ADMIN, 'admin', null, 'admin (ADMIN_TOKEN)');
    });
    try {
      const i = client(idle);
      const o = client(old);
      await i.createUser({ login: 'wang.fang', displayName: '王芳', role: 'bureau', password: 'bureau-password-1' });
      await o.createUser({ login: 'wang.fang', displayName: '王芳', role: 'bureau', password: 'bureau-password-1' });
      const a = await i.session('wang.fang', 'bureau-password-1');
      const b = await o.session('wang.fang', 'bureau-password-1');
      assert.equal((await i.asCookie(a, 'GET', '/api/v1/me')).statusCode, 200);
      assert.equal((await o.asCookie(b, 'GET', '/api/v1/me')).statusCode, 200);
      await new Promise((resolve) => setTimeout(resolve, 800));
      const idled = await i.asCookie(a, 'GET', '/api/v1/me');
      assert.equal(idled.statusCode, 401);
      assert.match(idled.json().message, /unused/);
      const expired = await o.asCookie(b, 'GET', '/api/v1/me');
      assert.equal(expired.statusCode, 401);
      assert.match(expired.json().message, /expired/);

      for (let n = 0; n < 3; n++) assert.equal((await i.signIn(`guess.${n}`, 'some-password-x')).statusCode, 401);
      const refused = await i.signIn('wang.fang', 'bureau-password-1');
      assert.equal(refused.statusCode, 429, 'the address is refused for the rest of the minute');
      assert.ok(Number(refused.headers['retry-after']) > 0);
    } finally {
      await idle.close();
      await old.close();
    }
  });
});
