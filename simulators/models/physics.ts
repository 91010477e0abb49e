// Time, rates and smoothing shared by every machine model, and the catalogue clamp that keeps what they report
// inside the ranges admission checks.
import { deviceType } from '../../common/contract/catalogue.ts';

export const MIN = 60_000;
export const HOUR = 3_600_000;
/** Longest stretch simulated in one go: a 60-s step is 12 sub-steps, so rare events stay rare and ordered. */
export const SUBSTEP_MS = 5000;

export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
export const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
/** Exponential moving average over time constant tauMs. */
export const ema = (prev: number, value: number, dtMs: number, tauMs: number) => prev + (value - prev) * (1 - Math.exp(-dtMs / tauMs));
/** Cools by at most `drop` towards `floor`, never warming a bath that is already below it. */
export const coolTowards = (temp: number, floor: number, drop: number) => (temp > floor ? Math.max(floor, temp - drop) : temp);
/** Probability that an event with `perHour` rate happens within dtMs. */
export const chance = (perHour: number, dtMs: number) => 1 - Math.exp((-perHour * dtMs) / HOUR);

/** Walks a step of dt ms that ends at `end` in sub-steps of at most SUBSTEP_MS, each with its length and end time. */
export function forEachSubstep(dt: number, end: number, visit: (h: number, t: number) => void): void {
  let t = end - dt;
  for (let left = dt; left > 0;) {
    const h = Math.min(left, SUBSTEP_MS);
    left -= h;
    t += h;
    visit(h, t);
  }
}

/** Keeps each gauge inside its catalogue range and each counter ≥ 0, whatever the model computed. */
export function fit(type: string, metrics: Record<string, number>): Record<string, number> {
  const spec = deviceType(type);
  if (!spec) return metrics;
  const out: Record<string, number> = {};
  for (const m of spec.metrics) {
    const v = metrics[m.name];
    if (v === undefined || !Number.isFinite(v)) continue;
    out[m.name] = clamp(v, m.min, m.max);
  }
  return out;
}
