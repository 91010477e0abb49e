// The rules of password sign-in that need no server: the cookie's attributes (Secure over HTTPS), reading it back,
// the cross-site check of cookie-carried changes, password rules, and the per-name lockout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SESSION_POLICY, LoginLockout, clearedSessionCookie, cookieValue, crossSiteProblem, passwordProblem, sameOrigin, sessionCookie,
} from '../../api/session.ts';

test('the session cookie: httpOnly, SameSite=Strict, Secure only over HTTPS, read back from a Cookie header', () => {
  const https = { ...DEFAULT_SESSION_POLICY, secure: true };
  assert.equal(sessionCookie('ss_x', https), 'dh_session=ss_x; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800; Secure');
  assert.equal(sessionCookie('ss_x', DEFAULT_SESSION_POLICY), 'dh_session=ss_x; Path=/; HttpOnly; SameSite=Strict; Max-Age=604800');
  assert.equal(clearedSessionCookie(https), 'dh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure');
  assert.equal(cookieValue('lang=zh; dh_session=ss_abc-1; other=1', 'dh_session'), 'ss_abc-1');
  assert.equal(cookieValue('xdh_session=nope', 'dh_session'), undefined);
  assert.equal(cookieValue(undefined, 'dh_session'), undefined);
  assert.equal(cookieValue('dh_session=%E0%A4%A', 'dh_session'), '%E0%A4%A', 'a malformed value is just an unknown session');
});

test('a cookie-carried change must come from the page: its header, or an Origin or Referer naming the host', () => {
  const req = (method: string, headers: Record<string, string>) => ({ method, headers });
  assert.equal(crossSiteProblem(req('GET', {})), undefined, 'reading is not a change');
  assert.match(crossSiteProblem(req('POST', { host: 'a.example' })) ?? '', /dashboard itself/);
  assert.match(crossSiteProblem(req('DELETE', { host: 'a.example', origin: 'https://b.example' })) ?? '', /dashboard itself/);
  assert.match(crossSiteProblem(req('PATCH', { host: 'a.example', origin: 'null' })) ?? '', /dashboard itself/);
  assert.equal(crossSiteProblem(req('PUT', { host: 'a.example:8080', origin: 'https://a.example:8080' })), undefined);
  assert.equal(crossSiteProblem(req('POST', { host: 'a.example', referer: 'https://a.example/#/users' })), undefined);
  assert.equal(crossSiteProblem(req('POST', { host: 'a.example', 'x-dh-page': '1' })), undefined);
  assert.equal(sameOrigin('https://a.example.evil.test', 'a.example'), false);
});

test('passwords: at least 10 characters (counted as people see them), never the login name', () => {
  assert.match(passwordProblem('short', 'li.na') ?? '', /at least 10/);
  assert.match(passwordProblem('纺织纺织纺织纺织纺', 'li.na') ?? '', /at least 10/, 'nine characters, more bytes');
  assert.equal(passwordProblem('纺织纺织纺织纺织纺织', 'li.na'), undefined);
  assert.match(passwordProblem('Zhang.Wei.2026', 'zhang.wei.2026') ?? '', /login name/);
  assert.equal(passwordProblem('zhang.wei.2026!', 'zhang.wei.2026'), undefined);
});

test('a login name is locked after the limit of failures until its window ends, logged once', () => {
  const warnings: unknown[] = [];
  const lockout = new LoginLockout(3, { warn: (o: unknown) => { warnings.push(o); } } as never, 60_000);
  const t0 = 120_000;
  for (let i = 0; i < 5; i++) lockout.failed('li.na', '10.0.0.1', t0 + i);
  assert.equal(lockout.retryAfter('li.na', t0 + 10), 60);
  assert.equal(lockout.retryAfter('wang.fang', t0 + 10), undefined);
  assert.equal(lockout.retryAfter('li.na', t0 + 60_000), undefined, 'the next window starts afresh');
  assert.equal(warnings.length, 1);
});
