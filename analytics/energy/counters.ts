// Steps of the counter questions (what cumulative counters gained per step; the store answers them): how fine a
// step suits a range, and a range widened to whole steps.

/** A step for a range: fine for short ranges, coarser for long ones (precision of reset handling vs. cost). */
export function stepFor(rangeMs: number): number {
  if (rangeMs <= 2 * 86_400_000) return 60_000;
  if (rangeMs <= 62 * 86_400_000) return 15 * 60_000;
  return 3_600_000;
}

/** [from, to) widened to whole steps (the figures are per step). */
export function alignRange(from: number, to: number, stepMs: number): { from: number; to: number } {
  return { from: Math.floor(from / stepMs) * stepMs, to: Math.ceil(to / stepMs) * stepMs };
}
