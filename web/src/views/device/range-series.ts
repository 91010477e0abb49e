// What the device page draws over a picked range, worked out without the page (so it is tested alone): the
// interval a chart asks for, and the machine-state segments of a range with the time per state.
const MINUTE = 60_000;
/** Points a chart draws at most (a month in 15-minute intervals is 2,976). */
export const MAX_POINTS = 3000;
/** Interval lengths to choose from: 24 h in minutes, 7 days in 5 minutes, 31 days in 15 minutes. */
const INTERVALS = [1, 5, 15, 30, 60].map((n) => n * MINUTE);
/** After this long without a message the monitoring counts a device's state as unknown (its default). */
export const UNKNOWN_AFTER_MS = 10 * MINUTE;

/** Raw points where a range is short enough (0), else the shortest interval giving at most MAX_POINTS. */
export function chartInterval(spanMs: number): number {
  if (spanMs <= 3 * 60 * MINUTE) return 0;
  return INTERVALS.find((ms) => Math.ceil(spanMs / ms) <= MAX_POINTS) ?? 60 * MINUTE;
}

export interface Segment { state: string; from: number; to: number }
interface StateEvent { ts: number; state: string }

/**
 * Segments of [from, to) as the monitoring counts time in state: the state before `from` (unknown without one)
 * until the first event, each event until the next; after `knownUntil` (the device went silent) unknown.
 */
export function rangeSegments(h: { before: StateEvent | null; events: readonly StateEvent[] }, from: number, to: number, knownUntil = to): Segment[] {
  const out: Segment[] = [];
  const end = Math.max(from, Math.min(to, knownUntil));
  let cur = { state: h.before?.state ?? 'unknown', from };
  for (const e of h.events) {
    if (e.ts >= end) break;
    if (e.ts > cur.from) out.push({ ...cur, to: e.ts });
    cur = { state: e.state, from: Math.max(e.ts, from) };
  }
  if (end > cur.from) out.push({ ...cur, to: end });
  if (to > end) out.push({ state: 'unknown', from: end, to });
  return out;
}

/** Milliseconds per state (states not in `known` count as unknown). */
export function timePerState(segments: readonly Segment[], known: readonly string[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of segments) {
    const k = known.includes(s.state) ? s.state : 'unknown';
    sums.set(k, (sums.get(k) ?? 0) + s.to - s.from);
  }
  return sums;
}
