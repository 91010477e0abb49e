// The plan tracker: current value and progress of every quantified target of the action plan; the connected
// share of above-scale firms with its definition, breakdowns, monthly trend and a straight-line projection to
// the end of 2027; and the per-mu / per-capita evaluation (亩均论英雄) of firms.
import { platformConnectionKpi, type ShareRow } from './kpi.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import type { Firm, FirmConnectivity, Registry } from '../../common/registry/registry.ts';
import type { EnergyService } from '../energy/service.ts';
import { localMonth, yearStart, localParts } from '../../common/time.ts';
import { DEFAULT_PER_MU_WEIGHTS, type PerMuWeights, type PlanStore } from './store.ts';
import { PLAN_END_YEAR, TARGETS, type TargetDef } from './targets.ts';

export interface TargetStatus extends TargetDef {
  /** The year the value refers to (per-year targets: the year asked for; entered values: their year). */
  year: number;
  value: number | null;
  progress: number | null;
  met: boolean | null;
  /** Where this value came from (an entered value can stand in for a computation without data). */
  valueSource: 'registry' | 'telemetry' | 'snapshots' | 'entered' | 'none';
  enteredBy: string | null;
  enteredByToken: string | null;
  enteredAt: number | null;
  note: string | null;
  /** Output targets: the same figure derived from the firms' entered yearly figures, as a cross-check. */
  fromFirmFigures: { year: number; value: number; firms: number } | null;
  explanation: string;
}

export interface ConnectedShareReport extends ShareRow {
  target: number;
  targetYear: number;
  windowDays: number;
  asOf: number;
  definition: string;
  byCounty: Array<ShareRow & { id: string; name: string }>;
  byPark: Array<ShareRow & { id: string; name: string; county: string }>;
  bySegment: Array<ShareRow & { id: string; name: string }>;
  trend: Array<{ month: string; share: number; connected: number; aboveScaleFirms: number; current: boolean }>;
  projection: {
    method: string;
    month: string;
    share: number | null;
    onTrack: boolean | null;
    /** First month the line reaches the target, if it does by the end of 2027. */
    reachesTargetIn: string | null;
    reason: string | null;
  };
}

