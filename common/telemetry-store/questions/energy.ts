// Questions the energy analytics ask the telemetry store, by name: what cumulative counters gained (per group
// and bucket, or per device and step), and the energy rollups (15-minute, hourly and daily sums per firm,
// quantity and source measurement).
// The adapter decides how to answer them; the counting rule below (step increments, counter resets, meter
// jitter) is its to apply, so every adapter answers alike (test/conformance/telemetry-store-energy.ts).
import type { Scope } from '../../contract/scope.ts';
import { DAY, HOUR, QUARTER_HOUR, TZ_OFFSET_MS } from '../../time.ts';

/**
 * The counting rule of a cumulative register (docs/monitoring.md, "Counting a register"). A step counts its last
 * reading minus the device's last reading before the step, however old; a device's very first readings count
 * from its first reading. A fall of at most this fraction of the previous reading is meter jitter and counts
 * nothing (1000 → 999.95 kWh); any larger fall is a reset, whatever the register climbed back to within the
 * step. The broker's plausibility check (common/admission/plausibility.ts) classifies readings by the same rule.
 */
export const COUNTER_JITTER = 1e-4;

/** A fall from `previous` to `last` larger than jitter: the register began again from zero. */
export function isReset(previous: number, last: number): boolean {
  return last < previous && previous - last > COUNTER_JITTER * previous;
}

/**
 * What one step counts, from the device's last reading before it (`previous`) and the step's last and highest
 * readings: a rise its difference, jitter nothing, a reset its last reading from zero plus what the register
 * gained before the reset within the step (highest − previous).
 */
export function stepIncrement(previous: number, last: number, highest: number): { value: number; reset: boolean } {
  if (isReset(previous, last)) return { value: last + Math.max(0, highest - previous), reset: true };
  return { value: Math.max(0, last - previous), reset: false };
}

/** Tags a counter figure can be grouped by or filtered on (the measurement always separates series). */
export const COUNTER_TAGS = ['county', 'park', 'segment', 'firm', 'device'] as const;
export type CounterTag = (typeof COUNTER_TAGS)[number];

/** One cumulative counter (e.g. energy_kwh_total) of some measurements within a scope. */
export interface CounterSelection {
  metric: string;
  measurements: readonly string[];
  scope: Scope;
  /** Only series whose tags also equal these (e.g. one firm of a county). */
  match?: Partial<Record<CounterTag, string>> | undefined;
}

/**
 * The counting rule applies per step; any range made of whole steps counts the same whether asked at once or in
 * pieces, since every piece starts from each device's last reading before it.
 */
export interface CounterDeltasQuestion extends CounterSelection {
  /** [from, to): multiples of stepMs (after its offset). */
  from: number;
  to: number;
  /** Inner step: an increment belongs to the step in which its reading arrived. */
  stepMs: number;
  /** Offset of the inner steps (16 h makes 1-day steps local days in UTC+8). */
  stepOffsetMs?: number | undefined;
  /** Tags to sum per. */
  groupBy: readonly CounterTag[];
  /** Time buckets of whole steps; absent = one total over [from, to). */
  intervalMs?: number | undefined;
  /** Offset of the buckets (e.g. 16 h for local days in UTC+8). */
  offsetMs?: number | undefined;
}

export interface CounterDelta {
  measurement: string;
  /** The groupBy tags ('' where a series lacks one). */
  tags: Record<string, string>;
  /** Start of the bucket (`from` without intervalMs). */
  time: number;
  /** Sum of the increments (stepIncrement): a reset counts its new reading from zero, jitter counts zero. */
  value: number;
  resets: number;
}

export interface CounterStepsQuestion extends CounterSelection {
  /** [from, to), whole steps. */
  from: number;
  to: number;
  stepMs: number;
  /** Tags to carry besides device (e.g. firm). */
  carry: readonly CounterTag[];
}

/** What one device's counter gained in one step (steps without a reading have no row). */
export interface CounterStep {
  measurement: string;
  /** The carried tags and device. */
  tags: Record<string, string>;
  /** Start of the step. */
  time: number;
  value: number;
  reset: boolean;
}

