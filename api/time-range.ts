// Times from a request (TimeParam in api/schemas.ts): ms since the epoch or an RFC 3339 date-time, and ranges
// with a default span and a longest one. Bad values answer 400 naming the parameter and the limit.
import { DAY } from '../common/time.ts';
import { HttpError } from './errors.ts';

/**
 * The latest time a request may name (2255-03-14). InfluxDB stores times up to 2262 only: a later one makes a query
 * fail or silently answer nothing, so it is refused here with the limit instead.
 */
export const MAX_TIME_MS = 9_000_000_000_000;
const LATEST = new Date(MAX_TIME_MS).toISOString();

export function toMs(v: number | string | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name} is not a time: "${v}"`);
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
  const to = toMs(toIn, opts.now ?? Date.now(), 'to');
  const from = toMs(fromIn, to - defSpanMs, 'from');
  if (opts.closed ? !(from <= to) : !(from < to)) throw new HttpError(400, opts.closed ? 'from must not be after to' : 'from must be before to');
  if (to - from > maxSpanMs) throw new HttpError(400, `from and to may span at most ${Math.round(maxSpanMs / DAY)} days`);
  return { from, to };
}
