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
}

export interface DeadLetterRow extends DeadLetter {
  id: number;
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
  close(): Promise<void>;
}

export const DEAD_LETTER_PAYLOAD_LIMIT = 2048;

export function truncatePayload(payload: Buffer | string, limit = DEAD_LETTER_PAYLOAD_LIMIT): string {
  const s = typeof payload === 'string' ? payload : payload.toString('utf8');
  return s.length > limit ? `${s.slice(0, limit)}…(${s.length - limit} more characters)` : s;
}
