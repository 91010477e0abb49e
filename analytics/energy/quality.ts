// Data quality per GB/T 38692-2020 from the 15-minute rollups and the raw registers: completeness (intervals
// present) and consistency (the sum of 15-minute values against the register's own delta, per day and month).
import { DAY, QUARTER_HOUR, TZ_OFFSET_MS, daysIn, floorTo, localDate } from '../../common/time.ts';
import { METER_TYPE, QUANTITY_METRIC, measurementOfType, sourcesOf } from './carriers.ts';
import type { EnergyEnv } from './context.ts';
import { CARRIERS, CARRIER_UNIT, type Carrier } from './factors.ts';
import { firmSteamSource, hasMeter, isCarrier } from './figures.ts';
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import { demoFilter, type DemoCounted } from './demo.ts';

export interface QualityDay {
  date: string; expectedIntervals: number; presentIntervals: number; completeness: number; complete: boolean;
  from15min: number; register: number; deviation: number; consistent: boolean;
}

export interface QualityReport {
  firmId: string;
  from: number;
  to: number;
  rules: { intervalMinutes: number; completenessMin: number; consistencyMaxDeviation: number; standard: string };
  carriers: Array<{
    carrier: Carrier; unit: string; sources: string[]; boundary: 'meters' | 'machines'; countedAtBoundary: boolean;
    days: QualityDay[];
    daysComplete: number;
    month: { sumOfDaily: number; register: number; resets: number; deviation: number; consistent: boolean };
  }>;
}

export interface CompletenessOverview extends DemoCounted {
  date: string;
  expectedIntervals: number;
  firms: Array<{ firmId: string; name: string; carriers: Partial<Record<Carrier, { present: number; completeness: number; complete: boolean }>> }>;
}

function relDiff(a: number, b: number): number {
  const base = Math.max(Math.abs(a), Math.abs(b));
  return base < 1e-9 ? 0 : Math.abs(a - b) / base;
}

/** The measurements that count a firm's carrier: its meters when it has one, else its machines; none when it has neither. */
function usedSources(idx: FirmIndexSnapshot, firmId: string, c: Carrier): string[] {
  // The register checks read one counter metric: sources counting in another unit (OTHER_COUNTERS) stay out.
  const allSources = sourcesOf(c).filter((s) => s.metric === QUANTITY_METRIC[c]);
  const meter = measurementOfType(METER_TYPE[c]);
  const firmTypes = idx.typesByFirm.get(firmId) ?? new Set<string>();
  if (!allSources.some((s) => firmTypes.has(s.type))) return [];
  const useMeters = hasMeter(idx, firmId, c);
  return allSources.filter((s) => (useMeters ? s.measurement === meter : s.measurement !== meter) && firmTypes.has(s.type)).map((s) => s.measurement);
}

/** Per local day: the 15-minute intervals present and the sum of their values. */
async function quarterSumsPerDay(env: EnergyEnv, firmId: string, c: Carrier, sources: readonly string[], from: number, to: number): Promise<Map<number, { present: number; sum: number }>> {
  const buckets = await env.ctx.store.rollupSeries({ scope: { kind: 'firm', id: firmId }, tier: '15m', from, to, intervalMs: QUARTER_HOUR, quantity: c, sources });
  const perQuarter = new Map<number, number>();
  for (const b of buckets) perQuarter.set(b.time, (perQuarter.get(b.time) ?? 0) + b.value);
  const perDay = new Map<number, { present: number; sum: number }>();
  for (const [t, v] of [...perQuarter.entries()].sort((x, y) => x[0] - y[0])) {
    const day = floorTo(t, DAY, -TZ_OFFSET_MS);
    const cur = perDay.get(day) ?? { present: 0, sum: 0 };
    cur.present++;
    cur.sum += v;
    perDay.set(day, cur);
  }
  return perDay;
}

/**
 * The register's delta per local day, by the store's counting rule with one-day steps: each device's last
 * reading of the day minus its last reading before it (its first reading on its first day), a reset counted
 * from zero. The month's register delta is their sum: the rule makes a range count the same as its days.
 */
