// Dirty-quarter marks in InfluxDB: the measurement dirty_quarter in the retention policy dirty_marks (7 days),
// tag firm (the only tag: one series per firm), field quarter (start of the quarter, epoch ms), timestamped by
// the time the write began. They are written after the data they mark (the data is visible when the mark is)
// in their own request: nanosecond timestamps with a random sub-millisecond part, so marks of one firm from one
// or several writers in the same millisecond do not overwrite each other (same series and time would).
// Servers that cannot create the retention policy over InfluxQL (2.x, 3 Core) keep the marks in the default one.
import { STATE_MEASUREMENT, escapeTag } from '../../contract/line-protocol.ts';
import { HOUR, DAY, MINUTE, QUARTER_HOUR, floorTo } from '../../time.ts';
import type { DirtyQuarter, DirtyQuartersQuestion, FollowingReading, FollowingReadingsQuestion } from '../questions/dirty.ts';
import { fromList, num } from './counters.ts';
import { and, ident, literal, timeRange, type Query, type QueryResultSeries } from './influxql.ts';

export const MARK_MEASUREMENT = 'dirty_quarter';
export const MARK_RP = 'dirty_marks';
export const MARK_RETENTION_MS = 7 * DAY;
/** One mark covers later writes of the same firm and quarter for this long (about one mark per firm a minute). */
export const MARK_COVER_MS = MINUTE;
/** Allowance for the clocks of writer and reader hosts differing. */
const CLOCK_SKEW_MS = MINUTE;

/** What a reader re-reads: cover + the data and the mark request each up to the request timeout + clock skew. */
export function dirtySlackMs(requestTimeoutMs: number): number {
  return MARK_COVER_MS + 2 * requestTimeoutMs + CLOCK_SKEW_MS;
}

/** Measurements that are not telemetry counters of a firm: machine states, the rollups, the marks themselves. */
function unmarked(measurement: string): boolean {
  return measurement === STATE_MEASUREMENT || measurement === MARK_MEASUREMENT || measurement.startsWith('rollup_');
}

