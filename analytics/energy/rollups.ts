// 15-minute rollups (GB/T 38692-2020: real-time indicators every 15 min): per firm, quantity (energy carrier or
// output) and source measurement, the counter increments of the interval: the store gives each device's gain per
// 15 minutes with the reset rules (counterSteps), this job adds them up per firm and writes them back as the
// 15-minute rollups (writeRollups; `rollup_15m` in InfluxDB). Overviews over long ranges and whole counties read
// these instead of every device's raw points.
//
// The rollup keeps the source measurement (electricity from looms vs from the main meter), not the counting
// rule: which source a firm's figure uses (meters first, steam source) is decided at query time, so changing a
// firm's settings needs no rebuild.
//
// Freshness follows the data, not the clock: the telemetry store marks the quarters of each firm it writes
// (questions/dirty.ts), and every tick (2 minutes) recomputes exactly the marked quarters, whatever their age
// within MAX_AGE_DAYS, so live data and store-and-forward backfill days old alike show within a tick. New data
// in a quarter also moves the baseline of each of its devices' next reading, so a firm's span of marked quarters
// is recomputed up to the next reading of every device with data in it. Marks are re-read from a slack before
// the previous tick (writers' marks may become visible late and out of order); recomputing is idempotent, since
// points are deterministic (same tags and time) and overwrite. The start of the last successful tick is the
// watermark, kept in the monitoring database so a restart resumes where the job stopped. Without one (the first
// start of this version) the job also recomputes from its newest rollup, for data stored before writes were marked;
// with one older than the marks are kept (a week) it recomputes everything within MAX_AGE_DAYS.
//
// Hourly and daily rollups (`rollup_1h`, `rollup_1d`: one point per firm, quantity, source and hour or local day,
// Asia/Shanghai) are summed by the store from the finer ones for the hours and days each computation touched.
// A range reads whole days from `rollup_1d`, whole hours at its ends from `rollup_1h` and only the quarters at
// its very ends from `rollup_15m`: a month of the prefecture (300 firms) is about 15,000 points instead of
// 1.2 million.
import type { Logger } from '../../common/log.ts';
import type { FirmIndex } from '../base/firm-index.ts';
import type { Scope } from '../base/scope.ts';
import { DAY, HOUR, MINUTE, QUARTER_HOUR, floorTo } from '../../common/time.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { DirtyQuarter } from '../../common/telemetry-store/questions/dirty.ts';
import { AHEAD_MS, RollupReads, type RollupCheckpoint, type RollupProgress, type RollupStats } from './rollup-reads.ts';
import { ROLLUP_BUCKETS, type RollupPoint, type RollupTier } from '../../common/telemetry-store/questions/energy.ts';
import { QUANTITIES, counterGroups, type Quantity } from './carriers.ts';

export type CoarseTier = Exclude<RollupTier, '15m'>;

/** Coarsest first; each is summed from the next finer one (the last from the 15-minute rollups). */
export const COARSE_TIERS: readonly CoarseTier[] = ['1d', '1h'];

export interface RollupOptions {
  /** Timer period: how often marked quarters are recomputed. */
  intervalMs: number;
  /** Oldest quarter recomputed (MAX_AGE_DAYS: nothing older is admitted). */
  maxAgeMs: number;
  /** First start without a watermark: how far back the catch-up from the newest rollup goes at most. */
  catchUpMs: number;
  /** Chunk of one computation over every firm (bounds the size of one InfluxDB query). */
  chunkMs: number;
  /** Chunk of one computation of a single firm (its devices only: far fewer points per query). */
  firmChunkMs: number;
  /** Span of one hourly- or daily-rollup query. */
  coarseChunkMs: number;
  /** Marked quarters of a firm at most this far apart are recomputed as one span. */
  joinGapMs: number;
  /** Spans of at least this many firms are computed in one query over all firms rather than firm by firm. */
  allFirmsFrom: number;
}

