// Property test of the counter questions against a real (private) influxd: seeded random meter series (gaps of
// minutes to days, redelivered duplicates, batches written out of order and late, resets anywhere including ones
// that climb back past half the old reading, jitter, readings days old, devices whose first readings fall inside
// a range) are written to the store; for random ranges, split at random into pieces, counterDeltas and
// counterSteps over every piece must equal what this file computes from the readings themselves, so the pieces
// add up to the whole. COUNTER_SEED=<n> replays a run; a failure names its seed.
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { COUNTER_JITTER } from '../../common/telemetry-store/questions/energy.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { DAY, HOUR, MINUTE, TZ_OFFSET_MS } from '../../common/time.ts';
import { tempDir } from '../helpers/system.ts';
import { seededRng } from '../../simulators/models/random.ts';

type Reading = { device: string; firm: string; t: number; v: number };
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** One device's readings from `start` to `end`: rises, gaps, resets (some climbing back past half), jitter. */
function meter(rand: () => number, device: string, firm: string, start: number, end: number): Reading[] {
  const out: Reading[] = [];
  let v = round3(rand() * 5000);
  for (let t = start; t < end;) {
    out.push({ device, firm, t, v });
    const kind = rand();
    if (kind < 0.04) {
      // A reset; half of them climb back past half the old reading within minutes.
      const old = v;
      v = round3(rand() * 3);
      if (rand() < 0.5) {
        t += Math.ceil(rand() * 5 * MINUTE);
        out.push({ device, firm, t, v });
        v = round3(old * (0.5 + rand() * 0.45));
      }
    } else if (kind < 0.08) {
      v = Math.max(0, round3(v - v * rand() * COUNTER_JITTER * 0.9)); // jitter: below the threshold
    } else if (kind < 0.12) {
      // unchanged reading
    } else {
      v = round3(v + rand() * 6);
    }
    const gap = rand();
    t += gap < 0.75 ? Math.ceil(MINUTE + rand() * 25 * MINUTE) : gap < 0.95 ? Math.ceil(rand() * 4 * HOUR) : Math.ceil(6 * HOUR + rand() * 40 * HOUR);
  }
  return out;
}

/** The counting rule, written out here from its definition (docs/monitoring.md), per device and step. */
function expectedSteps(readings: readonly Reading[], from: number, to: number, stepMs: number, offsetMs: number): Map<string, Array<{ time: number; value: number; reset: boolean }>> {
  const byDevice = new Map<string, Reading[]>();
  for (const r of readings) byDevice.set(r.device, [...(byDevice.get(r.device) ?? []), r]);
  const out = new Map<string, Array<{ time: number; value: number; reset: boolean }>>();
  for (const [device, list] of byDevice) {
    const sorted = [...new Map(list.map((r) => [r.t, r])).values()].sort((a, b) => a.t - b.t);
    const inRange = sorted.filter((r) => r.t >= from && r.t < to);
    if (inRange.length === 0) continue;
    const earlier = sorted.filter((r) => r.t < from);
    let prev = earlier.length > 0 ? earlier[earlier.length - 1]!.v : inRange[0]!.v;
    const steps = new Map<number, { last: number; highest: number }>();
    for (const r of inRange) {
      const s = Math.floor((r.t - offsetMs) / stepMs) * stepMs + offsetMs;
      const cur = steps.get(s);
      steps.set(s, { last: r.v, highest: Math.max(cur?.highest ?? -Infinity, r.v) });
    }
    const rows: Array<{ time: number; value: number; reset: boolean }> = [];
    for (const [time, { last, highest }] of [...steps].sort((a, b) => a[0] - b[0])) {
      if (last >= prev) rows.push({ time, value: last - prev, reset: false });
      else if (prev - last <= COUNTER_JITTER * prev) rows.push({ time, value: 0, reset: false });
      else rows.push({ time, value: last + Math.max(0, highest - prev), reset: true });
      prev = last;
    }
    out.set(device, rows);
  }
  return out;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));

