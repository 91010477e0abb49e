// 15-minute rollups (GB/T 38692-2020: real-time indicators every 15 min): per firm, quantity (energy carrier or
// output) and source measurement, the counter increments of the interval: the store gives each device's gain per
// 15 minutes with the reset rules (counterSteps), this job adds them up per firm and writes them back as the
// 15-minute rollups (writeRollups; `rollup_15m` in InfluxDB). Overviews over long ranges and whole counties read
// these instead of every device's raw points.
//
// The rollup keeps the source measurement (electricity from looms vs from the main meter), not the counting
// rule: which source a firm's figure uses (meters first, cogeneration boundary) is decided at query time, so
// changing a firm's cogeneration flag needs no rebuild.
//
// Freshness: a timer recomputes the current and the previous interval every 2 minutes (lookback 30 min) and
// the last 26 h every 3 hours (lookback 6 h), so late or backfilled data (store-and-forward) and devices that
// report less often than the short lookback are picked up; older backfill needs rebuild(). The cost is one
// scan of the raw points in the window (docs/benchmarks-monitoring.md has the figures for 30,000 devices).
// Points are deterministic (same tags and time), so recomputing overwrites instead of adding.
//
// Hourly and daily rollups (`rollup_1h`, `rollup_1d`: one point per firm, quantity, source and hour or local day,
// Asia/Shanghai) are summed by the store from the finer ones for the hours and days each computation touched.
// A range reads whole days from `rollup_1d`, whole hours at its ends from `rollup_1h` and only the quarters at
// its very ends from `rollup_15m`: a month of the prefecture (300 firms) is about 15,000 points instead of
// 1.2 million.
import type { Logger } from '../../common/log.ts';
import type { FirmIndex } from '../base/firm-index.ts';
import { DAY, HOUR, MINUTE, QUARTER_HOUR, floorTo } from '../../common/time.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { ROLLUP_BUCKETS, type RollupPoint, type RollupTier } from '../../common/telemetry-store/questions/energy.ts';
import { QUANTITIES, counterGroups, type Quantity } from './carriers.ts';

export type CoarseTier = Exclude<RollupTier, '15m'>;

/** Coarsest first; each is summed from the next finer one (the last from the 15-minute rollups). */
export const COARSE_TIERS: readonly CoarseTier[] = ['1d', '1h'];

export interface RollupOptions {
  /** Timer period of the recent recompute. */
  intervalMs: number;
  /** How much of the recent past each tick recomputes. */
  recentMs: number;
  /** Lookback of a tick (the reading an interval's first increment starts from). */
  recentLookbackMs: number;
  /** Period and span of the deep recompute (late data). */
  deepEveryMs: number;
  deepSpanMs: number;
  deepLookbackMs: number;
  /** How far back a start-up catch-up goes at most. */
  catchUpMs: number;
  /** Chunk of one computation (bounds the size of one InfluxDB query). */
  chunkMs: number;
  /** Span of one hourly- or daily-rollup query. */
  coarseChunkMs: number;
}

export const DEFAULT_ROLLUP_OPTIONS: RollupOptions = {
  intervalMs: 2 * MINUTE, recentMs: 15 * MINUTE, recentLookbackMs: 30 * MINUTE,
  deepEveryMs: 3 * HOUR, deepSpanMs: 26 * HOUR, deepLookbackMs: 6 * HOUR,
  catchUpMs: 2 * 24 * HOUR, chunkMs: 2 * HOUR, coarseChunkMs: 7 * DAY,
};

export interface RollupStats {
  from: number;
  to: number;
  points: number;
  resets: number;
  ms: number;
}

export class RollupJob {
  private timers: NodeJS.Timeout[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  lastRun: RollupStats | undefined;
  lastError: string | undefined;
  /** Start of the newest successful timer-driven run: every quarter that ended before it is rolled up. */
  private keptUpAt: number | undefined;

  constructor(
    private readonly store: TelemetryStore,
    private readonly index: FirmIndex,
    private readonly log: Logger | undefined,
    private readonly opts: RollupOptions = DEFAULT_ROLLUP_OPTIONS,
  ) {}

  /** Catch up from the newest rollup (or catchUpMs ago), then keep recent and deep recomputes running. */
  start(): void {
    void this.enqueue(() => this.coarseBackfill());
    void this.enqueue(() => this.keepUp());
    const recent = setInterval(() => { void this.enqueue(() => this.keepUp()); }, this.opts.intervalMs);
    const deep = setInterval(() => { void this.enqueue(() => this.computeNow(Date.now() - this.opts.deepSpanMs, Date.now(), this.opts.deepLookbackMs)); }, this.opts.deepEveryMs);
    recent.unref();
    deep.unref();
    this.timers.push(recent, deep);
  }

  /**
   * Until when the rollups are complete while the timers keep them up (late data aside, which the 3-hourly
   * recompute adds): the start of the quarter the newest catch-up or recent run started in. Undefined when the
   * timers do not run or the last successful run is older than three periods (InfluxDB slow or down).
   */
  completeUntil(now = Date.now()): number | undefined {
    if (this.timers.length === 0 || this.keptUpAt === undefined || now - this.keptUpAt > 3 * this.opts.intervalMs) return undefined;
    return floorTo(this.keptUpAt, QUARTER_HOUR);
  }

  /**
   * The timer's run: from where the last successful one started (so a failed run, an InfluxDB outage or a period
   * longer than recentMs leaves no gap), at start-up from the newest rollup; at most catchUpMs back.
   */
  private async keepUp(): Promise<RollupStats> {
    const now = Date.now();
    const since = this.keptUpAt ?? ((await this.store.rollupTime('15m', 'last')) ?? 0) - HOUR;
    const from = Math.max(now - this.opts.catchUpMs, Math.min(now - this.opts.recentMs, since));
    // A long way back (start-up, after an outage) with the deep lookback, which finds sparse reporters.
    const lookback = now - from > this.opts.recentMs + this.opts.intervalMs ? this.opts.deepLookbackMs : this.opts.recentLookbackMs;
    const stats = await this.computeNow(from, now, lookback);
    this.keptUpAt = now;
    return stats;
  }

  /**
   * Hourly and daily rollups for 15-minute ones that have none (data rolled up before those tiers existed): summed
   * from the 15-minute points, no raw data read. Runs once at start; a no-op when the daily tier reaches back as far.
   */
  private async coarseBackfill(): Promise<number> {
    const [oldest15, oldestDay] = await Promise.all([this.store.rollupTime('15m', 'first'), this.store.rollupTime('1d', 'first')]);
    if (oldest15 === undefined || (oldestDay !== undefined && oldestDay <= oldest15)) return 0;
    const to = oldestDay ?? Date.now();
    this.log?.info({ from: new Date(oldest15).toISOString(), to: new Date(to).toISOString() }, 'building hourly and daily energy rollups from the 15-minute ones');
    let points = 0;
    for (const tier of [...COARSE_TIERS].reverse()) points += await this.computeTier(tier, oldest15, to);
    return points;
  }

  stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.keptUpAt = undefined;
    return this.chain.then(() => undefined, () => undefined);
  }

