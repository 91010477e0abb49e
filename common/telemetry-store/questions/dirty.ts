// Questions about what was written: which quarters of which firm received telemetry ("dirty" quarters), so the
// rollups follow the data, not the clock (analytics/energy/rollups.ts), and reads can tell a rolled-up figure
// that is not final yet. The adapter marks the quarters as it writes; the marks are durable (written before
// write() resolves, so nothing the ingest writer acknowledged lacks one) and kept for a week.
//
// The guarantee readers build on: data of firm f in quarter q written at time w is covered by a mark (f, q, m)
// with w − markCoverMs < m ≤ w that can be read by w + markVisibleMs (marks are timestamped by the writer's
// clock when the write began; one mark stands for the writes of the same firm and quarter after it for
// markCoverMs, which keeps live data at about one mark per firm and minute). So a reader that re-reads
// marks from dirtySlackMs before its previous read misses none, whatever order concurrent writers' marks
// became visible in (test/conformance/telemetry-store.ts).
import type { CounterSelection } from './energy.ts';

/** One mark: data of a firm in the quarter starting at `quarter` was written at about `markedAt`. */
export interface DirtyQuarter {
  firmId: string;
  /** Start of the 15-minute quarter (epoch ms, a multiple of 15 min). */
  quarter: number;
  /** When the write began (the writer's clock). */
  markedAt: number;
}

export interface DirtyQuartersQuestion {
  /** Marks made in [since, until). */
  since: number;
  until: number;
}

export interface FollowingReadingsQuestion {
  firmId: string;
  /** The counters to look at (metric and measurements of each). */
  selections: ReadonlyArray<Pick<CounterSelection, 'metric' | 'measurements'>>;
  /** Devices with a reading in [from, to) are the ones asked about. */
  from: number;
  to: number;
  /** Look for their next reading in [to, horizon). */
  horizon: number;
}

/** A device with a reading in [from, to), and the time of its first reading at or after `to`, if any before horizon. */
export interface FollowingReading {
  measurement: string;
  deviceId: string;
  next?: number;
}

export interface DirtyQuestions {
  /** Marks made in [since, until), one per firm and quarter (the newest), oldest quarter first. */
  dirtyQuarters(q: DirtyQuartersQuestion): Promise<DirtyQuarter[]>;
  /**
   * Where the increments that new data in [from, to) changes end: a counter's increment runs from the device's last
   * reading before a piece, so the device's next reading after the new ones counts from a new baseline.
   */
  followingReadings(q: FollowingReadingsQuestion): Promise<FollowingReading[]>;
  /** How far back of a previous read a reader re-reads marks so that it misses none (cover + visibility + clock skew). */
  readonly dirtySlackMs: number;
  /** How long marks are kept: a reader whose previous read is older must recompute instead. */
  readonly dirtyRetentionMs: number;
}
