// What one simulated device sends, tick by tick: the model's reading turned into contract messages, with the
// faults of its plan injected. Pure of I/O (no MQTT, no clock): the same model seed, fault seed and tick times
// give the same messages, which is what makes a scenario reproducible from its seed. device.ts publishes them.
import { topicFor } from '../common/contract/topics.ts';
import { between, type MachineModel, type Reading, type Rng, type StateChange } from './models.ts';
import {
  applyOffsets, batchPayloads, malformedPayload, outOfRange, perStepChance, pickStuckMetric, resetOffsets, settingOf,
  withoutRequiredField, wrongType, type FaultName, type FaultPlan, type PointOut,
} from './faults.ts';

export interface DeviceRef {
  id: string;
  firmId: string;
  type: string;
}

export interface Outgoing {
  kind: 'telemetry' | 'state';
  topic: string;
  payload: string;
  /** The fault injected into this message, if any. */
  fault?: FaultName;
  /** Sequence numbers of the telemetry points it carries (a batch carries many). */
  seqs: number[];
  /** Device timestamp of the message (of its last point for a batch), ms. */
  ts: number;
  /** What the contract promises for it: stored (true) or rejected with a reason (false). */
  valid: boolean;
}

/** Something the device does to its connection. */
export interface Action {
  kind: 'drop';
  /** Time offline before MQTT.js reconnects, ms. */
  forMs: number;
  fault: FaultName;
}

export interface Tick {
  actions: Action[];
  messages: Outgoing[];
  /** Faults that started or were injected in this tick (one entry per occurrence). */
  injected: FaultName[];
}

export interface ProgramOptions {
  faults?: FaultPlan;
  /** Rng for fault decisions, separate from the model's so switching faults on leaves the readings alone. */
  rng?: Rng;
  /** Whose topic the foreign-topic fault publishes on (default: a made-up device of the same firm). */
  victim?: { firmId: string; deviceId: string };
  /** The platform's clock-ahead limit, to label skewed messages (default 5 min). */
  maxClockAheadMs?: number;
}

const emptyTick = (): Tick => ({ actions: [], messages: [], injected: [] });

// One payload-changing fault per message at most; their rates add up (capped at 1 in total).
const MESSAGE_FAULTS = ['malformed', 'missing-field', 'out-of-range', 'wrong-type', 'foreign-topic'] as const;

export class DeviceProgram {
  /** The next sequence number. */
  seq = 0;
  private readonly plan: FaultPlan;
  private readonly rng: Rng;
  private readonly victim: { firmId: string; deviceId: string };
  private readonly maxAheadMs: number;
  private offsets: Record<string, number> = {};
  private stuck: { metric: string; value: number; until: number } | undefined;
  private skew: { offsetMs: number; until: number } | undefined;
  private outage: { until: number; points: PointOut[]; states: Outgoing[] } | undefined;
  private last: number | undefined;

  constructor(readonly device: DeviceRef, readonly model: MachineModel, opts: ProgramOptions = {}) {
    this.plan = opts.faults ?? {};
    this.rng = opts.rng ?? Math.random;
    this.victim = opts.victim ?? { firmId: device.firmId, deviceId: `${device.id}-other`.slice(0, 64) };
    this.maxAheadMs = opts.maxClockAheadMs ?? 300_000;
  }

  /** The sensor that is stuck right now, if any. */
  get stuckMetric(): string | undefined {
    return this.stuck?.metric;
  }

  /** The device clock's current offset (clock-skew fault), ms. */
  get clockOffsetMs(): number {
    return this.skew?.offsetMs ?? 0;
  }

  /** In a store-and-forward outage (backfill fault): nothing is published live. */
  get offline(): boolean {
    return this.outage !== undefined;
  }

  private topic(kind: 'telemetry' | 'state'): string {
    return topicFor(this.device.firmId, this.device.id, kind);
  }

  private roll(name: FaultName, dtMs: number): ReturnType<typeof settingOf> {
    const s = settingOf(this.plan, name);
    if (!s) return undefined;
    return this.rng() < perStepChance(s.rate, dtMs) ? s : undefined;
  }

  /**
   * One publish interval: steps the model by dtMs to device time `now` and returns what to send.
   * dtMs defaults to the time since the previous tick (1 s for the first).
   */
  tick(now: number, dtMs?: number): Tick {
    const dt = Math.max(1, dtMs ?? (this.last === undefined ? 1000 : now - this.last));
    this.last = now;
    const out = emptyTick();
    const reading = this.model.step(dt, now);
    if (this.outage && now >= this.outage.until) this.flushOutage(out);
    this.startLastingFaults(now, dt, reading.metrics, out);
    if (this.stuck && now >= this.stuck.until) this.stuck = undefined;
    if (this.skew && now >= this.skew.until) this.skew = undefined;
    this.send(now, reading, out);
    return out;
  }

