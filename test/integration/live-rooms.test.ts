// Per-room live aggregates over socket.io ('subscribe' / 'unsubscribe' / 'aggregate', api/live.ts) on a real API
// with a real influxd, fed by live summaries emitted here; and the public /docs page built from the OpenAPI document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { MAX_ROOMS_PER_SOCKET, type RoomAck } from '../../api/live.ts';
import type { LiveDevice, LiveSummary } from '../../common/contract/live.ts';
import type { RoomAggregate } from '../../analytics/live/live-rooms.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_live_rooms_test_01';
let sys: MonitoringTestSystem;
let app: FastifyInstance;
let apiUrl: string;
const live = new EventEmitter();
// Firms A and C in Ruili (533102), B in Mangshi (533103).
const A: NewFirm = testFirm({ name: 'A', county: '533102', park: 'ruili-coop', segment: 'weaving' });
const C: NewFirm = testFirm({ name: 'C', county: '533102', park: 'ruili-border', segment: 'dyeing' });
const B: NewFirm = testFirm({ name: 'B', county: '533103', park: 'mangshi', segment: 'weaving' });
let engA: string;
let bureau: string;
const open: Socket[] = [];

// A: an electricity meter (so its looms' and stenter's power is sub-metering), no gas meter (the stenter's gas counts).
// C: a gas meter (its stenter's burner gas is sub-metering), no electricity meter (machines add up).
const DEVICES: Array<{ id: string; firm: NewFirm; type: string }> = [
  { id: 'lr-a-meter', firm: A, type: 'electricity_meter' },
  { id: 'lr-a-loom1', firm: A, type: 'loom' },
  { id: 'lr-a-loom2', firm: A, type: 'loom' },
  { id: 'lr-a-stenter', firm: A, type: 'stenter' },
  { id: 'lr-c-dye', firm: C, type: 'dyeing_machine' },
  { id: 'lr-c-gas', firm: C, type: 'gas_meter' },
  { id: 'lr-c-stenter', firm: C, type: 'stenter' },
  { id: 'lr-b-loom', firm: B, type: 'loom' },
];

function dev(id: string, at: number, metrics: Record<string, number>, state?: string, ageMs = 500): LiveDevice {
  const d = DEVICES.find((x) => x.id === id);
  assert.ok(d, id);
  return { deviceId: id, firmId: d.firm.id, county: d.firm.county, park: d.firm.park, segment: d.firm.segment, type: d.type, ts: at - ageMs, metrics, ...(state ? { state } : {}) };
}

/** Every device once: the figures the county test checks by hand. */
function fullSummary(at: number, meterKw = 50): LiveSummary {
  return {
    at,
    devices: [
      dev('lr-a-meter', at, { power_kw: meterKw, energy_kwh_total: 1000 }),
      dev('lr-a-loom1', at, { power_kw: 3, speed_rpm: 600 }, 'running'),
      dev('lr-a-loom2', at, { power_kw: 4, speed_rpm: 0 }, 'fault'),
      dev('lr-a-stenter', at, { power_kw: 100, gas_flow_m3_h: 20 }, 'running'),
      dev('lr-c-dye', at, { power_kw: 30, bath_temp_c: 90 }, 'idle', 400_000), // stale (older than the 300 s live window): counted, not reporting
      dev('lr-c-gas', at, { flow_m3_h: 15, gas_m3_total: 500 }),
      dev('lr-c-stenter', at, { power_kw: 80, gas_flow_m3_h: 40 }, 'running'),
      dev('lr-b-loom', at, { power_kw: 5, speed_rpm: 650 }, 'running'),
    ],
  };
}

before(async () => {
  sys = await startMonitoringSystem('live-rooms', {
    adminToken: admin, live, listen: true,
    prepare: async (registry) => {
      for (const f of [A, B, C]) await registry.createFirm(f);
      for (const d of DEVICES) await registry.createDevice({ firmId: d.firm.id, type: d.type, name: d.id, id: d.id });
      engA = (await registry.createApiToken('engineer', A.id, 'engineer A')).token;
      bureau = (await registry.createApiToken('bureau', null, 'bureau')).token;
    },
  });
  ({ app } = sys);
  apiUrl = sys.apiUrl ?? '';
});

after(async () => {
  for (const s of open) s.close();
  await sys.close();
});

interface Client { socket: Socket; aggregates: RoomAggregate[]; of(room: string): RoomAggregate[] }

function client(token: string): Promise<Client> {
  const socket = connect(apiUrl, { auth: { token }, transports: ['websocket'], reconnection: false });
  open.push(socket);
  const aggregates: RoomAggregate[] = [];
  socket.on('aggregate', (a: RoomAggregate) => aggregates.push(a));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, aggregates, of: (room) => aggregates.filter((a) => a.room === room) }));
    socket.once('connect_error', reject);
  });
}

const subscribe = (c: Client, room: unknown): Promise<RoomAck> => c.socket.timeout(5000).emitWithAck('subscribe', room) as Promise<RoomAck>;
const unsubscribe = (c: Client, room: unknown): Promise<RoomAck> => c.socket.timeout(5000).emitWithAck('unsubscribe', room) as Promise<RoomAck>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 150 && !cond(); i++) await sleep(20);
  assert.ok(cond(), `timed out waiting for ${what}`);
}

