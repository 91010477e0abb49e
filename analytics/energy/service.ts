// Energy figures for a scope (prefecture, county, park, segment, firm, device): live rates, consumption over a
// range, series, intensity per unit of output against the benchmarks, data quality (completeness, daily/monthly
// consistency) and CSV export of the 15-minute rollups. Aggregation happens in InfluxDB; Node applies the
// plant-boundary rule per firm (carriers.ts) and the conversion to standard coal (factors.ts).
import type { Firm } from '../../common/registry/registry.ts';
import type { FirmIndex, FirmIndexSnapshot } from '../base/firm-index.ts';
import { and, firmInScope, scopeCondition, timeRange, type Scope } from '../base/scope.ts';
import { DAY, HOUR, MINUTE, QUARTER_HOUR, TZ_OFFSET_MS, ceilTo, daysIn, floorTo, localDate, localDateTime, localParts, splitByYear } from '../../common/time.ts';
import { ident, literal, type TelemetryStore } from '../../common/telemetry-store/store.ts';
import {
  METER_TYPE, OUTPUTS, QUANTITIES, QUANTITY_METRIC, QUANTITY_UNIT, RATE_METRIC, boundaryAmount, counterGroups, hasPrimaryFabric, measurementOfType, outputAmount, sourcesOf,
  type FirmEnergyFlags, type Output, type Quantity,
} from './carriers.ts';
import { alignRange, counterDeltas, stepFor } from './counters.ts';
import { BENCHMARKS, CARRIERS, CARRIER_UNIT, basisFor, zeroAmounts, type Basis, type BasisId, type Carrier, type CarrierAmounts, type EnergyFactorConfig } from './factors.ts';
import type { LatestSource } from '../base/latest-source.ts';
import { COARSE_TIERS, ROLLUP_MEASUREMENT, type RollupTier } from './rollups.ts';

/** 'rollup+raw': the rollups up to the last quarter they cover, the raw counters after it (firms, auto). */
export type DataSource = 'raw' | 'rollup' | 'rollup+raw';
export type SourceChoice = 'raw' | 'rollup' | 'auto';
export const BREAKDOWNS = ['county', 'park', 'segment', 'firm', 'device'] as const;
export type Breakdown = (typeof BREAKDOWNS)[number];

export interface EnergyServiceOptions {
  /** Raw queries look this far before `from` for the reading the first increment starts from. */
  lookbackMs: number;
  /** Live rates: a device's latest rate counts when it is at most this old. */
  liveWindowMs: number;
  /** Firm figures come from raw data for ranges up to this long, from the rollups beyond. */
  firmRawMaxMs: number;
  /** Lookback of the raw part after the rollups' last closed quarter (source rollup+raw); Monitoring sets the rollup tick's. */
  tailLookbackMs: number;
}

export const DEFAULT_ENERGY_OPTIONS: EnergyServiceOptions = { lookbackMs: 6 * HOUR, liveWindowMs: 5 * MINUTE, firmRawMaxMs: 2 * DAY, tailLookbackMs: 30 * MINUTE };

export interface EnergyContext {
  store: TelemetryStore;
  index: FirmIndex;
  factors(): EnergyFactorConfig;
  flagsOf(firmId: string): FirmEnergyFlags;
  /** Each device's latest rates (live figures): in memory from the live feed, or from InfluxDB. */
  latest(): LatestSource;
  /** Until when the 15-minute rollups are complete (RollupJob.completeUntil), when their job keeps them up. */
  rollupsCompleteUntil?(): number | undefined;
}

/** One source's amount of one quantity for one firm (and device, on the raw path). */
interface SourceRow {
  firm: string;
  device: string;
  quantity: Quantity;
  source: string;
  value: number;
  resets: number;
}

export interface CarrierFigure {
  unit: string;
  /** As measured (meters first, else the machines' registers). */
  measured: number;
  /** Counted at the plant boundary (cogeneration rule). */
  counted: number;
  kgce: number;
}

export interface Figures {
  carriers: Record<Carrier, CarrierFigure>;
  totalKgce: number;
  totalTce: number;
  outputs: Record<Output, { unit: string; value: number }>;
}

export interface EnergySummary extends Figures {
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
}

function emptyFigures(): { amounts: Record<Carrier, { measured: number; counted: number }>; outputs: Record<Output, number> } {
  return {
    amounts: { electricity: { measured: 0, counted: 0 }, gas: { measured: 0, counted: 0 }, steam: { measured: 0, counted: 0 }, water: { measured: 0, counted: 0 } },
    outputs: { fabric: 0, yarn: 0, pieces: 0 },
  };
}
type Acc = ReturnType<typeof emptyFigures>;

function addAcc(into: Acc, from: Acc): void {
  for (const c of CARRIERS) {
    into.amounts[c].measured += from.amounts[c].measured;
    into.amounts[c].counted += from.amounts[c].counted;
  }
  for (const o of OUTPUTS) into.outputs[o] += from.outputs[o];
}

