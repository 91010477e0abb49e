// How much of a period a firm's energy telemetry covers: the local days with at least one daily energy rollup
// point (any quantity: a day a meter or machine reported a counter). A per-mu figure from two hours of energy
// against a year's output value is meaningless, so a firm is ranked only above PER_MU_MIN_COVERAGE.
import type { EnergyQuestions } from '../../common/telemetry-store/questions/energy.ts';
import { ROLLUP_BUCKETS } from '../../common/telemetry-store/questions/energy.ts';
import { DAY, MINUTE, daysIn, localDayStart } from '../../common/time.ts';

/** Share of the period's days with energy readings a firm needs to be ranked. */
export const PER_MU_MIN_COVERAGE = 0.9;

export interface EnergyCoverage {
  /** Local days of the period with energy readings. */
  daysWithData: number;
  /** Local days of the period (up to today). */
  days: number;
  coverage: number;
  enough: boolean;
}

export function coverageOf(daysWithData: number, from: number, to: number): EnergyCoverage {
  const days = daysIn(from, to).length;
  const coverage = days === 0 ? 0 : Math.min(1, daysWithData / days);
  return { daysWithData, days, coverage, enough: days > 0 && coverage >= PER_MU_MIN_COVERAGE };
}

/** Firms asked at once: one query each, a few in flight, so a long list does not flood the store. */
const PARALLEL = 4;

/** Days with energy readings per firm in [from, to), from the daily rollups. */
export async function energyDays(store: Pick<EnergyQuestions, 'rollupSeries'>, firmIds: readonly string[], from: number, to: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const { offsetMs } = ROLLUP_BUCKETS['1d'];
  const end = localDayStart(to - 1) + DAY;
  for (let i = 0; i < firmIds.length; i += PARALLEL) {
    await Promise.all(firmIds.slice(i, i + PARALLEL).map(async (id) => {
      const buckets = await store.rollupSeries({ scope: { kind: 'firm', id }, tier: '1d', from, to: end, intervalMs: DAY, offsetMs });
      out.set(id, new Set(buckets.map((b) => b.time)).size);
    }));
  }
  return out;
}

/** How long a firm's count of days is reused: the overview asks every minute, a day's data changes slowly. */
const REUSE_MS = 10 * MINUTE;

/** energyDays with each firm's answer for a period reused for a while (one query per firm, not per request). */
export class EnergyDays {
  private readonly known = new Map<string, { at: number; days: number }>();

  constructor(private readonly store: Pick<EnergyQuestions, 'rollupSeries'>) {}

  async of(firmIds: readonly string[], from: number, to: number, now = Date.now()): Promise<Map<string, number>> {
    const key = (id: string) => `${from}:${localDayStart(to - 1)}:${id}`;
    const fresh = (id: string) => { const k = this.known.get(key(id)); return k !== undefined && now - k.at < REUSE_MS; };
    const asked = await energyDays(this.store, firmIds.filter((id) => !fresh(id)), from, to);
    for (const [id, days] of asked) this.known.set(key(id), { at: now, days });
    for (const [k, v] of this.known) if (now - v.at >= REUSE_MS) this.known.delete(k);
    return new Map(firmIds.map((id) => [id, this.known.get(key(id))?.days ?? asked.get(id) ?? 0]));
  }
}