// Summaries carry their own clock (`at`); each test starts well past the previous one so no room is still in
// its one-second pause from an earlier test.
const t0 = Date.now();

describe('live room aggregates over socket.io', () => {
  test('bureau following a county gets its aggregate: devices, states, rates summed with meters first', async () => {
    const b = await client(bureau);
    const adm = await client(admin);
    assert.deepEqual(await subscribe(b, 'county:533102'), { ok: true, room: 'county:533102' });
    assert.deepEqual(await subscribe(adm, 'prefecture'), { ok: true, room: 'all' }, 'an alias answers with the room name used in updates');
    assert.equal(b.aggregates.length, 0, 'no data yet: no snapshot');
    live.emit('live', fullSummary(t0));
    await until(() => b.aggregates.length === 1 && adm.aggregates.length === 1, 'the county and prefecture aggregates');
    const county = b.aggregates[0];
    assert.ok(county);
    assert.equal(county.room, 'county:533102');
    assert.equal(county.at, t0);
    assert.equal(county.firms, 2, 'A and C, not B');
    assert.equal(county.devices, 7);
    assert.equal(county.reporting, 6, 'the dyeing machine is 400 s old');
    assert.deepEqual(county.states, { running: 3, idle: 1, setup: 0, maintenance: 0, fault: 1, stopped: 0, unknown: 2 });
    // electricity: A's meter 50 (not 3 + 4 + 100) + C's machines 80 (the stale dyeing machine's 30 left out);
    // gas: A's stenter 20 (no gas meter) + C's gas meter 15 (not its stenter's 40).
    assert.deepEqual(county.rates, { electricity: 130, gas: 35, steam: 0, water: 0 });
    const all = adm.aggregates[0];
    assert.deepEqual([all?.room, all?.firms, all?.devices, all?.rates.electricity], ['all', 3, 8, 135]);
    await sleep(200);
    assert.deepEqual(b.aggregates.map((a) => a.room), ['county:533102'], 'only the room asked for');
    b.socket.close();
    adm.socket.close();
  });

  test('an engineer follows only their firm and its devices, and never gets another firm\'s aggregate', async () => {
    const e = await client(engA);
    const b = await client(bureau);
    for (const [room, why] of [[`firm:${B.id}`, /is not your firm/], [`device:lr-b-loom`, /not a device of your firm/], ['device:no-such-device', /not a device of your firm/], ['county:533102', /more than one firm/], ['all', /more than one firm/], ['park:ruili-coop', /more than one firm/]] as const) {
      const ack = await subscribe(e, room);
      assert.equal(ack.ok, false, room);
      assert.match(ack.ok ? '' : ack.error, why, room);
      assert.match(ack.ok ? '' : ack.error, new RegExp(`firm:${A.id}`), 'the error names what the engineer may follow');
    }
    assert.deepEqual(await subscribe(b, `firm:${B.id}`), { ok: true, room: `firm:${B.id}` });
    assert.deepEqual(await subscribe(b, 'county:533102'), { ok: true, room: 'county:533102' });
    assert.deepEqual(await subscribe(e, `firm:${A.id}`), { ok: true, room: `firm:${A.id}` });
    assert.deepEqual(await subscribe(e, 'device:lr-a-loom1'), { ok: true, room: 'device:lr-a-loom1' });
    // Each accepted subscribe is followed by the room's current aggregate.
    await until(() => e.aggregates.length === 2, 'the two snapshots');
    const snapFirm = e.of(`firm:${A.id}`)[0];
    assert.deepEqual([snapFirm?.devices, snapFirm?.rates.electricity, snapFirm?.rates.gas], [4, 50, 20]);
    const snapDev = e.of('device:lr-a-loom1')[0];
    assert.deepEqual([snapDev?.device?.deviceId, snapDev?.states.running, snapDev?.rates.electricity], ['lr-a-loom1', 1, 3]);
    await until(() => b.aggregates.length === 2, 'the bureau snapshots');

    live.emit('live', fullSummary(t0 + 10_000, 55));
    await until(() => b.of(`firm:${B.id}`).length === 2 && b.of('county:533102').length === 2, 'firm B and county updates for the bureau');
    await until(() => e.aggregates.length === 4, 'the engineer\'s updates');
    await sleep(200);
    assert.deepEqual(e.aggregates.map((a) => a.room).sort(), [`firm:${A.id}`, `firm:${A.id}`, 'device:lr-a-loom1', 'device:lr-a-loom1'].sort());
    assert.equal(e.of(`firm:${A.id}`)[1]?.rates.electricity, 55);
    assert.ok(e.aggregates.every((a) => a.room === `firm:${A.id}` || a.room === 'device:lr-a-loom1'), 'nothing of firm B, the county or the prefecture');
    e.socket.close();
    b.socket.close();
  });

  test('at most one aggregate per room per second; the latest values come with the next one', async () => {
    const c = await client(bureau);
    assert.deepEqual(await subscribe(c, 'park:ruili-coop'), { ok: true, room: 'park:ruili-coop' });
    await until(() => c.aggregates.length === 1, 'the snapshot');
    c.aggregates.length = 0;
    const t = t0 + 20_000;
    for (const [dt, kw] of [[0, 60], [200, 61], [400, 62], [900, 63]] as const) live.emit('live', { at: t + dt, devices: [dev('lr-a-meter', t + dt, { power_kw: kw, energy_kwh_total: 1001 })] });
    await until(() => c.aggregates.length >= 1, 'the first update');
    await sleep(300);
    assert.equal(c.aggregates.length, 1, 'four summaries within a second: one update');
    assert.deepEqual([c.aggregates[0]?.at, c.aggregates[0]?.rates.electricity], [t, 60]);
    live.emit('live', { at: t + 1000, devices: [dev('lr-a-loom1', t + 1000, { power_kw: 3.5, speed_rpm: 610 }, 'running')] });
    await until(() => c.aggregates.length === 2, 'the update one second later');
    assert.deepEqual([c.aggregates[1]?.at, c.aggregates[1]?.rates.electricity], [t + 1000, 63], 'the meter\'s latest power, held back by the pause');
    c.socket.close();
  });

  test('unsubscribe stops the updates of that room', async () => {
    const c = await client(bureau);
    const control = await client(admin);
    for (const x of [c, control]) assert.deepEqual(await subscribe(x, 'segment:dyeing'), { ok: true, room: 'segment:dyeing' });
    assert.deepEqual(await subscribe(c, `firm:${A.id}`), { ok: true, room: `firm:${A.id}` });
    await until(() => c.aggregates.length === 2 && control.aggregates.length === 1, 'the snapshots');
    const t = t0 + 30_000;
    live.emit('live', fullSummary(t));
    await until(() => c.of('segment:dyeing').length === 2 && control.of('segment:dyeing').length === 2, 'one update each');
    assert.deepEqual(await unsubscribe(c, 'segment:dyeing'), { ok: true, room: 'segment:dyeing' });
    live.emit('live', fullSummary(t + 2000));
    await until(() => control.of('segment:dyeing').length === 3 && c.of(`firm:${A.id}`).length === 3, 'the next updates');
    await sleep(200);
    assert.equal(c.of('segment:dyeing').length, 2, 'nothing after unsubscribe');
    c.socket.close();
    control.socket.close();
  });

  test('bad room names and too many rooms are refused with a reason', async () => {
    const c = await client(admin);
    for (const [room, why] of [[42, /as a string/], [undefined, /as a string/], ['x'.repeat(500), /at most 128/], ['county', /unknown room/], ['city:1', /unknown room/], ['county:999999', /unknown county "999999"; counties: 533102/]] as const) {
      const ack = await subscribe(c, room);
      assert.equal(ack.ok, false, String(room));
      assert.match(ack.ok ? '' : ack.error, why);
    }
    // No ack callback: still handled, nothing breaks.
    c.socket.emit('subscribe', 'county:533103');
    for (let i = 0; i < MAX_ROOMS_PER_SOCKET - 1; i++) assert.equal((await subscribe(c, `device:lr-many-${i}`)).ok, true, String(i));
    const over = await subscribe(c, 'device:lr-many-x');
    assert.equal(over.ok, false);
    assert.match(over.ok ? '' : over.error, /already follows 200 rooms, the limit; unsubscribe/);
    assert.equal((await subscribe(c, 'county:533103')).ok, true, 'a room already followed does not count again');
    assert.equal((await unsubscribe(c, 'device:lr-many-0')).ok, true);
    assert.equal((await subscribe(c, 'device:lr-many-x')).ok, true);
    c.socket.close();
  });
});

