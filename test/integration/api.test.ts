// The API through app.inject() (no socket needed): schemas, roles, provisioning, KPI on seeded firms.
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
import { makeUscc } from '../../common/ids.ts';
import { seedDemoFirms, demoFirms } from '../../common/demo.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

let app: FastifyInstance;
let registry: SqliteRegistry;
let spool: SqliteSpool;
const dir = tempDir('api');
const admin = 'at_admin_for_api_tests_000000';

before(async () => {
  registry = new SqliteRegistry(path.join(dir, 'r.db'));
  spool = new SqliteSpool(path.join(dir, 's.db'));
  // No InfluxDB needed for these routes: an address nothing listens on shows /healthz degrading honestly.
  const store = new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 });
  await registry.ensureApiToken(admin, 'admin', null, 'admin');
  app = await buildApp({ registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30 });
});
after(async () => {
  await app.close();
  await registry.close();
  await spool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const call = (token: string | undefined, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}), ...(payload ? { payload } : {}) });

describe('API', () => {
  test('every /api/v1 route needs a token; /healthz does not and reports InfluxDB down', async () => {
    assert.equal((await call(undefined, 'GET', '/api/v1/firms')).statusCode, 401);
    assert.match((await call('at_nope', 'GET', '/api/v1/firms')).json().message, /unknown API token/);
    const h = await call(undefined, 'GET', '/healthz');
    assert.equal(h.statusCode, 200);
    assert.deepEqual(h.json(), { status: 'degraded', influx: false, spool: { rows: 0, oldestAgeMs: null } });
  });

  test('creating a firm validates the credit code and the county, park and segment', async () => {
    const good = testFirm();
    assert.equal((await call(admin, 'POST', '/api/v1/firms', good)).statusCode, 201);
    assert.equal((await call(admin, 'POST', '/api/v1/firms', good)).statusCode, 409);
    const badCheck = { ...testFirm(), id: `${good.id.slice(0, 17)}${good.id[17] === '0' ? '1' : '0'}` };
    const r = await call(admin, 'POST', '/api/v1/firms', badCheck);
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /check character/);
    const badCounty = await call(admin, 'POST', '/api/v1/firms', { ...testFirm(), county: '110101' });
    assert.equal(badCounty.statusCode, 400);
    assert.match(badCounty.json().message, /county/);
  });

  test('provisioning returns the token once; listing never shows it; unknown types are refused with the list', async () => {
    const f = testFirm();
    await call(admin, 'POST', '/api/v1/firms', f);
    const r = await call(admin, 'POST', `/api/v1/firms/${f.id}/devices`, { type: 'dyeing_machine', name: '1号染缸', location: '印染车间' });
    assert.equal(r.statusCode, 201);
    const body = r.json();
    assert.match(body.token, /^dt_/);
    assert.deepEqual(body.mqtt, { username: body.id, clientId: body.id, topicPrefix: `dh/v1/${f.id}/${body.id}` });
    const list = await call(admin, 'GET', `/api/v1/firms/${f.id}/devices`);
    assert.equal(list.json().length, 1);
    assert.ok(!list.body.includes(body.token));
    const bad = await call(admin, 'POST', `/api/v1/firms/${f.id}/devices`, { type: 'teleporter', name: 'x' });
    assert.equal(bad.statusCode, 400);
    assert.equal((await call(admin, 'POST', `/api/v1/firms/${makeUscc('533103', 1)}/devices`, { type: 'loom', name: 'x' })).statusCode, 404);
  });

  test('an engineer of firm A gets 404 for firm B, sees only A, and cannot read the KPI or mint tokens', async () => {
    const a = testFirm();
    const b = testFirm();
    await call(admin, 'POST', '/api/v1/firms', a);
    await call(admin, 'POST', '/api/v1/firms', b);
    const bDev = (await call(admin, 'POST', `/api/v1/firms/${b.id}/devices`, { type: 'loom', name: 'b loom' })).json();
    const eng = (await call(admin, 'POST', '/api/v1/tokens', { role: 'engineer', firmId: a.id, name: 'eng a' })).json();
    assert.equal(eng.role, 'engineer');
    for (const url of [`/api/v1/firms/${b.id}`, `/api/v1/firms/${b.id}/devices`, `/api/v1/firms/${b.id}/rejected`, `/api/v1/devices/${bDev.id}`, `/api/v1/devices/${bDev.id}/telemetry?metric=speed_rpm`]) {
      assert.equal((await call(eng.token, 'GET', url)).statusCode, 404, url);
    }
    assert.equal((await call(eng.token, 'POST', `/api/v1/firms/${b.id}/devices`, { type: 'loom', name: 'x' })).statusCode, 404);
    assert.deepEqual((await call(eng.token, 'GET', '/api/v1/firms')).json().map((f: { id: string }) => f.id), [a.id]);
    assert.equal((await call(eng.token, 'POST', `/api/v1/firms/${a.id}/devices`, { type: 'loom', name: 'own' })).statusCode, 201);
    assert.deepEqual((await call(eng.token, 'GET', '/api/v1/devices')).json().map((d: { firmId: string }) => d.firmId), [a.id]);
    assert.equal((await call(eng.token, 'GET', '/api/v1/kpi/platform-connection')).statusCode, 403);
    assert.equal((await call(eng.token, 'POST', '/api/v1/tokens', { role: 'admin', name: 'x' })).statusCode, 403);
    assert.equal((await call(eng.token, 'POST', '/api/v1/firms', testFirm())).statusCode, 403);
    const bureau = (await call(admin, 'POST', '/api/v1/tokens', { role: 'bureau', name: 'bureau' })).json();
    assert.equal((await call(bureau.token, 'GET', `/api/v1/firms/${b.id}`)).statusCode, 200);
    assert.equal((await call(bureau.token, 'POST', `/api/v1/firms/${b.id}/devices`, { type: 'loom', name: 'x' })).statusCode, 403);
  });

  test('telemetry queries name the metrics a device has when asked for another', async () => {
    const f = testFirm();
    await call(admin, 'POST', '/api/v1/firms', f);
    const d = (await call(admin, 'POST', `/api/v1/firms/${f.id}/devices`, { type: 'electricity_meter', name: 'm' })).json();
    const r = await call(admin, 'GET', `/api/v1/devices/${d.id}/telemetry?metric=speed_rpm`);
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /not a metric of a electricity_meter; it has: power_kw, energy_kwh_total, power_factor/);
  });

  test('the catalogue tells an engineer what to send', async () => {
    const c = (await call(admin, 'GET', '/api/v1/catalogue')).json();
    const loom = c.deviceTypes.find((t: { type: string }) => t.type === 'loom');
    assert.deepEqual(loom.metrics.find((m: { name: string }) => m.name === 'energy_kwh_total'), { name: 'energy_kwh_total', unit: 'kWh', min: 0, max: 1e13, counter: true, zh: '累计电量', en: 'Energy register' });
    for (const t of ['loom', 'dyeing_machine', 'electricity_meter']) assert.ok(c.deviceTypes.some((x: { type: string }) => x.type === t), t);
    assert.deepEqual(c.states, ['running', 'idle', 'setup', 'maintenance', 'fault', 'stopped']);
  });

  test('the KPI on the seeded demo firms: nobody connected until telemetry arrives, then by county', async () => {
    const fresh = new SqliteRegistry(path.join(dir, 'kpi.db'));
    await seedDemoFirms(fresh);
    assert.equal(await seedDemoFirms(fresh), 0, 'seeding twice adds nothing');
    const firms = demoFirms();
    const above = firms.filter((f) => f.aboveScale);
    const ruili = above.filter((f) => f.county === '533102');
    // Connect two Ruili firms, one within the window and one that fell silent 31 days ago.
    const now = Date.now();
    const d1 = await fresh.createDevice({ firmId: ruili[0]!.id, type: 'loom', name: 'x' });
    const d2 = await fresh.createDevice({ firmId: ruili[1]!.id, type: 'loom', name: 'y' });
    await fresh.markSeen([{ deviceId: d1.device.id, seenAt: now, telemetryAt: now - 29 * 86_400_000 }, { deviceId: d2.device.id, seenAt: now, telemetryAt: now - 31 * 86_400_000 }]);
    await fresh.ensureApiToken(admin, 'admin', null, 'admin');
    const kpiApp = await buildApp({ registry: fresh, spool, store: new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x' }), log: createLogger('t', 'silent'), connectedWindowDays: 30 });
    const plain = (await kpiApp.inject({ method: 'GET', url: '/api/v1/kpi/platform-connection', headers: { authorization: `Bearer ${admin}` } })).json();
    assert.deepEqual([plain.aboveScaleFirms, plain.includeDemo, plain.demoFirmsLeftOut], [0, false, firms.length], 'demo firms are left out unless asked for');
    const k = (await kpiApp.inject({ method: 'GET', url: '/api/v1/kpi/platform-connection?includeDemo=true', headers: { authorization: `Bearer ${admin}` } })).json();
    assert.equal(k.aboveScaleFirms, above.length);
    assert.equal(k.connected, 1);
    assert.equal(k.share, 1 / above.length);
    const row = k.byCounty.find((c: { county: string }) => c.county === '533102');
    assert.deepEqual([row.name, row.aboveScaleFirms, row.connected], ['瑞丽市', ruili.length, 1]);
    assert.equal(k.target, 0.5);
    await kpiApp.close();
    await fresh.close();
  });

  test('OpenAPI document lists the routes', async () => {
    const doc = (await call(undefined, 'GET', '/openapi.json')).json();
    assert.ok(doc.paths['/api/v1/firms/{firmId}/devices']);
    assert.ok(doc.paths['/api/v1/kpi/platform-connection']);
  });
});
