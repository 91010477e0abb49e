// Role scoping of every monitoring endpoint (an engineer of firm A gets 404 for firm B, 403 for wider scopes
// and for admin/bureau actions), and alarms raised from live summaries, pushed over socket.io only to the
// rooms that may see them, acknowledged and cleared.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import type { AlarmEvent } from '../../analytics/alarms/alarms.ts';
import { DAY, localDate, localMonth } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_monitoring_roles_0';
let sys: MonitoringTestSystem;
let app: FastifyInstance;
let apiUrl: string;
const live = new EventEmitter();
let A: NewFirm;
let B: NewFirm;
let engA: string;
let engB: string;
let bureau: string;
const aDev = 'role-a-dye';
const bDev = 'role-b-dye';

before(async () => {
  sys = await startMonitoringSystem('mon-roles', {
    adminToken: admin, live, listen: true,
    prepare: async (registry) => {
      A = testFirm({ name: 'A' });
      B = testFirm({ name: 'B', county: '533103', park: 'mangshi' });
      await registry.createFirm(A);
      await registry.createFirm(B);
      await registry.createDevice({ firmId: A.id, type: 'dyeing_machine', name: 'a', id: aDev });
      await registry.createDevice({ firmId: B.id, type: 'dyeing_machine', name: 'b', id: bDev });
      engA = (await registry.createApiToken('engineer', A.id, 'engineer A')).token;
      engB = (await registry.createApiToken('engineer', B.id, 'engineer B')).token;
      bureau = (await registry.createApiToken('bureau', null, 'bureau')).token;
    },
  });
  ({ app } = sys);
  apiUrl = sys.apiUrl ?? '';
});

after(async () => {
  await sys.close();
});

async function call(token: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: object): Promise<{ status: number; body: string }> {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  return { status: r.statusCode, body: r.body };
}

const month = localMonth(Date.now());
const day = localDate(Date.now());
const year = Number(month.slice(0, 4));
const rule = { name: 'r', kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 100, durationS: 0, severity: 'info' };
const factors = { electricity: { calorific: 0.1229, primaryByYear: {}, primaryDefault: 0.3 }, gas: 1.2143, steam: { calorific: 0.0929, primary: 0.1286 }, water: 0.2571, includeWater: false };

