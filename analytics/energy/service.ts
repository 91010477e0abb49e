// Energy figures for a scope (prefecture, county, park, segment, firm, device): live rates (live.ts), consumption
// over a range (summary.ts), series (series.ts), intensity per unit of output against the benchmarks
// (intensity.ts), data quality (quality.ts) and CSV export of the 15-minute rollups (csv.ts). Aggregation happens
// in the telemetry store; Node applies the plant-boundary rule per firm (carriers.ts, figures.ts) and the
// conversion to standard coal (factors.ts). This class holds the context and options they share.
import type { Scope } from '../base/scope.ts';
import { DEFAULT_ENERGY_OPTIONS, basisOf, type EnergyContext, type EnergyEnv, type EnergyServiceOptions } from './context.ts';
import { rollupCsv } from './csv.ts';
import type { Basis, BasisId } from './factors.ts';
import { intensity, type EnergyIntensity } from './intensity.ts';
import { live, type EnergyLive } from './live.ts';
import { completenessOverview, quality, type CompletenessOverview, type QualityReport } from './quality.ts';
import { series, type EnergySeries } from './series.ts';
import { chooseSource, provisionalOf, type DataSource, type Provisional, type SourceChoice } from './sources.ts';
import { firmTotals, summary, type Breakdown, type EnergySummary } from './summary.ts';

export { DEFAULT_ENERGY_OPTIONS, type EnergyContext, type EnergyServiceOptions } from './context.ts';
export type { CarrierFigure, Figures } from './figures.ts';
export type { IntensityRow } from './intensity.ts';
export type { QualityReport } from './quality.ts';
export { countingGroups, rollupPieces, type DataSource, type Provisional, type SourceChoice } from './sources.ts';
export { BREAKDOWNS, type Breakdown, type EnergySummary } from './summary.ts';

export class EnergyService {
  private readonly env: EnergyEnv;

  constructor(ctx: EnergyContext, opts: EnergyServiceOptions = DEFAULT_ENERGY_OPTIONS) {
    this.env = { ctx, opts };
  }

  basis(id: BasisId, year: number): Basis {
    return basisOf(this.env, id, year);
  }

  /** `perDevice`: the caller needs per-device rows (a breakdown by device), which only the raw counters have. */
  chooseSource(scope: Scope, from: number, to: number, choice: SourceChoice, perDevice = false): DataSource {
    return chooseSource(this.env, scope, from, to, choice, perDevice);
  }

  /** `includeDemo`: count demo firms in scopes wider than a firm (demo.ts). */
  summary(scope: Scope, from: number, to: number, basisId: BasisId, choice: SourceChoice = 'auto', by?: Breakdown, includeDemo = false): Promise<EnergySummary> {
    return summary(this.env, scope, from, to, basisId, choice, by, includeDemo);
  }

  /** Plant-boundary totals per firm over a range from the rollups (per-mu evaluation, rankings). */
  firmTotals(scope: Scope, from: number, to: number, basisId: BasisId): Promise<Map<string, { totalKgce: number; electricityKwh: number }>> {
    return firmTotals(this.env, scope, from, to, basisId);
  }

  /** What figures read from the rollups over [from, to) in a scope would say about stored data not yet in them (per-mu inputs). */
  provisional(scope: Scope, from: number, to: number): Promise<Provisional | null> {
    return provisionalOf(this.env, scope, 'rollup', from, to);
  }

  series(scope: Scope, from: number, to: number, intervalMs: number, basisId: BasisId, includeDemo = false): Promise<EnergySeries> {
    return series(this.env, scope, from, to, intervalMs, basisId, includeDemo);
  }

  live(scope: Scope, basisId: BasisId, now = Date.now()): Promise<EnergyLive> {
    return live(this.env, scope, basisId, now);
  }

  /** With what it read from rollups that do not reflect every stored reading yet. */
  async intensity(scope: Scope, from: number, to: number, basisId: BasisId, choice: SourceChoice = 'auto', includeDemo = false): Promise<EnergyIntensity & { provisional: Provisional | null }> {
    const r = await intensity(this.env, scope, from, to, basisId, choice, includeDemo);
    return { ...r, provisional: await provisionalOf(this.env, scope, r.source, r.from, r.to) };
  }

  /** GB/T 38692-2020 data quality of one firm for one month. */
  quality(firmId: string, month: { from: number; to: number }, now = Date.now()): Promise<QualityReport> {
    return quality(this.env, firmId, month, now);
  }

  /** Completeness of every firm for one local day (bureau overview), from the rollups. */
  completenessOverview(day: number, now = Date.now(), includeDemo = false): Promise<CompletenessOverview> {
    return completenessOverview(this.env, day, now, includeDemo);
  }

  /** The 15-minute rollups of a scope as CSV (one row per firm, quantity, source and interval). */
  rollupCsv(scope: Scope, from: number, to: number, maxRows: number, includeDemo = false): Promise<{ csv: string; rows: number; truncated: boolean; provisional: Provisional | null; demoFirmsLeftOut: number }> {
    return rollupCsv(this.env, scope, from, to, maxRows, includeDemo);
  }
}
