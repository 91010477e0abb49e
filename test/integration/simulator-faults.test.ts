// Each simulator fault against the real platform (private influxd, the broker on a real socket, the ingest
// writer and the API): the platform answers it as the contract promises.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { api, startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';
import { waitFor } from '../../scripts/net.ts';
import { SimulatedDevice, type DeviceCredentials } from '../../simulators/device.ts';
import { createModel, seededRng } from '../../simulators/models.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { DeviceProgram } from '../../simulators/program.ts';
import { Fleet } from '../../simulators/fleet.ts';
import type { FaultPlan } from '../../simulators/faults.ts';

let sys: TestSystem;

before(async () => { sys = await startTestSystem(); });
after(async () => { await sys.close(); });

interface Rejected { deviceId: string; rule: string; field: string; reason: string }

async function firmWith(types: string[]): Promise<{ firmId: string; creds: DeviceCredentials[] }> {
  const firm = testFirm();
  const r = await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const creds: DeviceCredentials[] = [];
  for (const [i, t] of types.entries()) creds.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, t, `sim ${t} ${i}`));
  return { firmId: firm.id, creds };
}

function device(c: DeviceCredentials, faults: FaultPlan, seed: number, victim?: DeviceCredentials): SimulatedDevice {
  return new SimulatedDevice(c, createModel(c.type, seededRng(seed)), sys.mqttUrl, {
    faults, rng: seededRng(seed + 1000), trackAcked: true, ...(victim ? { victim: { firmId: victim.firmId, deviceId: victim.id } } : {}),
  });
}

async function rejected(firmId: string, deviceId: string): Promise<Rejected[]> {
  const r = await api<Rejected[]>(sys, sys.adminToken, 'GET', `/api/v1/firms/${firmId}/rejected?deviceId=${deviceId}&limit=1000`);
  assert.equal(r.status, 200);
  return r.body;
}

async function storedSeqs(measurement: string, deviceId: string): Promise<Set<number>> {
  const series = await sys.store.query(`SELECT "seq" FROM "${measurement}" WHERE "device" = '${deviceId}'`);
  return new Set((series[0]?.values ?? []).map((row) => row[1] as number));
}

/** Publishes n ticks of 1 s ending about now, waiting for each tick's acks. */
async function publishTicks(d: SimulatedDevice, n: number, stepMs = 1000): Promise<void> {
  const start = Date.now() - n * stepMs;
  for (let i = 1; i <= n; i++) await d.publishOnce(start + i * stepMs, stepMs);
}

const count = (xs: readonly string[], x: string) => xs.filter((y) => y === x).length;

