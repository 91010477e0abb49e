// The plan's headline KPI: share of above-scale (规上) firms connected to the platform, target 50% by 2027.
// "Connected" (docs/domain.md, configurable window): at least one device sent valid telemetry in the window.
// Two denominators, each with its definition: the registered above-scale firms, and the official count of
// above-scale firms per county and year from the statistics bureau (entered by bureau staff). Demo firms (seeded
// by `npm start`) are left out unless asked for, and every answer says how many were left out.
import { COUNTIES } from '../../common/places.ts';
import { firmAt, type FirmConnectivity, type FirmVersion } from '../../common/registry/registry.ts';
import { DAY } from '../../common/time.ts';

export const CONNECTED_SHARE_TARGET = 0.5;
export const CONNECTED_SHARE_TARGET_YEAR = 2027;

export interface ShareRow {
  aboveScaleFirms: number;
  connected: number;
  share: number;
}

/** Whether demo firms were counted, and how many were left out when not. */
export interface DemoChoice {
  includeDemo: boolean;
  demoFirmsLeftOut: number;
}

/** The firms a figure counts: demo firms only when asked for. */
export function countedFirms<T extends { demo: boolean }>(firms: readonly T[], includeDemo: boolean): { firms: T[]; demo: DemoChoice } {
  const kept = includeDemo ? [...firms] : firms.filter((f) => !f.demo);
  return { firms: kept, demo: { includeDemo, demoFirmsLeftOut: firms.length - kept.length } };
}

export interface PlatformConnectionKpi extends ShareRow, DemoChoice {
  target: number;
  targetYear: number;
  windowDays: number;
  asOf: number;
  definition: string;
  byCounty: Array<ShareRow & { county: string; name: string }>;
}

export function shareOf(connected: number, total: number): number {
  return total === 0 ? 0 : connected / total;
}

export function registeredDefinition(windowDays: number): string {
  return `registered above-scale firms with at least one device that sent valid telemetry in the last ${windowDays} days ÷ all registered above-scale firms`;
}

export const OFFICIAL_DEFINITION = 'registered above-scale firms connected (as in the registered share) ÷ the above-scale firms the statistics bureau counts '
  + 'for the county and year (entered by bureau staff); the prefecture figure needs a count for every county';

export const isConnected = (f: Pick<FirmConnectivity, 'lastTelemetryAt'>, now: number, windowDays: number): boolean =>
  f.lastTelemetryAt !== null && f.lastTelemetryAt >= now - windowDays * DAY;

/** Connected among the above-scale firms of a list. */
export function shareRow(firms: readonly FirmConnectivity[], now: number, windowDays: number): ShareRow {
  const above = firms.filter((f) => f.aboveScale);
  const connected = above.filter((f) => isConnected(f, now, windowDays)).length;
  return { aboveScaleFirms: above.length, connected, share: shareOf(connected, above.length) };
}

export function platformConnectionKpi(all: readonly FirmConnectivity[], now: number, windowDays: number, includeDemo = false): PlatformConnectionKpi {
  const { firms, demo } = countedFirms(all, includeDemo);
  const byCounty = COUNTIES.map((c) => ({ county: c.code, name: c.zh, ...shareRow(firms.filter((f) => f.county === c.code), now, windowDays) }));
  return {
    ...shareRow(firms, now, windowDays), ...demo,
    target: CONNECTED_SHARE_TARGET, targetYear: CONNECTED_SHARE_TARGET_YEAR, windowDays, asOf: now,
    definition: registeredDefinition(windowDays), byCounty,
  };
}

/** The official share: connected registered firms against the statistics bureau's counts (county → count). */
export interface OfficialShare {
  year: number;
  /** Sum of the counties' official counts; null unless every county has one for the year. */
  aboveScaleFirms: number | null;
  connected: number;
  share: number | null;
  missingCounties: string[];
  definition: string;
  note: string | null;
}

