// Plausible counters: a cumulative register (`*_total`) can gain only so much in a given time. The catalogue gives
// each counter of each device type the most it can gain in an hour (energy: 1.5 × the type's rated power); a
// reading that rises faster than that since the device's last accepted reading is quarantined, so a glitching meter
// (0, 1e13, 0, 1e13) cannot put 10¹³ kWh into the prefecture's totals. The rules mirror how the energy analytics
// count a register (COUNTER_JITTER in common/telemetry-store/questions/energy.ts): a rise counts its difference, a
// fall of more than a tiny fraction of the reading is a reset and counts the new reading from zero, a smaller fall is
// jitter and counts nothing. So everything the analytics would count is bounded here. Pure functions: the
// per-device memory is in point-history.ts.
import { deviceType, type MetricSpec } from '../contract/catalogue.ts';
import { isReset } from '../telemetry-store/questions/energy.ts';

/**
 * The allowance above max rate × elapsed time: this long at the maximum rate (device clock jitter, coarse
 * timestamps)... It is a bucket, not a margin per reading: what a rise uses of it comes back at the maximum rate, so
 * over any stretch of time a counter gains at most max rate × time + the allowance, however often it reports.
 */
export const SLACK_MS = 60_000;
/** ...plus this many units of the register (a register that counts whole kWh, m³ or pieces). */
export const SLACK_UNITS = 1;
/** More resets than this of one counter within RESET_WINDOW_MS is a reset loop, not a reboot. */
export const MAX_RESETS = 10;
export const RESET_WINDOW_MS = 3_600_000;

/** One counter of a device type, with its bound. */
export interface CounterRule {
  name: string;
  unit: string;
  /** Position of the counter in its type's list (the index into a device's memory). */
  index: number;
  maxPerHour: number;
  /** The most the register gains per millisecond. */
  perMs: number;
  /** The allowance bucket's size: what the register may gain above perMs × elapsed (clock jitter, resolution). */
  slack: number;
  basis: string;
}

/** How a reading follows the previous accepted one (see classifyStep). */
export const STEP_RISE = 0;
export const STEP_JITTER = 1;
export const STEP_RESET = 2;
export const STEP_TOO_FAST = 3;
/** An earlier reading (a late or replayed point) above the newest accepted one. */
export const STEP_LATE_ABOVE = 4;
export type Step = 0 | 1 | 2 | 3 | 4;

function ruleOf(spec: MetricSpec, index: number): CounterRule {
  const maxPerHour = spec.maxPerHour ?? Infinity;
  const perMs = maxPerHour / 3_600_000;
  return { name: spec.name, unit: spec.unit, index, maxPerHour, perMs, slack: perMs * SLACK_MS + SLACK_UNITS, basis: spec.rateBasis ?? '' };
}

const rulesByType = new Map<string, readonly CounterRule[]>();

/** The counters of a device type with their bounds (computed once per type). */
export function counterRules(type: string): readonly CounterRule[] {
  let rules = rulesByType.get(type);
  if (!rules) {
    rules = (deviceType(type)?.metrics ?? []).filter((s) => s.counter).map(ruleOf);
    rulesByType.set(type, rules);
  }
  return rules;
}

/** A device's own maximum rate may be at most this many times its type's (a meter on a bigger machine, not 10¹³). */
export const MAX_OVERRIDE_FACTOR = 100;

/** Per counter name: a device's own maximum gain per hour, set by an engineer (replaces its type's bound). */
export type RateOverrides = Readonly<Record<string, number>>;

/** Why `maxPerHour` cannot be the bound of `counter` on a device of `type`, or undefined when it can. */
export function overrideProblem(type: string, counter: string, maxPerHour: number): string | undefined {
  const rule = counterRules(type).find((r) => r.name === counter);
  if (!rule) return `"${counter}" is not a counter of a ${type}; its counters: ${counterRules(type).map((r) => r.name).join(', ') || 'none'}`;
  const most = rule.maxPerHour * MAX_OVERRIDE_FACTOR;
  if (!(maxPerHour > 0) || maxPerHour > most) return `maxPerHour of ${counter} must be above 0 and at most ${MAX_OVERRIDE_FACTOR} × the type's ${amount(rule.maxPerHour)} ${rule.unit}/h = ${amount(most)} ${rule.unit}/h`;
  return undefined;
}

