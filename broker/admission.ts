// Admission: what the broker does with a device's publish before it lets Aedes send the PUBACK.
// Validate (common/contract), then group-commit into the durable spool: every message admitted since the last
// commit goes into one transaction on the next turn of the event loop, and only after that commit are their
// callbacks released. So a PUBACK means "durably recorded", and the fsync cost is shared by the whole group.
import { EventEmitter } from 'node:events';
import { admitMessage, type AdmitLimits } from '../common/contract/admit.ts';
import type { MessageKind } from '../common/contract/topics.ts';
import type { Problem } from '../common/contract/messages.ts';
import { truncatePayload, type DeadLetter, type SpoolRecord } from '../common/spool/spool.ts';
import type { DeviceContext } from '../common/registry/registry.ts';

export interface SyncSpool {
  appendSync(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[]): void;
}

export interface AdmissionDevice {
  ctx: DeviceContext;
  tags: string;
}

export interface LiveDevice {
  deviceId: string;
  firmId: string;
  county: string;
  park: string;
  segment: string;
  type: string;
  ts: number;
  metrics: Record<string, number>;
  state?: string;
}

export interface LiveSummary {
  at: number;
  devices: LiveDevice[];
}

export interface AdmissionStats {
  received: number;
  accepted: number;
  rejected: number;
  points: number;
  rejectedByRule: Record<string, number>;
  commits: number;
  commitErrors: number;
}

export interface Verdict {
  /** Everything in the message was rejected: drop it after the ack. */
  dropped: boolean;
  problems: Problem[];
}

interface Pending {
  records: SpoolRecord[];
  dead: DeadLetter[];
  waiters: Array<(err: Error | null) => void>;
}

export class Admission extends EventEmitter {
  readonly stats: AdmissionStats = { received: 0, accepted: 0, rejected: 0, points: 0, rejectedByRule: {}, commits: 0, commitErrors: 0 };
  private pending: Pending = { records: [], dead: [], waiters: [] };
  private scheduled = false;
  private readonly latest = new Map<string, LiveDevice>();
  private readonly dirty = new Set<string>();
  private readonly seen = new Map<string, { seenAt: number; telemetryAt?: number }>();
  private readonly liveTimer: NodeJS.Timeout;

  constructor(private readonly spool: SyncSpool, private readonly limits: AdmitLimits, liveIntervalMs = 1000) {
    super();
    this.liveTimer = setInterval(() => this.emitLive(), liveIntervalMs);
    this.liveTimer.unref();
  }

  /**
   * Admits one publish. `done` runs after the commit that made the outcome durable (accepted points in the
   * spool, rejections in the dead-letter store), or with an error when the commit failed (no PUBACK then).
   */
  admit(device: AdmissionDevice, kind: MessageKind, topic: string, payload: Buffer, done: (err: Error | null, verdict: Verdict) => void): void {
    const now = Date.now();
    this.stats.received++;
    const d = device.ctx.device;
    const result = admitMessage(kind, { deviceId: d.id, firmId: d.firmId, type: d.type, tags: device.tags }, payload, now, this.limits);
    const seen = this.seen.get(d.id) ?? { seenAt: now };
    seen.seenAt = now;
    if (result.points.length > 0 || result.state) {
      const live = this.liveEntry(device);
      for (const p of result.points) {
        if (p.ts >= live.ts) { live.ts = p.ts; Object.assign(live.metrics, p.metrics); }
        seen.telemetryAt = Math.max(seen.telemetryAt ?? 0, p.ts);
      }
      if (result.state) live.state = result.state.state;
      this.dirty.add(d.id);
    }
    this.seen.set(d.id, seen);
    if (result.lines.length > 0) {
      this.stats.accepted++;
      this.stats.points += result.lines.length;
      this.pending.records.push({ receivedAt: now, deviceId: d.id, lines: result.lines.join('\n'), points: result.lines.length });
    }
    if (result.problems.length > 0) {
      if (result.lines.length === 0) this.stats.rejected++;
      this.recordProblems(device.ctx, topic, payload, result.problems, now);
    }
    const verdict: Verdict = { dropped: result.lines.length === 0 && result.problems.length > 0, problems: result.problems };
    if (result.lines.length === 0 && result.problems.length === 0) {
      // Nothing to make durable (a status message): answer at once.
      done(null, verdict);
      return;
    }
    this.enqueue((err) => done(err, verdict));
  }

  /** A publish refused before admission (wrong topic): kept as a dead letter like any other rejection. */
  refuse(ctx: DeviceContext, topic: string, payload: Buffer, problem: Problem, done: (err: Error | null) => void): void {
    this.stats.received++;
    this.stats.rejected++;
    this.recordProblems(ctx, topic, payload, [problem], Date.now());
    this.enqueue(done);
  }

  markConnected(deviceId: string): void {
    const s = this.seen.get(deviceId);
    if (s) s.seenAt = Date.now();
    else this.seen.set(deviceId, { seenAt: Date.now() });
  }

  /** Seen/telemetry times since the last call, for the registry (written in batches, not per message). */
  drainSeen(): Array<{ deviceId: string; seenAt: number; telemetryAt?: number }> {
    const out = [...this.seen.entries()].map(([deviceId, s]) => ({ deviceId, ...s }));
    this.seen.clear();
    return out;
  }

  latestOf(deviceId: string): LiveDevice | undefined {
    return this.latest.get(deviceId);
  }

  /** Commits whatever is pending now (tests, shutdown). */
  flushNow(): void {
    this.commit();
  }

  close(): void {
    clearInterval(this.liveTimer);
    this.commit();
  }

  private recordProblems(ctx: DeviceContext, topic: string, payload: Buffer, problems: readonly Problem[], now: number): void {
    const text = truncatePayload(payload);
    for (const p of problems) {
      this.stats.rejectedByRule[p.rule] = (this.stats.rejectedByRule[p.rule] ?? 0) + 1;
      this.pending.dead.push({ receivedAt: now, firmId: ctx.firm.id, deviceId: ctx.device.id, topic, field: p.field, rule: p.rule, reason: p.message, payload: text });
    }
  }

  private liveEntry(device: AdmissionDevice): LiveDevice {
    const d = device.ctx.device;
    let live = this.latest.get(d.id);
    if (!live) {
      const f = device.ctx.firm;
      live = { deviceId: d.id, firmId: f.id, county: f.county, park: f.park, segment: f.segment, type: d.type, ts: 0, metrics: {} };
      this.latest.set(d.id, live);
    }
    return live;
  }

  private enqueue(waiter: (err: Error | null) => void): void {
    this.pending.waiters.push(waiter);
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate: every publish of the current socket reads (all clients) joins this commit.
      setImmediate(() => this.commit());
    }
  }

  private commit(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.waiters.length === 0) return;
    this.pending = { records: [], dead: [], waiters: [] };
    let error: Error | null = null;
    try {
      this.spool.appendSync(batch.records, batch.dead);
      this.stats.commits++;
    } catch (err) {
      this.stats.commitErrors++;
      error = err as Error;
      this.emit('commitError', error);
    }
    for (const w of batch.waiters) w(error);
  }

  private emitLive(): void {
    if (this.dirty.size === 0) return;
    const devices: LiveDevice[] = [];
    for (const id of this.dirty) {
      const l = this.latest.get(id);
      if (l) devices.push({ ...l, metrics: { ...l.metrics } });
    }
    this.dirty.clear();
    const summary: LiveSummary = { at: Date.now(), devices };
    this.emit('live', summary);
  }
}
