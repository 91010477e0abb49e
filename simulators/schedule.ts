// Shifts: when a firm plans to produce. Outside every shift of a firm its machines stop (state `stopped`, SEMI E10
// non-scheduled time) and its meters fall to their base load. Times are local (Dehong is UTC+08:00).

export interface Shift {
  name: string;
  /** Minutes after local midnight. */
  startMin: number;
  /** Minutes after local midnight; ≤ startMin means the shift runs past midnight. 1440 = midnight. */
  endMin: number;
  /** Local weekdays (0 = Sunday) the shift starts on; all days when absent. */
  days?: readonly number[];
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** "08:00" → 480; throws with a message naming the text. */
export function parseClock(text: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const h = Number(m?.[1]);
  const min = Number(m?.[2]);
  if (!m || h > 24 || min > 59 || (h === 24 && min !== 0)) throw new Error(`"${text}" is not a time of day (HH:MM, 00:00–24:00)`);
  return h * 60 + min;
}

/** "08:00-16:00" → [480, 960]. */
export function parseHours(text: string): [number, number] {
  const parts = text.split('-');
  if (parts.length !== 2) throw new Error(`"${text}" is not a shift (HH:MM-HH:MM, e.g. 08:00-16:00 or 22:00-06:00)`);
  const start = parseClock(parts[0] as string);
  const end = parseClock(parts[1] as string);
  if (start === end && start !== 0) throw new Error(`shift "${text}" starts and ends at the same time (use 00:00-24:00 for all day)`);
  return [start, end];
}

/** "mon-sat" or "mon,wed,fri" → weekday numbers (0 = Sunday). */
export function parseDays(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.toLowerCase().split(',').map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.split('-').map((p) => p.trim().slice(0, 3));
    const from = DAY_NAMES.indexOf(a ?? '');
    const to = b === undefined ? from : DAY_NAMES.indexOf(b);
    if (from < 0 || to < 0) throw new Error(`"${text}" is not a list of weekdays (e.g. mon-sat or mon,wed,fri)`);
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  if (out.size === 0) throw new Error(`"${text}" names no weekday`);
  return [...out].sort((x, y) => x - y);
}

/** "+08:00" → 480 minutes. */
export function parseUtcOffset(text: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a UTC offset (e.g. +08:00)`);
  const v = Number(m[2]) * 60 + Number(m[3]);
  if (v > 14 * 60) throw new Error(`"${text}" is not a UTC offset (at most ±14:00)`);
  return m[1] === '-' ? -v : v;
}

function inShift(s: Shift, minuteOfDay: number, weekday: number): boolean {
  const startsOn = (d: number) => !s.days || s.days.includes(d);
  if (s.startMin === 0 && s.endMin === 1440) return startsOn(weekday);
  if (s.endMin > s.startMin) return startsOn(weekday) && minuteOfDay >= s.startMin && minuteOfDay < s.endMin;
  // Past midnight: the evening part belongs to today's shift, the early-morning part to yesterday's.
  if (minuteOfDay >= s.startMin) return startsOn(weekday);
  return minuteOfDay < s.endMin && startsOn((weekday + 6) % 7);
}

/** A schedule function for the models: true while any of the shifts is on. No shifts: always on. */
export function scheduleOf(shifts: readonly Shift[], utcOffsetMin = 480): ((tsMs: number) => boolean) | undefined {
  if (shifts.length === 0) return undefined;
  return (ts) => {
    const local = new Date(ts + utcOffsetMin * 60_000);
    const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
    const weekday = local.getUTCDay();
    return shifts.some((s) => inShift(s, minute, weekday));
  };
}
