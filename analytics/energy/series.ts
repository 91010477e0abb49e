// A scope's consumption and output per interval: a device from its raw counters, anything wider from the rollups.
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import type { Scope } from '../base/scope.ts';
import { DAY, TZ_OFFSET_MS, floorTo, localParts } from '../../common/time.ts';
import { ROLLUP_BUCKETS } from '../../common/telemetry-store/questions/energy.ts';
import { QUANTITIES, counterGroups, type Output, type Quantity } from './carriers.ts';
import { stepFor } from './counters.ts';
import { basisOf, type EnergyEnv } from './context.ts';
import { CARRIERS, type Basis, type BasisId, type Carrier } from './factors.ts';
import { addAcc, addAmount, emptyFigures, perFirm, type Acc, type SourceRow } from './figures.ts';
import { COARSE_TIERS } from './rollups.ts';
import { countingGroups, isQuantity, provisionalOf, type DataSource, type Provisional } from './sources.ts';
import { demoFilter, type DemoCounted } from './demo.ts';

export interface EnergySeries extends DemoCounted {
  scope: Scope;
  from: number;
  to: number;
  intervalMs: number;
  source: DataSource;
  basis: Basis;
  points: Array<{ time: number; carriers: Record<Carrier, { measured: number; counted: number; kgce: number }>; totalKgce: number; outputs: Record<Output, number> }>;
  /** Read from rollups that do not reflect every stored reading yet (null: final as far as stored). */
  provisional: Provisional | null;
}

type Range = { from: number; to: number; intervalMs: number; offset: number };

/** One device's amounts per interval from its raw counters. */
async function deviceBuckets(env: EnergyEnv, scope: Scope, r: Range): Promise<Map<number, Acc>> {
  const byBucket = new Map<number, Acc>();
  const step = Math.min(r.intervalMs, stepFor(r.to - r.from));
  await Promise.all((QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q).map(async (g) => {
    const rows = await env.ctx.store.counterDeltas({
      metric: g.metric, measurements: g.measurements, scope, from: r.from, to: r.to,
      stepMs: step, groupBy: ['device'], intervalMs: r.intervalMs, offsetMs: r.offset,
    });
    for (const row of rows) {
      const acc = byBucket.get(row.time) ?? emptyFigures();
      addAmount(acc, q, row.value * g.scale);
      byBucket.set(row.time, acc);
    }
  })));
  return byBucket;
}

/**
 * A wider scope's amounts per interval from the rollups. Intervals of whole days or hours come from the daily or
 * hourly rollups. Instead of one row per firm and interval (300 firms × 96 intervals for a prefecture day), firms
 * are summed by the store within groups that share the counting rule (which boundary meters, cogeneration): the
 * rule is linear, so applying it to a group's sum is exact.
 */
async function rollupBuckets(env: EnergyEnv, idx: FirmIndexSnapshot, scope: Scope, r: Range, leftOut: ReadonlySet<string>): Promise<Map<number, Acc>> {
  const tier = COARSE_TIERS.find((t) => r.intervalMs % ROLLUP_BUCKETS[t].stepMs === 0 && (r.from - ROLLUP_BUCKETS[t].offsetMs) % ROLLUP_BUCKETS[t].stepMs === 0) ?? '15m';
  const groups = countingGroups(idx, scope, (f) => env.ctx.flagsOf(f), leftOut);
  const results = await Promise.all(groups.map(async (g) => ({
    firm: g.representative,
    buckets: await env.ctx.store.rollupSeries({ scope, tier, from: r.from, to: r.to, intervalMs: r.intervalMs, offsetMs: r.offset, firms: g.firms }),
  })));
  const rowsByBucket = new Map<number, SourceRow[]>();
  for (const { firm, buckets } of results) {
    for (const b of buckets) {
      if (!isQuantity(b.quantity)) continue;
      const list = rowsByBucket.get(b.time) ?? [];
      list.push({ firm, device: '', quantity: b.quantity, source: b.source, value: b.value, resets: 0 });
      rowsByBucket.set(b.time, list);
    }
  }
  const byBucket = new Map<number, Acc>();
  for (const [t, rows] of rowsByBucket) {
    const acc = emptyFigures();
    for (const a of perFirm(rows, idx, (f) => env.ctx.flagsOf(f)).values()) addAcc(acc, a);
    byBucket.set(t, acc);
  }
  return byBucket;
}

export async function series(env: EnergyEnv, scope: Scope, fromIn: number, toIn: number, intervalMs: number, basisId: BasisId, includeDemo = false): Promise<EnergySeries> {
  const offset = intervalMs >= DAY ? DAY - TZ_OFFSET_MS : 0;
  const from = floorTo(fromIn, intervalMs, offset);
  const to = floorTo(toIn - 1, intervalMs, offset) + intervalMs;
  const idx = await env.ctx.index.get();
  const demo = demoFilter(idx, scope, includeDemo);
  const range = { from, to, intervalMs, offset };
  const source: DataSource = scope.kind === 'device' ? 'raw' : 'rollup';
  const [byBucket, provisional] = await Promise.all([
    scope.kind === 'device' ? deviceBuckets(env, scope, range) : rollupBuckets(env, idx, scope, range, demo.leftOut),
    provisionalOf(env, scope, source, from, to),
  ]);
  const basisCache = new Map<number, Basis>();
  const basisOfYear = (y: number) => {
    let b = basisCache.get(y);
    if (!b) { b = basisOf(env, basisId, y); basisCache.set(y, b); }
    return b;
  };
  const points = [...byBucket.entries()].sort((a, b) => a[0] - b[0]).map(([time, acc]) => {
    const b = basisOfYear(localParts(time).year);
    const carriers = {} as Record<Carrier, { measured: number; counted: number; kgce: number }>;
    let totalKgce = 0;
    for (const c of CARRIERS) {
      const kgce = acc.amounts[c].counted * b.factors[c].kgcePerUnit;
      carriers[c] = { measured: acc.amounts[c].measured, counted: acc.amounts[c].counted, kgce };
      if (c !== 'water' || b.includesWater) totalKgce += kgce;
    }
    return { time, carriers, totalKgce, outputs: acc.outputs };
  });
  return { scope, from, to, intervalMs, source, basis: basisOfYear(localParts(from).year), points, provisional, includeDemo, demoFirmsLeftOut: demo.demoFirmsLeftOut };
}