function unescapeTag(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

const FIRM_TAG = /,firm=((?:\\.|[^,\\ ])+)/;

/** Firm and quarter of each line (millisecond timestamps) of telemetry; lines without a firm tag are not marked. */
export function quartersOf(lines: readonly string[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const chunk of lines) {
    for (const line of chunk.split('\n')) {
      const comma = line.indexOf(',');
      if (comma <= 0 || unmarked(line.slice(0, comma))) continue;
      const firm = FIRM_TAG.exec(line);
      const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (!firm || !Number.isSafeInteger(ts)) continue;
      const id = unescapeTag(firm[1]!);
      const set = out.get(id) ?? new Set<number>();
      set.add(floorTo(ts, QUARTER_HOUR));
      out.set(id, set);
    }
  }
  return out;
}

/** The firm-quarters a writer has marked lately, so live data adds about one mark per firm and minute. */
export class MarkCoalescer {
  private readonly marked = new Map<string, number>();

  /** The (firm, quarter) pairs of these lines that no mark of the last MARK_COVER_MS covers. */
  needed(lines: readonly string[], now: number): Array<{ firmId: string; quarter: number }> {
    const out: Array<{ firmId: string; quarter: number }> = [];
    for (const [firmId, quarters] of quartersOf(lines)) {
      for (const quarter of quarters) {
        const at = this.marked.get(`${firmId}\u0000${quarter}`);
        if (at === undefined || now - at >= MARK_COVER_MS) out.push({ firmId, quarter });
      }
    }
    return out;
  }

  /** Records marks once they are stored (never before: an unconfirmed mark covers nothing). */
  confirm(marks: ReadonlyArray<{ firmId: string; quarter: number }>, at: number): void {
    for (const m of marks) this.marked.set(`${m.firmId}\u0000${m.quarter}`, at);
    if (this.marked.size > 50_000) {
      for (const [k, t] of this.marked) if (at - t >= MARK_COVER_MS) this.marked.delete(k);
    }
  }
}

/** Line protocol of marks made at `at` (ms), with distinct nanosecond timestamps. */
export function markLines(marks: ReadonlyArray<{ firmId: string; quarter: number }>, at: number): string {
  const start = Math.floor(Math.random() * Math.max(1, 1_000_000 - marks.length));
  return marks.map((m, i) => `${MARK_MEASUREMENT},firm=${escapeTag(m.firmId)} quarter=${m.quarter}i ${Math.floor(at)}${String(start + i).padStart(6, '0')}`).join('\n');
}

/** InfluxDB's answer when the marks' retention policy is unknown to it (not created yet, or a 2.x/3.x server without a mapping). */
export function isMissingPolicy(message: string): boolean {
  return /retention policy|not found|dbrp|no such/i.test(message);
}

/** Marks in their retention policy and, where a server keeps them in the default one, there (both read, always). */
async function markSeries(query: Query, q: DirtyQuartersQuestion): Promise<QueryResultSeries[]> {
  const stmt = (from: string) => `SELECT "quarter" FROM ${from} WHERE ${timeRange(q.since, q.until)} GROUP BY "firm"`;
  const own = await query(stmt(`${ident(MARK_RP)}.${ident(MARK_MEASUREMENT)}`)).catch((err: Error) => {
    if (!isMissingPolicy(err.message)) throw err;
    return [];
  });
  return [...own, ...await query(stmt(ident(MARK_MEASUREMENT)))];
}

export async function dirtyQuarters(query: Query, q: DirtyQuartersQuestion): Promise<DirtyQuarter[]> {
  if (q.until <= q.since) return [];
  const series = await markSeries(query, q);
  const newest = new Map<string, DirtyQuarter>();
  for (const s of series) {
    const firmId = s.tags.firm ?? '';
    for (const [t, quarter] of s.values) {
      if (typeof quarter !== 'number' || !firmId) continue;
      const key = `${firmId}\u0000${quarter}`;
      const markedAt = num(t);
      if ((newest.get(key)?.markedAt ?? -Infinity) < markedAt) newest.set(key, { firmId, quarter, markedAt });
    }
  }
  return [...newest.values()].sort((a, b) => a.quarter - b.quarter || a.firmId.localeCompare(b.firmId));
}

/**
 * The next reading of each device with readings in [from, to): looked for in widening windows (an hour, a day, up
 * to the horizon), each only as long as some device's next reading is still unknown, so live devices cost a short scan.
 */
export async function followingReadings(query: Query, q: FollowingReadingsQuestion): Promise<FollowingReading[]> {
  const selections = q.selections.filter((s) => s.measurements.length > 0);
  if (selections.length === 0 || q.to <= q.from) return [];
  const firm = `"firm" = ${literal(q.firmId)}`;
  const key = (measurement: string, device: string) => `${measurement}\u0000${device}`;
  const out = new Map<string, FollowingReading>();
  const inRange = selections.map((s) => `SELECT last(${ident(s.metric)}) AS "l" FROM ${fromList(s.measurements)} WHERE ${and(firm, timeRange(q.from, q.to))} GROUP BY "device"`);
  for (const s of await query(inRange.join('; '))) out.set(key(s.name, s.tags.device ?? ''), { measurement: s.name, deviceId: s.tags.device ?? '' });
  let a = q.to;
  for (const span of [HOUR, DAY, Infinity]) {
    if (a >= q.horizon || [...out.values()].every((r) => r.next !== undefined)) break;
    const b = Math.min(q.horizon, a + span);
    const next = selections.map((s) => `SELECT first(${ident(s.metric)}) AS "n" FROM ${fromList(s.measurements)} WHERE ${and(firm, timeRange(a, b))} GROUP BY "device"`);
    for (const s of await query(next.join('; '))) {
      const r = out.get(key(s.name, s.tags.device ?? ''));
      const t = s.values[0]?.[0];
      if (r && typeof t === 'number' && (r.next === undefined || t < r.next)) r.next = t;
    }
    a = b;
  }
  return [...out.values()];
}
