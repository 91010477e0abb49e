// Fault injection for the simulators: what a tester can switch on, with a rate, per scenario file or with
// `--fault NAME=RATE`, and the pure functions that turn a good message into a faulty one. Which faults happen
// when is decided in program.ts with the device's own seeded Rng, so runs are reproducible.
import { deviceType, metricSpec } from '../common/contract/catalogue.ts';
import type { Rng } from './models.ts';

export const FAULT_NAMES = [
  'malformed', 'missing-field', 'out-of-range', 'wrong-type', 'duplicate', 'foreign-topic',
  'clock-skew', 'counter-reset', 'stuck', 'backfill', 'disconnect', 'storm',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export interface FaultInfo {
  /** What the rate is a probability of. */
  per: 'message' | 'device-minute' | 'fleet-minute';
  /** What the device does. */
  does: string;
  /** What the contract says the platform answers. */
  expect: string;
}

export const FAULT_INFO: Record<FaultName, FaultInfo> = {
  'malformed': { per: 'message', does: 'sends the telemetry JSON cut off part-way', expect: 'rejected, rule json' },
  'missing-field': { per: 'message', does: 'leaves out ts, seq or metrics', expect: 'rejected, rule required' },
  'out-of-range': { per: 'message', does: 'sends one metric outside its catalogue range', expect: 'rejected, rule minimum or maximum' },
  'wrong-type': { per: 'message', does: 'sends one metric as a string', expect: 'rejected, rule type' },
  'duplicate': { per: 'message', does: 'sends the same message (same ts and seq) again', expect: 'stored once' },
  'foreign-topic': { per: 'message', does: "publishes its telemetry on another device's topic", expect: 'rejected, rule topic; nothing stored for the other device' },
  'clock-skew': { per: 'device-minute', does: 'its clock runs ahead or behind for a while (default −5 to +15 min, 1–10 min long)', expect: 'more than 5 min ahead: rejected, rule clock-ahead; otherwise stored' },
  'counter-reset': { per: 'device-minute', does: 'its cumulative counters restart from 0 (a reboot or a replaced meter)', expect: 'stored (the contract allows resets)' },
  'stuck': { per: 'device-minute', does: 'one sensor repeats the same value for a while (default 5–30 min)', expect: 'stored' },
  'backfill': { per: 'device-minute', does: 'loses its network for a while (default 1–10 min), keeps measuring, then sends the backlog as {"points": [...]} batches with their old timestamps', expect: 'all points stored' },
  'disconnect': { per: 'device-minute', does: 'its connection drops without DISCONNECT (the last will fires) and comes back after 1–10 s; MQTT.js resends what was not acknowledged', expect: 'everything acknowledged is stored' },
  'storm': { per: 'fleet-minute', does: 'a share of the fleet (default 30–100 %) drops at once and reconnects within 1–5 s', expect: 'everything acknowledged is stored' },
};

export interface FaultSetting {
  /** Probability per message, per device-minute or per fleet-minute (see FAULT_INFO), 0–1. */
  rate: number;
  /** clock-skew: range of the clock offset, seconds (negative = behind). */
  skewS?: [number, number];
  /** clock-skew, stuck, backfill, disconnect, storm: how long it lasts, seconds. */
  durationS?: [number, number];
  /** storm: share of the fleet that drops. */
  share?: [number, number];
  /** backfill: points per batch message (1–1000). */
  batchPoints?: number;
}

export type FaultPlan = Partial<Record<FaultName, FaultSetting>>;

export const FAULT_DEFAULTS: Record<FaultName, Omit<FaultSetting, 'rate'>> = {
  'malformed': {},
  'missing-field': {},
  'out-of-range': {},
  'wrong-type': {},
  'duplicate': {},
  'foreign-topic': {},
  'clock-skew': { skewS: [-300, 900], durationS: [60, 600] },
  'counter-reset': {},
  'stuck': { durationS: [300, 1800] },
  'backfill': { durationS: [60, 600], batchPoints: 500 },
  'disconnect': { durationS: [1, 10] },
  'storm': { durationS: [1, 5], share: [0.3, 1] },
};

export function isFaultName(name: string): name is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(name);
}

/** Every fault's setting with its defaults filled in. */
export function settingOf(plan: FaultPlan, name: FaultName): Required<FaultSetting> | undefined {
  const s = plan[name];
  if (!s || s.rate <= 0) return undefined;
  const d = FAULT_DEFAULTS[name];
  return {
    rate: s.rate,
    skewS: s.skewS ?? d.skewS ?? [0, 0],
    durationS: s.durationS ?? d.durationS ?? [0, 0],
    share: s.share ?? d.share ?? [1, 1],
    batchPoints: s.batchPoints ?? d.batchPoints ?? 500,
  };
}