  /** Conditions that last (counter reset, stuck sensor, clock skew, outages): decided once per tick, per device-minute. */
  private startLastingFaults(now: number, dt: number, metrics: Record<string, number>, out: Tick): void {
    if (this.roll('counter-reset', dt)) {
      this.offsets = resetOffsets(this.device.type, metrics);
      out.injected.push('counter-reset');
    }
    const stuckSetting = this.roll('stuck', dt);
    if (stuckSetting && !this.stuck) {
      const metric = pickStuckMetric(this.device.type, metrics, this.rng);
      if (metric !== undefined) {
        this.stuck = { metric, value: metrics[metric] as number, until: now + between(this.rng, ...stuckSetting.durationS) * 1000 };
        out.injected.push('stuck');
      }
    }
    const skewSetting = this.roll('clock-skew', dt);
    if (skewSetting && !this.skew) {
      this.skew = { offsetMs: Math.round(between(this.rng, ...skewSetting.skewS) * 1000), until: now + between(this.rng, ...skewSetting.durationS) * 1000 };
      out.injected.push('clock-skew');
    }
    const outageSetting = this.roll('backfill', dt);
    if (outageSetting && !this.outage) {
      const forMs = Math.round(between(this.rng, ...outageSetting.durationS) * 1000);
      this.outage = { until: now + forMs, points: [], states: [] };
      out.actions.push({ kind: 'drop', forMs, fault: 'backfill' });
      out.injected.push('backfill');
    }
    const dropSetting = this.roll('disconnect', dt);
    if (dropSetting && !this.outage) {
      out.actions.push({ kind: 'drop', forMs: Math.round(between(this.rng, ...dropSetting.durationS) * 1000), fault: 'disconnect' });
      out.injected.push('disconnect');
    }
  }

  /** The reading as messages (state change, telemetry, perhaps a duplicate), or into the backlog while offline. */
  private send(now: number, reading: Reading, out: Tick): void {
    let metrics = applyOffsets(reading.metrics, this.offsets);
    if (this.stuck && metrics[this.stuck.metric] !== undefined) metrics = { ...metrics, [this.stuck.metric]: this.stuck.value };
    const ts = now + (this.skew?.offsetMs ?? 0);
    const skewed = this.skew !== undefined;
    const valid = (this.skew?.offsetMs ?? 0) <= this.maxAheadMs;

    if (reading.state) {
      const msg = this.stateMessage(ts, reading.state, skewed, valid);
      if (this.outage) this.outage.states.push(msg);
      else out.messages.push(msg);
    }
    const point: PointOut = { ts, seq: this.seq++, metrics };
    if (this.outage) {
      this.outage.points.push(point);
      return;
    }
    const msg = this.telemetryMessage(point, out, skewed, valid);
    out.messages.push(msg);
    if (this.roll('duplicate', 60_000)) {
      out.messages.push({ ...msg, fault: 'duplicate', seqs: [...msg.seqs] });
      out.injected.push('duplicate');
    }
  }

  private stateMessage(ts: number, s: StateChange, skewed: boolean, valid: boolean): Outgoing {
    return {
      kind: 'state', topic: this.topic('state'), payload: JSON.stringify({ ts, ...s }), seqs: [], ts, valid,
      ...(skewed ? { fault: 'clock-skew' as const } : {}),
    };
  }

  private telemetryMessage(point: PointOut, out: Tick, skewed: boolean, valid: boolean): Outgoing {
    const base: Outgoing = {
      kind: 'telemetry', topic: this.topic('telemetry'), payload: JSON.stringify(point), seqs: [point.seq], ts: point.ts, valid,
      ...(skewed ? { fault: 'clock-skew' as const } : {}),
    };
    // Per-message faults: one draw decides which (if any) of them hits this message.
    const settings = MESSAGE_FAULTS.map((n) => [n, settingOf(this.plan, n)?.rate ?? 0] as const).filter(([, r]) => r > 0);
    if (settings.length === 0) return base;
    const r = this.rng();
    let acc = 0;
    let hit: FaultName | undefined;
    for (const [n, rate] of settings) {
      acc += rate;
      if (r < acc) {
        hit = n;
        break;
      }
    }
    if (!hit) return base;
    out.injected.push(hit);
    const faulty = (payload: string, topic = base.topic): Outgoing => ({ ...base, topic, payload, fault: hit, valid: false });
    switch (hit) {
      case 'malformed':
        return faulty(malformedPayload(base.payload, this.rng));
      case 'missing-field':
        return faulty(JSON.stringify(withoutRequiredField(point, this.rng).value));
      case 'out-of-range':
        return faulty(JSON.stringify(outOfRange(this.device.type, point, this.rng).point));
      case 'wrong-type':
        return faulty(JSON.stringify(wrongType(point, this.rng).value));
      default:
        return faulty(base.payload, topicFor(this.victim.firmId, this.victim.deviceId, 'telemetry'));
    }
  }

  /** The end of a store-and-forward outage: the backlog as batches (old timestamps), then its state changes. */
  private flushOutage(out: Tick): void {
    const o = this.outage;
    if (!o) return;
    this.outage = undefined;
    const setting = settingOf(this.plan, 'backfill');
    for (const b of batchPayloads(o.points, setting?.batchPoints ?? 500)) {
      const valid = b.points.every((p) => p.ts <= (this.last ?? p.ts) + this.maxAheadMs);
      out.messages.push({ kind: 'telemetry', topic: this.topic('telemetry'), payload: b.payload, fault: 'backfill', seqs: b.points.map((p) => p.seq), ts: b.points[b.points.length - 1]?.ts ?? 0, valid });
    }
    out.messages.push(...o.states);
  }

  /** Ends an outage now (when the run stops): whatever was buffered goes out at the next tick. */
  endOutage(now: number): Tick {
    const out = emptyTick();
    if (this.outage) {
      this.outage.until = now;
      this.flushOutage(out);
    }
    return out;
  }
}
