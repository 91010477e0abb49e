// Local time of the prefecture (Asia/Shanghai, UTC+8 all year, no daylight saving) and the shift calendar.
// Days, months, years and shifts are cut at local midnight / local shift starts; InfluxDB sees epoch ms.
export const TIMEZONE = 'Asia/Shanghai';
export const TZ_OFFSET_MS = 8 * 3_600_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const QUARTER_HOUR = 15 * MINUTE;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local midnight at or before `ts`. */
export function localDayStart(ts: number): number {
  return Math.floor((ts + TZ_OFFSET_MS) / DAY) * DAY - TZ_OFFSET_MS;
}

/** Local calendar fields of an instant. */
export function localParts(ts: number): { year: number; month: number; day: number; hour: number; minute: number } {
  const d = new Date(ts + TZ_OFFSET_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

/** "YYYY-MM-DD" (local). */
export function localDate(ts: number): string {
  const p = localParts(ts);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** "YYYY-MM" (local). */
export function localMonth(ts: number): string {
  const p = localParts(ts);
  return `${p.year}-${pad(p.month)}`;
}

/** "YYYY-MM-DDTHH:MM+08:00" (local), for CSV and people. */
export function localDateTime(ts: number): string {
  const p = localParts(ts);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}+08:00`;
}

export function localMidnight(year: number, month: number, day: number): number {
  return Date.UTC(year, month - 1, day) - TZ_OFFSET_MS;
}

/** Local midnight of "YYYY-MM-DD", or undefined when it is not such a date. */
export function parseLocalDate(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ts = localMidnight(y, mo, d);
  return localDate(ts) === s ? ts : undefined;
}

/** [start, end) of "YYYY-MM" in local time, or undefined. */
export function parseLocalMonth(s: string): { from: number; to: number } | undefined {
  const m = /^(\d{4})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const [y, mo] = [Number(m[1]), Number(m[2])];
  if (mo < 1 || mo > 12) return undefined;
  return { from: localMidnight(y, mo, 1), to: mo === 12 ? localMidnight(y + 1, 1, 1) : localMidnight(y, mo + 1, 1) };
}

export function yearStart(year: number): number {
  return localMidnight(year, 1, 1);
}

/** Cuts [from, to) at local new year, so each piece can use that year's conversion factors. */
export function splitByYear(from: number, to: number): Array<{ year: number; from: number; to: number }> {
  const out: Array<{ year: number; from: number; to: number }> = [];
  let a = from;
  while (a < to) {
    const year = localParts(a).year;
    const b = Math.min(to, yearStart(year + 1));
    out.push({ year, from: a, to: b });
    a = b;
  }
  return out;
}

/** Local day starts covering [from, to). */
export function daysIn(from: number, to: number): number[] {
  const out: number[] = [];
  for (let d = localDayStart(from); d < to; d += DAY) out.push(d);
  return out;
}

export function floorTo(ts: number, stepMs: number, offsetMs = 0): number {
  return Math.floor((ts - offsetMs) / stepMs) * stepMs + offsetMs;
}

export function ceilTo(ts: number, stepMs: number, offsetMs = 0): number {
  return Math.ceil((ts - offsetMs) / stepMs) * stepMs + offsetMs;
}

// ---- shift calendar ---------------------------------------------------------------------------------------

export interface ShiftDef {
  /** Short name shown to people, e.g. "A" or "早班". */
  name: string;
  /** Local start "HH:MM"; a shift lasts until the next one starts (the last wraps past midnight). */
  start: string;
}

export interface ShiftCalendar {
  timezone: typeof TIMEZONE;
  shifts: ShiftDef[];
}

export const DEFAULT_SHIFTS: ShiftCalendar = {
  timezone: TIMEZONE,
  shifts: [{ name: 'A', start: '00:00' }, { name: 'B', start: '08:00' }, { name: 'C', start: '16:00' }],
};

function minutesOf(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new Error(`shift start "${hhmm}" is not HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Why a calendar is unusable, or undefined. */
export function shiftCalendarProblem(cal: ShiftCalendar): string | undefined {
  if (cal.shifts.length === 0) return 'at least one shift is needed';
  const seen = new Set<number>();
  const names = new Set<string>();
  for (const s of cal.shifts) {
    let m: number;
    try {
      m = minutesOf(s.start);
    } catch (err) {
      return (err as Error).message;
    }
    if (seen.has(m)) return `two shifts start at ${s.start}`;
    if (names.has(s.name)) return `two shifts are named "${s.name}"`;
    seen.add(m);
    names.add(s.name);
  }
  return undefined;
}

export interface ShiftInstance {
  /** "YYYY-MM-DD/<name>": the local date the shift starts on. */
  id: string;
  date: string;
  name: string;
  start: number;
  end: number;
}

/** The shifts overlapping [from, to), clipped to it. */
export function shiftInstances(cal: ShiftCalendar, from: number, to: number): ShiftInstance[] {
  const sorted = [...cal.shifts].map((s) => ({ name: s.name, min: minutesOf(s.start) })).sort((a, b) => a.min - b.min);
  const out: ShiftInstance[] = [];
  for (let day = localDayStart(from) - DAY; day < to; day += DAY) {
    sorted.forEach((s, i) => {
      const start = day + s.min * MINUTE;
      const next = sorted[i + 1];
      const end = next ? day + next.min * MINUTE : day + DAY + (sorted[0]?.min ?? 0) * MINUTE;
      const a = Math.max(start, from);
      const b = Math.min(end, to);
      if (a < b) out.push({ id: `${localDate(start)}/${s.name}`, date: localDate(start), name: s.name, start: a, end: b });
    });
  }
  return out;
}