export interface PerMuRow {
  firmId: string;
  name: string;
  county: string;
  park: string;
  segment: string;
  aboveScale: boolean;
  landMu: number;
  employees: number;
  outputValueYuan: number | null;
  taxYuan: number | null;
  energyTce: number | null;
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

function shareOf(connected: number, total: number): number {
  return total === 0 ? 0 : connected / total;
}

function monthIndex(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return (y ?? 0) * 12 + ((m ?? 1) - 1);
}

function monthName(index: number): string {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export class PlanService {
  constructor(
    private readonly registry: Registry,
    private readonly store: PlanStore,
    private readonly energy: EnergyService,
    private readonly defaultWindowDays: number,
  ) {}

  private isConnected(f: FirmConnectivity, now: number, windowDays: number): boolean {
    return f.lastTelemetryAt !== null && f.lastTelemetryAt >= now - windowDays * 86_400_000;
  }

  /** Stores this month's values of the computed KPIs (the last snapshot of a month stands for it). */
  async snapshot(now = Date.now(), windowDays = this.defaultWindowDays): Promise<string> {
    const month = localMonth(now);
    const [firms, conn] = await Promise.all([this.registry.listFirms(), this.registry.firmConnectivity()]);
    const kpi = platformConnectionKpi(conn, now, windowDays);
    this.store.putSnapshot(month, 'firms', firms.length, {}, now);
    this.store.putSnapshot(month, 'aboveScaleFirms', firms.filter((f) => f.aboveScale).length, {}, now);
    this.store.putSnapshot(month, 'employment', firms.reduce((s, f) => s + f.employees, 0), {}, now);
    this.store.putSnapshot(month, 'smartFactories', firms.filter((f) => f.smartFactoryTier !== 'none').length, {}, now);
    this.store.putSnapshot(month, 'connectedShare', kpi.share, { connected: kpi.connected, aboveScaleFirms: kpi.aboveScaleFirms, windowDays }, now);
    return month;
  }

  async targets(year: number, now = Date.now()): Promise<TargetStatus[]> {
    const [firms, conn] = await Promise.all([this.registry.listFirms(), this.registry.firmConnectivity()]);
    const kpi = platformConnectionKpi(conn, now, this.defaultWindowDays);
    const figuresYear = this.store.latestFiguresYear();
    const figures = figuresYear === undefined ? new Map() : this.store.yearFigures(figuresYear);
    const aboveIds = new Set(firms.filter((f) => f.aboveScale).map((f) => f.id));
    const outputs = [...figures.values()].filter((f) => f.outputValueYuan !== null);
    const currentAbove = aboveIds.size;
    return TARGETS.map((t): TargetStatus => {
      let value: number | null = null;
      let valueSource: TargetStatus['valueSource'] = t.source;
      let explanation = '';
      let fromFirmFigures: TargetStatus['fromFirmFigures'] = null;
      let valueYear = t.period === 'per-year' ? year : localParts(now).year;
      switch (t.id) {
        case 'firms': value = firms.length; explanation = 'firms registered on the platform'; break;
        case 'aboveScaleFirms': value = currentAbove; explanation = 'registered firms flagged above-scale (规上: main-business revenue ≥ ¥20 m)'; break;
        case 'employment': value = firms.reduce((s, f) => s + f.employees, 0); explanation = 'sum of the registered firms\' employees'; break;
        case 'smartFactories': value = firms.filter((f) => f.smartFactoryTier !== 'none').length; explanation = 'firms with a smart-factory tier (基础级 or higher)'; break;
        case 'connectedShare': value = kpi.share; explanation = kpi.definition; break;
        case 'newAboveScalePerYear': {
          const before = this.store.snapshotAtOrBefore('aboveScaleFirms', `${year - 1}-12`);
          const atEnd = year < localParts(now).year ? this.store.snapshotAtOrBefore('aboveScaleFirms', `${year}-12`) : undefined;
          const endValue = year < localParts(now).year ? atEnd?.value : currentAbove;
          if (before && endValue !== undefined) {
            value = endValue - before.value;
            explanation = `above-scale firms at the end of ${year} (or now) minus the snapshot of ${before.month}`;
          } else {
            valueSource = 'none';
            explanation = `no snapshot from before ${year} to compare with; enter the value`;
          }
          break;
        }
        default: valueSource = 'none'; explanation = 'entered by bureau staff';
      }
      if (t.id === 'aboveScaleOutputValue' && figuresYear !== undefined) {
        const rows = outputs.filter((f) => aboveIds.has(f.firmId));
        fromFirmFigures = { year: figuresYear, value: rows.reduce((s, f) => s + (f.outputValueYuan ?? 0), 0), firms: rows.length };
      }
      if (t.id === 'firmsOutput1bn' && figuresYear !== undefined) fromFirmFigures = { year: figuresYear, value: outputs.filter((f) => (f.outputValueYuan ?? 0) >= 1e9).length, firms: outputs.length };
      if (t.id === 'firmsOutput100m' && figuresYear !== undefined) fromFirmFigures = { year: figuresYear, value: outputs.filter((f) => (f.outputValueYuan ?? 0) >= 1e8).length, firms: outputs.length };
      let entry = t.enterable ? this.store.latest(t.id, t.period === 'per-year' ? year : undefined) : undefined;
      if (entry && t.source !== 'entered' && value !== null) entry = undefined; // a computed value wins over an entered stand-in
      if (entry) {
        value = entry.value;
        valueSource = 'entered';
        valueYear = entry.year;
      }
      const progress = value === null ? null : value / t.target;
      return {
        ...t, year: valueYear, value, progress, met: value === null ? null : value >= t.target, valueSource,
        enteredBy: entry?.enteredBy ?? null, enteredByToken: entry?.enteredByToken ?? null, enteredAt: entry?.enteredAt ?? null, note: entry?.note ?? null,
        fromFirmFigures, explanation,
      };
    });
  }

  async connectedShare(windowDays = this.defaultWindowDays, now = Date.now()): Promise<ConnectedShareReport> {
    // The snapshot always uses the configured window, so the trend compares like with like; the current month
    // in the trend is the live value for the window asked for.
    await this.snapshot(now);
    const conn = await this.registry.firmConnectivity();
    const kpi = platformConnectionKpi(conn, now, windowDays);
    const above = conn.filter((f) => f.aboveScale);
    const row = (list: FirmConnectivity[]): ShareRow => {
      const c = list.filter((f) => this.isConnected(f, now, windowDays)).length;
      return { aboveScaleFirms: list.length, connected: c, share: shareOf(c, list.length) };
    };
    const current = localMonth(now);
    const trend = this.store.snapshots('connectedShare').filter((s) => s.month < current).map((s) => ({
      month: s.month, share: s.value, connected: s.detail.connected ?? 0, aboveScaleFirms: s.detail.aboveScaleFirms ?? 0, current: false,
    }));
    trend.push({ month: current, share: kpi.share, connected: kpi.connected, aboveScaleFirms: kpi.aboveScaleFirms, current: true });
    return {
      aboveScaleFirms: kpi.aboveScaleFirms, connected: kpi.connected, share: kpi.share, target: kpi.target, targetYear: kpi.targetYear,
      windowDays, asOf: now,
      definition: `${kpi.definition}. "Valid telemetry" = a message admission accepted (it passed the contract); the window is CONNECTED_WINDOW_DAYS or ?windowDays=`,
      byCounty: COUNTIES.map((c) => ({ id: c.code, name: c.zh, ...row(above.filter((f) => f.county === c.code)) })),
      byPark: PARKS.map((p) => ({ id: p.id, name: p.zh, county: p.county, ...row(above.filter((f) => f.park === p.id)) })),
      bySegment: SEGMENTS.map((s) => ({ id: s.id, name: s.zh, ...row(above.filter((f) => f.segment === s.id)) })),
      trend,
      projection: projectLine(trend, kpi.target),
    };
  }

  async perMu(year: number, now = Date.now(), filter: { county?: string; segment?: string; firmId?: string } = {}): Promise<{
    year: number; weights: PerMuWeights; basis: string; indicators: Record<keyof PerMuWeights, string>; firms: PerMuRow[]; notes: string[];
  }> {
    const firms = await this.registry.listFirms();
    const figures = this.store.yearFigures(year);
    const from = yearStart(year);
    const to = Math.min(yearStart(year + 1), now);
    const energy = from < to ? await this.energy.firmTotals({ kind: 'prefecture', id: '' }, from, to, 'calorific') : new Map<string, { totalKgce: number; electricityKwh: number }>();
    const wRaw = this.store.weights().value;
    const wSum = Object.values(wRaw).reduce((s, v) => s + v, 0) || 1;
    const weights = Object.fromEntries(Object.entries(wRaw).map(([k, v]) => [k, v / wSum])) as unknown as PerMuWeights;
    const per = (x: number | null, d: number) => (x === null || !(d > 0) ? null : x / d);
    const rows: PerMuRow[] = firms.map((f: Firm) => {
      const fig = figures.get(f.id);
      const output = fig?.outputValueYuan ?? null;
      const tax = fig?.taxYuan ?? null;
      const e = energy.get(f.id);
      const tce = e ? e.totalKgce / 1000 : null;
      const missing: string[] = [];
      if (output === null) missing.push('outputValueYuan');
      if (tax === null) missing.push('taxYuan');
      if (tce === null || tce === 0) missing.push('energy');
      if (!(f.landMu > 0)) missing.push('landMu');
      if (!(f.employees > 0)) missing.push('employees');
      return {
        firmId: f.id, name: f.name, county: f.county, park: f.park, segment: f.segment, aboveScale: f.aboveScale, landMu: f.landMu, employees: f.employees,
        outputValueYuan: output, taxYuan: tax, energyTce: tce,
        outputPerMu: per(output, f.landMu), taxPerMu: per(tax, f.landMu), energyTcePerMu: per(tce, f.landMu),
        outputPerEmployee: per(output, f.employees), taxPerEmployee: per(tax, f.employees), energyTcePerEmployee: per(tce, f.employees),
        outputPerTce: tce !== null && tce > 0 ? per(output, tce) : null,
        score: null, rankInCounty: null, countyFirmsRanked: 0, rankInSegment: null, segmentFirmsRanked: 0, missing,
      };
    });
    // Score: each indicator divided by its best value among all firms (0–1), weighted; indicators a firm lacks
    // are left out and the remaining weights re-normalised. No output and no tax: no score.
    const keys = Object.keys(DEFAULT_PER_MU_WEIGHTS) as Array<keyof PerMuWeights>;
    const best = Object.fromEntries(keys.map((k) => [k, Math.max(0, ...rows.map((r) => r[k] ?? 0))])) as Record<keyof PerMuWeights, number>;
    for (const r of rows) {
      if (r.outputValueYuan === null && r.taxYuan === null) continue;
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
      for (const r of rows) if (r.score !== null) groups.set(group(r), [...(groups.get(group(r)) ?? []), r]);
      for (const list of groups.values()) {
        list.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
        list.forEach((r, i) => set(r, i + 1, list.length));
      }
    };
    rank((r) => r.county, (r, i, n) => { r.rankInCounty = i; r.countyFirmsRanked = n; });
    rank((r) => r.segment, (r, i, n) => { r.rankInSegment = i; r.segmentFirmsRanked = n; });
    const filtered = rows
      .filter((r) => (!filter.county || r.county === filter.county) && (!filter.segment || r.segment === filter.segment) && (!filter.firmId || r.firmId === filter.firmId))
      .sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
    return {
      year, weights, basis: 'energy in tce on the 当量值 (calorific) basis of GB/T 2589-2020, counted at the plant boundary, from the 15-minute rollups',
      indicators: {
        taxPerMu: '亩均税收: tax ÷ land (yuan/mu)', outputPerMu: '亩均产值: output value ÷ land (yuan/mu)',
        outputPerEmployee: '人均产值: output value ÷ employees (yuan/person)', outputPerTce: '单位能耗产值: output value ÷ energy (yuan/tce)',
      },
      firms: filtered,
      notes: [
        'score = 100 × Σ weight × (indicator ÷ best value among all firms of the year); indicators a firm lacks are left out and the other weights re-normalised',
        'ranks are by score within the county and within the segment; firms without entered output value and tax are not ranked',
      ],
    };
  }
}

/** A least-squares line through the monthly values, read at December of the plan's last year. */
export function projectLine(points: ReadonlyArray<{ month: string; share: number }>, target: number): ConnectedShareReport['projection'] {
  const method = 'least-squares straight line through the monthly snapshots (one value per month), read at 2027-12';
  const end = `${PLAN_END_YEAR}-12`;
  const xs = points.map((p) => monthIndex(p.month));
  if (new Set(xs).size < 2) return { method, month: end, share: null, onTrack: null, reachesTargetIn: null, reason: 'needs snapshots from at least two months' };
  const n = points.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = points.reduce((s, p) => s + p.share, 0) / n;
  let sxy = 0;
  let sxx = 0;
  points.forEach((p, i) => { const dx = (xs[i] ?? 0) - mx; sxy += dx * (p.share - my); sxx += dx * dx; });
  const slope = sxy / sxx;
  const at = (x: number) => my + slope * (x - mx);
  const endX = monthIndex(end);
  const share = Math.min(1, Math.max(0, at(endX)));
  let reaches: string | null = null;
  const lastX = Math.max(...xs);
  for (let x = lastX; x <= endX; x++) if (at(x) >= target) { reaches = monthName(x); break; }
  return { method, month: end, share, onTrack: share >= target, reachesTargetIn: reaches, reason: null };
}