export const DEFAULT_ROLLUP_OPTIONS: RollupOptions = {
  intervalMs: 2 * MINUTE, maxAgeMs: 30 * DAY, catchUpMs: 2 * DAY, chunkMs: 2 * HOUR, firmChunkMs: DAY, coarseChunkMs: 7 * DAY, joinGapMs: 6 * HOUR, allFirmsFrom: 8,
};

export type { RollupCheckpoint, RollupStats } from './rollup-reads.ts';

/** A range to recompute for some firms (undefined: every firm, one query). */
interface Span {
  from: number;
  to: number;
  firms: string[] | undefined;
}

const PREFECTURE: Scope = { kind: 'prefecture', id: '' };

function addStats(into: { points: number; resets: number }, r: { points: number; resets: number }): void {
  into.points += r.points;
  into.resets += r.resets;
}

/** Quarters as runs [from, to), quarters at most `gapMs` apart joined (a few quarters more cost less than a query more). */
function runs(quarters: readonly number[], gapMs: number): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (const q of [...quarters].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && q <= last.to + gapMs) last.to = Math.max(last.to, q + QUARTER_HOUR);
    else out.push({ from: q, to: q + QUARTER_HOUR });
  }
  return out;
}

/** Overlapping or adjacent ranges merged. */
function union(ranges: ReadonlyArray<{ from: number; to: number }>): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (const r of [...ranges].sort((a, b) => a.from - b.from)) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ from: r.from, to: r.to });
  }
  return out;
}

export class RollupJob extends RollupReads {
  private timers: NodeJS.Timeout[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    store: TelemetryStore,
    private readonly index: FirmIndex,
    private readonly log: Logger | undefined,
    private readonly opts: RollupOptions = DEFAULT_ROLLUP_OPTIONS,
    private readonly checkpoint?: RollupCheckpoint,
    /** Told after every run, start and stop (a worker thread posts it to the API's thread). */
    private readonly onProgress?: (progress: RollupProgress) => void,
  ) {
    super(store, opts.intervalMs, checkpoint?.load());
  }

  start(): void {
    void this.enqueue(() => this.coarseBackfill());
    void this.enqueue(() => this.keepUp());
    const timer = setInterval(() => { void this.enqueue(() => this.keepUp()); }, this.opts.intervalMs);
    timer.unref();
    this.timers.push(timer);
    this.setProgress({ running: true });
  }

  stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.setProgress({ running: false, keptUpAt: undefined });
    return this.chain.then(() => undefined, () => undefined);
  }

  rebuild(from: number, to: number): Promise<RollupStats> {
    return this.enqueue(() => this.computeRange(from, to));
  }

  tick(): Promise<RollupStats> {
    return this.enqueue(() => this.processMarks(Date.now()));
  }

  private setProgress(change: Partial<RollupProgress>): void {
    this.progress = { ...this.progress, ...change };
    this.onProgress?.(this.progress);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.then(() => undefined, (err: Error) => {
      this.setProgress({ lastError: err.message });
      this.log?.warn({ err: err.message }, 'energy rollup failed; the next run retries');
    });
    return run;
  }

  private async keepUp(): Promise<RollupStats> {
    const stats = await this.processMarks(Date.now());
    if (this.progress.running) this.setProgress({ keptUpAt: stats.startedAt });
    return stats;
  }

  /**
   * One tick: the marks since the watermark less the slack, or, without a usable watermark, a catch-up first (see
   * the head of this file). The watermark moves to the tick's start only when everything succeeded.
   */
  private async processMarks(now: number): Promise<RollupStats & { startedAt: number }> {
    const started = Date.now();
    const slack = this.store.dirtySlackMs;
    const total = { points: 0, resets: 0 };
    const watermark = this.progress.watermark;
    let since = watermark === undefined ? now - this.store.dirtyRetentionMs : watermark - slack;
    if (watermark === undefined) {
      const newest = (await this.store.rollupTime('15m', 'last')) ?? 0;
      const from = Math.max(now - this.opts.catchUpMs, newest - HOUR);
      if (newest > 0) addStats(total, await this.computeRange(from, now));
    } else if (now - watermark > this.store.dirtyRetentionMs - slack) {
      this.log?.warn({ watermark: new Date(watermark).toISOString() }, 'energy rollups were not kept up for longer than the dirty-quarter marks are kept: recomputing everything within MAX_AGE_DAYS');
      addStats(total, await this.computeRange(now - this.opts.maxAgeMs, now));
      since = now - this.store.dirtyRetentionMs;
    }
    const marks = await this.store.dirtyQuarters({ since, until: now + AHEAD_MS });
    const spans = await this.spansOf(marks, now);
    for (const s of spans) {
      const chunk = s.firms ? this.opts.firmChunkMs : this.opts.chunkMs;
      for (let c = s.from; c < s.to; c += chunk) addStats(total, await this.computeChunk(c, Math.min(s.to, c + chunk), s.firms));
    }
    for (const r of union(spans)) total.points += await this.coarse(r.from, r.to);
    this.checkpoint?.save(now);
    const stats = { from: spans.length > 0 ? Math.min(...spans.map((s) => s.from)) : now, to: spans.length > 0 ? Math.max(...spans.map((s) => s.to)) : now, ...total, ms: Date.now() - started };
    this.setProgress({ watermark: now, lastRun: stats, lastError: undefined });
    if (marks.length > 0) this.log?.debug({ marks: marks.length, spans: spans.length, points: total.points }, 'energy rollups recomputed for marked quarters');
    return { ...stats, startedAt: now };
  }

  /**
   * The ranges to recompute: per firm, each run of marked quarters (within MAX_AGE_DAYS) up to the next reading of
   * every device with data in it; runs shared by many firms (live data) become one computation over every firm.
   */
  private async spansOf(marks: readonly DirtyQuarter[], now: number): Promise<Span[]> {
    const oldest = floorTo(now - this.opts.maxAgeMs, QUARTER_HOUR);
    const byFirm = new Map<string, number[]>();
    for (const m of marks) {
      if (m.quarter < oldest || m.quarter > now + AHEAD_MS) continue;
      const list = byFirm.get(m.firmId) ?? [];
      list.push(m.quarter);
      byFirm.set(m.firmId, list);
    }
    const byRange = new Map<string, Span>();
    for (const [firmId, quarters] of byFirm) {
      const extended = [];
      for (const run of runs(quarters, this.opts.joinGapMs)) extended.push({ from: run.from, to: await this.extendToNextReadings(firmId, run.from, run.to, now) });
      for (const r of union(extended)) {
        const key = `${r.from}/${r.to}`;
        const s = byRange.get(key) ?? { ...r, firms: [] };
        s.firms?.push(firmId);
        byRange.set(key, s);
      }
    }
    const all = union([...byRange.values()].filter((s) => (s.firms?.length ?? 0) >= this.opts.allFirmsFrom)).map((r): Span => ({ ...r, firms: undefined }));
    const covered = (s: Span) => all.some((a) => a.from <= s.from && s.to <= a.to);
    return [...all, ...[...byRange.values()].filter((s) => (s.firms?.length ?? 0) < this.opts.allFirmsFrom && !covered(s))];
  }

  /** The end of a firm's run extended past the next reading of each device with data in it. */
  private async extendToNextReadings(firmId: string, from: number, to: number, now: number): Promise<number> {
    // Readings after the current quarter cannot exist yet, beyond device clocks running ahead.
    const ahead = floorTo(now + AHEAD_MS, QUARTER_HOUR) + QUARTER_HOUR;
    if (to > floorTo(now, QUARTER_HOUR)) return Math.max(to, ahead);
    const selections = (QUANTITIES as readonly Quantity[]).flatMap((q) => counterGroups(q));
    const following = await this.store.followingReadings({ firmId, selections, from, to, horizon: now + AHEAD_MS });
    let end = to;
    for (const r of following) if (r.next !== undefined) end = Math.max(end, floorTo(r.next, QUARTER_HOUR) + QUARTER_HOUR);
    return end;
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
    return this.coarse(oldest15, to);
  }

  /** Every firm over [from, to), then the hours and days above it. */
  private async computeRange(from: number, to: number): Promise<RollupStats> {
    const started = Date.now();
    const a = floorTo(from, QUARTER_HOUR);
    const b = floorTo(to, QUARTER_HOUR) + QUARTER_HOUR;
    const total = { points: 0, resets: 0 };
    for (let c = a; c < b; c += this.opts.chunkMs) addStats(total, await this.computeChunk(c, Math.min(b, c + this.opts.chunkMs), undefined));
    total.points += await this.coarse(a, b);
    const stats = { from: a, to: b, ...total, ms: Date.now() - started };
    this.setProgress({ lastRun: stats, lastError: undefined });
    return stats;
  }

  /** Hours from the quarters, then days from the hours. */
  private async coarse(from: number, to: number): Promise<number> {
    let points = 0;
    for (const tier of [...COARSE_TIERS].reverse()) points += await this.computeTier(tier, from, to);
    return points;
  }

  /** The 15-minute points of [from, to) of some firms (each in its own query) or of every firm (one query). */
  private async computeChunk(from: number, to: number, firms: readonly string[] | undefined): Promise<{ points: number; resets: number }> {
    const scopes: Scope[] = firms ? firms.map((id) => ({ kind: 'firm', id })) : [PREFECTURE];
    let idx = await this.index.get();
    const points: RollupPoint[] = [];
    for (const scope of scopes) {
      for (const { q, groups } of await this.quantitySums(scope, from, to)) {
        // A firm the cached registry index does not know yet (just registered): reload once.
        if (groups.some((g) => !idx.firms.has(g.firmId)) && Date.now() - idx.at > 1000) {
          this.index.invalidate();
          idx = await this.index.get();
        }
        for (const g of groups) {
          if (!idx.firms.has(g.firmId)) continue; // not registered (removed, or a stray tag): nothing to add up for
          points.push({ ...g, quantity: q });
        }
      }
    }
    await this.store.writeRollups(points);
    return { points: points.length, resets: points.reduce((n, p) => n + p.resets, 0) };
  }

  /** firmSums of every quantity: a firm's in parallel (small), every firm's one after the other (each a full scan). */
  private async quantitySums(scope: Scope, from: number, to: number): Promise<Array<{ q: Quantity; groups: Awaited<ReturnType<RollupJob['firmSums']>> }>> {
    const sum = async (q: Quantity) => ({ q, groups: await this.firmSums(q, scope, from, to) });
    if (scope.kind === 'firm') return Promise.all((QUANTITIES as readonly Quantity[]).map(sum));
    const out = [];
    for (const q of QUANTITIES as readonly Quantity[]) out.push(await sum(q));
    return out;
  }

  /**
   * What each firm's devices of each source added to a quantity per quarter, under the place tags the data carries
   * (docs/domain.md: stored data keeps the place it was tagged with, so recomputing a quarter after a firm moved
   * rewrites the same series instead of adding one under the new place).
   */
  private async firmSums(q: Quantity, scope: Scope, from: number, to: number): Promise<Array<Omit<RollupPoint, 'quantity'>>> {
    const deltas = (await Promise.all(counterGroups(q).map(async (c) => (await this.store.counterSteps({
      metric: c.metric, measurements: c.measurements, scope, from, to, stepMs: QUARTER_HOUR, carry: ['firm', 'county', 'park', 'segment'],
    })).map((d) => ({ ...d, value: d.value * c.scale }))))).flat();
    const groups = new Map<string, Omit<RollupPoint, 'quantity'>>();
    for (const d of deltas) {
      const firmId = d.tags.firm ?? '';
      if (!firmId) continue;
      const place = { county: d.tags.county ?? '', park: d.tags.park ?? '', segment: d.tags.segment ?? '' };
      const k = `${firmId}/${place.county}/${place.park}/${place.segment}/${d.measurement}/${d.time}`;
      const g = groups.get(k) ?? { firmId, ...place, source: d.measurement, time: d.time, value: 0, devices: 0, resets: 0 };
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
