// Where a range's amounts come from: the raw counters (exact to the last reading, per device), the rollups
// (per firm: whole days, hours and quarters), or both (the rollups up to their last closed quarter, raw after).
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import { firmInScope, type Scope } from '../base/scope.ts';
import { QUARTER_HOUR, ceilTo, floorTo } from '../../common/time.ts';
import { ROLLUP_BUCKETS, type FirmFilter, type RollupPiece } from '../../common/telemetry-store/questions/energy.ts';
import { QUANTITIES, counterGroups, hasPrimaryFabric, type FirmEnergyFlags, type Quantity } from './carriers.ts';
import type { EnergyEnv } from './context.ts';
import { CARRIERS } from './factors.ts';
import { firmSteamSource, hasMeter, type SourceRow } from './figures.ts';
import { COARSE_TIERS, type CoarseTier } from './rollups.ts';

/** 'rollup+raw': the rollups up to the last quarter they cover, the raw counters after it (firms, auto). */
export type DataSource = 'raw' | 'rollup' | 'rollup+raw';
export type SourceChoice = 'raw' | 'rollup' | 'auto';

export function isQuantity(q: string): q is Quantity {
  return (QUANTITIES as readonly string[]).includes(q);
}

/** `perDevice`: the caller needs per-device rows (a breakdown by device), which only the raw counters have. */
export function chooseSource(env: EnergyEnv, scope: Scope, from: number, to: number, choice: SourceChoice, perDevice = false): DataSource {
  if (scope.kind === 'device') return 'raw';
  if (choice !== 'auto') return choice;
  if (scope.kind !== 'firm' || to - from > env.opts.firmRawMaxMs) return 'rollup';
  // A firm over a short range is exact to its last reading. While the rollup job keeps up, the quarters it has
  // closed come from the rollups and only the rest from the raw counters (100 devices × a day: 0.8 s raw).
  const until = env.ctx.rollupsCompleteUntil?.();
  return !perDevice && until !== undefined && ceilTo(from, QUARTER_HOUR) < floorTo(Math.min(until, to), QUARTER_HOUR) ? 'rollup+raw' : 'raw';
}

export async function sourceRows(env: EnergyEnv, source: DataSource, scope: Scope, from: number, to: number, step: number): Promise<SourceRow[]> {
  if (source === 'raw') return rawRows(env, scope, from, to, step);
  if (source === 'rollup') return rollupRows(env, scope, from, to);
  const a = Math.min(to, ceilTo(from, QUARTER_HOUR));
  const b = Math.max(a, floorTo(Math.min(env.ctx.rollupsCompleteUntil?.() ?? a, to), QUARTER_HOUR));
  const parts = await Promise.all([
    a > from ? rawRows(env, scope, from, a, Math.min(step, a - from)) : [],
    b > a ? rollupRows(env, scope, a, b) : [],
    // After the last closed quarter: the rollup tick's lookback, so the tail counts what the next tick will.
    to > b ? rawRows(env, scope, b, to, Math.min(step, to - b), env.opts.tailLookbackMs) : [],
  ]);
  return parts.flat();
}

/** Per firm, device and source from the raw counters. */
async function rawRows(env: EnergyEnv, scope: Scope, from: number, to: number, stepMs: number, lookbackMs = env.opts.lookbackMs): Promise<SourceRow[]> {
  const perQuantity = await Promise.all((QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q).map(async (g) => {
    const rows = await env.ctx.store.counterDeltas({
      metric: g.metric, measurements: g.measurements, scope, from, to, stepMs, lookbackMs, groupBy: ['firm', 'device'],
    });
    return rows.map((r): SourceRow => ({ firm: r.tags.firm ?? '', device: r.tags.device ?? '', quantity: q, source: r.measurement, value: r.value * g.scale, resets: r.resets }));
  })));
  return perQuantity.flat();
}

/**
 * Per-firm sums of the rollups over [from, to) (15-minute aligned): whole local days from the daily rollups,
 * whole hours at the ends from the hourly ones, the remaining quarters from the 15-minute ones (rollupPieces).
 */
export async function rollupRows(env: EnergyEnv, scope: Scope, from: number, to: number): Promise<SourceRow[]> {
  // Strictly after now: a rollup+raw split ends at a closed quarter and reads the rest raw, so it must not.
  const openEnd = to > Date.now();
  const out: SourceRow[] = [];
  for (const r of await env.ctx.store.rollupTotals(scope, rollupPieces(from, to, openEnd))) {
    if (isQuantity(r.quantity)) out.push({ firm: r.firmId, device: '', quantity: r.quantity, source: r.source, value: r.value, resets: r.resets });
  }
  return out;
}

/**
 * [from, to) (15-minute aligned) as pieces to read: whole local days from the daily rollups, whole hours at the
 * ends from the hourly ones, the remaining quarters from the 15-minute rollups. `openEnd`: nothing is rolled up
 * after `to` yet (the range reaches the present), so today's daily point, which the recompute keeps up to date,
 * stands for today's part of the range: one piece less. Each piece costs the store a cursor per series and shard
 * whatever its length, so fewer pieces is what makes these reads fast.
 */
export function rollupPieces(from: number, to: number, openEnd = false, tiers: readonly CoarseTier[] = COARSE_TIERS): RollupPiece[] {
  if (from >= to) return [];
  const [tier, ...finer] = tiers;
  if (!tier) return [{ tier: '15m', from, to }];
  const { stepMs, offsetMs } = ROLLUP_BUCKETS[tier];
  const a = ceilTo(from, stepMs, offsetMs);
  const b = openEnd ? ceilTo(to, stepMs, offsetMs) : floorTo(to, stepMs, offsetMs);
  if (b <= a) return rollupPieces(from, to, openEnd, finer);
  return [...rollupPieces(from, a, false, finer), { tier, from: a, to: b }, ...(b < to ? rollupPieces(b, to, openEnd, finer) : [])];
}

/**
 * Firms of a scope grouped by their counting rule (which carriers they have boundary meters for, steam source,
 * looms or only finishing machines for fabric), each group with the firms it selects and one member whose rule
 * stands for the group. Firms with rollups but no longer in the registry form a group of their own (no meters,
 * default flags), as they would when grouped by firm.
 */
export function countingGroups(idx: FirmIndexSnapshot, scope: Scope, flagsOf: (firmId: string) => FirmEnergyFlags): Array<{ representative: string; firms: FirmFilter }> {
  const byRule = new Map<string, string[]>();
  const all: string[] = [];
  for (const f of idx.firms.values()) {
    if (!firmInScope(f, scope)) continue;
    const rule = `${CARRIERS.map((c) => (hasMeter(idx, f.id, c) ? '1' : '0')).join('')}/${firmSteamSource(idx, f.id, flagsOf).source}/${hasPrimaryFabric(idx.typesByFirm.get(f.id) ?? new Set<string>()) ? 'looms' : ''}`;
    const list = byRule.get(rule) ?? [];
    list.push(f.id);
    byRule.set(rule, list);
    all.push(f.id);
  }
  const groups: Array<{ representative: string; firms: FirmFilter }> = [...byRule.values()].map((ids) => ({ representative: ids[0]!, firms: { ids } }));
  groups.push({ representative: '', firms: { ids: all, exclude: true } });
  return groups;
}