  /** Recomputes [from, to) now (admin rebuild, tests, benchmark), one run at a time. */
  rebuild(from: number, to: number, lookbackMs = this.opts.deepLookbackMs): Promise<RollupStats> {
    return this.enqueue(() => this.computeNow(from, to, lookbackMs));
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.then(() => undefined, (err: Error) => {
      this.lastError = err.message;
      this.log?.warn({ err: err.message }, 'energy rollup failed; the next run retries');
    });
    return run;
  }

  private async computeNow(from: number, to: number, lookbackMs: number): Promise<RollupStats> {
    const started = Date.now();
    const a = floorTo(from, QUARTER_HOUR);
    const b = floorTo(to, QUARTER_HOUR) + QUARTER_HOUR;
    let points = 0;
    let resets = 0;
    for (let c = a; c < b; c += this.opts.chunkMs) {
      const r = await this.computeChunk(c, Math.min(b, c + this.opts.chunkMs), lookbackMs);
      points += r.points;
      resets += r.resets;
    }
    // Hours from the quarters, then days from the hours.
    for (const tier of [...COARSE_TIERS].reverse()) points += await this.computeTier(tier, a, b);
    const stats = { from: a, to: b, points, resets, ms: Date.now() - started };
    this.lastRun = stats;
    this.lastError = undefined;
    return stats;
  }

  private async computeChunk(from: number, to: number, lookbackMs: number): Promise<{ points: number; resets: number }> {
    let idx = await this.index.get();
    const points: RollupPoint[] = [];
    for (const q of QUANTITIES as readonly Quantity[]) {
      const groups = await this.firmSums(q, from, to, lookbackMs);
      // A firm the cached registry index does not know yet (just registered): reload once. The place tags are part
      // of the rollup's series, so writing a quarter without them and later with them would count it twice.
      if (groups.some((g) => !idx.firms.has(g.firmId)) && Date.now() - idx.at > 1000) {
        this.index.invalidate();
        idx = await this.index.get();
      }
      for (const g of groups) {
        const f = idx.firms.get(g.firmId);
        if (!f) continue; // not registered (removed, or a stray tag): nothing to add up for
        points.push({ ...g, county: f.county, park: f.park, segment: f.segment, quantity: q });
      }
    }
    await this.store.writeRollups(points);
    return { points: points.length, resets: points.reduce((n, p) => n + p.resets, 0) };
  }

  /** What each firm's devices of each source added to a quantity per quarter. */
  private async firmSums(q: Quantity, from: number, to: number, lookbackMs: number): Promise<Array<Omit<RollupPoint, 'county' | 'park' | 'segment' | 'quantity'>>> {
    const deltas = (await Promise.all(counterGroups(q).map(async (c) => (await this.store.counterSteps({
      metric: c.metric, measurements: c.measurements, scope: { kind: 'prefecture', id: '' }, from, to, stepMs: QUARTER_HOUR, lookbackMs, carry: ['firm'],
    })).map((d) => ({ ...d, value: d.value * c.scale }))))).flat();
    const groups = new Map<string, { firmId: string; source: string; time: number; value: number; devices: number; resets: number }>();
    for (const d of deltas) {
      const firmId = d.tags.firm ?? '';
      if (!firmId) continue;
      const k = `${firmId}/${d.measurement}/${d.time}`;
      const g = groups.get(k) ?? { firmId, source: d.measurement, time: d.time, value: 0, devices: 0, resets: 0 };
      g.value += d.value;
      g.devices++;
      if (d.reset) g.resets++;
      groups.set(k, g);
    }
    return [...groups.values()];
  }

  /** Re-sums a coarse tier for every bucket [from, to) touches, from the next finer tier, coarseChunkMs per query. */
  private async computeTier(tier: CoarseTier, from: number, to: number): Promise<number> {
    const { stepMs, offsetMs } = ROLLUP_BUCKETS[tier];
    const a = floorTo(from, stepMs, offsetMs);
    const b = floorTo(to - 1, stepMs, offsetMs) + stepMs;
    const chunk = Math.max(stepMs, floorTo(this.opts.coarseChunkMs, stepMs));
    let points = 0;
    for (let c = a; c < b; c += chunk) points += await this.store.rebuildRollupTier(tier, c, Math.min(b, c + chunk));
    return points;
  }
}