/** The counters of a device with its own bounds where it has them (clamped to MAX_OVERRIDE_FACTOR × the type's). */
export function deviceCounterRules(type: string, overrides: RateOverrides | undefined): readonly CounterRule[] {
  const rules = counterRules(type);
  if (!overrides) return rules;
  return rules.map((r) => {
    const own = overrides[r.name];
    if (own === undefined || !(own > 0)) return r;
    const maxPerHour = Math.min(own, r.maxPerHour * MAX_OVERRIDE_FACTOR);
    const perMs = maxPerHour / 3_600_000;
    return { ...r, maxPerHour, perMs, slack: perMs * SLACK_MS + SLACK_UNITS, basis: 'set for this device' };
  });
}

/** The most the register may gain in `elapsedMs` (a negative elapsed time counts as none) with `allowance` left. */
export function allowedGain(rule: CounterRule, elapsedMs: number, allowance = rule.slack): number {
  return rule.perMs * Math.max(0, elapsedMs) + allowance;
}

/** What the analytics count for a step: a rise its difference, a reset its new reading, jitter nothing. */
export function countedGain(prevValue: number, value: number): number {
  if (value >= prevValue) return value - prevValue;
  return isReset(prevValue, value) ? value : 0;
}

/** The allowance left after an accepted step that counted `counted` (refilled at the max rate, up to the bucket). */
export function allowanceAfter(rule: CounterRule, elapsedMs: number, allowance: number, counted: number): number {
  return Math.min(rule.slack, allowedGain(rule, elapsedMs, allowance) - counted);
}

/**
 * How `value` at `ts` follows the previous accepted reading (`prevValue` at `prevTs`, the newest so far, with
 * `allowance` left): a rise within the bound, jitter, a reset whose new reading is within the bound, or
 * implausible. A reading older than the previous one may not be above it (beyond the bucket): a counter only rises.
 */
export function classifyStep(rule: CounterRule, prevTs: number, prevValue: number, allowance: number, ts: number, value: number): Step {
  if (ts < prevTs) return value > prevValue + rule.slack ? STEP_LATE_ABOVE : STEP_RISE;
  const allowed = allowedGain(rule, ts - prevTs, allowance);
  if (value >= prevValue) return value - prevValue > allowed ? STEP_TOO_FAST : STEP_RISE;
  if (!isReset(prevValue, value)) return STEP_JITTER;
  // A reset: the analytics count the new reading from zero, so it is bounded like a rise from zero.
  return value > allowed ? STEP_TOO_FAST : STEP_RESET;
}

/** A count for a person: 1e13 stays 1e13, 0.75 stays 0.75. */
function amount(x: number): string {
  if (x !== 0 && (Math.abs(x) >= 1e9 || Math.abs(x) < 1e-3)) return x.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(x.toPrecision(4)));
}

function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 120) return `${amount(s)} s`;
  if (s < 7200) return `${amount(s / 60)} min`;
  return `${amount(s / 3600)} h`;
}

/** "a rapier loom", "an electricity meter". */
function typeLabel(type: string): string {
  const name = (deviceType(type)?.en ?? type).toLowerCase();
  return `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Why a reading was quarantined, in words a person can act on. */
export function implausibleMessage(rule: CounterRule, type: string, step: Step, prevTs: number, prevValue: number, allowance: number, ts: number, value: number): string {
  const u = rule.unit;
  const fix = 'check the meter or register mapping; the reading is kept and not counted';
  if (step === STEP_LATE_ABOVE) {
    return `${rule.name} reads ${amount(value)} ${u} ${duration(prevTs - ts)} before a reading of ${amount(prevValue)} ${u}; a counter only rises, so an earlier reading cannot be higher: ${fix}`;
  }
  const elapsed = Math.max(0, ts - prevTs);
  const gain = countedGain(prevValue, value);
  const what = value >= prevValue ? `rose by ${amount(gain)} ${u}` : `was reset and then counted ${amount(gain)} ${u}`;
  return `${rule.name} ${what} in ${duration(elapsed)}; at most ${amount(rule.perMs * elapsed)} ${u} (${rule.basis}, ${amount(rule.maxPerHour)} ${u}/h) plus ${amount(allowance)} ${u} allowance is plausible for ${typeLabel(type)}: ${fix}`;
}

export function resetBurstMessage(rule: CounterRule, type: string, resets: number): string {
  return `${rule.name} was reset ${resets} times within an hour; at most ${MAX_RESETS} resets an hour are plausible for ${typeLabel(type)} (a reset loop or a register read wrongly): the readings are kept and not counted`;
}
