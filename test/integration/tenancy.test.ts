// Tenants stay apart when device ids come back: firm B deletes device x, an engineer of firm A asks for the id x
// and then tries every path that reads a device's data (REST telemetry and states, status, energy at device
// scope, the CSV export, OEE, alarms, the socket.io device room). The id is retired, so the provisioning is
// refused with the same message as for any taken id, and every read answers as for a device that does not exist.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_tenancy_tests_000';
const reused = 'dye-reused-x';
const HOUR = 3_600_000;
let sys: MonitoringTestSystem;
let app: FastifyInstance;
const live = new EventEmitter();
const A: NewFirm = testFirm({ name: 'A' });
const B: NewFirm = testFirm({ name: 'B', county: '533103', park: 'mangshi' });
let engA: string;
let engB: string;

/** Both firms, B's device x and another of B's in use, one of A's, and an engineer token for each firm. */
async function prepare(registry: MonitoringTestSystem['registry']): Promise<void> {
  for (const f of [A, B]) await registry.createFirm(f);
  for (const [firm, id] of [[B, reused], [B, 'dye-b-live'], [A, 'dye-a-own']] as const) {
    await registry.createDevice({ firmId: firm.id, type: 'dyeing_machine', name: `${firm.name} ${id}`, id });
  }
  engA = (await registry.createApiToken('engineer', A.id, 'engineer A')).token;
  engB = (await registry.createApiToken('engineer', B.id, 'engineer B')).token;
}

before(async () => {
  sys = await startMonitoringSystem('tenancy', { adminToken: admin, live, listen: true, prepare });
  ({ app } = sys);
});

after(async () => {
  await sys.close();
});

async function call(token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object): Promise<{ status: number; body: string }> {
  const r = await app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
  return { status: r.statusCode, body: r.body };
}

function socketOf(token: string): Promise<Socket> {
  const socket = connect(sys.apiUrl ?? '', { auth: { token }, transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Firm B's history of device x: telemetry, machine states, and a live summary the API holds in memory. */
async function firmBHistory(t0: number): Promise<void> {
  const tags = tagSet({ firmId: B.id, deviceId: reused, type: 'dyeing_machine', county: B.county, park: B.park, segment: B.segment });
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) {
    const ts = t0 + i * 5 * 60_000;
    lines.push(telemetryLine('dyeing_machine', tags, ts, i, { bath_temp_c: 120 + i, power_kw: 40, energy_kwh_total: 1000 + i * 3 }));
  }
  lines.push(stateLine(tags, t0, 'running', undefined));
  await sys.store.write(lines);
  live.emit('live', {
    at: t0 + HOUR, devices: [{ deviceId: reused, firmId: B.id, county: B.county, park: B.park, segment: B.segment, type: 'dyeing_machine', ts: t0 + HOUR, metrics: { bath_temp_c: 131, power_kw: 41 }, state: 'running' }],
  });
}

describe('a deleted device id cannot carry one firm\'s data to another', () => {
  test('firm B deletes x; an engineer of A cannot provision x, and every read path answers as for no device', async () => {
    const t0 = Date.now() - 2 * HOUR;
    await firmBHistory(t0);
    const metric = `?metric=bath_temp_c&from=${t0 - 1}&to=${Date.now()}`;
    const seen = JSON.parse((await call(engB, 'GET', `/api/v1/devices/${reused}/telemetry${metric}`)).body) as { points: unknown[] };
    assert.equal(seen.points.length, 12, 'firm B has a history on x');
    assert.equal((await call(engB, 'DELETE', `/api/v1/devices/${reused}`)).status, 204);

    // The attack: provision the freed id. Refused, with the message for any id that is not free.
    const refusals: string[] = [];
    for (const id of [reused, 'dye-b-live', 'dye-a-own']) {
      const r = await call(engA, 'POST', `/api/v1/firms/${A.id}/devices`, { type: 'dyeing_machine', name: 'mine now', id });
      assert.equal(r.status, 409, `${id}: ${r.body}`);
      refusals.push((JSON.parse(r.body) as { message: string }).message.replace(id, '<id>'));
    }
    assert.deepEqual(refusals, Array(3).fill('device id <id> is not available; choose another'), 'retired, another firm\'s and one\'s own: one answer');
    assert.equal((await call(engB, 'POST', `/api/v1/firms/${B.id}/devices`, { type: 'dyeing_machine', name: 'back', id: reused })).status, 409, 'not even for its old firm');

    // Every read of x by A: nothing, as for a device that never was.
    const from = `from=${t0 - 1}&to=${Date.now()}`;
    const notFound = [
      `/api/v1/devices/${reused}`, `/api/v1/devices/${reused}/telemetry${metric}`, `/api/v1/devices/${reused}/states?${from}`,
      `/api/v1/devices/${reused}/status`, `/api/v1/devices/${reused}/connection`,
      `/api/v1/energy/live?scope=device&id=${reused}`, `/api/v1/energy/summary?scope=device&id=${reused}&${from}`,
      `/api/v1/energy/series?scope=device&id=${reused}&${from}`, `/api/v1/energy/rollups.csv?scope=device&id=${reused}&${from}`,
      `/api/v1/monitoring/oee?deviceId=${reused}&${from}`, `/api/v1/monitoring/states?deviceId=${reused}`,
    ];
    for (const url of notFound) assert.equal((await call(engA, 'GET', url)).status, 404, url);
    assert.deepEqual(JSON.parse((await call(engA, 'GET', `/api/v1/alarms?deviceId=${reused}&status=all`)).body), []);
    const socket = await socketOf(engA);
    try {
      const ack = await socket.timeout(5000).emitWithAck('subscribe', `device:${reused}`) as { ok: boolean };
      assert.equal(ack.ok, false, 'the device room of x is refused');
    } finally {
      socket.close();
    }
  });
});
