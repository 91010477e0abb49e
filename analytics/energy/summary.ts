// A scope's consumption and output over a range, with an optional breakdown, and the per-firm totals the plan
// evaluation ranks.
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import type { Scope } from '../base/scope.ts';
import { QUARTER_HOUR, localParts, splitByYear } from '../../common/time.ts';
import { alignRange, stepFor } from './counters.ts';
import { basisOf, type EnergyEnv } from './context.ts';
import { CARRIERS, zeroAmounts, type Basis, type BasisId, type CarrierAmounts } from './factors.ts';
import { addAcc, boundaryNotes, emptyFigures, kgceOf, perDevice, perFirm, toFigures, type Acc, type Figures, type SourceRow } from './figures.ts';
import type { SteamSource } from './carriers.ts';
import { resolveSource, rollupRows, sourceRows, type DataSource, type Provisional, type SourceChoice } from './sources.ts';
import { counted, demoFilter, type DemoCounted } from './demo.ts';

export const BREAKDOWNS = ['county', 'park', 'segment', 'firm', 'device'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

export interface EnergySummary extends Figures, DemoCounted {
  scope: Scope;
  from: number;
  to: number;
  source: DataSource;
  basis: Basis;
  /** When the range spans several years: the basis of each (等价值 electricity differs per year). */
  basesByYear: Basis[];
  firms: number;
  resets: number;
  breakdown: Array<Figures & { key: string; name: string }>;
  notes: string[];
  /** Read from rollups that do not reflect every stored reading yet (null: final as far as stored). */
  provisional: Provisional | null;
}

type Group = { acc: Acc; kgce: CarrierAmounts };

function addTo(groups: Map<string, Group>, key: string, acc: Acc, basis: Basis): void {
  const cur = groups.get(key) ?? { acc: emptyFigures(), kgce: zeroAmounts() };
  addAcc(cur.acc, acc);
  const k = kgceOf(acc, basis);
  for (const c of CARRIERS) cur.kgce[c] += k[c];
  groups.set(key, cur);
}

/** Adds one year's rows to the total and, when asked and possible, to the breakdown groups. */
function addPiece(env: EnergyEnv, idx: FirmIndexSnapshot, rows: readonly SourceRow[], basis: Basis, p: { scope: Scope; source: DataSource; by: Breakdown | undefined; total: Group; groups: Map<string, Group> }): void {
  const units = p.scope.kind === 'device' ? perDevice(rows) : perFirm(rows, idx, (f) => env.ctx.flagsOf(f));
  for (const acc of units.values()) {
    addAcc(p.total.acc, acc);
    const k = kgceOf(acc, basis);
    for (const c of CARRIERS) p.total.kgce[c] += k[c];
  }
  const by = p.by;
  if (!by || p.scope.kind === 'device' || (by === 'device' && p.source !== 'raw')) return;
  const byUnit = by === 'device' ? perDevice(rows) : units;
  for (const [key, acc] of byUnit) {
    const firm = by === 'device' ? undefined : idx.firms.get(key);
    addTo(p.groups, by === 'device' || by === 'firm' ? key : firm ? firm[by] : '', acc, basis);
  }
}

function summaryNotes(scope: Scope, source: DataSource, by: Breakdown | undefined, steamSources: ReadonlyMap<string, SteamSource>, resets: number): string[] {
  const notes: string[] = [];
  if (by === 'device' && source !== 'raw' && scope.kind !== 'device') notes.push('a breakdown by device needs source=raw; the rollups are per firm');
  if (scope.kind !== 'device') notes.push(...boundaryNotes(steamSources));
  if (resets > 0) notes.push(`${resets} counter reset(s) in the range: the new readings were counted from zero`);
  return notes;
}

function nameOf(by: Breakdown | undefined, key: string, idx: FirmIndexSnapshot): string {
  if (by === 'firm') return idx.firms.get(key)?.name ?? key;
  if (by === 'device') return idx.devices.get(key)?.name ?? key;
  return key;
}

export async function summary(env: EnergyEnv, scope: Scope, fromIn: number, toIn: number, basisId: BasisId, choice: SourceChoice = 'auto', by?: Breakdown, includeDemo = false): Promise<EnergySummary> {
  const { source, provisional, rollupsUntil } = await resolveSource(env, scope, fromIn, toIn, choice, by === 'device');
  const step = source === 'rollup' ? QUARTER_HOUR : stepFor(toIn - fromIn);
  const { from, to } = alignRange(fromIn, toIn, step);
  const idx = await env.ctx.index.get();
  const demo = demoFilter(idx, scope, includeDemo);
  const total: Group = { acc: emptyFigures(), kgce: zeroAmounts() };
  const groups = new Map<string, Group>();
  const bases: Basis[] = [];
  let resets = 0;
  const firmsSeen = new Set<string>();
  for (const piece of splitByYear(from, to)) {
    const basis = basisOf(env, basisId, piece.year);
    bases.push(basis);
    const rows = counted(await sourceRows(env, source, scope, piece.from, piece.to, step, rollupsUntil), demo);
    for (const r of rows) { resets += r.resets; firmsSeen.add(r.firm); }
    addPiece(env, idx, rows, basis, { scope, source, by, total, groups });
  }
  const basis = bases[0] ?? basisOf(env, basisId, localParts(from).year);
  const includesWater = basis.includesWater;
  const breakdown = [...groups.entries()].map(([key, g]) => ({ key, name: nameOf(by, key, idx), ...toFigures(g.acc, g.kgce, includesWater) }))
    .sort((a, b) => b.totalKgce - a.totalKgce);
  return {
    scope, from, to, source, basis, basesByYear: bases, firms: firmsSeen.size, resets,
    ...toFigures(total.acc, total.kgce, includesWater), breakdown, notes: summaryNotes(scope, source, by, total.acc.steamSources, resets),
    provisional, includeDemo, demoFirmsLeftOut: demo.demoFirmsLeftOut,
  };
}

/** Plant-boundary totals per firm over a range from the rollups (per-mu evaluation, rankings). */
export async function firmTotals(env: EnergyEnv, scope: Scope, fromIn: number, toIn: number, basisId: BasisId): Promise<Map<string, { totalKgce: number; electricityKwh: number }>> {
  const { from, to } = alignRange(fromIn, toIn, QUARTER_HOUR);
  const idx = await env.ctx.index.get();
  const out = new Map<string, { totalKgce: number; electricityKwh: number }>();
  for (const piece of splitByYear(from, to)) {
    const basis = basisOf(env, basisId, piece.year);
    for (const [firm, acc] of perFirm(await rollupRows(env, scope, piece.from, piece.to), idx, (f) => env.ctx.flagsOf(f))) {
      const cur = out.get(firm) ?? { totalKgce: 0, electricityKwh: 0 };
      const k = kgceOf(acc, basis);
      for (const c of CARRIERS) if (c !== 'water' || basis.includesWater) cur.totalKgce += k[c];
      cur.electricityKwh += acc.amounts.electricity.measured;
      out.set(firm, cur);
    }
  }
  return out;
}
