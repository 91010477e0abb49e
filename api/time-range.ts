// Times from a request (TimeParam in api/schemas.ts): ms since the epoch or an RFC 3339 date-time, and ranges
// with a default span and a longest one. Bad values answer 400.
import { DAY } from '../common/time.ts';
import { HttpError } from './errors.ts';

export function toMs(v: number | string | undefined, def: number, name: string): number {
  if (v === undefined) return def;
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new HttpError(400, `${name} is not a time: "${v}"`);
  return ms;
}

export function range(fromIn: number | string | undefined, toIn: number | string | undefined, defSpanMs: number, maxSpanMs: number, now = Date.now()): { from: number; to: number } {
  const to = toMs(toIn, now, 'to');
  const from = toMs(fromIn, to - defSpanMs, 'from');
  if (!(from < to)) throw new HttpError(400, 'from must be before to');
  if (to - from > maxSpanMs) throw new HttpError(400, `the range may span at most ${Math.round(maxSpanMs / DAY)} days`);
  return { from, to };
}
