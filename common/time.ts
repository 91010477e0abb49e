// China has one time zone and no daylight saving: Asia/Shanghai is always UTC+8.
export const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** The calendar day (YYYY-MM-DD) in Asia/Shanghai of a moment in ms. */
export function shanghaiDay(ms: number): string {
  return new Date(ms + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);
}
