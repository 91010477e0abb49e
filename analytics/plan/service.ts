// The plan tracker: current value and progress of every quantified target of the action plan; the connected
// share of above-scale firms against the registered firms and against the statistics bureau's official counts,
// with breakdowns, a monthly trend from the firms as they were each month and a straight-line projection to the
// end of 2027; and the per-mu / per-capita evaluation (亩均论英雄) of firms with its energy coverage. Demo firms
// are left out of every figure unless includeDemo is asked for (kpi.ts).
import {
  aboveScaleOn, countedFirms, monthPoint, officialShare, platformConnectionKpi, shareOf, shareRow, timelines,
  type DemoChoice, type FirmTimeline, type OfficialShare, type ShareRow, type TelemetrySnapshot, type TrendPoint,
} from './kpi.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import type { Firm, FirmConnectivity, Registry } from '../../common/registry/registry.ts';
import type { EnergyQuestions } from '../../common/telemetry-store/questions/energy.ts';
import type { EnergyService } from '../energy/service.ts';
import type { Provisional } from '../energy/sources.ts';
import { localDate, localMonth, yearStart, localParts } from '../../common/time.ts';
import { EnergyDays, PER_MU_MIN_COVERAGE, coverageOf } from './coverage.ts';
import { OUTPUT_MEASURE, PER_MU_NOTES, normalisedWeights, perMuRow, scoreAndRank, type PerMuRow } from './per-mu.ts';
import type { OfficialCount, PerMuWeights, PlanStore } from './store.ts';
import { PLAN_END_YEAR, TARGETS, type TargetDef } from './targets.ts';

export type { PerMuRow } from './per-mu.ts';

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

type CountyOfficial = { count: number | null; share: number | null; enteredBy: string | null; enteredAt: number | null };

