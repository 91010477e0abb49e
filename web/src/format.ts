// Numbers with units, times in the prefecture's time zone (Asia/Shanghai, as the API's days and shifts).
import { currentLang, locale, t, tMaybe } from './i18n.ts';

export const TIME_ZONE = 'Asia/Shanghai';

function digitsFor(v: number): number {
  const a = Math.abs(v);
  if (a >= 1000) return 0;
  if (a >= 100) return 1;
  if (a >= 1) return 2;
  return a === 0 ? 0 : 3;
}

export function num(v: number | null | undefined, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const d = digits ?? digitsFor(v);
  const f = 10 ** d;
  const rounded = Math.round(v * f) / f;
  // No "-0" for a small negative value rounded away.
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: d, minimumFractionDigits: 0 }).format(rounded === 0 ? 0 : rounded);
}

/** A unit as shown: catalogue units that are words get translated (pieces → 件). */
export function unitLabel(unit: string): string {
  return tMaybe('unit_', unit);
}

/** A value with its unit, e.g. "612.5 rpm", "1,234 kWh". */
export function qty(v: number | null | undefined, unit: string, digits?: number): string {
  const u = unitLabel(unit);
  const n = num(v, digits);
  if (!u || n === '–') return n;
  if (u === '%') return `${n}%`;
  if (u === '1:n') return `1:${n}`;
  return `${n} ${u}`;
}

/** Large yuan amounts in 亿 / 万 (zh) or bn / m (en). */
export function money(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (currentLang() === 'zh') {
    if (Math.abs(v) >= 1e8) return `${num(v / 1e8, 2)} 亿元`;
    if (Math.abs(v) >= 1e4) return `${num(v / 1e4, 1)} 万元`;
    return `${num(v, 0)} 元`;
  }
  if (Math.abs(v) >= 1e9) return `¥${num(v / 1e9, 2)} bn`;
  if (Math.abs(v) >= 1e6) return `¥${num(v / 1e6, 1)} m`;
  return `¥${num(v, 0)}`;
}

export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(x * 100)}%`;
}

export function time(ts: number | null | undefined): string {
  if (!ts) return '–';
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ts);
}

export function dateTime(ts: number | null | undefined): string {
  if (!ts) return '–';
  // Month as a word ("3 Dec", "12月3日"): "03/12" reads as March in one country and December in another.
  const month = currentLang() === 'zh' ? 'long' : 'short';
  return new Intl.DateTimeFormat(locale(), { timeZone: TIME_ZONE, month, day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(ts);
}

/** "12 秒前" / "12 seconds ago". */
export function ago(ts: number | null | undefined, now = Date.now()): string {
  if (!ts) return t('never');
  const s = Math.round((now - ts) / 1000);
  if (s < 2) return t('agoNow');
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'always', style: 'short' });
  if (s < 60) return rtf.format(-s, 'second');
  if (s < 3600) return rtf.format(-Math.round(s / 60), 'minute');
  if (s < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
  return rtf.format(-Math.round(s / 86400), 'day');
}

export function duration(ms: number): string {
  const m = Math.round(ms / 60000);
  if (m < 60) return currentLang() === 'zh' ? `${m} 分钟` : `${m} min`;
  const hrs = Math.floor(m / 60);
  const rest = m % 60;
  return currentLang() === 'zh' ? `${hrs} 小时 ${rest} 分` : `${hrs} h ${rest} min`;
}

const DAY = 86_400_000;
const SHANGHAI_OFFSET = 8 * 3_600_000;
/** Start of today in Asia/Shanghai (UTC+8, no daylight saving), ms. */
export function shanghaiDayStart(now = Date.now()): number {
  return Math.floor((now + SHANGHAI_OFFSET) / DAY) * DAY - SHANGHAI_OFFSET;
}
