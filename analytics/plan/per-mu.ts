// 亩均论英雄: output value, tax and energy per mu and per employee of each firm for a year, scored with
// configurable weights and ranked within county and segment. Only firms whose energy telemetry covers enough of
// the year (coverage.ts) are scored and ranked: energy from a few hours against a year's output is no figure.
import type { Firm } from '../../common/registry/registry.ts';
import { PER_MU_MIN_COVERAGE, type EnergyCoverage } from './coverage.ts';
import { DEFAULT_PER_MU_WEIGHTS, type FirmFigures, type PerMuWeights } from './store.ts';

export interface PerMuRow {
  firmId: string;
  name: string;
  county: string;
  park: string;
  segment: string;
  aboveScale: boolean;
  demo: boolean;
  landMu: number;
  employees: number;
  outputValueYuan: number | null;
  taxYuan: number | null;
  energyTce: number | null;
  /** Days of the year with energy readings, and whether that is enough to rank the firm. */
  energyCoverage: EnergyCoverage;
  outputPerMu: number | null;
  taxPerMu: number | null;
  energyTcePerMu: number | null;
  outputPerEmployee: number | null;
  taxPerEmployee: number | null;
  energyTcePerEmployee: number | null;
  outputPerTce: number | null;
  score: number | null;
  rankInCounty: number | null;
  countyFirmsRanked: number;
  rankInSegment: number | null;
  segmentFirmsRanked: number;
  missing: string[];
}

/** What the output figure is: gross output value (产值) as entered, not value added (增加值). */
export const OUTPUT_MEASURE = {
  kind: 'output-value', zh: '产值', en: 'gross output value',
  note: 'the figures are gross industrial output value (产值) as entered per firm and year, not value added (增加值)',
} as const;

const per = (x: number | null, d: number | null) => (x === null || d === null || !(d > 0) ? null : x / d);

/** A firm's indicators; energy figures only where its telemetry covers enough of the year. */
export function perMuRow(f: Firm, fig: FirmFigures | undefined, totalKgce: number | undefined, coverage: EnergyCoverage): PerMuRow {
  const output = fig?.outputValueYuan ?? null;
  const tax = fig?.taxYuan ?? null;
  const tce = totalKgce === undefined ? null : totalKgce / 1000;
  const usableTce = coverage.enough && tce !== null && tce > 0 ? tce : null;
  const missing: string[] = [];
  if (output === null) missing.push('outputValueYuan');
  if (tax === null) missing.push('taxYuan');
  if (tce === null || tce === 0) missing.push('energy');
  if (!coverage.enough) missing.push('energyCoverage');
  if (!(f.landMu > 0)) missing.push('landMu');
  if (!(f.employees > 0)) missing.push('employees');
  return {
    firmId: f.id, name: f.name, county: f.county, park: f.park, segment: f.segment, aboveScale: f.aboveScale, demo: f.demo, landMu: f.landMu, employees: f.employees,
    outputValueYuan: output, taxYuan: tax, energyTce: tce, energyCoverage: coverage,
    outputPerMu: per(output, f.landMu), taxPerMu: per(tax, f.landMu), energyTcePerMu: per(usableTce, f.landMu),
    outputPerEmployee: per(output, f.employees), taxPerEmployee: per(tax, f.employees), energyTcePerEmployee: per(usableTce, f.employees),
    outputPerTce: per(output, usableTce),
    score: null, rankInCounty: null, countyFirmsRanked: 0, rankInSegment: null, segmentFirmsRanked: 0, missing,
  };
}

/** Weights normalised to a sum of 1. */
export function normalisedWeights(w: PerMuWeights): PerMuWeights {
  const sum = Object.values(w).reduce((s, v) => s + v, 0) || 1;
  return Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v / sum])) as unknown as PerMuWeights;
}

/** Scores and ranks the rows in place: only firms with enough energy coverage and an output value or tax. */
export function scoreAndRank(rows: readonly PerMuRow[], weights: PerMuWeights): void {
  const keys = Object.keys(DEFAULT_PER_MU_WEIGHTS) as Array<keyof PerMuWeights>;
  const eligible = rows.filter((r) => r.energyCoverage.enough && (r.outputValueYuan !== null || r.taxYuan !== null));
  // Each indicator is divided by its best value among the eligible firms, so one firm's thin data cannot set the scale.
  const best = Object.fromEntries(keys.map((k) => [k, Math.max(0, ...eligible.map((r) => r[k] ?? 0))])) as Record<keyof PerMuWeights, number>;
  for (const r of eligible) {
    let sum = 0;
    let wUsed = 0;
    for (const k of keys) {
      const v = r[k];
      if (v === null || best[k] <= 0 || weights[k] === 0) continue;
      sum += weights[k] * (v / best[k]);
      wUsed += weights[k];
    }
    r.score = wUsed > 0 ? (100 * sum) / wUsed : null;
  }
  const rank = (group: (r: PerMuRow) => string, set: (r: PerMuRow, rank: number, n: number) => void) => {
    const groups = new Map<string, PerMuRow[]>();
    for (const r of eligible) if (r.score !== null) groups.set(group(r), [...(groups.get(group(r)) ?? []), r]);
    for (const list of groups.values()) {
      list.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
      list.forEach((r, i) => set(r, i + 1, list.length));
    }
  };
  rank((r) => r.county, (r, i, n) => { r.rankInCounty = i; r.countyFirmsRanked = n; });
  rank((r) => r.segment, (r, i, n) => { r.rankInSegment = i; r.segmentFirmsRanked = n; });
}

export const PER_MU_NOTES: readonly string[] = [
  'score = 100 × Σ weight × (indicator ÷ best value among the ranked firms of the year); indicators a firm lacks are left out and the other weights re-normalised',
  `a firm is scored and ranked only when its energy telemetry covers at least ${100 * PER_MU_MIN_COVERAGE} % of the days of the year so far (energyCoverage) and it has an entered output value or tax; others show their figures without energy per unit`,
  'ranks are by score within the county and within the segment',
];