let influxd: PrivateInfluxd;
const dir = tempDir('counter-prop');
before(async () => { influxd = await startPrivateInfluxd(dir); });
after(async () => { await influxd.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

test('counter increments over random ranges and random splits equal the counting rule applied to the readings', async (t) => {
  const seed = Number(process.env.COUNTER_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`COUNTER_SEED=${seed}`);
  const rand = seededRng(seed);
  const T0 = Math.floor((Date.now() - 8 * DAY) / DAY) * DAY;
  const WINDOW = 4 * DAY;
  const readings: Reading[] = [];
  for (let d = 0; d < 10; d++) {
    // Some devices start days before the window (old baselines), some inside it (first readings in a range).
    const start = T0 - 2 * DAY + Math.floor(rand() * (d < 3 ? 5 * DAY : 2 * DAY));
    readings.push(...meter(rand, `d${d}`, d % 2 ? 'P1' : 'P2', start, T0 + WINDOW));
  }
  const line = (r: Reading) => `electricity_meter,county=533102,device=${r.device},firm=${r.firm},park=p,segment=weaving,type=electricity_meter energy_kwh_total=${r.v} ${r.t}`;
  // Late readings (held back to a second round), redelivered duplicates, the rest shuffled into batches.
  const late = readings.filter(() => rand() < 0.15);
  const lateSet = new Set(late);
  const first = readings.filter((r) => !lateSet.has(r));
  const shuffled = (list: readonly Reading[]) => [...list, ...list.filter(() => rand() < 0.05)].map((r) => ({ r, k: rand() })).sort((a, b) => a.k - b.k).map((x) => x.r);
  const store = new InfluxStore({ url: influxd.url, db: 'prop' });
  await store.ensureDatabase();
  const write = async (list: readonly Reading[]) => {
    const lines = shuffled(list).map(line);
    for (let i = 0; i < lines.length;) {
      const n = 1 + Math.floor(rand() * 400);
      await store.write(lines.slice(i, i + n));
      i += n;
    }
  };

  const check = async (known: readonly Reading[], round: number) => {
    for (let k = 0; k < 6; k++) {
      // Steps of minutes or hours, or local days (offset 16 h in UTC, as the register check asks).
      const stepMs = [5 * MINUTE, 15 * MINUTE, HOUR, DAY][Math.floor(rand() * 4)]!;
      const off = stepMs === DAY ? DAY - TZ_OFFSET_MS : 0;
      const a = Math.floor((T0 + rand() * (WINDOW - stepMs) - off) / stepMs) * stepMs + off;
      const b = a + (1 + Math.floor(rand() * Math.max(1, Math.floor((T0 + WINDOW - a) / stepMs)))) * stepMs;
      const cuts = [...new Set(Array.from({ length: Math.floor(rand() * 4) }, () => a + Math.floor(rand() * ((b - a) / stepMs)) * stepMs))].filter((c) => c > a).sort((x, y) => x - y);
      const bounds = [a, ...cuts, b];
      const whole = expectedSteps(known, a, b, stepMs, off);
      const sumOverPieces = new Map<string, number>();
      for (let i = 0; i + 1 < bounds.length; i++) {
        const [from, to] = [bounds[i]!, bounds[i + 1]!];
        const what = `seed ${seed}, round ${round}, step ${stepMs / MINUTE} min, range [${(a - T0) / MINUTE}, ${(b - T0) / MINUTE}) min, piece [${(from - T0) / MINUTE}, ${(to - T0) / MINUTE})`;
        const want = expectedSteps(known, from, to, stepMs, off);
        const q = { metric: 'energy_kwh_total', measurements: ['electricity_meter'], scope: { kind: 'prefecture' as const, id: '' }, from, to, stepMs };
        const deltas = await store.counterDeltas({ ...q, stepOffsetMs: off, groupBy: ['device'] });
        const got = new Map(deltas.map((r) => [r.tags.device ?? '', r]));
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `devices with readings, ${what}`);
        for (const [device, rows] of want) {
          const value = rows.reduce((s, r) => s + r.value, 0);
          const resets = rows.filter((r) => r.reset).length;
          assert.ok(close(got.get(device)!.value, value), `counterDeltas ${device}: ${got.get(device)!.value} ≠ ${value}, ${what}`);
          assert.equal(got.get(device)!.resets, resets, `counterDeltas resets ${device}, ${what}`);
          sumOverPieces.set(device, (sumOverPieces.get(device) ?? 0) + value);
        }
        // counterSteps has no step offset: asked for the steps from the epoch.
        const steps = off ? [] : await store.counterSteps({ ...q, carry: ['firm'] });
        for (const [device, rows] of off ? [] : want) {
          const gotRows = steps.filter((r) => r.tags.device === device).sort((x, y) => x.time - y.time).map((r) => ({ time: r.time, value: r.value, reset: r.reset }));
          assert.equal(gotRows.length, rows.length, `counterSteps rows of ${device}, ${what}`);
          rows.forEach((r, j) => assert.ok(gotRows[j]!.time === r.time && close(gotRows[j]!.value, r.value) && gotRows[j]!.reset === r.reset, `counterSteps ${device} ${JSON.stringify(gotRows[j])} ≠ ${JSON.stringify(r)}, ${what}`));
        }
        // Buckets: hourly (or the step) per firm, the same figures summed another way.
        const intervalMs = Math.max(stepMs, HOUR);
        const buckets = await store.counterDeltas({ ...q, stepOffsetMs: off, groupBy: ['firm'], intervalMs, offsetMs: off });
        const wantBuckets = new Map<string, number>();
        for (const [device, rows] of want) {
          const firm = known.find((r) => r.device === device)!.firm;
          for (const r of rows) {
            const key = `${firm}/${Math.floor((r.time - off) / intervalMs) * intervalMs + off}`;
            wantBuckets.set(key, (wantBuckets.get(key) ?? 0) + r.value);
          }
        }
        assert.deepEqual(buckets.map((r) => `${r.tags.firm}/${r.time}`).sort(), [...wantBuckets.keys()].sort(), `buckets, ${what}`);
        for (const r of buckets) assert.ok(close(r.value, wantBuckets.get(`${r.tags.firm}/${r.time}`)!), `bucket ${r.tags.firm}/${r.time}: ${r.value}, ${what}`);
      }
      for (const [device, rows] of whole) {
        assert.ok(close(sumOverPieces.get(device) ?? 0, rows.reduce((s, r) => s + r.value, 0)), `pieces add up to the whole for ${device}, seed ${seed}`);
      }
    }
  };

  await write(first);
  await check(first, 1);
  await write(late);
  await check(readings, 2);
  await store.close();
});
