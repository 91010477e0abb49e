// Admission: what the broker does with a device's publish before it lets Aedes send the PUBACK.
// Validate (common/contract), then group-commit into the durable spool: every message admitted since the last
// commit goes into one transaction on the next turn of the event loop, and only after that commit are their
// callbacks released. So a PUBACK means "durably recorded", and the fsync cost is shared by the whole group.
// When the spool is at its cap, commits wait (no PUBACK: devices slow down and keep their data) until the
// ingest writer has made room; nothing acknowledged is ever dropped.
import { EventEmitter } from 'node:events';
import { admitMessage, type AdmitLimits, type AdmittedPoint } from '../common/contract/admit.ts';
import type { MessageKind } from '../common/contract/topics.ts';
import type { Problem } from '../common/contract/messages.ts';
import { truncatePayload, type DeadLetter, type RejectionCount, type SpoolRecord } from '../common/spool/spool.ts';
import type { DeviceContext, SeenUpdate } from '../common/registry/registry.ts';
import { shanghaiDay } from '../common/time.ts';

export interface SyncSpool {
  appendSync(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[], counts?: readonly RejectionCount[]): void;
  approxRowsSync(): number;
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
  deadLettersSuppressed: number;
  commits: number;
  commitErrors: number;
  spoolFull: boolean;
  parked: number;
}

export interface AdmissionOptions {
  liveIntervalMs?: number;
  /** Spool rows at which admission stops acknowledging (backpressure); 0 = no cap. */
  spoolMaxRows?: number;
  /** Dead letters kept per device and minute; the rest are only counted. */
  deadLettersPerMinute?: number;
  /** Publishes waiting for spool room before new ones are refused (their connection closes; devices resend). */
  maxParked?: number;
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

interface DeviceTally extends SeenUpdate {
  accepted: number;
  rejected: number;
  seqReceived: number;
  seqExpected: number;
}

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

export class Admission extends EventEmitter {
  readonly stats: AdmissionStats = { received: 0, accepted: 0, rejected: 0, points: 0, rejectedByRule: {}, deadLettersSuppressed: 0, commits: 0, commitErrors: 0, spoolFull: false, parked: 0 };
  private pending: Pending = { records: [], dead: [], waiters: [] };
  private counts = new Map<string, RejectionCount>();
  private scheduled = false;
  private readonly latest = new Map<string, LiveDevice>();
  private readonly dirty = new Set<string>();
  private readonly tally = new Map<string, DeviceTally>();
  private readonly lastSeq = new Map<string, number>();
  private readonly deadThisMinute = new Map<string, number>();
  private deadMinute = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<AdmissionOptions>;

