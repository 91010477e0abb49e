// Machine states (OPC 40001-1 / SEMI E10) over time and OEE: pure functions, no I/O.
//
// Time in state: a state lasts from its event until the next event of the same device. Before the first known
// event, and after the device stopped being seen, the state is "unknown" (not counted anywhere).
//
// OEE (docs/domain.md, OEE) = Availability × Performance × Quality:
//   planned production time = observed time − stopped (NST, non-scheduled) − maintenance (SDT, scheduled) − unknown
//   availability = running ÷ planned production time
//   performance  = mean speed while running ÷ the device's nominal speed, at most 1: a machine faster than its
//                  nominal says the nominal is wrong, not that it made more than ideal (nominalExceeded says so)
//   quality      = good ÷ total units, where a device reports both; otherwise OEE is A × P and says so.
// Loom efficiency (织造效率) is kept apart from OEE, in two labelled definitions: running ÷ (running + fault), the
// stop-driven running efficiency, which leaves idle and setup out; and the mills' running ÷ scheduled time
// (observed − non-scheduled − unknown), which counts idle, setup, maintenance and fault against the loom.
import { MACHINE_STATES, type MachineState } from '../../common/contract/catalogue.ts';

export const SEMI_E10: Record<MachineState, { code: string; zh: string; en: string }> = {
  running: { code: 'PRD', zh: '生产', en: 'productive' },
  idle: { code: 'SBY', zh: '待机', en: 'standby' },
  setup: { code: 'ENG', zh: '调机', en: 'engineering / setup' },
  maintenance: { code: 'SDT', zh: '计划停机', en: 'scheduled downtime' },
  fault: { code: 'UDT', zh: '故障停机', en: 'unscheduled downtime' },
  stopped: { code: 'NST', zh: '非计划时间', en: 'non-scheduled' },
};

export const TIME_KEYS = [...MACHINE_STATES, 'unknown'] as const;
export type TimeKey = (typeof TIME_KEYS)[number];
export type StateTimes = Record<TimeKey, number>;

export function zeroTimes(): StateTimes {
  return { running: 0, idle: 0, setup: 0, maintenance: 0, fault: 0, stopped: 0, unknown: 0 };
}

export function addTimes(into: StateTimes, t: StateTimes): void {
  for (const k of TIME_KEYS) into[k] += t[k];
}

export interface StateEvent {
  ts: number;
  state: string;
}

function key(state: string): TimeKey {
  return (MACHINE_STATES as readonly string[]).includes(state) ? (state as TimeKey) : 'unknown';
}

/**
 * Milliseconds per state within [from, to). `events` sorted by time, and may include the last event before
 * `from` (it gives the state at `from`). After `knownUntil` (the device went silent) time counts as unknown.
 */
export function timeInStates(events: readonly StateEvent[], from: number, to: number, knownUntil = to): StateTimes {
  const out = zeroTimes();
  if (to <= from) return out;
  let cur: TimeKey = 'unknown';
  let t = from;
  const add = (state: TimeKey, a: number, b: number) => {
    if (b <= a) return;
    const known = Math.min(b, Math.max(a, knownUntil));
    out[state] += known - a;
    out.unknown += b - known;
  };
  for (const e of events) {
    if (e.ts <= from) { cur = key(e.state); continue; }
    if (e.ts >= to) break;
    add(cur, t, e.ts);
    cur = key(e.state);
    t = e.ts;
  }
  add(cur, t, to);
  return out;
}

export interface OeeFigures {
  observedMs: number;
  plannedMs: number;
  runningMs: number;
  availability: number | null;
  performance: number | null;
  quality: number | null;
  oee: number | null;
  oeeFormula: 'A×P×Q' | 'A×P (quality not reported)' | 'n/a';
  /** Mean speed ÷ nominal before the cap at 1 (performance is this, capped). */
  speedRatio: number | null;
  /** The machine ran faster than its nominal speed: the nominal needs setting (per device or type). */
  nominalExceeded: boolean;
  /** Loom efficiency, stop-driven: running ÷ (running + fault). Not OEE. Only for looms. */
  loomEfficiency: number | null;
  /** Loom efficiency as mills count it: running ÷ scheduled time (observed − stopped − unknown). Only for looms. */
  loomEfficiencyScheduled: number | null;
}