function toFigures(acc: Acc, kgcePerCarrier: CarrierAmounts, includesWater: boolean): Figures {
  const carriers = {} as Record<Carrier, CarrierFigure>;
  let total = 0;
  for (const c of CARRIERS) {
    carriers[c] = { unit: CARRIER_UNIT[c], measured: acc.amounts[c].measured, counted: acc.amounts[c].counted, kgce: kgcePerCarrier[c] };
    if (c !== 'water' || includesWater) total += kgcePerCarrier[c];
  }
  const outputs = {} as Record<Output, { unit: string; value: number }>;
  for (const o of OUTPUTS) outputs[o] = { unit: QUANTITY_UNIT[o], value: acc.outputs[o] };
  return { carriers, totalKgce: total, totalTce: total / 1000, outputs };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function hasMeter(idx: FirmIndexSnapshot, firmId: string, carrier: Carrier): boolean {
  return idx.typesByFirm.get(firmId)?.has(METER_TYPE[carrier]) ?? false;
}

/**
 * [from, to) (15-minute aligned) as pieces to read: whole local days from the daily rollups, whole hours at the
 * ends from the hourly ones, the remaining quarters from the 15-minute rollups. `openEnd`: nothing is rolled up
 * after `to` yet (the range reaches the present), so today's daily point, which the recompute keeps up to date,
 * stands for today's part of the range: one piece less. Each piece costs InfluxDB a cursor per series and shard
 * whatever its length, so fewer pieces is what makes these reads fast.
 */
export function rollupPieces(from: number, to: number, openEnd = false, tiers: readonly RollupTier[] = COARSE_TIERS): Array<{ measurement: string; from: number; to: number }> {
  if (from >= to) return [];
  const [tier, ...finer] = tiers;
  if (!tier) return [{ measurement: ROLLUP_MEASUREMENT, from, to }];
  const a = ceilTo(from, tier.stepMs, tier.offsetMs);
  const b = openEnd ? ceilTo(to, tier.stepMs, tier.offsetMs) : floorTo(to, tier.stepMs, tier.offsetMs);
  if (b <= a) return rollupPieces(from, to, openEnd, finer);
  return [...rollupPieces(from, a, false, finer), { measurement: tier.measurement, from: a, to: b }, ...(b < to ? rollupPieces(b, to, openEnd, finer) : [])];
}

/**
 * Firms of a scope grouped by their counting rule (which carriers they have boundary meters for, cogeneration,
 * looms or only finishing machines for fabric),
 * each group with an InfluxQL condition selecting its firms and one member whose rule stands for the group.
 * Firms with rollups but no longer in the registry form a group of their own (no meters, default flags), as
 * they would when grouped by firm.
 */
export function countingGroups(idx: FirmIndexSnapshot, scope: Scope, flagsOf: (firmId: string) => FirmEnergyFlags): Array<{ representative: string; where: string }> {
  const byRule = new Map<string, string[]>();
  const all: string[] = [];
  for (const f of idx.firms.values()) {
    if (!firmInScope(f, scope)) continue;
    const rule = `${CARRIERS.map((c) => (hasMeter(idx, f.id, c) ? '1' : '0')).join('')}/${flagsOf(f.id).cogeneration ? 'c' : ''}/${hasPrimaryFabric(idx.typesByFirm.get(f.id) ?? new Set<string>()) ? 'looms' : ''}`;
    const list = byRule.get(rule) ?? [];
    list.push(f.id);
    byRule.set(rule, list);
    all.push(f.id);
  }
  const regex = (ids: readonly string[]) => `/^(${ids.map(escapeRegex).join('|')})$/`;
  const groups = [...byRule.values()].map((ids) => ({ representative: ids[0]!, where: `"firm" =~ ${regex(ids)}` }));
  groups.push({ representative: '', where: all.length > 0 ? `"firm" !~ ${regex(all)}` : '' });
  return groups;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, (ch) => `\\${ch}`);
}

export class EnergyService {
  constructor(private readonly ctx: EnergyContext, private readonly opts: EnergyServiceOptions = DEFAULT_ENERGY_OPTIONS) {}

  basis(id: BasisId, year: number): Basis {
    return basisFor(this.ctx.factors(), id, year);
  }

  /** `perDevice`: the caller needs per-device rows (a breakdown by device), which only the raw counters have. */
  chooseSource(scope: Scope, from: number, to: number, choice: SourceChoice, perDevice = false): DataSource {
    if (scope.kind === 'device') return 'raw';
    if (choice !== 'auto') return choice;
    if (scope.kind !== 'firm' || to - from > this.opts.firmRawMaxMs) return 'rollup';
    // A firm over a short range is exact to its last reading. While the rollup job keeps up, the quarters it has
    // closed come from the rollups and only the rest from the raw counters (100 devices × a day: 0.8 s raw).
    const until = this.ctx.rollupsCompleteUntil?.();
    return !perDevice && until !== undefined && ceilTo(from, QUARTER_HOUR) < floorTo(Math.min(until, to), QUARTER_HOUR) ? 'rollup+raw' : 'raw';
  }

  private async sourceRows(source: DataSource, scope: Scope, from: number, to: number, step: number): Promise<SourceRow[]> {
    if (source === 'raw') return this.rawRows(scope, from, to, step);
    if (source === 'rollup') return this.rollupRows(scope, from, to);
    const a = Math.min(to, ceilTo(from, QUARTER_HOUR));
    const b = Math.max(a, floorTo(Math.min(this.ctx.rollupsCompleteUntil?.() ?? a, to), QUARTER_HOUR));
    const parts = await Promise.all([
      a > from ? this.rawRows(scope, from, a, Math.min(step, a - from)) : [],
      b > a ? this.rollupRows(scope, a, b) : [],
      // After the last closed quarter: the rollup tick's lookback, so the tail counts what the next tick will.
      to > b ? this.rawRows(scope, b, to, Math.min(step, to - b), this.opts.tailLookbackMs) : [],
    ]);
    return parts.flat();
  }