export function officialShare(connectedByCounty: ReadonlyMap<string, number>, counts: ReadonlyMap<string, number>, year: number): OfficialShare {
  const missing = COUNTIES.filter((c) => !counts.has(c.code));
  const connected = [...connectedByCounty.values()].reduce((s, n) => s + n, 0);
  const total = missing.length === 0 ? COUNTIES.reduce((s, c) => s + (counts.get(c.code) ?? 0), 0) : null;
  return {
    year, aboveScaleFirms: total, connected, share: total === null ? null : shareOf(connected, total),
    missingCounties: missing.map((c) => c.code), definition: OFFICIAL_DEFINITION,
    note: missing.length === 0 ? null : `no official count of above-scale firms entered for ${year} in ${missing.map((c) => `${c.zh} (${c.code})`).join(', ')}`,
  };
}

/** One firm's dated history, as the monthly trend needs it. */
export interface FirmTimeline {
  firmId: string;
  demo: boolean;
  /** Local date of its registration (its first version). */
  registeredOn: string;
  versions: readonly FirmVersion[];
}

export function timelines(versions: readonly FirmVersion[], firms: ReadonlyArray<{ id: string; demo: boolean }>): FirmTimeline[] {
  const byFirm = new Map<string, FirmVersion[]>();
  for (const v of versions) byFirm.set(v.firmId, [...(byFirm.get(v.firmId) ?? []), v]);
  return firms.flatMap((f) => {
    const vs = byFirm.get(f.id) ?? [];
    const first = vs.reduce<FirmVersion | undefined>((m, v) => (m === undefined || v.id < m.id ? v : m), undefined);
    return first ? [{ firmId: f.id, demo: f.demo, registeredOn: first.validFrom, versions: vs }] : [];
  });
}

/**
 * Whether a firm counts as above-scale on a local date: as it was then (its versions valid by that date), and
 * above-scale since then (its aboveScaleSince, or its registration when none was given).
 */
export function aboveScaleOn(t: FirmTimeline, date: string): { above: boolean; county: string } | undefined {
  const a = firmAt(t.versions, date);
  if (!a) return undefined;
  return { above: a.aboveScale && (a.aboveScaleSince ?? t.registeredOn) <= date, county: a.county };
}

/** Last local day of "YYYY-MM". */
export function monthEnd(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return `${month}-${String(new Date(Date.UTC(y, m, 0)).getUTCDate()).padStart(2, '0')}`;
}

export interface TrendPoint extends ShareRow, DemoChoice {
  month: string;
  officialShare: number | null;
  current: boolean;
  /** firm-history: recomputed from the firms as they were that month; stored: the value kept then (demo firms included, as then). */
  basis: 'firm-history' | 'stored';
}

/** What the monthly snapshot keeps to recompute a month: each firm's newest valid telemetry then, and when and with which window. */
export interface TelemetrySnapshot {
  month: string;
  takenAt: number;
  windowDays: number;
  lastTelemetry: Readonly<Record<string, number>>;
}

/** A month of the trend from the firms as they were at its end and their telemetry as the snapshot saw it. */
export function monthPoint(s: TelemetrySnapshot, firms: readonly FirmTimeline[], includeDemo: boolean, official: ReadonlyMap<string, number>): TrendPoint {
  const end = monthEnd(s.month);
  const { firms: counted, demo } = countedFirms(firms, includeDemo);
  const rows: FirmConnectivity[] = counted.flatMap((t) => {
    const at = aboveScaleOn(t, end);
    return at ? [{ firmId: t.firmId, county: at.county, park: '', segment: '', aboveScale: at.above, demo: t.demo, lastTelemetryAt: s.lastTelemetry[t.firmId] ?? null }] : [];
  });
  const row = shareRow(rows, s.takenAt, s.windowDays);
  const connectedByCounty = new Map<string, number>();
  for (const r of rows) if (r.aboveScale && isConnected(r, s.takenAt, s.windowDays)) connectedByCounty.set(r.county, (connectedByCounty.get(r.county) ?? 0) + 1);
  const off = officialShare(connectedByCounty, official, Number(s.month.slice(0, 4)));
  return { month: s.month, ...row, ...demo, officialShare: off.share, current: false, basis: 'firm-history' };
}