export interface ConnectedShareReport extends ShareRow, DemoChoice {
  target: number;
  targetYear: number;
  windowDays: number;
  asOf: number;
  /** Of the registered share (the top-level figures). */
  definition: string;
  official: OfficialShare;
  byCounty: Array<ShareRow & { id: string; name: string; official: CountyOfficial }>;
  byPark: Array<ShareRow & { id: string; name: string; county: string }>;
  bySegment: Array<ShareRow & { id: string; name: string }>;
  trend: TrendPoint[];
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

export interface OfficialCountRow {
  county: string;
  name: string;
  year: number;
  count: number | null;
  note: string | null;
  enteredBy: string | null;
  enteredByToken: string | null;
  enteredAt: number | null;
}

function monthIndex(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return (y ?? 0) * 12 + ((m ?? 1) - 1);
}

function monthName(index: number): string {
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The snapshot metric keeping each firm's newest valid telemetry, so a past month can be recomputed. */
const FIRM_TELEMETRY = 'firmTelemetry';

export class PlanService {
  constructor(
    private readonly registry: Registry,
    private readonly store: PlanStore,
    private readonly energy: EnergyService,
    private readonly defaultWindowDays: number,
    /** Where the per-mu evaluation learns which days a firm has energy readings. */
    telemetry: Pick<EnergyQuestions, 'rollupSeries'>,
  ) {
    this.energyDays = new EnergyDays(telemetry);
  }

  private readonly energyDays: EnergyDays;

  /** Stores this month's values of the computed KPIs, demo firms left out (the last snapshot of a month stands for it). */
  async snapshot(now = Date.now(), windowDays = this.defaultWindowDays): Promise<string> {
    const month = localMonth(now);
    const [all, conn] = await Promise.all([this.registry.listFirms(), this.registry.firmConnectivity()]);
    const firms = all.filter((f) => !f.demo);
    const kpi = platformConnectionKpi(conn, now, windowDays);
    this.store.putSnapshot(month, 'firms', firms.length, {}, now);
    this.store.putSnapshot(month, 'aboveScaleFirms', firms.filter((f) => f.aboveScale).length, {}, now);
    this.store.putSnapshot(month, 'employment', firms.reduce((s, f) => s + f.employees, 0), {}, now);
    this.store.putSnapshot(month, 'smartFactories', firms.filter((f) => f.smartFactoryTier !== 'none').length, {}, now);
    this.store.putSnapshot(month, 'connectedShare', kpi.share, { connected: kpi.connected, aboveScaleFirms: kpi.aboveScaleFirms, windowDays }, now);
    const telemetry = Object.fromEntries(conn.flatMap((c) => (c.lastTelemetryAt === null ? [] : [[c.firmId, c.lastTelemetryAt]])));
    this.store.putSnapshot(month, FIRM_TELEMETRY, windowDays, telemetry, now);
    return month;
  }

  /** Each county's official count for a year, with who entered it and when; null where none was entered. */
  officialCounts(year: number): OfficialCountRow[] {
    const counts = this.store.officialCounts(year);
    return COUNTIES.map((c) => {
      const e: OfficialCount | undefined = counts.get(c.code);
      return {
        county: c.code, name: c.zh, year, count: e?.value ?? null, note: e?.note ?? null,
        enteredBy: e?.enteredBy ?? null, enteredByToken: e?.enteredByToken ?? null, enteredAt: e?.enteredAt ?? null,
      };
    });
  }

  private officialMap(year: number): Map<string, number> {
    return new Map([...this.store.officialCounts(year)].map(([county, e]) => [county, e.value]));
  }

  async targets(year: number, now = Date.now(), includeDemo = false): Promise<{ targets: TargetStatus[]; demo: DemoChoice }> {
    const [all, conn, versions] = await Promise.all([this.registry.listFirms(), this.registry.firmConnectivity(), this.registry.firmHistory()]);
    const { firms, demo } = countedFirms(all, includeDemo);
    const share = this.currentShares(conn, now, this.defaultWindowDays, includeDemo);
    const newAbove = newAboveScale(timelines(versions, firms), year, now);
    const figuresYear = this.store.latestFiguresYear();
    const figures = figuresYear === undefined ? new Map() : this.store.yearFigures(figuresYear);
    const counted = new Set(firms.map((f) => f.id));
    const aboveIds = new Set(firms.filter((f) => f.aboveScale).map((f) => f.id));
    const outputs = [...figures.values()].filter((f) => f.outputValueYuan !== null && counted.has(f.firmId));
    const computed = this.computedValues(firms, share, newAbove);
    const targets = TARGETS.map((t): TargetStatus => {
      const c = computed(t.id);
      let value = c.value;
      let valueSource: TargetStatus['valueSource'] = c.none ? 'none' : t.source;
      let fromFirmFigures: TargetStatus['fromFirmFigures'] = null;
      let valueYear = t.period === 'per-year' ? year : localParts(now).year;
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
      return {
        ...t, year: valueYear, value, progress: value === null ? null : value / t.target, met: value === null ? null : value >= t.target, valueSource,
        enteredBy: entry?.enteredBy ?? null, enteredByToken: entry?.enteredByToken ?? null, enteredAt: entry?.enteredAt ?? null, note: entry?.note ?? null,
        fromFirmFigures, explanation: c.explanation,
      };
    });
    return { targets, demo };
  }

  /** The values the registry and the telemetry give, per target id (entered ones: none). */
  private computedValues(firms: readonly Firm[], share: { registered: ShareRow; official: OfficialShare; definition: string }, newAbove: { value: number; explanation: string }) {
    return (id: string): { value: number | null; none: boolean; explanation: string } => {
      switch (id) {
        case 'firms': return { value: firms.length, none: false, explanation: 'firms registered on the platform' };
        case 'aboveScaleFirms': return { value: firms.filter((f) => f.aboveScale).length, none: false, explanation: 'registered firms flagged above-scale (规上: main-business revenue ≥ ¥20 m)' };
        case 'employment': return { value: firms.reduce((s, f) => s + f.employees, 0), none: false, explanation: 'sum of the registered firms\' employees' };
        case 'smartFactories': return { value: firms.filter((f) => f.smartFactoryTier !== 'none').length, none: false, explanation: 'firms with a smart-factory tier (基础级 or higher)' };
        case 'connectedShare': return share.official.share !== null
          ? { value: share.official.share, none: false, explanation: `against the official count of ${share.official.year}: ${share.official.definition}` }
          : { value: share.registered.share, none: false, explanation: `${share.definition} (${share.official.note ?? ''}; against the registered firms instead)` };
        case 'newAboveScalePerYear': return { ...newAbove, none: false };
        default: return { value: null, none: true, explanation: 'entered by bureau staff' };
      }
    };
  }

  /** The registered and the official share now. */
  private currentShares(conn: readonly FirmConnectivity[], now: number, windowDays: number, includeDemo: boolean) {
    const kpi = platformConnectionKpi(conn, now, windowDays, includeDemo);
    const official = officialShare(new Map(kpi.byCounty.map((c) => [c.county, c.connected])), this.officialMap(localParts(now).year), localParts(now).year);
    return { kpi, registered: { aboveScaleFirms: kpi.aboveScaleFirms, connected: kpi.connected, share: kpi.share }, official, definition: kpi.definition };
  }

  /**
   * The monthly trend: months with a telemetry snapshot recomputed from the firms as they were at each month's
   * end (a firm above-scale since June counts from June on); older months as stored then; this month live.
   */
  private async trend(now: number, includeDemo: boolean, current: TrendPoint): Promise<TrendPoint[]> {
    const month = localMonth(now);
    const [firms, versions] = await Promise.all([this.registry.listFirms(), this.registry.firmHistory()]);
    const lines = timelines(versions, firms);
    const recomputed = new Map(this.store.snapshots(FIRM_TELEMETRY).filter((s) => s.month < month).map((s): [string, TrendPoint] => {
      const snap: TelemetrySnapshot = { month: s.month, takenAt: s.takenAt, windowDays: s.value, lastTelemetry: s.detail };
      return [s.month, monthPoint(snap, lines, includeDemo, this.officialMap(Number(s.month.slice(0, 4))))];
    }));
    const stored = this.store.snapshots('connectedShare').filter((s) => s.month < month && !recomputed.has(s.month)).map((s): TrendPoint => ({
      month: s.month, share: s.value, connected: s.detail.connected ?? 0, aboveScaleFirms: s.detail.aboveScaleFirms ?? 0,
      includeDemo: true, demoFirmsLeftOut: 0, officialShare: null, current: false, basis: 'stored',
    }));
    return [...stored, ...recomputed.values(), current].sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0));
  }

