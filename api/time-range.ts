// Times from a request (TimeParam in api/schemas.ts): ms since the epoch, an RFC 3339 date-time, or a local date
// (YYYY-MM-DD, Asia/Shanghai: what people type and what the page's date pickers send), and ranges with a default
// span and a longest one. Bad values answer 400 naming the parameter and the limit.
import { DAY, TIMEZONE, parseLocalDate } from '../common/time.ts';
import { HttpError } from './errors.ts';

/**
 * The latest time a request may name (2255-03-14). InfluxDB stores times up to 2262 only: a later one makes a query
 * fail or silently answer nothing, so it is refused here with the limit instead.
 */
export const MAX_TIME_MS = 9_000_000_000_000;
const LATEST = new Date(MAX_TIME_MS).toISOString();

/**
 * A time in ms. A bare date is local midnight; with `dateEnds` (the end of a range) it is the end of that day, so
 * from=2026-12-01&to=2026-12-01 is the whole of 1 December.
 */
export function toMs(v: number | string | undefined, def: number, name: string, dateEnds = false): number {
  if (v === undefined) return def;
  const day = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? parseLocalDate(v) : undefined;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && day === undefined) throw new HttpError(400, `${name} is not a calendar date: "${v}"`);
  const ms = day !== undefined ? day + (dateEnds ? DAY : 0) : typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name} is not a time: "${v}" (give ms since the epoch, an RFC 3339 date-time such as 2026-12-01T08:00:00+08:00, or a date such as 2026-12-01, read in ${TIMEZONE})`);
  if (ms < 0 || ms > MAX_TIME_MS) throw new HttpError(400, `${name} must lie between 1970-01-01T00:00:00Z and ${LATEST} (the times the telemetry store keeps); got "${v}"`);
  return ms;
}

export interface RangeOptions {
  /** The time `to` defaults to (and `from` counts back from). */
  now?: number;
  /** The range is closed, [from, to]: from may equal to. Otherwise [from, to) and from must be before to. */
  closed?: boolean;
}

export function range(fromIn: number | string | undefined, toIn: number | string | undefined, defSpanMs: number, maxSpanMs: number, opts: RangeOptions = {}): { from: number; to: number } {
  const to = toMs(toIn, opts.now ?? Date.now(), 'to', true);
  const from = toMs(fromIn, to - defSpanMs, 'from');
  if (opts.closed ? !(from <= to) : !(from < to)) throw new HttpError(400, opts.closed ? 'from must not be after to' : 'from must be before to');
  if (to - from > maxSpanMs) throw new HttpError(400, `from and to may span at most ${Math.round(maxSpanMs / DAY)} days`);
  return { from, to };
}