describe('role scoping of the monitoring endpoints', () => {
  test('an engineer of firm A: 404 for firm B and its devices', async () => {
    const urls: Array<['GET' | 'PUT' | 'POST', string, object?]> = [
      ['GET', `/api/v1/energy/firms/${B.id}/settings`],
      ['GET', `/api/v1/energy/live?scope=firm&id=${B.id}`],
      ['GET', `/api/v1/energy/live?scope=device&id=${bDev}`],
      ['GET', `/api/v1/energy/summary?scope=firm&id=${B.id}`],
      ['GET', `/api/v1/energy/summary?scope=device&id=${bDev}`],
      ['GET', `/api/v1/energy/series?scope=firm&id=${B.id}`],
      ['GET', `/api/v1/energy/intensity?scope=firm&id=${B.id}`],
      ['GET', `/api/v1/energy/quality?firmId=${B.id}`],
      ['GET', `/api/v1/energy/rollups.csv?scope=firm&id=${B.id}`],
      ['GET', `/api/v1/monitoring/oee?firmId=${B.id}`],
      ['GET', `/api/v1/monitoring/oee?deviceId=${bDev}`],
      ['GET', `/api/v1/monitoring/states?firmId=${B.id}`],
      ['GET', `/api/v1/monitoring/overview?scope=firm&id=${B.id}`],
      ['PUT', `/api/v1/monitoring/devices/${bDev}/nominal`, { nominal: 100 }],
      ['GET', `/api/v1/alarms?firmId=${B.id}`],
      ['POST', '/api/v1/alarm-rules', { ...rule, firmId: B.id }],
      ['POST', '/api/v1/alarm-rules', { ...rule, deviceId: bDev }],
      ['GET', `/api/v1/plan/firms/${B.id}/figures`],
    ];
    for (const [method, url, body] of urls) assert.equal((await call(engA, method, url, body)).status, 404, `${method} ${url}`);
  });

  test('an engineer of firm A: 403 for scopes wider than a firm and for admin/bureau actions', async () => {
    const urls: Array<['GET' | 'PUT' | 'POST', string, object?]> = [
      ['GET', '/api/v1/energy/live?scope=prefecture'],
      ['GET', '/api/v1/energy/summary?scope=county&id=533102'],
      ['GET', '/api/v1/energy/series?scope=park&id=ruili-coop'],
      ['GET', '/api/v1/energy/intensity?scope=segment&id=weaving'],
      ['GET', '/api/v1/energy/rollups.csv?scope=prefecture'],
      ['GET', '/api/v1/monitoring/overview?scope=prefecture'],
      ['GET', `/api/v1/energy/quality/overview?date=${day}`],
      ['GET', '/api/v1/energy/rollups/status'],
      ['POST', '/api/v1/energy/rollups/rebuild', { from: Date.now() - DAY }],
      ['PUT', '/api/v1/energy/factors', factors],
      ['PUT', `/api/v1/energy/firms/${A.id}/settings`, { cogeneration: true }],
      ['PUT', '/api/v1/monitoring/shifts', { timezone: 'Asia/Shanghai', shifts: [{ name: 'A', start: '06:00' }] }],
      ['PUT', '/api/v1/monitoring/performance', { loom: { metric: 'speed_rpm', nominal: 700 } }],
      ['PUT', '/api/v1/monitoring/quality', {}],
      ['GET', '/api/v1/plan/targets'],
      ['PUT', '/api/v1/plan/targets/specialisedFirms', { value: 3 }],
      ['GET', '/api/v1/plan/targets/specialisedFirms/history'],
      ['GET', '/api/v1/plan/connected-share'],
      ['POST', '/api/v1/plan/snapshots', {}],
      ['PUT', `/api/v1/plan/firms/${A.id}/figures/${year}`, { outputValueYuan: 1, taxYuan: 1 }],
      ['PUT', '/api/v1/plan/per-mu/weights', { taxPerMu: 1, outputPerMu: 1, outputPerEmployee: 1, outputPerTce: 1 }],
      ['GET', '/api/v1/plan/months'],
    ];
    for (const [method, url, body] of urls) assert.equal((await call(engA, method, url, body)).status, 403, `${method} ${url}`);
  });

  test('an engineer of firm A sees their own firm', async () => {
    const urls = [
      '/api/v1/energy/factors', `/api/v1/energy/firms/${A.id}/settings`, '/api/v1/energy/live', `/api/v1/energy/summary?scope=device&id=${aDev}`,
      `/api/v1/energy/series?scope=firm&id=${A.id}`, `/api/v1/energy/intensity`, `/api/v1/energy/quality?firmId=${A.id}&month=${month}`,
      `/api/v1/monitoring/oee?firmId=${A.id}`, `/api/v1/monitoring/states?deviceId=${aDev}`, '/api/v1/monitoring/overview', '/api/v1/monitoring/config',
      `/api/v1/plan/firms/${A.id}/figures`, '/api/v1/plan/per-mu/weights', '/api/v1/alarm-rules', '/api/v1/alarms', '/api/v1/docs',
    ];
    for (const url of urls) assert.equal((await call(engA, 'GET', url)).status, 200, url);
    const csv = await call(engA, 'GET', `/api/v1/energy/rollups.csv?scope=firm&id=${A.id}`);
    assert.equal(csv.status, 200);
    const perMu = JSON.parse((await call(engA, 'GET', `/api/v1/plan/per-mu?year=${year}`)).body) as { firms: Array<{ firmId: string }> };
    assert.deepEqual(perMu.firms.map((f) => f.firmId), [A.id]);
    assert.equal((await call(engA, 'PUT', `/api/v1/monitoring/devices/${aDev}/nominal`, { nominal: 50 })).status, 200);
  });

  test('bureau reads everything and enters plan values, but admin-only settings are 403', async () => {
    for (const url of ['/api/v1/energy/summary?scope=prefecture', '/api/v1/plan/targets', '/api/v1/plan/connected-share', `/api/v1/energy/quality/overview?date=${day}`, '/api/v1/monitoring/overview?scope=county&id=533103', `/api/v1/energy/summary?scope=firm&id=${B.id}`]) {
      assert.equal((await call(bureau, 'GET', url)).status, 200, url);
    }
    assert.equal((await call(bureau, 'PUT', '/api/v1/plan/targets/specialisedFirms', { value: 3 })).status, 200);
    assert.equal((await call(bureau, 'PUT', `/api/v1/energy/firms/${A.id}/settings`, { cogeneration: false })).status, 200);
    for (const [method, url, body] of [['PUT', '/api/v1/energy/factors', factors], ['POST', '/api/v1/plan/snapshots', {}], ['POST', '/api/v1/energy/rollups/rebuild', { from: Date.now() - DAY }]] as const) {
      assert.equal((await call(bureau, method, url, body)).status, 403, url);
    }
  });

  test('the OpenAPI document lists the monitoring routes', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    for (const p of ['/api/v1/energy/summary', '/api/v1/energy/rollups.csv', '/api/v1/monitoring/oee', '/api/v1/alarms', '/api/v1/plan/connected-share', '/api/v1/plan/per-mu']) assert.ok(doc.paths[p], p);
  });
});

