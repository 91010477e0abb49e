// The life of API tokens through app.inject(): listed without secrets, revoked at once, refused after expiry,
// each use and each change on record; changing ADMIN_TOKEN retires the previous admin token. Device tokens take
// an expiry on provisioning and rotation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { createLogger } from '../../common/log.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const dir = tempDir('tokens');
const file = path.join(dir, 'r.db');
const firstAdmin = 'at_first_admin_token_for_tests_0';
const secondAdmin = 'at_second_admin_token_for_test_0';
let app: FastifyInstance;
let registry: SqliteRegistry;
let spool: SqliteSpool;
let A: NewFirm;
let B: NewFirm;

/** The API on the registry file, with ADMIN_TOKEN registered as api/main.ts does at start-up. */
async function start(adminToken: string): Promise<void> {
  registry = new SqliteRegistry(file);
  await registry.ensureApiToken(adminToken, 'admin', null, 'admin (ADMIN_TOKEN)');
  const store = new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 });
  app = await buildApp({ registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30 });
}
async function stop(): Promise<void> {
  await app.close();
  await registry.close();
}

before(async () => {
  spool = new SqliteSpool(path.join(dir, 's.db'));
  await start(firstAdmin);
  A = testFirm({ name: 'A' });
  B = testFirm({ name: 'B' });
  for (const f of [A, B]) assert.equal((await call(firstAdmin, 'POST', '/api/v1/firms', f)).statusCode, 201);
});
after(async () => {
  await stop();
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });

interface Created { token: string; tokenId: string; role: string; firmId: string | null; name: string; expiresAt: number | null }
interface Listed { tokenId: string; role: string; firmId: string | null; name: string; createdAt: number; expiresAt: number | null; revokedAt: number | null; lastUsedAt: number | null; operator: boolean; status: string }

async function mint(by: string, body: object): Promise<Created> {
  const r = await call(by, 'POST', '/api/v1/tokens', body);
  assert.equal(r.statusCode, 201, r.body);
  return r.json() as Created;
}
const list = async (token: string, query = ''): Promise<Listed[]> => (await call(token, 'GET', `/api/v1/tokens${query}`)).json() as Listed[];
const auditOf = async (target: string): Promise<string[]> =>
  ((await call(secondAdmin, 'GET', `/api/v1/audit?target=${target}`)).json() as Array<{ action: string }>).map((e) => e.action);

