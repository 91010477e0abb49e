// What admission remembers of each device's telemetry, to judge the next point: the last accepted reading of each
// counter (plausibility.ts) and the replay window of recent timestamps (replay-window.ts). One entry per device,
// typed arrays sized by its type's counters and the window: a Map lookup and a few arithmetic operations per
// counter, no allocation per point. Memory starts empty, so the first reading of a device after the process starts
// is accepted as it is.
import type { AdmitDevice, AdmittedPoint, PointCheck } from '../contract/admit.ts';
import type { Problem } from '../contract/messages.ts';
import {
  MAX_RESETS, RESET_WINDOW_MS, STEP_LATE_ABOVE, STEP_RESET, STEP_TOO_FAST, allowanceAfter, classifyStep, counterRules, countedGain, implausibleMessage,
  resetBurstMessage,
  type CounterRule,
} from './plausibility.ts';
import { NOT_FOUND, ReplayWindow, pointHash } from './replay-window.ts';

/** Points per device in the replay window by default (about 17 minutes at one point a second). */
export const REPLAY_WINDOW_POINTS = 1024;

export interface PointHistoryOptions {
  /** Timestamps per device remembered for conflict detection; 0 turns the check off. */
  replayWindowPoints?: number;
  /** Quarantine counters rising faster than their type allows (default true). */
  plausibleCounters?: boolean;
}

interface DeviceMemory {
  type: string;
  rules: readonly CounterRule[];
  /** Per counter: time and value of the newest accepted reading (NaN: none yet). */
  ts: Float64Array;
  value: Float64Array;
  /** Per counter: the allowance left (plausibility.ts: a bucket refilled at the maximum rate). */
  allowance: Float64Array;
  /** Per counter: start of the current reset-counting hour and the resets in it. */
  resetFrom: Float64Array;
  resets: Uint16Array;
  window: ReplayWindow | undefined;
}

export class PointHistory implements PointCheck {
  private readonly devices = new Map<string, DeviceMemory>();
  private readonly windowPoints: number;
  private readonly plausibleCounters: boolean;

  constructor(opts: PointHistoryOptions = {}) {
    this.windowPoints = opts.replayWindowPoints ?? REPLAY_WINDOW_POINTS;
    this.plausibleCounters = opts.plausibleCounters ?? true;
  }

  check(device: AdmitDevice, point: AdmittedPoint, prefix: string, problems: Problem[]): boolean {
    const mem = this.memoryOf(device);
    const hash = mem.window ? pointHash(point.seq, point.metrics) : 0;
    const prior = mem.window ? mem.window.find(point.ts) : NOT_FOUND;
    if (prior !== NOT_FOUND) {
      if (prior === hash) return true; // a redelivery: admitted again, overwrites itself
      problems.push(conflict(prefix, point.ts, this.windowPoints));
      return false;
    }
    if (this.plausibleCounters && !plausible(mem, device.type, point, prefix, problems)) return false;
    remember(mem, point);
    mem.window?.add(point.ts, hash);
    return true;
  }

  /** Forgets a device (deleted or re-provisioned): its next reading is accepted as a first one. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  get size(): number {
    return this.devices.size;
  }

  private memoryOf(device: AdmitDevice): DeviceMemory {
    let mem = this.devices.get(device.deviceId);
    if (!mem || mem.type !== device.type) {
      const rules = counterRules(device.type);
      const n = rules.length;
      mem = {
        type: device.type, rules, ts: new Float64Array(n).fill(NaN), value: new Float64Array(n), allowance: new Float64Array(n), resetFrom: new Float64Array(n).fill(-Infinity), resets: new Uint16Array(n),
        window: this.windowPoints > 0 ? new ReplayWindow(this.windowPoints) : undefined,
      };
      this.devices.set(device.deviceId, mem);
    }
    return mem;
  }
}

function conflict(prefix: string, ts: number, windowPoints: number): Problem {
  const field = `${prefix}ts`;
  return {
    field, rule: 'conflict',
    message: `${field} ${new Date(ts).toISOString()} was already admitted for this device with other values (seq or metrics differ); stored history is not rewritten: give a new reading a new timestamp (resending the same values is fine; the last ${windowPoints} timestamps per device are checked)`,
  };
}

/** Judges every counter of the point against the newest accepted reading; records a problem for each implausible one. */
function plausible(mem: DeviceMemory, type: string, point: AdmittedPoint, prefix: string, problems: Problem[]): boolean {
  let ok = true;
  for (const rule of mem.rules) {
    const v = point.metrics[rule.name];
    const i = rule.index;
    const prevTs = mem.ts[i]!;
    if (v === undefined || Number.isNaN(prevTs)) continue;
    const prev = mem.value[i]!;
    const allowance = mem.allowance[i]!;
    const step = classifyStep(rule, prevTs, prev, allowance, point.ts, v);
    let message: string | undefined;
    if (step === STEP_TOO_FAST || step === STEP_LATE_ABOVE) message = implausibleMessage(rule, type, step, prevTs, prev, allowance, point.ts, v);
    else if (step === STEP_RESET && point.ts - mem.resetFrom[i]! < RESET_WINDOW_MS && mem.resets[i]! >= MAX_RESETS) message = resetBurstMessage(rule, type, mem.resets[i]! + 1);
    if (message !== undefined) {
      problems.push({ field: `${prefix}metrics.${rule.name}`, rule: 'implausible', message });
      ok = false;
    }
  }
  return ok;
}

/** An accepted point becomes the newest reading of each counter it carries (unless an older point came late). */
function remember(mem: DeviceMemory, point: AdmittedPoint): void {
  for (const rule of mem.rules) {
    const v = point.metrics[rule.name];
    const i = rule.index;
    const prevTs = mem.ts[i]!;
    if (v === undefined || point.ts < prevTs) continue;
    if (Number.isNaN(prevTs)) {
      mem.allowance[i] = rule.slack;
    } else {
      const prev = mem.value[i]!;
      if (classifyStep(rule, prevTs, prev, mem.allowance[i]!, point.ts, v) === STEP_RESET) countReset(mem, i, point.ts);
      mem.allowance[i] = allowanceAfter(rule, point.ts - prevTs, mem.allowance[i]!, countedGain(prev, v));
    }
    mem.ts[i] = point.ts;
    mem.value[i] = v;
  }
}

function countReset(mem: DeviceMemory, i: number, ts: number): void {
  if (ts - mem.resetFrom[i]! >= RESET_WINDOW_MS) {
    mem.resetFrom[i] = ts;
    mem.resets[i] = 1;
  } else {
    mem.resets[i] = mem.resets[i]! + 1;
  }
}
