// Time ranges the pages show (today, this week, the last 30 days, custom dates…) in Asia/Shanghai days, the
// interval a range is charted by, the previous period it is compared with, and their place in the address
// (#/firm/<id>?range=7d, #/county/<code>?from=2026-12-01&to=2026-12-03) so a view can be bookmarked and shared.
const DAY = 86_400_000;
const OFFSET = 8 * 3_600_000; // UTC+8 all year: no daylight saving to mind.

export const PRESETS = ['1h', 'today', 'yesterday', 'week', 'month', 'year', '7d', '30d', 'custom'] as const;
export type Preset = (typeof PRESETS)[number];
export type Interval = '15m' | '1h' | '1d';
export const INTERVAL_MS: Record<Interval, number> = { '15m': 900_000, '1h': 3_600_000, '1d': DAY };

export interface TimeRange {
  preset: Preset;
  /** First instant, ms. */
  from: number;
  /** End of the period (exclusive), ms: may lie in the future (today, this month). */
  end: number;
  /** What there is data for: the end, or now when the period is still running. */
  to: number;
  /** Local dates of the first and the last day, inclusive (YYYY-MM-DD): what file names and date inputs show. */
  fromDate: string;
  toDate: string;
  /** The period is still running: charts follow the live feed. */
  live: boolean;
  interval: Interval;
  /** The previous period of the same length (calendar unit for week, month, year), up to the same point in it. */
  prev: { from: number; to: number };
}

export function dayStart(ms: number): number {
  return Math.floor((ms + OFFSET) / DAY) * DAY - OFFSET;
}

/** YYYY-MM-DD of an instant in Asia/Shanghai. */
export function localDate(ms: number): string {
  return new Date(ms + OFFSET).toISOString().slice(0, 10);
}

/** Local midnight of a YYYY-MM-DD date, or undefined when it is no calendar date. */
export function parseDate(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - OFFSET;
  return localDate(ms) === s ? ms : undefined;
}

/** Local midnight of the first day of the month `months` after the one of `ms` (negative: before). */
export function monthStart(ms: number, months = 0): number {
  const d = new Date(ms + OFFSET);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1) - OFFSET;
}

function yearStart(ms: number, years = 0): number {
  return Date.UTC(new Date(ms + OFFSET).getUTCFullYear() + years, 0, 1) - OFFSET;
}

/** Monday, as weeks are counted in China. */
function weekStart(ms: number): number {
  const d = dayStart(ms);
  return d - ((new Date(d + OFFSET).getUTCDay() + 6) % 7) * DAY;
}

/** The interval that gives a readable number of points: 15 min for a day, hours for a week, days beyond. */
export function intervalFor(spanMs: number): Interval {
  if (spanMs <= 2 * DAY) return '15m';
  if (spanMs <= 14 * DAY) return '1h';
  return '1d';
}

interface Bounds { from: number; end: number; prevFrom: number }

function bounds(preset: Exclude<Preset, 'custom'>, now: number): Bounds {
  const today = dayStart(now);
  switch (preset) {
    case '1h': return { from: now - 3_600_000, end: now, prevFrom: now - 7_200_000 };
    case 'today': return { from: today, end: today + DAY, prevFrom: today - DAY };
    case 'yesterday': return { from: today - DAY, end: today, prevFrom: today - 2 * DAY };
    case 'week': { const w = weekStart(now); return { from: w, end: w + 7 * DAY, prevFrom: w - 7 * DAY }; }
    case 'month': return { from: monthStart(now), end: monthStart(now, 1), prevFrom: monthStart(now, -1) };
    case 'year': return { from: yearStart(now), end: yearStart(now, 1), prevFrom: yearStart(now, -1) };
    case '7d': return { from: today - 6 * DAY, end: today + DAY, prevFrom: today - 13 * DAY };
    case '30d': return { from: today - 29 * DAY, end: today + DAY, prevFrom: today - 59 * DAY };
  }
}

function build(preset: Preset, b: Bounds, now: number): TimeRange {
  const to = Math.min(b.end, now);
  const live = b.end >= now;
  return {
    preset, from: b.from, end: b.end, to, live,
    fromDate: localDate(b.from), toDate: localDate(b.end - 1),
    // A year by day: 365 points read well; months would hide the season within them.
    interval: preset === '1h' ? '15m' : intervalFor(b.end - b.from),
    // Compared up to the same point of the previous period, so a running day is not set against a whole one.
    prev: { from: b.prevFrom, to: Math.min(b.prevFrom + (to - b.from), b.from) },
  };
}

export function presetRange(preset: Exclude<Preset, 'custom'>, now = Date.now()): TimeRange {
  return build(preset, bounds(preset, now), now);
}

/** Whole local days from `fromDate` to `toDate` (inclusive), or a reason they are not a range. */
export function customRange(fromDate: string, toDate: string, now = Date.now()): TimeRange | { error: 'dates' | 'order' } {
  const from = parseDate(fromDate);
  const last = parseDate(toDate);
  if (from === undefined || last === undefined) return { error: 'dates' };
  if (last < from) return { error: 'order' };
  const end = last + DAY;
  return build('custom', { from, end, prevFrom: from - (end - from) }, now);
}

/** The path of the address without its query: "/firm/X" of "#/firm/X?range=7d". */
export function hashPath(hash = location.hash): string {
  return hash.replace(/^#/, '').split('?')[0] || '/';
}

export function hashQuery(hash = location.hash): URLSearchParams {
  const i = hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : hash.slice(i + 1));
}

/** The range the address names, else the default. */
export function rangeFromHash(def: Exclude<Preset, 'custom'>, allowed: readonly Preset[] = PRESETS, hash = location.hash, now = Date.now()): TimeRange {
  const q = hashQuery(hash);
  const from = q.get('from');
  const to = q.get('to');
  if (allowed.includes('custom') && from && to) {
    const r = customRange(from, to, now);
    if (!('error' in r)) return r;
  }
  const p = q.get('range') as Preset | null;
  return presetRange(p && p !== 'custom' && allowed.includes(p) ? p : def, now);
}

/** The address with the range in its query (other query parameters kept). */
export function hashWithRange(r: TimeRange, hash = location.hash): string {
  const q = hashQuery(hash);
  q.delete('range');
  q.delete('from');
  q.delete('to');
  if (r.preset === 'custom') {
    q.set('from', r.fromDate);
    q.set('to', r.toDate);
  } else {
    q.set('range', r.preset);
  }
  return `#${hashPath(hash)}?${q.toString()}`;
}

/** "2026-12-01 08:15" in Asia/Shanghai: how exported files name an instant. */
export function localDateTime(ms: number): string {
  return new Date(ms + OFFSET).toISOString().slice(0, 16).replace('T', ' ');
}

/** A link to another view that keeps the range chosen here (drilling down keeps the period in view). */
export function keepRange(href: string, hash = location.hash): string {
  const q = hashQuery(hash);
  const kept = new URLSearchParams();
  for (const k of ['range', 'from', 'to']) { const v = q.get(k); if (v) kept.set(k, v); }
  const s = kept.toString();
  return s ? `${href}?${s}` : href;
}
