// The rollups follow the data: quarters a write touched are marked by the store and recomputed by the rollup
// job's next tick whatever their age, so store-and-forward backfill shows in every scope and endpoint. Against a
// real influxd, the store's write path (the one the ingest writer uses), the rollup job and the API. Expected
// figures are computed here from the readings the test wrote: a register's gain over a range is its last reading
// in the range less its last reading before it (however old), or less its first reading when it has none before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceType } from '../../common/contract/catalogue.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { DAY, HOUR, MINUTE, QUARTER_HOUR, floorTo, localDate, localParts } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { DEFAULT_ROLLUP_OPTIONS, RollupJob } from '../../analytics/energy/rollups.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { seededRng } from '../../simulators/models/random.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_rollup_freshness_00';
let sys: MonitoringTestSystem;

interface Reading { device: string; t: number; v: number }
interface Figure { carriers: { electricity: { measured: number } }; source: string; provisional: { until: number | null; dirtyQuarters: number; firms: number } | null }

const NOW = Date.now();
const Q0 = floorTo(NOW, QUARTER_HOUR);
const firmOf = new Map<string, NewFirm>();
const written: Reading[] = [];

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} ≠ ${b}`);

async function get<T>(url: string): Promise<{ body: T; headers: Record<string, unknown>; text: string }> {
  const r = await sys.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
  return { body: (r.headers['content-type']?.toString().startsWith('application/json') ? r.json() : undefined) as T, headers: r.headers, text: r.body };
}

async function figure(query: string): Promise<Figure> {
  return (await get<Figure>(`/energy/summary?${query}`)).body;
}

async function meter(f: NewFirm, id: string): Promise<void> {
  await sys.registry.createDevice({ firmId: f.id, type: 'electricity_meter', name: id, id });
  firmOf.set(id, f);
}

/** Writes readings through the store's write path, as the ingest writer does (`via`: another writer's store). */
async function write(readings: readonly Reading[], via: TelemetryStore = sys.store): Promise<void> {
  await via.write(readings.map((r) => {
    const f = firmOf.get(r.device)!;
    const tags = tagSet({ firmId: f.id, deviceId: r.device, type: 'electricity_meter', county: f.county, park: f.park, segment: f.segment });
    return telemetryLine(deviceType('electricity_meter')!.measurement, tags, r.t, 0, { energy_kwh_total: r.v });
  }));
  written.push(...readings);
}

/** What the devices selected gained in [from, to) by the counting rule, from the readings written (no resets here). */
function expected(from: number, to: number, select: (device: string) => boolean): number {
  let total = 0;
  const devices = new Set(written.map((r) => r.device).filter(select));
  for (const d of devices) {
    const mine = written.filter((r) => r.device === d).sort((a, b) => a.t - b.t);
    const inRange = mine.filter((r) => r.t >= from && r.t < to);
    if (inRange.length === 0) continue;
    const before = mine.filter((r) => r.t < from).pop();
    total += inRange[inRange.length - 1]!.v - (before ?? inRange[0]!).v;
  }
  return total;
}

/** A register's readings every `everyMs` over [from, to), from `start`, gaining `perHour`. */
function block(device: string, from: number, to: number, everyMs: number, start: number, perHour: number): Reading[] {
  const out: Reading[] = [];
  for (let t = from; t < to; t += everyMs) out.push({ device, t, v: start + ((t - from) / HOUR) * perHour });
  return out;
}

const inFirm = (f: NewFirm) => (d: string) => firmOf.get(d)?.id === f.id;
const inCounty = (c: string) => (d: string) => firmOf.get(d)?.county === c;

let A: NewFirm;
let B: NewFirm;

before(async () => {
  sys = await startMonitoringSystem('rollup-fresh', { adminToken: admin });
  A = testFirm({ county: '533102', park: 'ruili-coop', name: 'A backfill' });
  B = testFirm({ county: '533103', park: 'mangshi', name: 'B live' });
  for (const f of [A, B]) await sys.registry.createFirm(f);
  await meter(A, 'a-main');
  await meter(B, 'b-main');
  sys.monitoring.index.invalidate();
});
after(async () => { await sys.close(); });

describe('backfill shows within one rollup tick', () => {
  const from = floorTo(NOW - 4 * DAY, HOUR);
  const to = Q0 + QUARTER_HOUR;
  const range = `from=${from}&to=${to}`;

  test('live data, then a day-old and a three-day-old backfill: every scope and endpoint equals the readings', async () => {
    // Live: a reading a minute for the last 90 minutes (register near 5000), then one tick.
    await write(block('a-main', NOW - 90 * MINUTE, NOW, MINUTE, 5000, 120));
    await write(block('b-main', NOW - 90 * MINUTE, NOW, MINUTE, 300, 60));
    await sys.monitoring.rollups.tick();
    const live = await figure(`scope=prefecture&${range}`);
    close(live.carriers.electricity.measured, expected(from, to, () => true), 'live, prefecture');

    // Store-and-forward: the meter's buffer from a day ago (register 1000…) and from three days ago (100…).
    await write(block('a-main', NOW - 26 * HOUR, NOW - 24 * HOUR, 5 * MINUTE, 1000, 200));
    await write(block('a-main', NOW - 74 * HOUR, NOW - 72 * HOUR, 5 * MINUTE, 100, 100));
    // Before the tick the rollups lack it, and say so.
    const stale = await figure(`scope=county&id=${A.county}&${range}`);
    assert.ok(stale.provisional && stale.provisional.dirtyQuarters > 0 && stale.provisional.firms === 1, JSON.stringify(stale.provisional));
    assert.ok(await sys.monitoring.energy.provisional({ kind: 'firm', id: A.id }, from, to), 'per-mu inputs can ask too');
    const perMu = (await get<{ provisional: { dirtyQuarters: number } | null }>(`/plan/per-mu?year=${localParts(NOW - 74 * HOUR).year}&includeDemo=true`)).body;
    assert.ok(perMu.provisional && perMu.provisional.dirtyQuarters > 0, 'the per-mu ranking says its energy may still grow');

    const stats = await sys.monitoring.rollups.tick();
    assert.ok(stats.from <= floorTo(NOW - 74 * HOUR, QUARTER_HOUR), `the tick reached back to the oldest backfill: ${new Date(stats.from).toISOString()}`);
    const all = expected(from, to, () => true);
    for (const [query, want] of [
      [`scope=firm&id=${A.id}&${range}`, expected(from, to, inFirm(A))],
      [`scope=county&id=${A.county}&${range}`, expected(from, to, inCounty(A.county))],
      [`scope=park&id=${A.park}&${range}`, expected(from, to, inFirm(A))],
      [`scope=county&id=${B.county}&${range}`, expected(from, to, inCounty(B.county))],
      [`scope=prefecture&${range}`, all],
      // Pieces: the day before yesterday, and a firm range short enough to be read raw.
      [`scope=prefecture&from=${from}&to=${NOW - 48 * HOUR}`, expected(from, floorTo(NOW - 48 * HOUR, 15 * MINUTE) + 15 * MINUTE, () => true)],
      [`scope=firm&id=${A.id}&from=${floorTo(NOW - 30 * HOUR, HOUR)}&to=${to}`, expected(floorTo(NOW - 30 * HOUR, HOUR), to, inFirm(A))],
    ] as const) {
      close((await figure(query)).carriers.electricity.measured, want, query);
    }
    // Series: every hour against the readings.
    const series = (await get<{ points: Array<{ time: number; carriers: { electricity: { measured: number } } }> }>(`/energy/series?scope=county&id=${A.county}&${range}&interval=1h`)).body;
    const byHour = new Map(series.points.map((p) => [p.time, p.carriers.electricity.measured]));
    for (let h = from; h < to; h += HOUR) close(byHour.get(h) ?? 0, expected(h, h + HOUR, inCounty(A.county)), `series hour ${new Date(h).toISOString()}`);
    // CSV: the 15-minute points of the firm add up to the readings.
    const csv = await get<never>(`/energy/rollups.csv?scope=firm&id=${A.id}&${range}`);
    const header = csv.text.split('\r\n')[0]!.split(',');
    const rows = csv.text.trim().split('\r\n').slice(1).map((l) => l.split(','));
    const sum = rows.filter((r) => r[header.indexOf('quantity')] === 'electricity').reduce((n, r) => n + Number(r[header.indexOf('value')]), 0);
    close(sum, expected(from, to, inFirm(A)), 'CSV');
    assert.match(String(csv.headers['x-provisional-quarters']), /^\d+$/);
    // Intensity: the firm's row of its county.
    const intensity = (await get<{ source: string; rows: Array<{ key: string; electricityKwh: number }> }>(`/energy/intensity?scope=county&id=${A.county}&${range}`)).body;
    assert.equal(intensity.source, 'rollup');
    close(intensity.rows.find((r) => r.key === A.id)?.electricityKwh ?? 0, expected(from, to, inFirm(A)), 'intensity');
    // Per-mu inputs (plan evaluation) read the same rollups.
    const totals = await sys.monitoring.energy.firmTotals({ kind: 'prefecture', id: '' }, from, to, 'calorific');
    close(totals.get(A.id)?.electricityKwh ?? 0, expected(from, to, inFirm(A)), 'per-mu inputs');
    const status = (await get<{ watermark: number | null; pendingQuarters: number }>('/energy/rollups/status')).body;
    assert.ok(status.watermark !== null && status.watermark <= Date.now() && status.pendingQuarters > 0, JSON.stringify(status));
    // The marks sit in their own retention policy.
    const marks = await sys.store.query('SELECT count("quarter") FROM "dirty_marks"."dirty_quarter"');
    assert.ok(Number(marks[0]?.values[0]?.[1]) > 0);
  });

  test('a server without the marks\' retention policy keeps them in the default one, and they are read there', async () => {
    const dropped = await fetch(`${sys.influxd.url}/query?db=${sys.db}`, { method: 'POST', body: new URLSearchParams({ q: `DROP RETENTION POLICY "dirty_marks" ON "${sys.db}"` }) });
    assert.equal(dropped.status, 200, await dropped.text());
    const writer = new InfluxStore({ url: sys.influxd.url, db: sys.db });
    try {
      const since = Date.now();
      await write([{ device: 'b-main', t: NOW - 50 * HOUR, v: 1 }], writer);
      const marks = await sys.store.dirtyQuarters({ since: since - 1, until: Date.now() + 1 });
      assert.deepEqual(marks.map((m) => [m.firmId, m.quarter]), [[B.id, floorTo(NOW - 50 * HOUR, QUARTER_HOUR)]]);
    } finally {
      await writer.close();
      await sys.store.ensureDatabase();
    }
  });

  test('a fresh device\'s first quarter is in the 15-minute rollups, counted from its first reading', async () => {
    const f = testFirm({ county: '533124', park: 'longchuan', name: 'C fresh' });
    await sys.registry.createFirm(f);
    await meter(f, 'c-new');
    sys.monitoring.index.invalidate();
    const q = Q0 - 2 * HOUR;
    await write([{ device: 'c-new', t: q + MINUTE, v: 10 }, { device: 'c-new', t: q + 5 * MINUTE, v: 20 }, { device: 'c-new', t: q + 14 * MINUTE, v: 35 }]);
    await sys.monitoring.rollups.tick();
    const rows = await sys.store.rollupRows({ scope: { kind: 'firm', id: f.id }, from: q - HOUR, to: q + HOUR, limit: 100 });
    assert.deepEqual(rows.flatMap((r) => r.rows.map((x) => [r.quantity, x.time, x.value])), [['electricity', q, 25]]);
  });
});

describe('a firm that moved', () => {
  test('its recomputed past quarters stay where their data was stored, counted once', async () => {
    const f = testFirm({ county: '533102', park: 'ruili-coop', name: 'M moved' });
    await sys.registry.createFirm(f);
    await meter(f, 'm-main');
    sys.monitoring.index.invalidate();
    await write(block('m-main', NOW - 30 * HOUR, NOW - 29 * HOUR, 5 * MINUTE, 500, 60));
    await sys.monitoring.rollups.tick();
    await sys.registry.updateFirm(f.id, { changes: { park: 'ruili-border' }, validFrom: localDate(NOW), recordedAt: Date.now(), recordedBy: 'test' });
    sys.monitoring.index.invalidate();
    // The meter's buffer from before the move, tagged with the old park as it was stored.
    await write(block('m-main', NOW - 32 * HOUR, NOW - 31 * HOUR, 5 * MINUTE, 400, 60));
    await sys.monitoring.rollups.tick();
    const range = `from=${floorTo(NOW - 33 * HOUR, HOUR)}&to=${floorTo(NOW - 28 * HOUR, HOUR)}&source=rollup`;
    const want = expected(floorTo(NOW - 33 * HOUR, HOUR), floorTo(NOW - 28 * HOUR, HOUR), inFirm(f));
    close((await figure(`scope=firm&id=${f.id}&${range}`)).carriers.electricity.measured, want, 'the firm');
    close((await figure(`scope=park&id=ruili-coop&${range}`)).carriers.electricity.measured, expected(floorTo(NOW - 33 * HOUR, HOUR), floorTo(NOW - 28 * HOUR, HOUR), (d) => firmOf.get(d)?.park === 'ruili-coop'), 'the old park');
  });
});

describe('a firm over a short range while the rollup job keeps up', () => {
  test('rollups up to its first marked quarter, the raw counters from there: the same figure as the readings', async () => {
    const f = testFirm({ county: '533102', park: 'ruili-border', name: 'D split' });
    await sys.registry.createFirm(f);
    await meter(f, 'd-main');
    await meter(f, 'd-aux');
    sys.monitoring.index.invalidate();
    const from = floorTo(NOW - 12 * HOUR, HOUR);
    await write(block('d-main', NOW - 20 * HOUR, NOW, 10 * MINUTE, 50, 30));
    // No slack for the reader: in a test everything happens within the real one (minutes), so nothing would count as
    // done. Writes after the tick come from another writer, whose marks no earlier mark of this one covers.
    const slack = sys.store.dirtySlackMs;
    Object.defineProperty(sys.store, 'dirtySlackMs', { value: 0 });
    const writer = new InfluxStore({ url: sys.influxd.url, db: sys.db });
    sys.monitoring.rollups.start();
    try {
      await sys.monitoring.rollups.tick();
      const q = `scope=firm&id=${f.id}&from=${from}&to=${NOW}`;
      const done = await figure(q);
      assert.equal(done.source, 'rollup+raw');
      close(done.carriers.electricity.measured, expected(from, NOW, inFirm(f)), 'after the tick');
      // A second meter's buffer inside the range: its quarters and everything after them are read raw.
      await write(block('d-aux', NOW - 8 * HOUR, NOW - 7 * HOUR, 10 * MINUTE, 1000, 30), writer);
      const split = await figure(q);
      assert.equal(split.source, 'rollup+raw');
      assert.equal(split.provisional, null);
      assert.ok(split.carriers.electricity.measured > done.carriers.electricity.measured);
      close(split.carriers.electricity.measured, expected(from, NOW, inFirm(f)), 'before the next tick');
      // A county this small reads the marked quarters raw too (large ones read the rollups and say they are
      // provisional: see the first test's backfill, whose tail is too long to read raw).
      const countyRange = `scope=county&id=${f.county}&from=${from}&to=${NOW}`;
      const county = await figure(countyRange);
      assert.equal(county.provisional, null);
      close(county.carriers.electricity.measured, expected(from, NOW, inCounty(f.county)), 'a small county before the next tick');
      // A backfill before the range moves the baseline of the range's first readings: the firm is read raw.
      await write(block('d-main', NOW - 22 * HOUR, NOW - 21 * HOUR, 10 * MINUTE, 10, 30), writer);
      assert.equal((await figure(`scope=firm&id=${f.id}&from=${NOW - 20 * HOUR}&to=${NOW}`)).source, 'raw');
      await sys.monitoring.rollups.tick();
      const after = await figure(countyRange);
      assert.equal(after.provisional, null);
      close(after.carriers.electricity.measured, expected(from, floorTo(NOW, QUARTER_HOUR) + QUARTER_HOUR, inCounty(f.county)), 'county after the tick');
    } finally {
      await sys.monitoring.rollups.stop();
      await writer.close();
      Object.defineProperty(sys.store, 'dirtySlackMs', { value: slack });
    }
  });
});

describe('random backfill batches', () => {
  test('once the marked quarters are processed, the rollups give what the raw counters give, for any range and scope', async () => {
    const seed = Number(process.env.SEED ?? (Date.now() % 1_000_000_007));
    const rand = seededRng(seed); // replay a failure with SEED=<seed>
    const firms = [
      testFirm({ county: '533122', park: 'lianghe', name: 'P1' }), testFirm({ county: '533122', park: 'lianghe', name: 'P2' }),
      testFirm({ county: '533123', park: 'yingjiang', name: 'P3' }),
    ];
    for (const f of firms) await sys.registry.createFirm(f);
    const devices = ['p1-a', 'p1-b', 'p2-a', 'p3-a', 'p3-b'];
    for (const d of devices) await meter(firms[Number(d[1]) - 1]!, d);
    sys.monitoring.index.invalidate();
    // Its own job, computing spans of two firms or more in one query over every firm.
    const job = new RollupJob(sys.store, sys.monitoring.index, undefined, { ...DEFAULT_ROLLUP_OPTIONS, allFirmsFrom: 2 });
    // Each device's register over five days at random intervals, cut into batches written in random order.
    const batches: Reading[][] = [];
    for (const d of devices) {
      let t = NOW - 5 * DAY + Math.floor(rand() * HOUR);
      let v = Math.floor(rand() * 1000);
      let batch: Reading[] = [];
      while (t < NOW - MINUTE) {
        batch.push({ device: d, t, v });
        if (rand() < 0.08) { batches.push(batch); batch = []; }
        t += MINUTE + Math.floor(rand() * 90 * MINUTE);
        v += Math.round(rand() * 50 * 1000) / 1000;
      }
      batches.push(batch);
    }
    batches.sort(() => rand() - 0.5);
    for (const b of batches) {
      await write(b);
      if (rand() < 0.2) await job.tick();
    }
    await job.tick();
    const scopes = [
      ...firms.map((f) => ({ q: `scope=firm&id=${f.id}`, sel: inFirm(f) })),
      { q: 'scope=county&id=533122', sel: inCounty('533122') }, { q: 'scope=park&id=yingjiang', sel: (d: string) => firmOf.get(d)?.park === 'yingjiang' },
      { q: 'scope=prefecture', sel: () => true },
    ];
    for (let i = 0; i < 12; i++) {
      const a = floorTo(NOW - 5 * DAY + rand() * 5 * DAY, QUARTER_HOUR);
      const b = Math.min(Q0 + QUARTER_HOUR, a + QUARTER_HOUR * (1 + Math.floor(rand() * 4 * 96)));
      const s = scopes[Math.floor(rand() * scopes.length)]!;
      const q = `${s.q}&from=${a}&to=${b}`;
      const want = expected(a, b, s.sel);
      const raw = await figure(`${q}&source=raw`);
      const rolled = await figure(`${q}&source=rollup`);
      const auto = await figure(q);
      const tag = `seed ${seed}, ${q}`;
      close(raw.carriers.electricity.measured, want, `raw, ${tag}`);
      close(rolled.carriers.electricity.measured, want, `rollup, ${tag}`);
      close(auto.carriers.electricity.measured, want, `auto (${auto.source}), ${tag}`);
    }
  });
});

describe('a small installation between ticks', () => {
  test('a county or the prefecture reads what the rollups lack from the raw counters: exact, not provisional', async () => {
    const f = testFirm({ county: '533123', park: 'yingjiang', name: 'S small' });
    await sys.registry.createFirm(f);
    await meter(f, 's-new');
    sys.monitoring.index.invalidate();
    await sys.monitoring.rollups.tick();
    // Readings of the last minutes, after the tick: the rollups know nothing of them yet.
    await write(block('s-new', NOW - 6 * MINUTE, NOW, MINUTE, 70, 600));
    const day = floorTo(NOW - 20 * HOUR, HOUR);
    for (const [query, sel] of [
      [`scope=county&id=533123&from=${day}`, inCounty('533123')],
      [`scope=prefecture&from=${day}`, () => true],
    ] as const) {
      const fig = await figure(query);
      close(fig.carriers.electricity.measured, expected(day, Date.now() + 1, sel), `${query} (${fig.source})`);
      assert.equal(fig.provisional, null, query);
      assert.notEqual(fig.source, 'rollup', query);
    }
  });
});