/** Probability that an event with `ratePerMinute` happens within dtMs. */
export function perStepChance(ratePerMinute: number, dtMs: number): number {
  if (ratePerMinute <= 0) return 0;
  if (ratePerMinute >= 1) return 1;
  return 1 - (1 - ratePerMinute) ** (dtMs / 60_000);
}

function rateProblem(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1 ? undefined : `must be a probability between 0 and 1, got ${JSON.stringify(v)}`;
}

const faultList = () => FAULT_NAMES.join(', ');

/** `--fault malformed=0.01` → ['malformed', 0.01]. Throws a message a person can act on. */
export function parseFaultFlag(text: string): [FaultName, number] {
  const eq = text.indexOf('=');
  if (eq < 0) throw new Error(`--fault "${text}": expected NAME=RATE, e.g. --fault malformed=0.01 (faults: ${faultList()})`);
  const name = text.slice(0, eq).trim();
  const rateText = text.slice(eq + 1).trim();
  if (!isFaultName(name)) throw new Error(`--fault "${text}": unknown fault "${name}"; faults: ${faultList()}`);
  const rate = rateText === '' ? Number.NaN : Number(rateText);
  const problem = rateProblem(rate);
  if (problem) throw new Error(`--fault "${text}": the rate ${problem.replace(/, got .*/, '')} (per ${FAULT_INFO[name].per}), got "${rateText}"`);
  return [name, rate];
}

function pair(v: unknown, where: string, lo: number, hi: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${where} must be a pair of numbers [min, max], got ${JSON.stringify(v)}`);
  }
  const [a, b] = v as [number, number];
  if (a > b) throw new Error(`${where}: min ${a} is above max ${b}`);
  if (a < lo || b > hi) throw new Error(`${where} must lie within ${lo}–${hi}, got [${a}, ${b}]`);
  return [a, b];
}

/**
 * A scenario's `faults:` section: `{malformed: 0.001, clock-skew: {rate: 0.01, skewS: [360, 900]}}`.
 * Throws with the path of the first problem.
 */
export function faultPlanFrom(raw: unknown, where = 'faults'): FaultPlan {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${where} must be a mapping of fault name to rate, e.g. {malformed: 0.001}`);
  const plan: FaultPlan = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const at = `${where}.${name}`;
    if (!isFaultName(name)) throw new Error(`${at}: unknown fault "${name}"; faults: ${faultList()}`);
    if (typeof v === 'number') {
      const p = rateProblem(v);
      if (p) throw new Error(`${at} ${p}`);
      plan[name] = { rate: v };
      continue;
    }
    plan[name] = settingFrom(v, at);
  }
  return plan;
}

/** One fault's `{rate, skewS, durationS, share, batchPoints}`. */
function settingFrom(v: unknown, at: string): FaultSetting {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${at} must be a rate (0–1) or {rate: …, …}, got ${JSON.stringify(v)}`);
  const o = v as Record<string, unknown>;
  const known = ['rate', 'skewS', 'durationS', 'share', 'batchPoints'];
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new Error(`${at}: unknown setting "${extra[0]}"; settings: ${known.join(', ')}`);
  const p = rateProblem(o.rate);
  if (p) throw new Error(`${at}.rate ${p}`);
  const s: FaultSetting = { rate: o.rate as number };
  if (o.skewS !== undefined) s.skewS = pair(o.skewS, `${at}.skewS`, -30 * 86_400, 86_400);
  if (o.durationS !== undefined) s.durationS = pair(o.durationS, `${at}.durationS`, 0, 7 * 86_400);
  if (o.share !== undefined) s.share = pair(o.share, `${at}.share`, 0, 1);
  if (o.batchPoints !== undefined) {
    if (!Number.isInteger(o.batchPoints) || (o.batchPoints as number) < 1 || (o.batchPoints as number) > 1000) throw new Error(`${at}.batchPoints must be a whole number 1–1000 (the contract's batch limit)`);
    s.batchPoints = o.batchPoints as number;
  }
  return s;
}

/** Flags win over the scenario: the rate changes, the other settings stay. */
export function withRates(plan: FaultPlan, rates: ReadonlyArray<[FaultName, number]>): FaultPlan {
  const out: FaultPlan = { ...plan };
  for (const [name, rate] of rates) out[name] = { ...(plan[name] ?? {}), rate };
  return out;
}

