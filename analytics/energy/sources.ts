// Where a range's amounts come from: the raw counters (exact to the last reading, per device), the rollups
// (per firm: whole days, hours and quarters), or both (the rollups up to their last closed quarter, raw after).
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import { firmInScope, type Scope } from '../base/scope.ts';
import { QUARTER_HOUR, ceilTo, floorTo } from '../../common/time.ts';
import { ROLLUP_BUCKETS, type FirmFilter, type RollupPiece } from '../../common/telemetry-store/questions/energy.ts';
import type { DirtyQuarter } from '../../common/telemetry-store/questions/dirty.ts';
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

/** A figure read from rollups that may not reflect everything stored yet (quarters marked dirty, not yet recomputed). */
export interface Provisional {
  /** When the rollup job will have included them (null: no job runs in this process). */
  until: number | null;
  /** Firm-quarters in the range and scope still to be recomputed. */
  dirtyQuarters: number;
  firms: number;
}

/**
 * Marked firm-quarters that can change a figure over [from, to) of the firms of a scope (firms the registry no longer
 * knows: prefecture only): those before `to`, since new readings before the range move the baseline of the first
 * readings in it.
 */
async function pendingIn(env: EnergyEnv, scope: Scope, to: number): Promise<{ marks: DirtyQuarter[]; until: number | undefined }> {
  const pending = await env.ctx.rollupsPending?.();
  if (!pending || scope.kind === 'device') return { marks: [], until: undefined };
  const idx = await env.ctx.index.get();
  const marks = pending.marks.filter((m) => {
    if (m.quarter >= to) return false;
    const f = idx.firms.get(m.firmId);
    return f ? firmInScope(f, scope) : scope.kind === 'prefecture';
  });
  return { marks, until: pending.until };
}

/** Where rollup+raw stops reading the rollups: the last closed quarter the job has done. */
function closedUntil(env: EnergyEnv, from: number, to: number): number {
  return Math.min(to, floorTo(env.ctx.rollupsCompleteUntil?.() ?? from, QUARTER_HOUR));
}

/** What a figure from `source` over [from, to) says about marked quarters it read from the rollups (null: none). */
export async function provisionalOf(env: EnergyEnv, scope: Scope, source: DataSource, from: number, to: number): Promise<Provisional | null> {
  if (source === 'raw') return null;
  const end = source === 'rollup+raw' ? closedUntil(env, from, to) : to;
  const { marks, until } = end > from ? await pendingIn(env, scope, end) : { marks: [], until: undefined };
  if (marks.length === 0) return null;
  return { until: until ?? null, dirtyQuarters: marks.length, firms: new Set(marks.map((m) => m.firmId)).size };
}

export interface SourcePlan {
  source: DataSource;
  provisional: Provisional | null;
  /** rollup+raw: the rollups are read up to here, the raw counters after it. */
  rollupsUntil?: number;
}

/**
 * A scope wider than a firm with at most this many devices reads what the rollups do not cover yet (marked
 * quarters, the current quarter) from the raw counters too, like a firm: exact from a fresh install's first
 * minutes, at the cost of one raw read of that tail (a few hundred devices over minutes to hours). Larger scopes
 * read the rollups and say what is provisional: a raw tail over tens of thousands of devices would cost seconds.
 */
export const SMALL_SCOPE_DEVICES = 500;

/**
 * chooseSource, and what the figure will say about marked quarters: a firm (rollup+raw) reads its rollups only up
 * to its first marked quarter and the raw counters from there (exact); so does a small wider scope as long as its
 * raw tail is short; other wider scopes read the rollups and say it.
 */
export async function resolveSource(env: EnergyEnv, scope: Scope, from: number, to: number, choice: SourceChoice, perDevice = false): Promise<SourcePlan> {
  const source = chooseSource(env, scope, from, to, choice, perDevice);
  if (source === 'rollup' && choice === 'auto' && !perDevice && scope.kind !== 'firm' && (await smallScope(env, scope))) {
    const plan = await rollupsThenRaw(env, scope, from, to);
    if (to - (plan.rollupsUntil ?? from) <= env.opts.firmRawMaxMs) return plan;
  }
  if (source !== 'rollup+raw') return { source, provisional: await provisionalOf(env, scope, source, from, to) };
  return rollupsThenRaw(env, scope, from, to);
}