describe('public API docs at /docs', () => {
  test('HTML without a token: links the OpenAPI document, lists paths with summaries by tag, escaped', async () => {
    const res = await fetch(`${apiUrl}/docs`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<html lang="zh-CN">/);
    assert.match(html, /href="\/openapi.json"/);
    assert.match(html, /<h2>能耗 <small>energy<\/small><\/h2>/);
    assert.match(html, /<code>GET \/api\/v1\/energy\/summary<\/code> — /);
    assert.match(html, /<code>GET \/healthz<\/code> <small>（无需令牌 \/ no token）<\/small>/);
    assert.ok(html.includes('e.g. {&#34;loom&#34;: {&#34;metric&#34;'), 'quotes in a summary are escaped');
    assert.ok(!html.includes('{"loom"'));
    const plain = await fetch(`${apiUrl}/docs`);
    assert.match(plain.headers.get('content-type') ?? '', /^text\/html/, 'no Accept header: HTML');
  });

  test('JSON (the OpenAPI document) when the client asks for application/json', async () => {
    const res = await fetch(`${apiUrl}/docs`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/api/v1/energy/summary']);
    assert.deepEqual(doc, (await app.inject({ method: 'GET', url: '/openapi.json' })).json());
    const html = await fetch(`${apiUrl}/docs`, { headers: { accept: 'application/json;q=0.5, text/html' } });
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/, 'HTML ranked higher');
  });
});