export function describePlan(plan: FaultPlan): string {
  const on = FAULT_NAMES.filter((n) => (plan[n]?.rate ?? 0) > 0);
  return on.length === 0 ? 'none' : on.map((n) => `${n}=${plan[n]?.rate} per ${FAULT_INFO[n].per}`).join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Pure message mutations

export interface PointOut {
  ts: number;
  seq: number;
  metrics: Record<string, number>;
}

/** A telemetry JSON cut off part-way (never valid: every strict prefix of a JSON object is invalid). */
export function malformedPayload(json: string, rng: Rng): string {
  const cut = 1 + Math.floor(rng() * Math.max(1, json.length - 2));
  return json.slice(0, cut);
}

/** The point without one of its required fields. */
export function withoutRequiredField(point: PointOut, rng: Rng): { value: Record<string, unknown>; field: string } {
  const fields = ['ts', 'seq', 'metrics'] as const;
  const field = fields[Math.floor(rng() * fields.length)] ?? 'ts';
  const value: Record<string, unknown> = { ...point };
  delete value[field];
  return { value, field };
}

/** Names of the gauges (non-counter metrics) in a reading. */
export function gaugesOf(type: string, metrics: Record<string, number>): string[] {
  return Object.keys(metrics).filter((k) => metricSpec(type, k)?.counter === false);
}

/** Names of the cumulative counters of a device type. */
export function countersOf(type: string): string[] {
  return (deviceType(type)?.metrics ?? []).filter((m) => m.counter).map((m) => m.name);
}

/** One metric pushed outside its catalogue range (a gauge above its maximum, or a counter below 0). */
export function outOfRange(type: string, point: PointOut, rng: Rng): { point: PointOut; metric: string; rule: 'maximum' | 'minimum' } {
  const gauges = gaugesOf(type, point.metrics);
  const names = gauges.length > 0 ? gauges : Object.keys(point.metrics);
  const metric = names[Math.floor(rng() * names.length)] ?? Object.keys(point.metrics)[0] ?? 'value';
  const spec = metricSpec(type, metric);
  const above = spec !== undefined && !spec.counter && rng() < 0.7;
  const value = spec === undefined ? -1 : above ? spec.max + Math.max(1, (spec.max - spec.min) * 0.5) : spec.min - Math.max(1, (spec.max - spec.min) * 0.1);
  return { point: { ...point, metrics: { ...point.metrics, [metric]: spec?.counter ? -1 : Math.round(value * 100) / 100 } }, metric, rule: above ? 'maximum' : 'minimum' };
}

/** One metric sent as a string ("612.5" instead of 612.5). */
export function wrongType(point: PointOut, rng: Rng): { value: Record<string, unknown>; metric: string } {
  const names = Object.keys(point.metrics);
  const metric = names[Math.floor(rng() * names.length)] ?? 'value';
  return { value: { ...point, metrics: { ...point.metrics, [metric]: String(point.metrics[metric]) } }, metric };
}

/** Offsets after a counter reset: the counters' current raw values, so the device reports 0 from now on. */
export function resetOffsets(type: string, raw: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of countersOf(type)) if (raw[c] !== undefined) out[c] = raw[c] as number;
  return out;
}

/** Counters as the device reports them after its resets: raw minus the offset, rounded, never below 0. */
export function applyOffsets(metrics: Record<string, number>, offsets: Record<string, number>): Record<string, number> {
  const out = { ...metrics };
  for (const [k, off] of Object.entries(offsets)) {
    const v = out[k];
    if (v !== undefined) out[k] = Math.max(0, Math.round((v - off) * 1e4) / 1e4);
  }
  return out;
}

/** A gauge to get stuck (undefined when the reading has none). */
export function pickStuckMetric(type: string, metrics: Record<string, number>, rng: Rng): string | undefined {
  const gauges = gaugesOf(type, metrics);
  return gauges[Math.floor(rng() * gauges.length)];
}

/** Store-and-forward backlog as batch payloads of at most `max` points each, oldest first. */
export function batchPayloads(points: readonly PointOut[], max: number): Array<{ payload: string; points: PointOut[] }> {
  const size = Math.max(1, Math.min(1000, Math.floor(max)));
  const out: Array<{ payload: string; points: PointOut[] }> = [];
  for (let i = 0; i < points.length; i += size) {
    const chunk = points.slice(i, i + size);
    out.push({ payload: JSON.stringify({ points: chunk }), points: chunk });
  }
  return out;
}