  constructor(private readonly spool: SyncSpool, private readonly limits: AdmitLimits, opts: AdmissionOptions = {}) {
    super();
    this.opts = { liveIntervalMs: 1000, spoolMaxRows: 0, deadLettersPerMinute: 60, maxParked: 100_000, ...opts };
    this.timers.push(setInterval(() => this.emitLive(), this.opts.liveIntervalMs));
    if (this.opts.spoolMaxRows > 0) this.timers.push(setInterval(() => this.checkSpoolRoom(), 200));
    for (const t of this.timers) t.unref();
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
    const tally = this.tallyOf(d.id, now);
    if (result.points.length > 0 || result.state) {
      const live = this.liveEntry(device);
      for (const p of result.points) {
        if (p.ts >= live.ts) { live.ts = p.ts; Object.assign(live.metrics, p.metrics); }
        tally.telemetryAt = Math.max(tally.telemetryAt ?? 0, p.ts);
      }
      if (result.state) live.state = result.state.state;
      this.dirty.add(d.id);
      // Only a single live point tells the device clock's offset; a backfill batch is old on purpose.
      if (result.points.length === 1) tally.clockSkewMs = (result.points[0] as AdmittedPoint).ts - now;
      this.countSequence(d.id, result.points, tally);
    }
    if (result.status) tally.reportedStatus = result.status;
    if (result.lines.length > 0) {
      this.stats.accepted++;
      tally.accepted++;
      this.stats.points += result.lines.length;
      this.pending.records.push({ receivedAt: now, deviceId: d.id, lines: result.lines.join('\n'), points: result.lines.length });
    }
    if (result.problems.length > 0) {
      if (result.lines.length === 0) { this.stats.rejected++; tally.rejected++; }
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

  /** A publish refused before admission (wrong topic, too large): kept as a dead letter like any other rejection. */
  refuse(ctx: DeviceContext, topic: string, payload: Buffer, problem: Problem, done: (err: Error | null) => void): void {
    const now = Date.now();
    this.stats.received++;
    this.stats.rejected++;
    this.tallyOf(ctx.device.id, now).rejected++;
    this.recordProblems(ctx, topic, payload, [problem], now);
    this.enqueue(done);
  }

  markSeen(deviceId: string): void {
    this.tallyOf(deviceId, Date.now());
  }

  /** Per-device figures since the last call, for the registry (written in batches, not per message). */
  drainSeen(): SeenUpdate[] {
    const out = [...this.tally.values()];
    this.tally.clear();
    return out;
  }

  latestOf(deviceId: string): LiveDevice | undefined {
    return this.latest.get(deviceId);
  }

  /** Forgets what admission remembers of a device (it was deleted or re-provisioned). */
  forget(deviceId: string): void {
    this.latest.delete(deviceId);
    this.lastSeq.delete(deviceId);
  }

  /** Commits whatever is pending now (tests, shutdown). */
  flushNow(): void {
    this.commit();
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.stats.spoolFull = false;
    this.commit();
  }

  private tallyOf(deviceId: string, now: number): DeviceTally {
    let t = this.tally.get(deviceId);
    if (!t) {
      t = { deviceId, seenAt: now, accepted: 0, rejected: 0, seqReceived: 0, seqExpected: 0 };
      this.tally.set(deviceId, t);
    }
    t.seenAt = now;
    return t;
  }

  /** Received vs expected from `seq`: a jump forward is a gap; a drop to 0 or far back is a device restart. */
  private countSequence(deviceId: string, points: readonly AdmittedPoint[], tally: DeviceTally): void {
    let last = this.lastSeq.get(deviceId);
    for (const p of [...points].sort((a, b) => a.seq - b.seq)) {
      if (last === undefined || p.seq === 0 || p.seq < last - 1000) {
        tally.seqExpected++;
        tally.seqReceived++;
        last = p.seq;
      } else if (p.seq > last) {
        tally.seqExpected += p.seq - last;
        tally.seqReceived++;
        last = p.seq;
      } else if (p.seq < last) {
        tally.seqReceived++; // a late arrival fills a gap counted earlier
      } // p.seq === last: a redelivery, already counted
    }
    if (last !== undefined) this.lastSeq.set(deviceId, last);
  }

  private recordProblems(ctx: DeviceContext, topic: string, payload: Buffer, problems: readonly Problem[], now: number): void {
    const minute = Math.floor(now / 60_000);
    if (minute !== this.deadMinute) {
      this.deadMinute = minute;
      this.deadThisMinute.clear();
    }
    const kept = this.deadThisMinute.get(ctx.device.id) ?? 0;
    const keep = kept < this.opts.deadLettersPerMinute;
    if (keep) this.deadThisMinute.set(ctx.device.id, kept + 1);
    else this.stats.deadLettersSuppressed++;
    const text = keep ? truncatePayload(payload) : '';
    const day = shanghaiDay(now);
    for (const p of problems) {
      this.stats.rejectedByRule[p.rule] = (this.stats.rejectedByRule[p.rule] ?? 0) + 1;
      const key = `${ctx.device.id}\0${p.rule}\0${day}`;
      const c = this.counts.get(key);
      if (c) c.count++;
      else this.counts.set(key, { day, firmId: ctx.firm.id, deviceId: ctx.device.id, rule: p.rule, count: 1 });
      // A flood of bad messages from one device is counted in full but stored only up to the per-minute limit,
      // so it cannot fill the spool or slow the commits other devices wait on.
      if (keep) this.pending.dead.push({ receivedAt: now, firmId: ctx.firm.id, deviceId: ctx.device.id, topic, field: p.field, rule: p.rule, reason: p.message, payload: text });
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
    if (this.stats.spoolFull && this.pending.waiters.length >= this.opts.maxParked) {
      waiter(new SpoolFullError('spool full and too many publishes waiting: refusing until the ingest writer catches up'));
      return;
    }
    this.pending.waiters.push(waiter);
    this.stats.parked = this.stats.spoolFull ? this.pending.waiters.length : 0;
    if (!this.scheduled && !this.stats.spoolFull) {
      this.scheduled = true;
      // setImmediate: every publish of the current socket reads (all clients) joins this commit.
      setImmediate(() => this.commit());
    }
  }

  private checkSpoolRoom(): void {
    let rows: number;
    try {
      rows = this.spool.approxRowsSync();
    } catch {
      return;
    }
    const cap = this.opts.spoolMaxRows;
    if (!this.stats.spoolFull && rows >= cap) {
      this.stats.spoolFull = true;
      this.emit('spoolFull', rows);
    } else if (this.stats.spoolFull && rows < cap * 0.9) {
      this.stats.spoolFull = false;
      this.emit('spoolRoom', rows);
      this.commit();
    }
  }

  private commit(): void {
    this.scheduled = false;
    if (this.stats.spoolFull) return; // hold the PUBACKs until the writer makes room
    const batch = this.pending;
    if (batch.waiters.length === 0) return;
    const counts = [...this.counts.values()];
    this.pending = { records: [], dead: [], waiters: [] };
    this.counts = new Map();
    this.stats.parked = 0;
    let error: Error | null = null;
    try {
      this.spool.appendSync(batch.records, batch.dead, counts);
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
