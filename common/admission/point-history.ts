// What admission remembers of each device's telemetry, to judge the next point: the last accepted reading of each
// counter (plausibility.ts) and the replay window of recent timestamps (replay-window.ts). One entry per device,
// typed arrays sized by its type's counters and the window: a Map lookup and a few arithmetic operations per
// counter, no allocation per point. The counter memory can be checkpointed (drainCheckpoint) and seeded from a
// checkpoint (seed), so a restarted broker bounds a device's next reading; the replay window starts empty.
// A refused implausible point is kept whole as line protocol (readingOf) so it can be released later.
import type { AdmitDevice, AdmittedPoint, PointCheck } from '../contract/admit.ts';
import type { Problem } from '../contract/messages.ts';
import { deviceType } from '../contract/catalogue.ts';
import { telemetryLine } from '../contract/line-protocol.ts';
import type { CounterMemory } from '../spool/spool.ts';
import {
  MAX_RESETS, RESET_WINDOW_MS, STEP_LATE_ABOVE, STEP_RESET, STEP_TOO_FAST, allowanceAfter, classifyStep, countedGain, deviceCounterRules, implausibleMessage,
  resetBurstMessage,
  type CounterRule, type RateOverrides,
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
  /** The device's own rates the rules were built with (undefined: its type's). */
  overrides: RateOverrides | undefined;
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
  /** Listed for the next checkpoint (a flag, so a busy device costs no set lookup per point). */
  changed: boolean;
}

export class PointHistory implements PointCheck {
  private readonly devices = new Map<string, DeviceMemory>();
  private readonly windowPoints: number;
  private readonly plausibleCounters: boolean;
  private readonly overrides = new Map<string, RateOverrides>();
  /** Devices whose counter memory changed since the last checkpoint. */
  private readonly changed = new Set<string>();
  /** The line protocol of a refused implausible point, per problem it raised (read once by admission). */
  private readonly readings = new WeakMap<Problem, string>();

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
    const before = problems.length;
    if (this.plausibleCounters && !plausible(mem, device.type, point, prefix, problems)) {
      this.keepReading(device, point, problems, before);
      return false;
    }
    if (remember(mem, point) && !mem.changed) {
      mem.changed = true;
      this.changed.add(device.deviceId);
    }
    mem.window?.add(point.ts, hash);
    return true;
  }

  /** The quarantined point behind an implausible problem, as line protocol; undefined for any other problem. */
  readingOf(problem: Problem): string | undefined {
    return this.readings.get(problem);
  }

  /** A device's own maximum rates (from the registry); undefined or empty: its type's. Applies to its next point. */
  setRateOverrides(deviceId: string, overrides: RateOverrides | undefined): void {
    if (overrides && Object.keys(overrides).length > 0) this.overrides.set(deviceId, overrides);
    else this.overrides.delete(deviceId);
  }

  /** Forgets a device (deleted or re-provisioned): its next reading is accepted as a first one. */
  forget(deviceId: string): void {
    this.devices.delete(deviceId);
    this.overrides.delete(deviceId);
    this.changed.delete(deviceId);
  }

  /** The counter memory of the devices that changed since the last call (to checkpoint it). */
  drainCheckpoint(): CounterMemory[] {
    const out: CounterMemory[] = [];
    for (const deviceId of this.changed) {
      const mem = this.devices.get(deviceId);
      if (!mem) continue;
      mem.changed = false;
      for (const r of mem.rules) {
        const i = r.index;
        if (Number.isNaN(mem.ts[i]!)) continue;
        out.push({ deviceId, type: mem.type, counter: r.name, ts: mem.ts[i]!, value: mem.value[i]!, allowance: mem.allowance[i]! });
      }
    }
    this.changed.clear();
    return out;
  }

  /**
   * Seeds the counter memory from a checkpoint (at start-up, before the first message). Points accepted after the
   * checkpoint may have used up to one more allowance bucket, so each counter starts with its saved allowance plus
   * a full bucket: a reading that was plausible against the lost newer memory is plausible against the seed.
   */
  seed(rows: readonly CounterMemory[]): void {
    for (const row of rows) {
      const mem = this.memoryOf({ deviceId: row.deviceId, type: row.type });
      const rule = mem.rules.find((r) => r.name === row.counter);
      if (!rule || !(row.ts >= (mem.ts[rule.index]! || -Infinity))) continue;
      mem.ts[rule.index] = row.ts;
      mem.value[rule.index] = row.value;
      mem.allowance[rule.index] = Math.min(row.allowance, rule.slack) + rule.slack;
    }
  }

  private keepReading(device: AdmitDevice, point: AdmittedPoint, problems: readonly Problem[], from: number): void {
    const measurement = deviceType(device.type)?.measurement;
    if (measurement === undefined) return;
    const line = telemetryLine(measurement, device.tags, point.ts, point.seq, point.metrics);
    for (let i = from; i < problems.length; i++) this.readings.set(problems[i]!, line);
  }

  get size(): number {
    return this.devices.size;
  }

  private memoryOf(device: Pick<AdmitDevice, 'deviceId' | 'type'>): DeviceMemory {
    let mem = this.devices.get(device.deviceId);
    // No lookup on the hot path unless some device has its own rates.
    const overrides = this.overrides.size === 0 ? undefined : this.overrides.get(device.deviceId);
    if (!mem || mem.type !== device.type) {
      const rules = deviceCounterRules(device.type, overrides);
      const n = rules.length;
      mem = {
        type: device.type, overrides, rules, ts: new Float64Array(n).fill(NaN), value: new Float64Array(n), allowance: new Float64Array(n), resetFrom: new Float64Array(n).fill(-Infinity), resets: new Uint16Array(n),
        window: this.windowPoints > 0 ? new ReplayWindow(this.windowPoints) : undefined, changed: false,
      };
      this.devices.set(device.deviceId, mem);
    } else if (mem.overrides !== overrides) {
      // Same counters in the same order, other bounds: the memory stays, the allowance is capped to the new bucket.
      mem.overrides = overrides;
      mem.rules = deviceCounterRules(device.type, overrides);
      for (const r of mem.rules) mem.allowance[r.index] = Math.min(mem.allowance[r.index]!, r.slack);
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

/** An accepted point becomes the newest reading of each counter it carries (unless an older point came late): true if any did. */
function remember(mem: DeviceMemory, point: AdmittedPoint): boolean {
  let changed = false;
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
    changed = true;
  }
  return changed;
}

function countReset(mem: DeviceMemory, i: number, ts: number): void {
  if (ts - mem.resetFrom[i]! >= RESET_WINDOW_MS) {
    mem.resetFrom[i] = ts;
    mem.resets[i] = 1;
  } else {
    mem.resets[i] = mem.resets[i]! + 1;
  }
}