  async connectedShare(windowDays = this.defaultWindowDays, now = Date.now(), includeDemo = false): Promise<ConnectedShareReport> {
    // The snapshot always uses the configured window, so the trend compares like with like; the current month
    // in the trend is the live value for the window asked for.
    await this.snapshot(now);
    const conn = await this.registry.firmConnectivity();
    const { kpi, official } = this.currentShares(conn, now, windowDays, includeDemo);
    const { firms } = countedFirms(conn, includeDemo);
    const counts = this.store.officialCounts(official.year);
    const row = (list: FirmConnectivity[]): ShareRow => shareRow(list, now, windowDays);
    const current: TrendPoint = {
      month: localMonth(now), share: kpi.share, connected: kpi.connected, aboveScaleFirms: kpi.aboveScaleFirms, includeDemo, demoFirmsLeftOut: kpi.demoFirmsLeftOut,
      officialShare: official.share, current: true, basis: 'firm-history',
    };
    const trend = await this.trend(now, includeDemo, current);
    return {
      aboveScaleFirms: kpi.aboveScaleFirms, connected: kpi.connected, share: kpi.share, includeDemo, demoFirmsLeftOut: kpi.demoFirmsLeftOut,
      target: kpi.target, targetYear: kpi.targetYear, windowDays, asOf: now,
      definition: `${kpi.definition}. "Valid telemetry" = a message admission accepted (it passed the contract); the window is CONNECTED_WINDOW_DAYS or ?windowDays=`,
      official,
      byCounty: kpi.byCounty.map((c) => {
        const e = counts.get(c.county);
        const count = e?.value ?? null;
        return {
          id: c.county, name: c.name, aboveScaleFirms: c.aboveScaleFirms, connected: c.connected, share: c.share,
          official: { count, share: count === null ? null : shareOf(c.connected, count), enteredBy: e?.enteredBy ?? null, enteredAt: e?.enteredAt ?? null },
        };
      }),
      byPark: PARKS.map((p) => ({ id: p.id, name: p.zh, county: p.county, ...row(firms.filter((f) => f.park === p.id)) })),
      bySegment: SEGMENTS.map((s) => ({ id: s.id, name: s.zh, ...row(firms.filter((f) => f.segment === s.id)) })),
      trend,
      projection: projectLine(trend, kpi.target),
    };
  }

