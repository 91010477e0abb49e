// The OpenAPI document checked by a validator we did not write (the official OpenAPI 3.0 JSON schema), and held
// against what the routes really answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApi30, operationIdOf } from '../../api/openapi.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';

type Operation = { operationId?: string; summary?: string; responses?: Record<string, unknown>; security?: unknown[] };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let api: OfflineApi;
let doc: Doc;

before(async () => {
  api = await offlineApi('openapi');
  doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
after(async () => api.close());

const operations = () => Object.entries(doc.paths).flatMap(([route, ops]) => Object.entries(ops).map(([method, op]) => ({ route, method, op })));

describe('OpenAPI document', () => {
  test('is valid OpenAPI 3.0 by the official schema', async () => {
    assert.equal(doc.openapi, '3.0.3');
    const res = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1)?.slice(0, 2000));
  });

  test('every operation has a unique operationId and a summary', () => {
    const ops = operations();
    assert.ok(ops.length > 50, `only ${ops.length} operations`);
    const ids = ops.map((o) => o.op.operationId);
    assert.equal(new Set(ids).size, ops.length, 'operationIds repeat');
    const withoutSummary = ops.filter((o) => !o.op.summary?.trim()).map((o) => `${o.method} ${o.route}`);
    assert.deepEqual(withoutSummary, []);
  });

  test('the documented 401 is what every token-checked route answers without a token', async () => {
    // Signing in and out (security: []) are the only routes open without a token or session.
    const guarded = operations().filter((o) => o.route.startsWith('/api/v1/') && o.op.security?.length !== 0);
    assert.ok(guarded.length > 40);
    for (const { route, method, op } of guarded) {
      assert.ok(op.responses?.['401'], `${method} ${route} documents no 401`);
      const url = route.replace(/\{[^}]+\}/g, 'x');
      const r = await api.app.inject({ method: method.toUpperCase() as 'GET', url, ...(method === 'get' || method === 'delete' ? {} : { payload: {} }) });
      assert.equal(r.statusCode, 401, `${method} ${url}`);
    }
  });

  test('every authenticated operation documents 401, 403 and 429; a person who must set a new password gets that 403 from each', async () => {
    const guarded = operations().filter((o) => o.route.startsWith('/api/v1/') && o.op.security?.length !== 0);
    for (const { route, method, op } of guarded) {
      for (const code of ['401', '403', '429']) assert.ok(op.responses?.[code], `${method} ${route} documents no ${code}`);
    }
    await api.registry.createUser({ login: 'must.change', displayName: 'x', role: 'admin', firmId: null, password: 'given-password-1', mustChangePassword: true });
    const signIn = await api.app.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'must.change', password: 'given-password-1' } });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const allowed = new Set(['get /api/v1/session', 'put /api/v1/session/password', 'put /api/v1/users/{userId}/password']);
    for (const { route, method } of guarded.filter((o) => !allowed.has(`${o.method} ${o.route}`))) {
      const url = route.replace(/\{[^}]+\}/g, 'x');
      const r = await api.app.inject({ method: method.toUpperCase() as 'GET', url, headers: { cookie, 'x-dh-page': '1' }, ...(method === 'get' || method === 'delete' ? {} : { payload: {} }) });
      assert.equal(r.statusCode, 403, `${method} ${url}`);
      assert.match(r.json().message, /set a new password first/);
    }
  });

  test('every /api/v1 operation documents the 429 the address throttle answers, with Retry-After', async () => {
    const ops = operations().filter((o) => o.route.startsWith('/api/v1/'));
    for (const { route, method, op } of ops) assert.ok(op.responses?.['429'], `${method} ${route} documents no 429`);
    const throttled = await offlineApi('openapi-429', { apiAuthFailuresPerMinute: 2 });
    try {
      for (let i = 0; i < 2; i++) await throttled.app.inject({ method: 'GET', url: '/api/v1/firms', headers: { authorization: 'Bearer at_wrong_token_for_the_429_test' } });
      for (const { route, method } of ops.slice(0, 10)) {
        const r = await throttled.app.inject({ method: method.toUpperCase() as 'GET', url: route.replace(/\{[^}]+\}/g, 'x'), ...(method === 'get' || method === 'delete' ? {} : { payload: {} }) });
        assert.equal(r.statusCode, 429, `${method} ${route}`);
        assert.match(String(r.headers['retry-after']), /^\d+$/);
      }
    } finally {
      await throttled.close();
    }
  });
});

describe('Swagger UI', () => {
  test('is served at /docs/ui without a token, on the same document, and /docs links it', async () => {
    const page = await api.app.inject({ method: 'GET', url: '/docs/ui/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger-ui/i);
    const json = await api.app.inject({ method: 'GET', url: '/docs/ui/json' });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.json<Doc>().paths, doc.paths);
    assert.match((await api.app.inject({ method: 'GET', url: '/docs', headers: { accept: 'text/html' } })).body, /href="\/docs\/ui"/);
  });
});

describe('openApi30', () => {
  test('turns numeric exclusive bounds into 3.0 boolean ones, keeping the stricter bound, and const into enum', () => {
    const out = openApi30({
      paths: {},
      components: { schemas: {
        a: { type: 'number', exclusiveMinimum: 0 },
        b: { type: 'number', minimum: 5, exclusiveMinimum: 2, exclusiveMaximum: 10, maximum: 8 },
        c: { type: 'number', minimum: 2, exclusiveMinimum: 2 },
        d: { const: 'raw' },
      } },
    });
    assert.deepEqual(out.components.schemas, {
      a: { type: 'number', minimum: 0, exclusiveMinimum: true },
      b: { type: 'number', minimum: 5, maximum: 8 },
      c: { type: 'number', minimum: 2, exclusiveMinimum: true },
      d: { enum: ['raw'] },
    });
  });

  test('operation ids follow method and path', () => {
    assert.equal(operationIdOf('get', '/api/v1/firms/{firmId}/devices'), 'getFirmsFirmIdDevices');
    assert.equal(operationIdOf('post', '/api/v1/energy/rollups/rebuild'), 'postEnergyRollupsRebuild');
    assert.equal(operationIdOf('get', '/healthz'), 'getHealthz');
  });
});
