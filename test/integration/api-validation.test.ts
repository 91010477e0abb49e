// Inputs the API refuses with 400 and a message naming the parameter and the limit, instead of a 500 or a stored
// absurdity: times past what the telemetry store keeps, ranges longer than a route allows, a firm whose park lies
// in another county, employees or land of 1e308.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { MAX_FIRM_EMPLOYEES, MAX_FIRM_LAND_MU } from '../../api/schemas.ts';
import { createLogger } from '../../common/log.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { DAY } from '../../common/time.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

let app: FastifyInstance;
let registry: SqliteRegistry;
let spool: SqliteSpool;
let firmId: string;
let deviceId: string;
const dir = tempDir('api-validation');
const admin = 'at_admin_for_validation_tests_0';

before(async () => {
  registry = new SqliteRegistry(path.join(dir, 'r.db'));
  spool = new SqliteSpool(path.join(dir, 's.db'));
  // Nothing listens here: a request that reached the store would fail with 500, which is what these tests rule out.
  const store = new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 });
  await registry.ensureApiToken(admin, 'admin', null, 'admin');
  app = await buildApp({ registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30, apiRequestsPerMinute: 100_000 });
  const firm = testFirm();
  firmId = firm.id;
  await registry.createFirm(firm);
  deviceId = (await registry.createDevice({ firmId, type: 'loom', name: 'loom 1' })).device.id;
});
after(async () => {
  await app.close();
  await registry.close();
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, ...(payload ? { payload } : {}) });
  return { status: r.statusCode, message: (r.json<{ message?: string }>().message ?? '') };
};

describe('time ranges', () => {
  const now = Date.now();
  const routes = () => [
    `/api/v1/devices/${deviceId}/telemetry?metric=speed_rpm&`,
    `/api/v1/devices/${deviceId}/states?`,
    '/api/v1/energy/summary?',
    '/api/v1/energy/series?',
    '/api/v1/energy/intensity?',
    `/api/v1/energy/rollups.csv?scope=firm&id=${firmId}&`,
    `/api/v1/monitoring/oee?firmId=${firmId}&`,
    `/api/v1/monitoring/states?firmId=${firmId}&`,
  ];

  test('a time past what the telemetry store keeps is 400 naming the parameter and the limit, on every route', async () => {
    for (const route of routes()) {
      const late = await call('GET', `${route}from=${now - DAY}&to=9999-12-31T23:59:59Z`);
      assert.equal(late.status, 400, route);
      assert.match(late.message, /^to must lie between 1970-01-01T00:00:00Z and 2255-03-14T16:00:00\.000Z/, route);
      const early = await call('GET', `${route}from=1969-12-31T00:00:00Z&to=${now}`);
      assert.equal(early.status, 400, route);
      assert.match(early.message, /^from must lie between 1970/, route);
    }
    const rebuild = await call('POST', '/api/v1/energy/rollups/rebuild', { from: now - DAY, to: '9999-12-31T23:59:59Z' });
    assert.equal(rebuild.status, 400);
    assert.match(rebuild.message, /^to must lie between/);
  });

  test('every route takes local dates (YYYY-MM-DD) for from and to', async () => {
    for (const route of routes()) {
      // Reaching the range check proves the schema let the dates through: 3 Dec 00:00 is after the end of 1 Dec.
      const r = await call('GET', `${route}from=2026-12-03&to=2026-12-01`);
      assert.equal(r.status, 400, route);
      assert.match(r.message, /^from must (be before|not be after) to$/, route);
    }
  });

  test('telemetry: at most 31 days, and every capped route names from, to and its limit', async () => {
    const over = await call('GET', `/api/v1/devices/${deviceId}/telemetry?metric=speed_rpm&from=${now - 31 * DAY - 1}&to=${now}`);
    assert.equal(over.status, 400);
    assert.equal(over.message, 'from and to may span at most 31 days');
    const backwards = await call('GET', `/api/v1/devices/${deviceId}/telemetry?metric=speed_rpm&from=${now}&to=${now - 1}`);
    assert.equal(backwards.status, 400);
    assert.equal(backwards.message, 'from must not be after to');
    for (const route of routes().slice(2)) {
      const long = await call('GET', `${route}from=${now - 401 * DAY}&to=${now}`);
      assert.equal(long.status, 400, route);
      assert.match(long.message, /^from and to may span at most \d+ days$/, route);
    }
  });
});

describe('firm records', () => {
  test('a park outside the firm\'s county is refused, naming the county\'s parks', async () => {
    const r = await call('POST', '/api/v1/firms', testFirm({ county: '533103', park: 'ruili-coop' }));
    assert.equal(r.status, 400);
    assert.equal(r.message, 'park ruili-coop is not in county 533103; its parks: mangshi');
    assert.equal((await call('POST', '/api/v1/firms', testFirm({ county: '533103', park: 'mangshi' }))).status, 201);
  });

  test('employees and land area have plausible maxima', async () => {
    for (const [field, max] of [['employees', MAX_FIRM_EMPLOYEES], ['landMu', MAX_FIRM_LAND_MU]] as const) {
      for (const value of [1e308, max + 1]) {
        const r = await call('POST', '/api/v1/firms', testFirm({ [field]: value }));
        assert.equal(r.status, 400, `${field} ${value}`);
        assert.match(r.message, new RegExp(`${field} must be <= ${max}`));
      }
      assert.equal((await call('POST', '/api/v1/firms', testFirm({ [field]: max }))).status, 201, `${field} = ${max}`);
    }
  });
});