/** Running ÷ scheduled time: every state but non-scheduled (stopped) and unknown is scheduled. */
function scheduledEfficiency(t: StateTimes): number | null {
  const scheduled = TIME_KEYS.reduce((s, k) => s + t[k], 0) - t.stopped - t.unknown;
  return scheduled > 0 ? t.running / scheduled : null;
}

export interface PerformanceInput {
  /** Mean speed while running (samples with speed > 0). */
  meanSpeed: number;
  nominal: number;
}

export interface QualityInput {
  good: number;
  total: number;
}

export function oeeFigures(times: StateTimes, perf: PerformanceInput | null, quality: QualityInput | null, isLoom: boolean): OeeFigures {
  const observedMs = TIME_KEYS.reduce((s, k) => s + times[k], 0);
  const plannedMs = observedMs - times.stopped - times.maintenance - times.unknown;
  const runningMs = times.running;
  const availability = plannedMs > 0 ? runningMs / plannedMs : null;
  const speedRatio = perf && perf.nominal > 0 && perf.meanSpeed > 0 ? perf.meanSpeed / perf.nominal : null;
  const performance = speedRatio === null ? null : Math.min(1, speedRatio);
  const q = quality && quality.total > 0 ? quality.good / quality.total : null;
  let oee: number | null = null;
  let oeeFormula: OeeFigures['oeeFormula'] = 'n/a';
  if (availability !== null && performance !== null) {
    oee = availability * performance * (q ?? 1);
    oeeFormula = q === null ? 'A×P (quality not reported)' : 'A×P×Q';
  }
  const loomBase = times.running + times.fault;
  return {
    observedMs, plannedMs, runningMs, availability, performance, quality: q, oee, oeeFormula,
    speedRatio, nominalExceeded: speedRatio !== null && speedRatio > 1,
    loomEfficiency: isLoom && loomBase > 0 ? times.running / loomBase : null,
    loomEfficiencyScheduled: isLoom ? scheduledEfficiency(times) : null,
  };
}

/**
 * Aggregate of several devices: times add up; performance (each device's, capped) is weighted by running time;
 * quality by units; nominalExceeded when any device exceeded its nominal.
 */
export function aggregateOee(items: ReadonlyArray<{ times: StateTimes; perf: PerformanceInput | null; quality: QualityInput | null; isLoom: boolean }>): OeeFigures & { times: StateTimes } {
  const times = zeroTimes();
  const loomTimes = zeroTimes();
  let perfWeight = 0;
  let perfSum = 0;
  let good = 0;
  let total = 0;
  let anyQuality = false;
  let exceeded = false;
  let ratioSum = 0;
  for (const it of items) {
    addTimes(times, it.times);
    if (it.isLoom) addTimes(loomTimes, it.times);
    if (it.perf && it.perf.nominal > 0 && it.perf.meanSpeed > 0 && it.times.running > 0) {
      const ratio = it.perf.meanSpeed / it.perf.nominal;
      exceeded ||= ratio > 1;
      ratioSum += ratio * it.times.running;
      perfSum += Math.min(1, ratio) * it.times.running;
      perfWeight += it.times.running;
    }
    if (it.quality && it.quality.total > 0) { anyQuality = true; good += it.quality.good; total += it.quality.total; }
  }
  const perf = perfWeight > 0 ? { meanSpeed: perfSum / perfWeight, nominal: 1 } : null;
  const f = oeeFigures(times, perf, anyQuality ? { good, total } : null, false);
  const loomBase = loomTimes.running + loomTimes.fault;
  return {
    ...f, speedRatio: perfWeight > 0 ? ratioSum / perfWeight : null, nominalExceeded: exceeded,
    loomEfficiency: loomBase > 0 ? loomTimes.running / loomBase : null, loomEfficiencyScheduled: scheduledEfficiency(loomTimes), times,
  };
}