  // ---- reading per-source amounts ---------------------------------------------------------------------------

  private async rawRows(scope: Scope, from: number, to: number, stepMs: number, lookbackMs = this.opts.lookbackMs): Promise<SourceRow[]> {
    const where = scopeCondition(scope);
    const perQuantity = await Promise.all((QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q).map(async (g) => {
      const rows = await counterDeltas(this.ctx.store, {
        metric: g.metric, measurements: g.measurements, where, from, to, stepMs, lookbackMs, groupBy: ['firm', 'device'],
      });
      return rows.map((r): SourceRow => ({ firm: r.tags.firm ?? '', device: r.tags.device ?? '', quantity: q, source: r.measurement, value: r.value * g.scale, resets: r.resets }));
    })));
    return perQuantity.flat();
  }

  /**
   * Per-firm sums of the rollups over [from, to) (15-minute aligned): whole local days from the daily rollups,
   * whole hours at the ends from the hourly ones, the remaining quarters from the 15-minute ones (rollupPieces).
   */
  private async rollupRows(scope: Scope, from: number, to: number): Promise<SourceRow[]> {
    // One request per piece: InfluxDB runs the statements of one request one after the other, separate requests
    // in parallel.
    // Strictly after now: a rollup+raw split ends at a closed quarter and reads the rest raw, so it must not.
    const openEnd = to > Date.now();
    const series = await Promise.all(rollupPieces(from, to, openEnd).map((p) => this.ctx.store.query(
      `SELECT sum("value") AS "v", sum("resets") AS "r" FROM ${ident(p.measurement)} WHERE ${and(scopeCondition(scope), timeRange(p.from, p.to))} GROUP BY "firm", "quantity", "source"`)));
    const out: SourceRow[] = [];
    for (const s of series.flat()) {
      const quantity = s.tags.quantity as Quantity;
      if (!(QUANTITIES as readonly string[]).includes(quantity)) continue;
      for (const row of s.values) out.push({ firm: s.tags.firm ?? '', device: '', quantity, source: s.tags.source ?? '', value: num(row[1]), resets: num(row[2]) });
    }
    return out;
  }

  /** Plant-boundary figures of each firm from per-source rows. */
  private perFirm(rows: readonly SourceRow[], idx: FirmIndexSnapshot): Map<string, Acc> {
    const grouped = new Map<string, Map<Quantity, Map<string, number>>>();
    for (const r of rows) {
      const byQ = grouped.get(r.firm) ?? new Map<Quantity, Map<string, number>>();
      const bySource = byQ.get(r.quantity) ?? new Map<string, number>();
      bySource.set(r.source, (bySource.get(r.source) ?? 0) + r.value);
      byQ.set(r.quantity, bySource);
      grouped.set(r.firm, byQ);
    }
    const out = new Map<string, Acc>();
    for (const [firm, byQ] of grouped) {
      const acc = emptyFigures();
      const flags = this.ctx.flagsOf(firm);
      for (const c of CARRIERS) {
        const b = boundaryAmount(c, byQ.get(c) ?? new Map(), hasMeter(idx, firm, c), flags);
        acc.amounts[c] = { measured: b.measured, counted: b.counted };
      }
      const primaryFabric = hasPrimaryFabric(idx.typesByFirm.get(firm) ?? new Set<string>());
      for (const o of OUTPUTS) acc.outputs[o] = outputAmount(o, byQ.get(o) ?? new Map<string, number>(), primaryFabric);
      out.set(firm, acc);
    }
    return out;
  }

  /** A device's own figures (no boundary rule: sub-metering is what it is). */
  private perDevice(rows: readonly SourceRow[]): Map<string, Acc> {
    const out = new Map<string, Acc>();
    for (const r of rows) {
      const acc = out.get(r.device) ?? emptyFigures();
      if ((CARRIERS as readonly string[]).includes(r.quantity)) {
        acc.amounts[r.quantity as Carrier].measured += r.value;
        acc.amounts[r.quantity as Carrier].counted += r.value;
      } else acc.outputs[r.quantity as Output] += r.value;
      out.set(r.device, acc);
    }
    return out;
  }

  private kgceOf(acc: Acc, basis: Basis): CarrierAmounts {
    const k = zeroAmounts();
    for (const c of CARRIERS) k[c] = acc.amounts[c].counted * basis.factors[c].kgcePerUnit;
    return k;
  }

  // ---- summary ----------------------------------------------------------------------------------------------

  async summary(scope: Scope, fromIn: number, toIn: number, basisId: BasisId, choice: SourceChoice = 'auto', by?: Breakdown): Promise<EnergySummary> {
    const source = this.chooseSource(scope, fromIn, toIn, choice, by === 'device');
    const step = source === 'rollup' ? QUARTER_HOUR : stepFor(toIn - fromIn);
    const { from, to } = alignRange(fromIn, toIn, step);
    const idx = await this.ctx.index.get();
    const notes: string[] = [];
    const total = emptyFigures();
    const totalKgce = zeroAmounts();
    const groups = new Map<string, { acc: Acc; kgce: CarrierAmounts }>();
    const bases: Basis[] = [];
    let resets = 0;
    const firmsSeen = new Set<string>();
    for (const piece of splitByYear(from, to)) {
      const basis = this.basis(basisId, piece.year);
      bases.push(basis);
      const rows = await this.sourceRows(source, scope, piece.from, piece.to, step);
      for (const r of rows) { resets += r.resets; firmsSeen.add(r.firm); }
      const units = scope.kind === 'device' ? this.perDevice(rows) : this.perFirm(rows, idx);
      for (const acc of units.values()) {
        addAcc(total, acc);
        const k = this.kgceOf(acc, basis);
        for (const c of CARRIERS) totalKgce[c] += k[c];
      }
      const canBreak = by !== undefined && scope.kind !== 'device' && (by !== 'device' || source === 'raw');
      if (by && canBreak) {
        const byUnit = by === 'device' ? this.perDevice(rows) : units;
        for (const [key, acc] of byUnit) {
          const firm = by === 'device' ? undefined : idx.firms.get(key);
          const g = by === 'device' ? key : by === 'firm' ? key : firm ? firm[by] : '';
          const cur = groups.get(g) ?? { acc: emptyFigures(), kgce: zeroAmounts() };
          addAcc(cur.acc, acc);
          const k = this.kgceOf(acc, basis);
          for (const c of CARRIERS) cur.kgce[c] += k[c];
          groups.set(g, cur);
        }
      }
    }
    if (by === 'device' && source !== 'raw' && scope.kind !== 'device') notes.push('a breakdown by device needs source=raw; the rollups are per firm');
    if (scope.kind !== 'device') {
      const cogen = [...firmsSeen].filter((f) => this.ctx.flagsOf(f).cogeneration);
      if (cogen.length > 0) notes.push(`${cogen.length} cogeneration firm(s): their gas is counted at the plant boundary; power and steam made from it are not counted again (only electricity meters at the boundary count)`);
    }
    if (resets > 0) notes.push(`${resets} counter reset(s) in the range: the new readings were counted from zero`);
    const basis = bases[0] ?? this.basis(basisId, localParts(from).year);
    const includesWater = basis.includesWater;
    const breakdown = [...groups.entries()].map(([key, g]) => ({ key, name: this.nameOf(by, key, idx), ...toFigures(g.acc, g.kgce, includesWater) }))
      .sort((a, b) => b.totalKgce - a.totalKgce);
    return {
      scope, from, to, source, basis, basesByYear: bases, firms: firmsSeen.size, resets,
      ...toFigures(total, totalKgce, includesWater), breakdown, notes,
    };
  }

  private nameOf(by: Breakdown | undefined, key: string, idx: FirmIndexSnapshot): string {
    if (by === 'firm') return idx.firms.get(key)?.name ?? key;
    if (by === 'device') return idx.devices.get(key)?.name ?? key;
    return key;
  }

  /** Plant-boundary totals per firm over a range from the rollups (per-mu evaluation, rankings). */
  async firmTotals(scope: Scope, fromIn: number, toIn: number, basisId: BasisId): Promise<Map<string, { totalKgce: number; electricityKwh: number }>> {
    const { from, to } = alignRange(fromIn, toIn, QUARTER_HOUR);
    const idx = await this.ctx.index.get();
    const out = new Map<string, { totalKgce: number; electricityKwh: number }>();
    for (const piece of splitByYear(from, to)) {
      const basis = this.basis(basisId, piece.year);
      for (const [firm, acc] of this.perFirm(await this.rollupRows(scope, piece.from, piece.to), idx)) {
        const cur = out.get(firm) ?? { totalKgce: 0, electricityKwh: 0 };
        const k = this.kgceOf(acc, basis);
        for (const c of CARRIERS) if (c !== 'water' || basis.includesWater) cur.totalKgce += k[c];
        cur.electricityKwh += acc.amounts.electricity.measured;
        out.set(firm, cur);
      }
    }
    return out;
  }

  // ---- series -----------------------------------------------------------------------------------------------

  async series(scope: Scope, fromIn: number, toIn: number, intervalMs: number, basisId: BasisId): Promise<{
    scope: Scope; from: number; to: number; intervalMs: number; source: DataSource; basis: Basis;
    points: Array<{ time: number; carriers: Record<Carrier, { measured: number; counted: number; kgce: number }>; totalKgce: number; outputs: Record<Output, number> }>;
  }> {
    const offset = intervalMs >= DAY ? DAY - TZ_OFFSET_MS : 0;
    const from = floorTo(fromIn, intervalMs, offset);
    const to = floorTo(toIn - 1, intervalMs, offset) + intervalMs;
    const idx = await this.ctx.index.get();
    const byBucket = new Map<number, Acc>();
    let source: DataSource;
    if (scope.kind === 'device') {
      source = 'raw';
      const step = Math.min(intervalMs, stepFor(to - from));
      await Promise.all((QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q).map(async (g) => {
        const rows = await counterDeltas(this.ctx.store, {
          metric: g.metric, measurements: g.measurements, where: scopeCondition(scope), from, to,
          stepMs: step, lookbackMs: this.opts.lookbackMs, groupBy: ['device'], intervalMs, offsetMs: offset,
        });
        for (const r of rows) {
          const acc = byBucket.get(r.time) ?? emptyFigures();
          const v = r.value * g.scale;
          if ((CARRIERS as readonly string[]).includes(q)) { acc.amounts[q as Carrier].measured += v; acc.amounts[q as Carrier].counted += v; } else acc.outputs[q as Output] += v;
          byBucket.set(r.time, acc);
        }
      })));
    } else {
      source = 'rollup';
      // Intervals of whole days or hours come from the daily or hourly rollups. Instead of one row per firm and
      // interval (300 firms × 96 intervals for a prefecture day), firms are summed by InfluxDB within groups that
      // share the counting rule (which boundary meters, cogeneration): the rule is linear, so applying it to a
      // group's sum is exact.
      const measurement = COARSE_TIERS.find((t) => intervalMs % t.stepMs === 0 && (from - t.offsetMs) % t.stepMs === 0)?.measurement ?? ROLLUP_MEASUREMENT;
      const groupByTime = `time(${intervalMs / MINUTE}m${offset ? `, ${offset / MINUTE}m` : ''})`;
      const groups = countingGroups(idx, scope, (f) => this.ctx.flagsOf(f));
      const results = await Promise.all(groups.map(async (g) => {
        const q = `SELECT sum("value") AS "v" FROM ${ident(measurement)} WHERE ${and(scopeCondition(scope), g.where, timeRange(from, to))} GROUP BY ${groupByTime}, "quantity", "source" fill(none)`;
        return { firm: g.representative, series: await this.ctx.store.query(q) };
      }));
      const rowsByBucket = new Map<number, SourceRow[]>();
      for (const { firm, series } of results) {
        for (const s of series) {
          const quantity = s.tags.quantity as Quantity;
          if (!(QUANTITIES as readonly string[]).includes(quantity)) continue;
          for (const row of s.values) {
            const t = num(row[0]);
            const list = rowsByBucket.get(t) ?? [];
            list.push({ firm, device: '', quantity, source: s.tags.source ?? '', value: num(row[1]), resets: 0 });
            rowsByBucket.set(t, list);
          }
        }
      }
      for (const [t, rows] of rowsByBucket) {
        const acc = emptyFigures();
        for (const a of this.perFirm(rows, idx).values()) addAcc(acc, a);
        byBucket.set(t, acc);
      }
    }
    const basisCache = new Map<number, Basis>();
    const basisOfYear = (y: number) => {
      let b = basisCache.get(y);
      if (!b) { b = this.basis(basisId, y); basisCache.set(y, b); }
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
    return { scope, from, to, intervalMs, source, basis: basisOfYear(localParts(from).year), points };
  }

  // ---- live -------------------------------------------------------------------------------------------------

  async live(scope: Scope, basisId: BasisId, now = Date.now()): Promise<{
    scope: Scope; asOf: number; windowMs: number; basis: Basis; devices: number;
    carriers: Record<Carrier, { unit: string; measured: number; counted: number; kgcePerHour: number }>; totalKgcePerHour: number; notes: string[];
  }> {
    const [idx, latest] = await Promise.all([this.ctx.index.get(), this.ctx.latest().devices(scope, now)]);
    const bySource = new Map<string, SourceRow>();
    let devices = 0;
    for (const d of latest) {
      if (d.ts <= now - this.opts.liveWindowMs || d.ts > now + 5 * MINUTE) continue;
      const source = measurementOfType(d.type);
      if (!source) continue;
      for (const c of CARRIERS) {
        const metric = RATE_METRIC[c].byType[d.type];
        const v = metric === undefined ? undefined : d.metrics[metric];
        if (v === undefined) continue;
        const key = `${d.firmId}/${c}/${source}`;
        const row = bySource.get(key) ?? { firm: d.firmId, device: '', quantity: c, source, value: 0, resets: 0 };
        row.value += v;
        bySource.set(key, row);
        // Every live device reports power; only meters are counted again for the other carriers.
        if (c === 'electricity' || d.type === METER_TYPE[c]) devices++;
      }
    }
    const rows = [...bySource.values()];
    const acc = emptyFigures();
    if (scope.kind === 'device') for (const a of this.perDevice(rows.map((r) => ({ ...r, device: scope.id }))).values()) addAcc(acc, a);
    else for (const a of this.perFirm(rows, idx).values()) addAcc(acc, a);
    const basis = this.basis(basisId, localParts(now).year);
    const carriers = {} as Record<Carrier, { unit: string; measured: number; counted: number; kgcePerHour: number }>;
    let total = 0;
    for (const c of CARRIERS) {
      const k = acc.amounts[c].counted * basis.factors[c].kgcePerUnit;
      carriers[c] = { unit: RATE_METRIC[c].unit, measured: acc.amounts[c].measured, counted: acc.amounts[c].counted, kgcePerHour: k };
      if (c !== 'water' || basis.includesWater) total += k;
    }
    return {
      scope, asOf: now, windowMs: this.opts.liveWindowMs, basis, devices, carriers, totalKgcePerHour: total,
      notes: ['rates are the latest power_kw / flow readings of each device within the window; a firm with a main meter is measured by it'],
    };
  }

  // ---- intensity --------------------------------------------------------------------------------------------

  async intensity(scope: Scope, from: number, to: number, basisId: BasisId, choice: SourceChoice = 'auto'): Promise<{
    scope: Scope; from: number; to: number; source: DataSource; basis: Basis;
    benchmarks: typeof BENCHMARKS;
    rows: IntensityRow[];
    notes: string[];
  }> {
    const source = this.chooseSource(scope, from, to, choice);
    const step = source === 'rollup' ? QUARTER_HOUR : stepFor(to - from);
    const r = alignRange(from, to, step);
    const idx = await this.ctx.index.get();
    const out = new Map<string, { acc: Acc; kgce: number; ringKwh: number; ringYarn: number }>();
    let basis: Basis | undefined;
    for (const piece of splitByYear(r.from, r.to)) {
      const b = this.basis(basisId, piece.year);
      basis ??= b;
      const rows = await this.sourceRows(source, scope, piece.from, piece.to, step);
      const units = scope.kind === 'device' ? this.perDevice(rows) : this.perFirm(rows, idx);
      for (const [key, acc] of units) {
        const cur = out.get(key) ?? { acc: emptyFigures(), kgce: 0, ringKwh: 0, ringYarn: 0 };
        addAcc(cur.acc, acc);
        const k = this.kgceOf(acc, b);
        for (const c of CARRIERS) if (c !== 'water' || b.includesWater) cur.kgce += k[c];
        out.set(key, cur);
      }
      for (const row of rows) {
        if (row.source !== 'spinning_frame') continue;
        const key = scope.kind === 'device' ? row.device : row.firm;
        const cur = out.get(key);
        if (!cur) continue;
        if (row.quantity === 'electricity') cur.ringKwh += row.value;
        if (row.quantity === 'yarn') cur.ringYarn += row.value;
      }
    }
    const rows = [...out.entries()].map(([key, v]) => intensityRow(key, v, scope.kind === 'device' ? undefined : idx.firms.get(key), scope.kind === 'device' ? idx.devices.get(key)?.name : undefined));
    rows.sort((a, b) => (b.kgcePer100m ?? -1) - (a.kgcePer100m ?? -1));
    return {
      scope, from: r.from, to: r.to, source, basis: basis ?? this.basis(basisId, localParts(r.from).year), benchmarks: BENCHMARKS, rows,
      notes: [
        'dyeing benchmark (印染行业规范条件 2017, woven fabric): ≤ 30 kgce and ≤ 1.6 t fresh water per 100 m; applied to firms of the dyeing segment',
        'ring spinning ≈ 1.3 kWh per kg of yarn: the spinning frames\' own registers against their own yarn (a reference, not a limit)',
        'output comes from the fabric_m_total, yarn_kg_total and pieces_total counters; a firm without an output counter has no intensity',
        'fabric: the looms\' woven metres; a firm without looms is measured by its finishing machines (stenter), whose metres count every pass',
      ],
    };
  }

  // ---- data quality -----------------------------------------------------------------------------------------

  /**
   * GB/T 38692-2020 data quality of one firm for one month: per day and carrier the share of the 96 expected
   * 15-minute intervals present (≥ 90 %), the day's sum of 15-minute values against the day's register delta, and
   * the month's sum of daily values against the month's register delta (each within 5 %).
   */
  async quality(firmId: string, month: { from: number; to: number }, now = Date.now()): Promise<QualityReport> {
    const idx = await this.ctx.index.get();
    const end = Math.min(month.to, floorTo(now, QUARTER_HOUR) + QUARTER_HOUR);
    const flags = this.ctx.flagsOf(firmId);
    const where = `"firm" = ${literal(firmId)}`;
    const carriers: QualityReport['carriers'] = [];
    for (const c of CARRIERS) {
      // The register checks read one counter metric: sources counting in another unit (OTHER_COUNTERS) stay out.
      const allSources = sourcesOf(c).filter((s) => s.metric === QUANTITY_METRIC[c]);
      const meter = measurementOfType(METER_TYPE[c]);
      const firmTypes = idx.typesByFirm.get(firmId) ?? new Set<string>();
      if (!allSources.some((s) => firmTypes.has(s.type))) continue;
      const useMeters = hasMeter(idx, firmId, c);
      const used = allSources.filter((s) => (useMeters ? s.measurement === meter : s.measurement !== meter) && firmTypes.has(s.type)).map((s) => s.measurement);
      if (used.length === 0) continue;
      // 15-minute values of the used sources (one row per interval present).
      const q15 = `SELECT sum("value") AS "v" FROM ${ident(ROLLUP_MEASUREMENT)} WHERE ${and(where, `"quantity" = ${literal(c)}`, `"source" =~ /^(${used.join('|')})$/`, timeRange(month.from, end))} GROUP BY time(15m) fill(none)`;
      const perDay = new Map<number, { present: number; sum: number }>();
      for (const s of await this.ctx.store.query(q15)) {
        for (const row of s.values) {
          const day = floorTo(num(row[0]), DAY, -TZ_OFFSET_MS);
          const cur = perDay.get(day) ?? { present: 0, sum: 0 };
          cur.present++;
          cur.sum += num(row[1]);
          perDay.set(day, cur);
        }
      }
      // The day's register delta: last reading per local day and device, differences between days.
      const daily = await counterDeltas(this.ctx.store, {
        metric: QUANTITY_METRIC[c], measurements: used, where, from: month.from, to: end, stepMs: DAY, stepOffsetMs: DAY - TZ_OFFSET_MS,
        lookbackMs: 7 * DAY, groupBy: [], intervalMs: DAY, offsetMs: DAY - TZ_OFFSET_MS,
      });
      const registerByDay = new Map<number, number>();
      for (const r of daily) registerByDay.set(r.time, (registerByDay.get(r.time) ?? 0) + r.value);
      const monthRegister = await this.registerDelta(used, c, where, month.from, end);
      const days = daysIn(month.from, end).map((day) => {
        const expected = Math.round((Math.min(day + DAY, end) - day) / QUARTER_HOUR);
        const p = perDay.get(day) ?? { present: 0, sum: 0 };
        const register = registerByDay.get(day) ?? 0;
        const deviation = relDiff(p.sum, register);
        return {
          date: localDate(day), expectedIntervals: expected, presentIntervals: Math.min(p.present, expected),
          completeness: expected === 0 ? 0 : Math.min(p.present, expected) / expected, complete: expected > 0 && p.present / expected >= 0.9,
          from15min: p.sum, register, deviation, consistent: deviation <= 0.05,
        };
      });
      const sumDaily = days.reduce((s, d) => s + d.from15min, 0);
      const monthDeviation = relDiff(sumDaily, monthRegister.value);
      carriers.push({
        carrier: c, unit: CARRIER_UNIT[c], sources: used, boundary: useMeters ? 'meters' : 'machines',
        countedAtBoundary: !(flags.cogeneration && (c === 'steam' || (c === 'electricity' && !useMeters))),
        days,
        daysComplete: days.filter((d) => d.complete).length,
        month: { sumOfDaily: sumDaily, register: monthRegister.value, resets: monthRegister.resets, deviation: monthDeviation, consistent: monthDeviation <= 0.05 },
      });
    }
    return {
      firmId, from: month.from, to: end,
      rules: { intervalMinutes: 15, completenessMin: 0.9, consistencyMaxDeviation: 0.05, standard: 'GB/T 38692-2020' },
      carriers,
    };
  }

  /** Register at the end minus register at the start, per device (reset: the end reading from zero). */
  private async registerDelta(measurements: readonly string[], carrier: Carrier, where: string, from: number, to: number): Promise<{ value: number; resets: number }> {
    const metric = ident(QUANTITY_METRIC[carrier]);
    const ms = measurements.map(ident).join(', ');
    const q = [
      `SELECT last(${metric}) AS "start" FROM ${ms} WHERE ${and(where, timeRange(from - 7 * DAY, from))} GROUP BY "device"`,
      `SELECT first(${metric}) AS "first" FROM ${ms} WHERE ${and(where, timeRange(from, to))} GROUP BY "device"`,
      `SELECT last(${metric}) AS "end" FROM ${ms} WHERE ${and(where, timeRange(from, to))} GROUP BY "device"`,
    ].join('; ');
    const per = new Map<string, { start?: number; first?: number; end?: number }>();
    for (const s of await this.ctx.store.query(q)) {
      const key = `${s.name}/${s.tags.device ?? ''}`;
      const cur = per.get(key) ?? {};
      const col = s.columns[1] as 'start' | 'first' | 'end';
      cur[col] = num(s.values[0]?.[1]);
      per.set(key, cur);
    }
    let value = 0;
    let resets = 0;
    for (const d of per.values()) {
      if (d.end === undefined) continue;
      const start = d.start ?? d.first ?? d.end;
      if (d.end >= start) value += d.end - start;
      else { value += d.end; resets++; }
    }
    return { value, resets };
  }

  /** Completeness of every firm for one local day (bureau overview), from the rollups. */
  async completenessOverview(day: number, now = Date.now()): Promise<{ date: string; expectedIntervals: number; firms: Array<{ firmId: string; name: string; carriers: Partial<Record<Carrier, { present: number; completeness: number; complete: boolean }>> }> }> {
    const idx = await this.ctx.index.get();
    const end = Math.min(day + DAY, floorTo(now, QUARTER_HOUR) + QUARTER_HOUR);
    const expected = Math.max(0, Math.round((end - day) / QUARTER_HOUR));
    const q = `SELECT count("value") AS "n" FROM ${ident(ROLLUP_MEASUREMENT)} WHERE ${and(`"quantity" =~ /^(${CARRIERS.join('|')})$/`, timeRange(day, end))} GROUP BY "firm", "quantity", "source"`;
    const per = new Map<string, Map<Carrier, Map<string, number>>>();
    for (const s of await this.ctx.store.query(q)) {
      const firm = s.tags.firm ?? '';
      const c = s.tags.quantity as Carrier;
      const byC = per.get(firm) ?? new Map<Carrier, Map<string, number>>();
      const bySource = byC.get(c) ?? new Map<string, number>();
      bySource.set(s.tags.source ?? '', num(s.values[0]?.[1]));
      byC.set(c, bySource);
      per.set(firm, byC);
    }
    const firms = [...idx.firms.values()].filter((f) => (idx.typesByFirm.get(f.id)?.size ?? 0) > 0).map((f) => {
      const carriers: Partial<Record<Carrier, { present: number; completeness: number; complete: boolean }>> = {};
      const types = idx.typesByFirm.get(f.id) ?? new Set<string>();
      for (const c of CARRIERS) {
        if (!sourcesOf(c).some((s) => types.has(s.type))) continue;
        const meter = measurementOfType(METER_TYPE[c]);
        const useMeters = hasMeter(idx, f.id, c);
        let present = 0;
        // The busiest used source's intervals: a lower bound of intervals with any data (the rollups are per source).
        for (const [src, n] of per.get(f.id)?.get(c) ?? new Map<string, number>()) if ((src === meter) === useMeters) present = Math.max(present, n);
        present = Math.min(present, expected);
        carriers[c] = { present, completeness: expected ? present / expected : 0, complete: expected > 0 && present / expected >= 0.9 };
      }
      return { firmId: f.id, name: f.name, carriers };
    });
    return { date: localDate(day), expectedIntervals: expected, firms };
  }

  // ---- CSV export -------------------------------------------------------------------------------------------

  /** The 15-minute rollups of a scope as CSV (one row per firm, quantity, source and interval). */
  async rollupCsv(scope: Scope, from: number, to: number, maxRows: number): Promise<{ csv: string; rows: number; truncated: boolean }> {
    const idx = await this.ctx.index.get();
    const a = floorTo(from, QUARTER_HOUR);
    const b = floorTo(to - 1, QUARTER_HOUR) + QUARTER_HOUR;
    const q = `SELECT "value", "devices", "resets" FROM ${ident(ROLLUP_MEASUREMENT)} WHERE ${and(scopeCondition(scope), timeRange(a, b))} GROUP BY "firm", "quantity", "source" LIMIT ${maxRows + 1}`;
    const lines = ['firm_id,firm_name,county,park,segment,quantity,unit,source,used_for_firm_total,interval_start,interval_end,value,devices,resets'];
    let rows = 0;
    let truncated = false;
    const series = (await this.ctx.store.query(q)).sort((x, y) => (x.tags.firm ?? '').localeCompare(y.tags.firm ?? '') || (x.tags.quantity ?? '').localeCompare(y.tags.quantity ?? ''));
    for (const s of series) {
      const firmId = s.tags.firm ?? '';
      const f = idx.firms.get(firmId);
      const quantity = (s.tags.quantity ?? '') as Quantity;
      const src = s.tags.source ?? '';
      const used = !(CARRIERS as readonly string[]).includes(quantity) || ((src === measurementOfType(METER_TYPE[quantity as Carrier])) === hasMeter(idx, firmId, quantity as Carrier));
      for (const row of s.values) {
        if (rows >= maxRows) { truncated = true; break; }
        const t = num(row[0]);
        lines.push([firmId, csvText(f?.name ?? ''), f?.county ?? '', f?.park ?? '', f?.segment ?? '', quantity, QUANTITY_UNIT[quantity] ?? '', src, used ? 'yes' : 'no',
          localDateTime(t), localDateTime(t + QUARTER_HOUR), String(num(row[1])), String(num(row[2])), String(num(row[3]))].join(','));
        rows++;
      }
    }
    return { csv: `${lines.join('\r\n')}\r\n`, rows, truncated };
  }
}