describe('alarms from live summaries', () => {
  function socketOf(token: string): Promise<{ socket: Socket; events: AlarmEvent[] }> {
    const socket = connect(apiUrl, { auth: { token }, transports: ['websocket'], reconnection: false });
    const events: AlarmEvent[] = [];
    socket.on('alarm', (e: AlarmEvent) => events.push(e));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve({ socket, events }));
      socket.once('connect_error', reject);
    });
  }

  const summary = (at: number, temp: number) => ({
    at, devices: [{ deviceId: bDev, firmId: B.id, county: B.county, park: B.park, segment: B.segment, type: 'dyeing_machine', ts: at - 500, metrics: { bath_temp_c: temp, setpoint_c: 130 }, state: 'running' }],
  });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond());
  };

  test('over-temperature for 30 s raises an alarm for firm B only, acknowledged by B, cleared when it cools', async () => {
    const [a, b, all] = await Promise.all([socketOf(engA), socketOf(engB), socketOf(admin)]);
    try {
      const t = Date.now();
      live.emit('live', summary(t, 142));
      live.emit('live', summary(t + 10_000, 143));
      assert.equal((JSON.parse((await call(admin, 'GET', '/api/v1/alarms')).body) as unknown[]).length, 0, 'not before 30 s');
      live.emit('live', summary(t + 31_000, 143.5));
      await until(() => b.events.length === 1 && all.events.length === 1);
      const raised = b.events[0];
      assert.equal(raised?.event, 'raised');
      assert.equal(raised?.alarm.deviceId, bDev);
      assert.equal(raised?.alarm.raisedAt, t + 31_000);
      assert.match(raised?.alarm.message ?? '', /bath temperature 143.5 °C, above 140 °C/);
      const id = raised?.alarm.id ?? 0;
      assert.equal((await call(engA, 'GET', `/api/v1/alarms/${id}`)).status, 404);
      assert.equal((await call(engA, 'POST', `/api/v1/alarms/${id}/ack`)).status, 404);
      assert.deepEqual(JSON.parse((await call(engA, 'GET', '/api/v1/alarms')).body), []);
      const ack = await call(engB, 'POST', `/api/v1/alarms/${id}/ack`);
      assert.equal(ack.status, 200);
      assert.equal((JSON.parse(ack.body) as { status: string; ackedBy: string }).ackedBy, 'engineer B');
      assert.equal((await call(engB, 'POST', `/api/v1/alarms/${id}/ack`)).status, 409);
      live.emit('live', summary(t + 40_000, 120));
      await until(() => b.events.some((e) => e.event === 'cleared'));
      const closed = JSON.parse((await call(engB, 'GET', `/api/v1/alarms/${id}`)).body) as { status: string; clearedAt: number };
      assert.deepEqual([closed.status, closed.clearedAt], ['closed', t + 40_000]);
      assert.equal(a.events.length, 0, 'engineer A saw nothing of firm B');
    } finally {
      for (const s of [a, b, all]) s.socket.close();
    }
  });

  test('engineers manage rules of their own firm only; global rules are read-only for them', async () => {
    const own = await call(engA, 'POST', '/api/v1/alarm-rules', { ...rule, name: 'A hot' });
    assert.equal(own.status, 201, own.body);
    const ownRule = JSON.parse(own.body) as { id: number; firmId: string };
    assert.equal(ownRule.firmId, A.id);
    const bRule = JSON.parse((await call(engB, 'POST', '/api/v1/alarm-rules', { ...rule, name: 'B hot' })).body) as { id: number };
    assert.equal((await call(engA, 'PUT', `/api/v1/alarm-rules/${bRule.id}`, rule)).status, 404);
    assert.equal((await call(engA, 'DELETE', `/api/v1/alarm-rules/${bRule.id}`)).status, 404);
    const rules = JSON.parse((await call(engA, 'GET', '/api/v1/alarm-rules')).body) as Array<{ id: number; firmId: string | null }>;
    assert.ok(rules.every((r) => r.firmId === null || r.firmId === A.id));
    const global = rules.find((r) => r.firmId === null);
    assert.ok(global);
    assert.equal((await call(engA, 'DELETE', `/api/v1/alarm-rules/${global.id}`)).status, 403);
    assert.equal((await call(engA, 'DELETE', `/api/v1/alarm-rules/${ownRule.id}`)).status, 204);
    const bad = await call(admin, 'POST', '/api/v1/alarm-rules', { ...rule, metric: 'speed_rpm' });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /not a metric of dyeing_machine/);
  });
});