/** Rollup tiers, finest first: each coarser one is summed from the next finer one. */
export const ROLLUP_TIERS = ['15m', '1h', '1d'] as const;
export type RollupTier = (typeof ROLLUP_TIERS)[number];

/** Bucket boundaries of a tier are offsetMs + k × stepMs (local midnight, Asia/Shanghai, for days). */
export const ROLLUP_BUCKETS: Record<RollupTier, { stepMs: number; offsetMs: number }> = {
  '15m': { stepMs: QUARTER_HOUR, offsetMs: 0 },
  '1h': { stepMs: HOUR, offsetMs: 0 },
  '1d': { stepMs: DAY, offsetMs: DAY - TZ_OFFSET_MS },
};

/** One 15-minute rollup point: what a firm's devices of one source measurement added to one quantity. */
export interface RollupPoint {
  firmId: string;
  county: string;
  park: string;
  segment: string;
  quantity: string;
  /** The measurement the counters came from. */
  source: string;
  /** Start of the quarter. */
  time: number;
  value: number;
  devices: number;
  resets: number;
}

/** Part of a range read from one tier (whole buckets of it). */
export interface RollupPiece {
  tier: RollupTier;
  from: number;
  to: number;
}

/** A sum over rollups of one firm, quantity and source. */
export interface RollupTotal {
  firmId: string;
  quantity: string;
  source: string;
  value: number;
  resets: number;
}

/** Firms to include, or (exclude) every firm but these; an empty exclusion includes every firm. */
export interface FirmFilter {
  ids: readonly string[];
  exclude?: boolean | undefined;
}

export interface RollupSeriesQuestion {
  scope: Scope;
  /** The tier read; its buckets must fit the interval. */
  tier: RollupTier;
  from: number;
  to: number;
  intervalMs: number;
  offsetMs?: number | undefined;
  firms?: FirmFilter | undefined;
  quantity?: string | undefined;
  sources?: readonly string[] | undefined;
}

/** The sum of one quantity and source over the selected firms in one interval (intervals without points have none). */
export interface RollupBucket {
  time: number;
  quantity: string;
  source: string;
  value: number;
}

export interface RollupCount {
  firmId: string;
  quantity: string;
  source: string;
  /** 15-minute points present. */
  count: number;
}

export interface RollupRowsQuestion {
  scope: Scope;
  from: number;
  to: number;
  /** At most this many rows per firm, quantity and source. */
  limit: number;
}

/** The stored 15-minute points of one firm, quantity and source, oldest first. */
export interface RollupRows {
  firmId: string;
  quantity: string;
  source: string;
  rows: Array<{ time: number; value: number; devices: number; resets: number }>;
}

export interface EnergyQuestions {
  /** What a counter gained per group (and bucket), from each device's last reading per step. */
  counterDeltas(q: CounterDeltasQuestion): Promise<CounterDelta[]>;
  /** What a counter gained per device and step (many devices, short ranges: the 15-minute rollups). */
  counterSteps(q: CounterStepsQuestion): Promise<CounterStep[]>;

  /** Stores 15-minute rollup points; a point of the same firm, quantity, source and quarter is replaced. */
  writeRollups(points: readonly RollupPoint[]): Promise<void>;
  /** Re-sums every bucket of a coarse tier that [from, to) touches from the next finer tier; returns the points written. */
  rebuildRollupTier(tier: Exclude<RollupTier, '15m'>, from: number, to: number): Promise<number>;
  /** Time of the oldest or the newest point of a tier, if any. */
  rollupTime(tier: RollupTier, edge: 'first' | 'last'): Promise<number | undefined>;
  /** Sums per firm, quantity and source over pieces of a range (rows of all pieces, not merged). */
  rollupTotals(scope: Scope, pieces: readonly RollupPiece[]): Promise<RollupTotal[]>;
  /** Sums per interval, quantity and source over the selected firms. */
  rollupSeries(q: RollupSeriesQuestion): Promise<RollupBucket[]>;
  /** 15-minute points present per firm, quantity and source in [from, to). */
  rollupCounts(scope: Scope, quantities: readonly string[], from: number, to: number): Promise<RollupCount[]>;
  /** The 15-minute points themselves (CSV export). */
  rollupRows(q: RollupRowsQuestion): Promise<RollupRows[]>;
}
