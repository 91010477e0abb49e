// What the API reads of the rollup job (how fresh the rollups are, which quarters wait, the last run), wherever the
// job runs: on the API's event loop (RollupJob: tests, tools) or on a worker thread (RollupWorker: api/main.ts,
// the benchmark), which reports its progress after every run. One reading of the progress for both.
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { DirtyQuarter } from '../../common/telemetry-store/questions/dirty.ts';
import { HOUR, MINUTE, QUARTER_HOUR, floorTo } from '../../common/time.ts';
import type { Settings } from '../base/db.ts';

export interface RollupStats {
  from: number;
  to: number;
  points: number;
  resets: number;
  ms: number;
}

/** The job's state as its readers need it; a worker posts it after every run. */
export interface RollupProgress {
  /** The timers run (start() without stop()). */
  running: boolean;
  /** Start of the newest successful timer-driven tick while the timers run. */
  keptUpAt: number | undefined;
  /** Start of the last successful tick (kept across restarts): marks made before it, less the store's slack, are reflected. */
  watermark: number | undefined;
  lastRun: RollupStats | undefined;
  lastError: string | undefined;
}

/** Where the watermark survives a restart. */
export interface RollupCheckpoint {
  load(): number | undefined;
  save(watermark: number): void;
}

const ROLLUP_WATERMARK = 'energy.rollups.watermark';

/** The watermark in the monitoring database's settings (the API thread and the job's worker open the same file). */
export function rollupCheckpoint(settings: Settings): RollupCheckpoint {
  return {
    load: () => settings.get<number | null>(ROLLUP_WATERMARK, null).value ?? undefined,
    save: (at: number) => settings.put(ROLLUP_WATERMARK, at, { name: 'energy rollups', tokenId: '' }),
  };
}

/** How far ahead of the reader's clock device timestamps and marks may lie (MAX_CLOCK_AHEAD_MS and host skew). */
export const AHEAD_MS = 10 * MINUTE;

/** The rollup job as the API uses it. */
export abstract class RollupReads {
  protected progress: RollupProgress;
  private longPending: { at: number; marks: Promise<DirtyQuarter[]> } | undefined;

  constructor(protected readonly store: TelemetryStore, private readonly periodMs: number, watermark: number | undefined) {
    this.progress = { running: false, keptUpAt: undefined, watermark, lastRun: undefined, lastError: undefined };
  }

  /** Builds missing coarse rollups, then recomputes the marked quarters now and every period. */
  abstract start(): void;
  abstract stop(): Promise<void>;
  /** Recomputes [from, to) for every firm now (admin rebuild, tests, benchmark), one run at a time. */
  abstract rebuild(from: number, to: number): Promise<RollupStats>;
  /** Recomputes the quarters marked since the watermark, now (tests; the timer does this every period). */
  abstract tick(): Promise<RollupStats>;

  get lastRun(): RollupStats | undefined {
    return this.progress.lastRun;
  }

  get lastError(): string | undefined {
    return this.progress.lastError;
  }

  /** Start of the last successful tick (kept across restarts), if any. */
  get watermarkAt(): number | undefined {
    return this.progress.watermark;
  }

  /**
   * Until when the rollups are complete while the timers keep them up, quarters still marked aside (pending()):
   * the start of the quarter the newest tick started in. Undefined when the timers do not run or the last
   * successful tick is older than three periods (InfluxDB slow or down).
   */
  completeUntil(now = Date.now()): number | undefined {
    const { running, keptUpAt } = this.progress;
    if (!running || keptUpAt === undefined || now - keptUpAt > 3 * this.periodMs) return undefined;
    return floorTo(keptUpAt, QUARTER_HOUR);
  }

  /** When a quarter marked now will be in the rollups: two ticks (the mark may miss the next one); undefined when no timer runs. */
  pendingUntil(): number | undefined {
    if (!this.progress.running) return undefined;
    return (this.progress.keptUpAt ?? Date.now()) + 2 * this.periodMs;
  }

  /**
   * Firm-quarters whose rollups may not show everything stored yet: marks made since the watermark less the
   * store's slack (all kept marks before the first tick). A short time-bounded scan, asked afresh by every read.
   */
  pending(now = Date.now()): Promise<DirtyQuarter[]> {
    const since = Math.max(now - this.store.dirtyRetentionMs, (this.progress.watermark ?? -Infinity) - this.store.dirtySlackMs);
    const marks = () => this.store.dirtyQuarters({ since, until: now + AHEAD_MS });
    // Days of marks (before the first tick of a fresh start, or after an outage): not a scan per read.
    if (now - since <= HOUR) return marks();
    if (!this.longPending || now - this.longPending.at > 10_000) this.longPending = { at: now, marks: marks() };
    const cached = this.longPending;
    cached.marks.catch(() => { if (this.longPending === cached) this.longPending = undefined; });
    return cached.marks;
  }
}