describe('simulator faults against the platform', () => {
  test('malformed, missing-field, out-of-range and wrong-type messages are rejected with a reason; the valid ones are stored', async () => {
    const { firmId, creds } = await firmWith(['loom']);
    const d = device(creds[0]!, { malformed: { rate: 0.12 }, 'missing-field': { rate: 0.12 }, 'out-of-range': { rate: 0.12 }, 'wrong-type': { rate: 0.12 } }, 21);
    await d.connect();
    await publishTicks(d, 45);
    const inj = d.stats.injected;
    for (const f of ['malformed', 'missing-field', 'out-of-range', 'wrong-type'] as const) assert.ok((inj[f] ?? 0) >= 1, `${f} was injected (${JSON.stringify(inj)})`);
    const bad = (inj.malformed ?? 0) + (inj['missing-field'] ?? 0) + (inj['out-of-range'] ?? 0) + (inj['wrong-type'] ?? 0);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', d.creds.id), 45 - bad, 'every valid telemetry message is stored');
    assert.deepEqual(await storedSeqs('loom', d.creds.id), d.ackedSeqs);
    const rules = (await rejected(firmId, d.creds.id)).map((r) => r.rule);
    assert.equal(count(rules, 'json'), inj.malformed ?? 0);
    assert.equal(count(rules, 'required'), inj['missing-field'] ?? 0);
    assert.equal(count(rules, 'type'), inj['wrong-type'] ?? 0);
    assert.equal(count(rules, 'minimum') + count(rules, 'maximum'), inj['out-of-range'] ?? 0);
    assert.equal(rules.length, bad);
    for (const r of await rejected(firmId, d.creds.id)) assert.ok(r.reason.length > 10 && r.field, `a reason a person can act on: ${r.field} ${r.reason}`);
    // The device heard about each rejection on its errors topic too.
    await waitFor(async () => d.stats.rejected === bad, 5000, 'the error reports');
    assert.equal(d.stats.problems.json ?? 0, inj.malformed ?? 0);
    await d.stop();
  });

  test('duplicates (same ts and seq sent again) are stored once', async () => {
    const { creds } = await firmWith(['spinning_frame']);
    const d = device(creds[0]!, { duplicate: { rate: 0.5 } }, 22);
    await d.connect();
    await publishTicks(d, 30);
    const dups = d.stats.injected.duplicate ?? 0;
    assert.ok(dups >= 5, `${dups} duplicates`);
    assert.equal(d.stats.acked, d.stats.sent, 'every message, duplicates included, was acknowledged');
    await sys.drained();
    assert.equal(await sys.countPoints('spinning_frame', d.creds.id), 30);
    await d.stop();
  });

  test('a backfill after an outage ({"points": [...]}, old timestamps) is stored in full', async () => {
    const { creds } = await firmWith(['water_jet_loom']);
    const c = creds[0]!;
    // The program alone, so the outage runs on a virtual clock two hours ago; it asks for a connection drop that
    // this test does not need to perform.
    const program = new DeviceProgram(c, createModel(c.type, seededRng(23)), { faults: { backfill: { rate: 0.2, durationS: [300, 900], batchPoints: 40 } }, rng: seededRng(24) });
    const client = await mqtt.connectAsync(sys.mqttUrl, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });
    const start = Date.now() - 2 * 3_600_000;
    let batches = 0;
    let oldest = Infinity;
    const n = 240;
    for (let i = 1; i <= n; i++) {
      const t = i === n ? { messages: [...program.tick(start + i * 30_000, 30_000).messages, ...program.endOutage(start + i * 30_000).messages] } : program.tick(start + i * 30_000, 30_000);
      for (const m of t.messages) {
        if (m.fault === 'backfill') {
          batches++;
          oldest = Math.min(oldest, (JSON.parse(m.payload) as { points: Array<{ ts: number }> }).points[0]!.ts);
        }
        await client.publishAsync(m.topic, m.payload, { qos: 1 });
      }
    }
    assert.ok(batches >= 3, `${batches} batch messages`);
    assert.ok(oldest < Date.now() - 3_600_000, 'the backlog carries timestamps over an hour old');
    await sys.drained();
    assert.equal(await sys.countPoints('water_jet_loom', c.id), n, 'every point, live or backfilled, is stored');
    const r = await api<{ points: Array<{ ts: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${c.id}/telemetry?metric=water_l_total&from=${start}&to=${Date.now()}&limit=1000`);
    assert.equal(r.body.points.length, n);
    assert.equal(r.body.points[0]!.ts, start + 30_000, 'stored at the time it was measured');
    await client.endAsync();
  });

  test("a device publishing on another device's topic: rejected (rule topic), nothing stored for the other device", async () => {
    const { firmId, creds } = await firmWith(['loom', 'loom']);
    const [a, b] = creds as [DeviceCredentials, DeviceCredentials];
    const d = device(a, { 'foreign-topic': { rate: 0.3 } }, 25, b);
    await d.connect();
    await publishTicks(d, 30);
    const foreign = d.stats.injected['foreign-topic'] ?? 0;
    assert.ok(foreign >= 3, `${foreign} foreign publishes`);
    await sys.drained();
    assert.equal(await sys.countPoints('loom', b.id), 0, 'nothing stored for the victim');
    assert.equal(await sys.countPoints('loom', a.id), 30 - foreign, "the device's own messages are stored");
    const rules = (await rejected(firmId, a.id)).map((r) => r.rule);
    assert.deepEqual(rules, Array(foreign).fill('topic'));
    assert.deepEqual(await rejected(firmId, b.id), [], 'nothing is blamed on the victim');
    await waitFor(async () => (d.stats.problems.topic ?? 0) === foreign, 5000, 'the error reports');
    await d.stop();
  });

  test('clock skew beyond 5 minutes ahead is rejected with rule clock-ahead; a skew within the limit is stored', async () => {
    const { firmId, creds } = await firmWith(['stenter', 'stenter']);
    const [fast, slight] = creds as [DeviceCredentials, DeviceCredentials];
    const ahead = device(fast, { 'clock-skew': { rate: 1, skewS: [420, 900], durationS: [3600, 3600] } }, 26);
    const near = device(slight, { 'clock-skew': { rate: 1, skewS: [-600, 120], durationS: [3600, 3600] } }, 27);
    await ahead.connect();
    await near.connect();
    await publishTicks(ahead, 10);
    await publishTicks(near, 10);
    assert.ok(ahead.program.clockOffsetMs > 300_000);
    await sys.drained();
    assert.equal(await sys.countPoints('stenter', fast.id), 0);
    const rules = new Set((await rejected(firmId, fast.id)).map((r) => r.rule));
    assert.deepEqual([...rules], ['clock-ahead']);
    assert.equal(await sys.countPoints('stenter', slight.id), 10);
    assert.deepEqual(await rejected(firmId, slight.id), []);
    await ahead.stop();
    await near.stop();
  });

  test('counter resets and stuck sensors are stored as sent (the contract allows resets)', async () => {
    const { firmId, creds } = await firmWith(['electricity_meter', 'dyeing_machine']);
    const [meter, dyer] = creds as [DeviceCredentials, DeviceCredentials];
    const m = device(meter, { 'counter-reset': { rate: 0.3 } }, 28);
    const s = device(dyer, { stuck: { rate: 1, durationS: [7200, 7200] } }, 29);
    await m.connect();
    await s.connect();
    await publishTicks(m, 20, 60_000);
    await publishTicks(s, 20, 60_000);
    assert.ok((m.stats.injected['counter-reset'] ?? 0) >= 1);
    await sys.drained();
    const from = Date.now() - 25 * 60_000;
    const reg = await api<{ points: Array<{ value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${meter.id}/telemetry?metric=energy_kwh_total&from=${from}`);
    assert.equal(reg.body.points.length, 20);
    const drops = reg.body.points.filter((p, i) => i > 0 && p.value < reg.body.points[i - 1]!.value).length;
    assert.ok(drops >= 1, 'the reset shows in the stored register');
    const metric = s.program.stuckMetric!;
    const stuck = await api<{ points: Array<{ value: number }> }>(sys, sys.adminToken, 'GET', `/api/v1/devices/${dyer.id}/telemetry?metric=${metric}&from=${from}`);
    assert.equal(stuck.body.points.length, 20);
    assert.equal(new Set(stuck.body.points.map((p) => p.value)).size, 1, `${metric} is stored stuck`);
    assert.deepEqual(await rejected(firmId, meter.id), []);
    assert.deepEqual(await rejected(firmId, dyer.id), []);
    await m.stop();
    await s.stop();
  });

  test('a disconnect storm: devices drop and reconnect, and everything acknowledged is stored', async () => {
    const { creds } = await firmWith(Array<string>(8).fill('loom'));
    const faults: FaultPlan = { storm: { rate: 1, share: [0.5, 1], durationS: [0.2, 0.8] }, disconnect: { rate: 0.3, durationS: [0.2, 0.6] } };
    const fleet = new Fleet(creds.map((c, i) => ({ creds: c, intervalMs: 100, modelSeed: 300 + i, faultSeed: 400 + i, startDelayMs: i * 10 })), {
      mqttUrl: sys.mqttUrl, faults, seed: 5, trackAcked: true, reconnectPeriodMs: 200,
    });
    assert.deepEqual(await fleet.connect(), []);
    fleet.start();
    await new Promise((r) => setTimeout(r, 6000));
    await fleet.stop(8000);
    const t = fleet.totals();
    assert.ok(t.storms >= 3, `${t.storms} storms`);
    assert.ok(t.drops >= 8 && t.reconnects >= 8, `${t.drops} drops, ${t.reconnects} reconnections`);
    assert.ok(t.acked > 200, `${t.acked} acknowledged`);
    await sys.drained();
    for (const d of fleet.devices) {
      const stored = await storedSeqs('loom', d.creds.id);
      const missing = [...d.ackedSeqs].filter((s) => !stored.has(s));
      assert.deepEqual(missing, [], `${d.creds.id}: acknowledged but not stored`);
      assert.ok(d.ackedSeqs.size > 10);
    }
  });
});