async function registerPerDay(env: EnergyEnv, firmId: string, c: Carrier, sources: readonly string[], from: number, to: number): Promise<{ byDay: Map<number, number>; month: { value: number; resets: number } }> {
  const daily = await env.ctx.store.counterDeltas({
    metric: QUANTITY_METRIC[c], measurements: sources, scope: { kind: 'firm', id: firmId }, from, to, stepMs: DAY, stepOffsetMs: DAY - TZ_OFFSET_MS,
    groupBy: [], intervalMs: DAY, offsetMs: DAY - TZ_OFFSET_MS,
  });
  const byDay = new Map<number, number>();
  const month = { value: 0, resets: 0 };
  for (const r of daily) {
    byDay.set(r.time, (byDay.get(r.time) ?? 0) + r.value);
    month.value += r.value;
    month.resets += r.resets;
  }
  return { byDay, month };
}

async function carrierQuality(env: EnergyEnv, idx: FirmIndexSnapshot, firmId: string, c: Carrier, from: number, end: number): Promise<QualityReport['carriers'][number] | undefined> {
  const used = usedSources(idx, firmId, c);
  if (used.length === 0) return undefined;
  const useMeters = hasMeter(idx, firmId, c);
  const steam = firmSteamSource(idx, firmId, (f) => env.ctx.flagsOf(f)).source;
  const perDay = await quarterSumsPerDay(env, firmId, c, used, from, end);
  const { byDay: registerByDay, month: monthRegister } = await registerPerDay(env, firmId, c, used, from, end);
  const days = daysIn(from, end).map((day): QualityDay => {
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
  return {
    carrier: c, unit: CARRIER_UNIT[c], sources: used, boundary: useMeters ? 'meters' : 'machines',
    countedAtBoundary: !((c === 'steam' && steam !== 'bought') || (c === 'electricity' && steam === 'cogeneration' && !useMeters)),
    days,
    daysComplete: days.filter((d) => d.complete).length,
    month: { sumOfDaily: sumDaily, register: monthRegister.value, resets: monthRegister.resets, deviation: monthDeviation, consistent: monthDeviation <= 0.05 },
  };
}

/**
 * GB/T 38692-2020 data quality of one firm for one month: per day and carrier the share of the 96 expected
 * 15-minute intervals present (≥ 90 %), the day's sum of 15-minute values against the day's register delta, and
 * the month's sum of daily values against the month's register delta (each within 5 %).
 */
export async function quality(env: EnergyEnv, firmId: string, month: { from: number; to: number }, now = Date.now()): Promise<QualityReport> {
  const idx = await env.ctx.index.get();
  const end = Math.min(month.to, floorTo(now, QUARTER_HOUR) + QUARTER_HOUR);
  const carriers: QualityReport['carriers'] = [];
  for (const c of CARRIERS) {
    const q = await carrierQuality(env, idx, firmId, c, month.from, end);
    if (q) carriers.push(q);
  }
  return {
    firmId, from: month.from, to: end,
    rules: { intervalMinutes: 15, completenessMin: 0.9, consistencyMaxDeviation: 0.05, standard: 'GB/T 38692-2020' },
    carriers,
  };
}

/** Completeness of every firm for one local day (bureau overview), from the rollups. */
export async function completenessOverview(env: EnergyEnv, day: number, now = Date.now(), includeDemo = false): Promise<CompletenessOverview> {
  const idx = await env.ctx.index.get();
  const demo = demoFilter(idx, { kind: 'prefecture', id: '' }, includeDemo);
  const end = Math.min(day + DAY, floorTo(now, QUARTER_HOUR) + QUARTER_HOUR);
  const expected = Math.max(0, Math.round((end - day) / QUARTER_HOUR));
  const per = new Map<string, Map<Carrier, Map<string, number>>>();
  for (const r of await env.ctx.store.rollupCounts({ kind: 'prefecture', id: '' }, CARRIERS, day, end)) {
    if (!isCarrier(r.quantity)) continue;
    const byC = per.get(r.firmId) ?? new Map<Carrier, Map<string, number>>();
    const bySource = byC.get(r.quantity) ?? new Map<string, number>();
    bySource.set(r.source, r.count);
    byC.set(r.quantity, bySource);
    per.set(r.firmId, byC);
  }
  const firms = [...idx.firms.values()].filter((f) => (idx.typesByFirm.get(f.id)?.size ?? 0) > 0 && !demo.leftOut.has(f.id)).map((f) => {
    const carriers: CompletenessOverview['firms'][number]['carriers'] = {};
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
  return { date: localDate(day), expectedIntervals: expected, firms, includeDemo, demoFirmsLeftOut: demo.demoFirmsLeftOut };
}