describe('API tokens', () => {
  test('listed without secrets: admin and bureau see all, an engineer only their firm\'s; the last use is kept', async () => {
    const engA = await mint(firstAdmin, { role: 'engineer', firmId: A.id, name: 'eng A' });
    const engB = await mint(firstAdmin, { role: 'engineer', firmId: B.id, name: 'eng B' });
    const bureau = await mint(firstAdmin, { role: 'bureau', name: 'bureau' });
    assert.equal((await call(engA.token, 'GET', '/api/v1/me')).statusCode, 200);
    const all = await list(firstAdmin);
    for (const t of [engA, engB, bureau]) assert.ok(all.some((x) => x.tokenId === t.tokenId), t.name);
    for (const t of [engA, engB, bureau]) assert.ok(!JSON.stringify(all).includes(t.token), 'no secret is listed');
    const mine = all.find((x) => x.tokenId === engA.tokenId);
    assert.equal(mine?.status, 'active');
    assert.ok((mine?.lastUsedAt ?? 0) > 0, 'the use is recorded');
    assert.equal(all.find((x) => x.name === 'admin (ADMIN_TOKEN)')?.operator, true);
    assert.deepEqual((await list(engA.token)).map((x) => x.tokenId), [engA.tokenId]);
    assert.equal((await call(engA.token, 'GET', `/api/v1/tokens?firmId=${B.id}`)).statusCode, 404);
    assert.equal((await list(bureau.token)).length, all.length);
    assert.deepEqual((await list(bureau.token, `?firmId=${B.id}`)).map((x) => x.tokenId), [engB.tokenId]);
  });

  test('revoked at once (admin: any; engineer: their firm\'s; bureau: none), with create and revoke audited', async () => {
    const victim = await mint(firstAdmin, { role: 'engineer', firmId: A.id, name: 'leaked' });
    const colleague = await mint(firstAdmin, { role: 'engineer', firmId: A.id, name: 'colleague' });
    const other = await mint(firstAdmin, { role: 'engineer', firmId: B.id, name: 'other firm' });
    const bureau = await mint(firstAdmin, { role: 'bureau', name: 'bureau 2' });
    assert.equal((await call(bureau.token, 'DELETE', `/api/v1/tokens/${victim.tokenId}`)).statusCode, 403);
    assert.equal((await call(colleague.token, 'DELETE', `/api/v1/tokens/${other.tokenId}`)).statusCode, 404, 'another firm\'s token does not exist for an engineer');
    assert.equal((await call(colleague.token, 'DELETE', `/api/v1/tokens/${victim.tokenId}`)).statusCode, 204);
    const refused = await call(victim.token, 'GET', '/api/v1/me');
    assert.equal(refused.statusCode, 401);
    assert.match(refused.json().message, /token revoked/);
    assert.equal((await call(firstAdmin, 'DELETE', `/api/v1/tokens/${victim.tokenId}`)).statusCode, 204, 'revoking again is harmless');
    assert.equal((await call(firstAdmin, 'DELETE', '/api/v1/tokens/00000000deadbeef')).statusCode, 404);
    assert.equal((await list(firstAdmin)).find((x) => x.tokenId === victim.tokenId)?.status, 'revoked');
    assert.deepEqual((await call(firstAdmin, 'GET', `/api/v1/audit?target=${victim.tokenId}`)).json().map((e: { action: string }) => e.action), ['token.revoke', 'token.create']);
  });

  test('an expiry in the past is refused; after its expiry a token answers 401 "token expired"', async () => {
    const past = await call(firstAdmin, 'POST', '/api/v1/tokens', { role: 'bureau', name: 'late', expiresAt: Date.now() - 1000 });
    assert.equal(past.statusCode, 400);
    assert.match(past.json().message, /expiresAt must lie in the future/);
    const soon = await mint(firstAdmin, { role: 'bureau', name: 'short-lived', expiresAt: new Date(Date.now() + 400).toISOString() });
    assert.ok(soon.expiresAt !== null);
    assert.equal((await call(soon.token, 'GET', '/api/v1/me')).statusCode, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, (soon.expiresAt ?? 0) - Date.now()) + 20));
    const late = await call(soon.token, 'GET', '/api/v1/me');
    assert.equal(late.statusCode, 401);
    assert.equal(late.json().message, 'token expired');
    assert.equal((await list(firstAdmin)).find((x) => x.tokenId === soon.tokenId)?.status, 'expired');
  });

  test('device tokens: an expiry on provisioning and on rotation, none when not asked for', async () => {
    const soon = Date.now() + 3_600_000;
    const p = await call(firstAdmin, 'POST', `/api/v1/firms/${A.id}/devices`, { type: 'loom', name: 'L', tokenExpiresAt: soon });
    assert.equal(p.statusCode, 201, p.body);
    const d = p.json() as { id: string; tokenExpiresAt: number | null };
    assert.equal(d.tokenExpiresAt, soon);
    assert.equal((await call(firstAdmin, 'GET', `/api/v1/devices/${d.id}`)).json().tokenExpiresAt, soon);
    assert.equal((await call(firstAdmin, 'POST', `/api/v1/firms/${A.id}/devices`, { type: 'loom', name: 'L', tokenExpiresAt: Date.now() - 1 })).statusCode, 400);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const rotated = await call(firstAdmin, 'POST', `/api/v1/devices/${d.id}/token`, { expiresAt: later });
    assert.equal(rotated.statusCode, 200, rotated.body);
    assert.equal(rotated.json().tokenExpiresAt, Date.parse(later));
    const plain = await call(firstAdmin, 'POST', `/api/v1/devices/${d.id}/token`);
    assert.equal(plain.statusCode, 200, plain.body);
    assert.equal(plain.json().tokenExpiresAt, null);
    assert.equal((await call(firstAdmin, 'POST', `/api/v1/devices/${d.id}/token`, { expiresAt: 5 })).statusCode, 400);
  });

  test('changing ADMIN_TOKEN retires the previous admin token, which can then mint nothing', async () => {
    const minted = await mint(firstAdmin, { role: 'admin', name: 'second admin, made by hand' });
    await stop();
    await start(secondAdmin);
    const old = await call(firstAdmin, 'POST', '/api/v1/tokens', { role: 'admin', name: 'sneaky' });
    assert.equal(old.statusCode, 401);
    assert.match(old.json().message, /token revoked/);
    assert.equal((await call(secondAdmin, 'GET', '/api/v1/me')).json().role, 'admin');
    assert.equal((await call(minted.token, 'GET', '/api/v1/me')).statusCode, 200, 'tokens an admin made stay until revoked one by one');
    const operators = (await list(secondAdmin)).filter((x) => x.operator);
    assert.deepEqual(operators.map((x) => x.status).sort(), ['active', 'revoked']);
    const retired = operators.find((x) => x.status === 'revoked');
    assert.deepEqual(await auditOf(retired?.tokenId ?? ''), ['token.revoke']);
    await stop();
    await assert.rejects(start(firstAdmin), /was revoked; set ADMIN_TOKEN to a new value/, 'a revoked ADMIN_TOKEN is not brought back');
    await registry.close();
    await start(secondAdmin);
  });
});