/** The rollups up to the scope's first marked quarter (or the job's last closed one), the raw counters after. */
async function rollupsThenRaw(env: EnergyEnv, scope: Scope, from: number, to: number): Promise<SourcePlan> {
  const closed = closedUntil(env, from, to);
  const { marks } = await pendingIn(env, scope, closed);
  const rollupsUntil = Math.min(closed, ...marks.map((m) => Math.max(from, m.quarter)));
  return rollupsUntil > ceilTo(from, QUARTER_HOUR) ? { source: 'rollup+raw', provisional: null, rollupsUntil } : { source: 'raw', provisional: null };
}

async function smallScope(env: EnergyEnv, scope: Scope): Promise<boolean> {
  const idx = await env.ctx.index.get();
  let devices = 0;
  for (const f of idx.firms.values()) {
    if (!firmInScope(f, scope)) continue;
    devices += idx.devicesByFirm.get(f.id)?.length ?? 0;
    if (devices > SMALL_SCOPE_DEVICES) return false;
  }
  return true;
}

/** `rollupsUntil`: where rollup+raw switches to the raw counters (resolveSource; default the last closed quarter). */
export async function sourceRows(env: EnergyEnv, source: DataSource, scope: Scope, from: number, to: number, step: number, rollupsUntil = env.ctx.rollupsCompleteUntil?.()): Promise<SourceRow[]> {
  if (source === 'raw') return rawRows(env, scope, from, to, step);
  if (source === 'rollup') return rollupRows(env, scope, from, to);
  const a = Math.min(to, ceilTo(from, QUARTER_HOUR));
  const b = Math.max(a, floorTo(Math.min(rollupsUntil ?? a, to), QUARTER_HOUR));
  const parts = await Promise.all([
    a > from ? rawRows(env, scope, from, a, Math.min(step, a - from)) : [],
    b > a ? rollupRows(env, scope, a, b) : [],
    to > b ? rawRows(env, scope, b, to, Math.min(step, to - b)) : [],
  ]);
  return parts.flat();
}

/** Per firm, device and source from the raw counters. */
async function rawRows(env: EnergyEnv, scope: Scope, from: number, to: number, stepMs: number): Promise<SourceRow[]> {
  const perQuantity = await Promise.all((QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q).map(async (g) => {
    const rows = await env.ctx.store.counterDeltas({
      metric: g.metric, measurements: g.measurements, scope, from, to, stepMs, groupBy: ['firm', 'device'],
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
 * default flags), as they would when grouped by firm. Firms in `leftOut` (demo firms) are in no group.
 */
export function countingGroups(idx: FirmIndexSnapshot, scope: Scope, flagsOf: (firmId: string) => FirmEnergyFlags, leftOut: ReadonlySet<string> = new Set()): Array<{ representative: string; firms: FirmFilter }> {
  const byRule = new Map<string, string[]>();
  const all: string[] = [];
  for (const f of idx.firms.values()) {
    if (!firmInScope(f, scope)) continue;
    all.push(f.id);
    if (leftOut.has(f.id)) continue;
    const rule = `${CARRIERS.map((c) => (hasMeter(idx, f.id, c) ? '1' : '0')).join('')}/${firmSteamSource(idx, f.id, flagsOf).source}/${hasPrimaryFabric(idx.typesByFirm.get(f.id) ?? new Set<string>()) ? 'looms' : ''}`;
    const list = byRule.get(rule) ?? [];
    list.push(f.id);
    byRule.set(rule, list);
  }
  const groups: Array<{ representative: string; firms: FirmFilter }> = [...byRule.values()].map((ids) => ({ representative: ids[0]!, firms: { ids } }));
  groups.push({ representative: '', firms: { ids: all, exclude: true } });
  return groups;
}
