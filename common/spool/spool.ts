// The spool port: the durable queue between admission (broker) and the ingest writer, plus the dead-letter
// store of rejected messages. A record is durable when append() resolves; it leaves only by ack() after
// InfluxDB confirmed it. One conformance suite (test/conformance/spool.ts) for every adapter.
export interface SpoolRecord {
  receivedAt: number;
  deviceId: string;
  /** Line protocol, one line per point, joined by "\n". */
  lines: string;
  points: number;
}

export interface SpoolRow extends SpoolRecord {
  id: number;
}

export interface DeadLetter {
  receivedAt: number;
  firmId: string;
  deviceId: string;
  topic: string;
  field: string;
  rule: string;
  reason: string;
  /** The payload as received, truncated to the spool's payload limit. */
  payload: string;
  /**
   * A quarantined reading (rule `implausible`): the validated point whole, as line protocol, so it can be released
   * into the store later. Absent for every other rejection.
   */
  reading?: string;
}

export interface DeadLetterRow extends Omit<DeadLetter, 'reading'> {
  id: number;
  /** A quarantined reading that can be released (it was kept whole). */
  releasable: boolean;
  releasedAt: number | null;
  releasedBy: string | null;
  releaseReason: string | null;
}

/** Which quarantined readings of one firm to release: by id, or by device and time range (receivedAt, inclusive). */
export interface ReleaseQuery {
  firmId: string;
  ids?: readonly number[];
  deviceId?: string;
  from?: number;
  to?: number;
  /** Who releases, and why (kept with each reading). */
  by: string;
  reason: string;
  at: number;
}

export interface ReleaseResult {
  /** Dead letters released now; their readings were appended to the spool in the same transaction. */
  released: number[];
  /** Matching dead letters released before (releasing again stores nothing). */
  alreadyReleased: number[];
  /** Points appended to the spool. */
  points: number;
  /** What was released per device (for the audit trail). */
  devices: Array<{ deviceId: string; ids: number[]; points: number }>;
}

/** Unreleased quarantined readings of one device (for the alarm that tells the firm). */
export interface QuarantineSummary {
  firmId: string;
  deviceId: string;
  count: number;
  oldestAt: number;
  newestAt: number;
}

/** Most quarantined readings one release may take; a larger batch is released in several calls. */
export const RELEASE_BATCH_LIMIT = 10_000;

/**
 * What admission remembers of one counter of a device (common/admission/point-history.ts), checkpointed so a
 * restarted broker judges the next reading against it instead of accepting it unbounded.
 */
export interface CounterMemory {
  deviceId: string;
  type: string;
  counter: string;
  ts: number;
  value: number;
  allowance: number;
}

export interface DeadLetterQuery {
  firmId?: string;
  deviceId?: string;
  /** Only rows with id below this (paging, newest first). */
  beforeId?: number;
  limit: number;
}

/** Rejections counted per device, rule and day (all of them, also those not kept as dead letters). */
export interface RejectionCount {
  day: string;
  firmId: string;
  deviceId: string;
  rule: string;
  count: number;
}

/** A service's own figures (broker, writer), published on the shared state file for /metrics. */
export interface ServiceStatus {
  name: string;
  at: number;
  values: Record<string, number>;
}

export interface SpoolStats {
  rows: number;
  points: number;
  oldestReceivedAt: number | null;
}

export interface Spool {
  /** Records, dead letters and rejection counts in one durable transaction: when this resolves, they survive a crash. */
  append(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[], counts?: readonly RejectionCount[]): Promise<void>;
  /** The oldest rows, in order, without removing them. */
  peek(maxRows: number): Promise<SpoolRow[]>;
  /** Removes the rows with firstId ≤ id ≤ lastId (after InfluxDB confirmed them). */
  ack(firstId: number, lastId: number): Promise<void>;
  stats(): Promise<SpoolStats>;
  rejectionCounts(q: { firmId?: string; deviceId?: string; sinceDay?: string }): Promise<RejectionCount[]>;
  putStatus(status: ServiceStatus): Promise<void>;
  statuses(): Promise<ServiceStatus[]>;
  listDeadLetters(q: DeadLetterQuery): Promise<DeadLetterRow[]>;
  pruneDeadLetters(olderThan: number): Promise<number>;
  /**
   * Releases quarantined readings in one durable transaction: their lines join the spool (the ingest writer stores
   * them like any admitted point) and they are marked released. Idempotent: a released one is never appended again.
   */
  releaseQuarantined(q: ReleaseQuery): Promise<ReleaseResult>;
  /** Unreleased quarantined readings per device received at or after `since`. */
  quarantineSummary(since: number): Promise<QuarantineSummary[]>;
  /** Upserts counter memory (one row per device and counter). */
  saveCounterMemory(rows: readonly CounterMemory[]): Promise<void>;
  loadCounterMemory(): Promise<CounterMemory[]>;
  close(): Promise<void>;
}

export const DEAD_LETTER_PAYLOAD_LIMIT = 2048;

export function truncatePayload(payload: Buffer | string, limit = DEAD_LETTER_PAYLOAD_LIMIT): string {
  const s = typeof payload === 'string' ? payload : payload.toString('utf8');
  return s.length > limit ? `${s.slice(0, limit)}…(${s.length - limit} more characters)` : s;
}