  async perMu(year: number, now = Date.now(), filter: { county?: string; segment?: string; firmId?: string } = {}, includeDemo = false): Promise<{
    year: number; weights: PerMuWeights; basis: string; outputMeasure: typeof OUTPUT_MEASURE; minCoverage: number;
    indicators: Record<keyof PerMuWeights, string>; firms: PerMuRow[]; notes: string[];
    /** The energy figures read rollups not yet recomputed for stored data (a backfill): they may still grow. */
    provisional: Provisional | null;
  } & DemoChoice> {
    const { firms, demo } = countedFirms(await this.registry.listFirms(), includeDemo);
    const figures = this.store.yearFigures(year);
    const from = yearStart(year);
    const to = Math.min(yearStart(year + 1), now);
    const empty = new Map<string, { totalKgce: number; electricityKwh: number }>();
    const prefecture = { kind: 'prefecture', id: '' } as const;
    const [energy, days, provisional] = from < to
      ? await Promise.all([this.energy.firmTotals(prefecture, from, to, 'calorific'), this.energyDays.of(firms.map((f) => f.id), from, to, now), this.energy.provisional(prefecture, from, to)])
      : [empty, new Map<string, number>(), null];
    const weights = normalisedWeights(this.store.weights().value);
    const rows = firms.map((f) => perMuRow(f, figures.get(f.id), energy.get(f.id)?.totalKgce, coverageOf(days.get(f.id) ?? 0, from, Math.max(from, to))));
    scoreAndRank(rows, weights);
    const filtered = rows
      .filter((r) => (!filter.county || r.county === filter.county) && (!filter.segment || r.segment === filter.segment) && (!filter.firmId || r.firmId === filter.firmId))
      .sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
    return {
      year, weights, ...demo, outputMeasure: OUTPUT_MEASURE, minCoverage: PER_MU_MIN_COVERAGE,
      basis: 'energy in tce on the 当量值 (calorific) basis of GB/T 2589-2020, counted at the plant boundary, from the 15-minute rollups',
      indicators: {
        taxPerMu: '亩均税收: tax ÷ land (yuan/mu)', outputPerMu: '亩均产值: output value (产值) ÷ land (yuan/mu)',
        outputPerEmployee: '人均产值: output value (产值) ÷ employees (yuan/person)', outputPerTce: '单位能耗产值: output value (产值) ÷ energy (yuan/tce)',
      },
      firms: filtered,
      notes: [...PER_MU_NOTES],
      provisional,
    };
  }
}

/**
 * 新增规上企业 in a year: firms above-scale at its end (or today, for the current year) that were not at the end
 * of the year before, each as its dated history says (so 小升规 entered late still counts in its year).
 */
export function newAboveScale(lines: readonly FirmTimeline[], year: number, now: number): { value: number; explanation: string } {
  const end = year < localParts(now).year ? `${year}-12-31` : localDate(now);
  const value = lines.filter((t) => aboveScaleOn(t, end)?.above === true && aboveScaleOn(t, `${year - 1}-12-31`)?.above !== true).length;
  return { value, explanation: `firms above-scale on ${end} that were not on ${year - 1}-12-31, from the firms' dated history (registered above-scale without a date: from registration)` };
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