function csvText(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function relDiff(a: number, b: number): number {
  const base = Math.max(Math.abs(a), Math.abs(b));
  return base < 1e-9 ? 0 : Math.abs(a - b) / base;
}

export interface QualityReport {
  firmId: string;
  from: number;
  to: number;
  rules: { intervalMinutes: number; completenessMin: number; consistencyMaxDeviation: number; standard: string };
  carriers: Array<{
    carrier: Carrier; unit: string; sources: string[]; boundary: 'meters' | 'machines'; countedAtBoundary: boolean;
    days: Array<{ date: string; expectedIntervals: number; presentIntervals: number; completeness: number; complete: boolean; from15min: number; register: number; deviation: number; consistent: boolean }>;
    daysComplete: number;
    month: { sumOfDaily: number; register: number; resets: number; deviation: number; consistent: boolean };
  }>;
}

export interface IntensityRow {
  key: string;
  name: string;
  segment: string | null;
  electricityKwh: number;
  totalKgce: number;
  waterM3: number;
  fabricM: number;
  yarnKg: number;
  pieces: number;
  kwhPer100m: number | null;
  kgcePer100m: number | null;
  waterTPer100m: number | null;
  kwhPerKgYarn: number | null;
  kgcePerKgYarn: number | null;
  ringFrameKwhPerKg: number | null;
  kwhPerPiece: number | null;
  kgcePerPiece: number | null;
  dyeingBenchmark: { applies: boolean; kgceOk: boolean | null; waterOk: boolean | null };
  spinningReference: { kwhPerKg: number; ratio: number } | null;
}

function intensityRow(key: string, v: { acc: Acc; kgce: number; ringKwh: number; ringYarn: number }, firm: Firm | undefined, deviceName: string | undefined): IntensityRow {
  const el = v.acc.amounts.electricity.measured;
  const water = v.acc.amounts.water.measured;
  const { fabric, yarn, pieces } = v.acc.outputs;
  const per = (x: number, out: number, scale = 1) => (out > 0 ? (x / out) * scale : null);
  const kgcePer100m = per(v.kgce, fabric, 100);
  const waterTPer100m = per(water, fabric, 100);
  const applies = firm?.segment === 'dyeing';
  const ring = per(v.ringKwh, v.ringYarn);
  return {
    key, name: firm?.name ?? deviceName ?? key, segment: firm?.segment ?? null,
    electricityKwh: el, totalKgce: v.kgce, waterM3: water, fabricM: fabric, yarnKg: yarn, pieces,
    kwhPer100m: per(el, fabric, 100), kgcePer100m, waterTPer100m,
    kwhPerKgYarn: per(el, yarn), kgcePerKgYarn: per(v.kgce, yarn), ringFrameKwhPerKg: ring,
    kwhPerPiece: per(el, pieces), kgcePerPiece: per(v.kgce, pieces),
    dyeingBenchmark: {
      applies,
      kgceOk: applies && kgcePer100m !== null ? kgcePer100m <= BENCHMARKS.dyeingKgcePer100m : null,
      waterOk: applies && waterTPer100m !== null ? waterTPer100m <= BENCHMARKS.dyeingWaterTPer100m : null,
    },
    spinningReference: ring === null ? null : { kwhPerKg: BENCHMARKS.ringSpinningKwhPerKg, ratio: ring / BENCHMARKS.ringSpinningKwhPerKg },
  };
}

