// Questions about machines (states, mean readings, latest values) asked of the telemetry store, by name.
// A device id alone is not enough where the caller knows the firm: an id provisioned again under another firm
// must not show the old firm's data, so device questions carry the firm too.
import type { DeviceTags } from '../../contract/line-protocol.ts';
import type { Scope } from '../../contract/scope.ts';

/** One device of a firm, or every device of the firm. */
export interface FirmDevices {
  firmId: string;
  deviceId?: string | undefined;
}

/** A stored machine-state event (one point per change). */
export interface StoredStateEvent {
  ts: number;
  state: string;
  reason: string | null;
}

export interface StateHistoryQuestion extends FirmDevices {
  /** Events in [from, to). */
  from: number;
  to: number;
  /** How far before `from` to look for the state at `from` (bounded so old shards stay closed). */
  lookbackMs: number;
  /** At most this many events per device, the oldest first; all when absent. */
  limit?: number | undefined;
}

export interface DeviceStateHistory {
  deviceId: string;
  /** The last event in [from − lookbackMs, from), if any. */
  before: StoredStateEvent | null;
  /** Events in [from, to), oldest first. */
  events: StoredStateEvent[];
}

export interface MeansQuestion extends FirmDevices {
  measurement: string;
  /** Fields to average. */
  metrics: readonly string[];
  /** Only points where this field is above zero count (a machine's running speed); every point when absent. */
  aboveZero?: string | undefined;
  /** Periods [start, end) to average over, each on its own. */
  periods: ReadonlyArray<{ start: number; end: number }>;
}

export interface DeviceMeans {
  /** Index into the question's periods. */
  period: number;
  deviceId: string;
  /** Mean per asked metric; null where the device had points but not of that metric. */
  means: Record<string, number | null>;
}

/** Where a stored series belongs: its tags ('' where a tag is absent). */
export type SeriesOwner = DeviceTags;

export interface LatestField {
  measurement: string;
  field: string;
  /** Only values stamped in (after, until]. */
  after: number;
  until: number;
}

export interface LatestValue {
  measurement: string;
  field: string;
  owner: SeriesOwner;
  ts: number;
  value: string | number | boolean;
}

export interface SeriesIntervalsQuestion extends FirmDevices {
  deviceId: string;
  measurement: string;
  metric: string;
  /** Points in [from, to] (closed, as deviceSeries). */
  from: number;
  to: number;
  /** Interval length: the intervals are [from + k·everyMs, from + (k+1)·everyMs), the last one cut at `to`. */
  everyMs: number;
  /** At most this many intervals, the oldest first. */
  limit: number;
}

/** One interval of a downsampled series: the mean, and the extremes so a short spike stays visible. */
export interface SeriesInterval {
  /** Start of the interval. */
  ts: number;
  mean: number;
  min: number;
  max: number;
  /** Points in the interval. */
  count: number;
}

export interface MachineQuestions {
  /** State events of one device or of every device of a firm in a range, with the state before it (sorted by device id). */
  stateHistory(q: StateHistoryQuestion): Promise<DeviceStateHistory[]>;
  /** The mean of some fields of one measurement per device and period; devices without points are left out. */
  meansPerPeriod(q: MeansQuestion): Promise<DeviceMeans[]>;
  /** One metric of one device per interval (mean, min, max, count), oldest first; intervals without points are left out. */
  seriesIntervals(q: SeriesIntervalsQuestion): Promise<SeriesInterval[]>;
  /**
   * The newest value of each field within its window, per stored series (a device whose firm or place tags
   * changed has one series per tag set) of a scope; series without device and firm tags are left out.
   * Each (measurement, field) is asked once.
   */
  latestValues(scope: Scope, fields: readonly LatestField[]): Promise<LatestValue[]>;
}
