// Admission: what the broker does with a device's publish before it lets Aedes send the PUBACK.
// Validate (common/contract), then group-commit into the durable spool: every message admitted since the last
// commit goes into one transaction on the next turn of the event loop, and only after that commit are their
// callbacks released. So a PUBACK means "durably recorded", and the fsync cost is shared by the whole group.
// When the spool is at its cap, commits wait (no PUBACK: devices slow down and keep their data) until the
// ingest writer has made room; nothing acknowledged is ever dropped.
import { EventEmitter } from 'node:events';
import { admitMessage, type AdmitLimits, type AdmittedPoint } from '../contract/admit.ts';
import type { MessageKind } from '../contract/topics.ts';
import type { Problem } from '../contract/messages.ts';
import { truncatePayload, type CounterMemory, type DeadLetter, type RejectionCount, type SpoolRecord } from '../spool/spool.ts';
import type { DeviceContext, SeenUpdate } from '../registry/registry.ts';
import { localDate } from '../time.ts';
import type { LiveDevice, LiveSummary } from '../contract/live.ts';
import { LatencyHistogram } from '../latency.ts';
import { PointHistory, REPLAY_WINDOW_POINTS, type PointHistoryOptions } from './point-history.ts';
import type { RateOverrides } from './plausibility.ts';

/** What admission needs of the spool: one durable append per group commit. */
export interface SyncSpool {
  /** Appends durably (one transaction); resolves with the rows now waiting, for the cap. */
  appendBatch(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[], counts: readonly RejectionCount[]): Promise<number>;
  /** Checkpoints the counter memory (a few rows per active device, every checkpointMs; never per message). */
  saveCounterMemory?(rows: readonly CounterMemory[]): Promise<void>;
}

export interface AdmissionDevice {
  ctx: DeviceContext;
  tags: string;
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

export interface AdmissionOptions extends PointHistoryOptions {
  liveIntervalMs?: number;
  /** Spool rows at which admission stops acknowledging (backpressure); 0 = no cap. */
  spoolMaxRows?: number;
  /** Dead letters kept per device and minute; the rest are only counted. */
  deadLettersPerMinute?: number;
  /** Publishes waiting for spool room before new ones are refused (their connection closes; devices resend). */
  maxParked?: number;
  /** How often the counter memory of active devices is checkpointed into the spool (when it can take it). */
  checkpointMs?: number;
  /** The last checkpoint, to seed the counter memory at start-up. */
  counterMemory?: readonly CounterMemory[];
}

export interface Verdict {
  /** Everything in the message was rejected: drop it after the ack. */
  dropped: boolean;
  problems: Problem[];
}

/** One publish waiting for its commit: what it adds to the spool and who to tell. */
interface Pending {
  record: SpoolRecord | undefined;
  dead: DeadLetter[];
  waiter: (err: Error | null) => void;
}

interface DeviceTally extends SeenUpdate {
  accepted: number;
  rejected: number;
  seqReceived: number;
  seqExpected: number;
}

const SEQ_WINDOW = 1024;
interface SeqState {
  last: number;
  /** Bit (seq mod SEQ_WINDOW) set when that sequence number within the window was received. */
  seen: Uint8Array;
}
function markSeq(st: SeqState, seq: number): void {
  st.seen[(seq % SEQ_WINDOW) >> 3]! |= 1 << (seq % 8);
}
function seqSeen(st: SeqState, seq: number): boolean {
  return ((st.seen[(seq % SEQ_WINDOW) >> 3] ?? 0) & (1 << (seq % 8))) !== 0;
}

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

export class Admission extends EventEmitter {
  readonly stats: AdmissionStats = { received: 0, accepted: 0, rejected: 0, points: 0, rejectedByRule: {}, deadLettersSuppressed: 0, commits: 0, commitErrors: 0, spoolFull: false, parked: 0 };
  /** How long each successful group commit took (the wait it adds to every PUBACK in it). */
  readonly commitSeconds = new LatencyHistogram();
  private pending: Pending[] = [];
  private counts = new Map<string, RejectionCount>();
  private scheduled = false;
  /** One commit at a time: what arrives meanwhile joins the next one (group commit that grows with load). */
  private committing = false;
  private closing = false;
  /** Rows waiting in the spool as of the last commit, plus what this process added since (an upper bound). */
  private rowsEstimate = 0;
  private readonly latest = new Map<string, LiveDevice>();
  private readonly dirty = new Set<string>();
  private readonly tally = new Map<string, DeviceTally>();
  private readonly seqState = new Map<string, SeqState>();
  private readonly deadThisMinute = new Map<string, number>();
  private deadMinute = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<Omit<AdmissionOptions, 'counterMemory'>>;
  /** Last accepted counter readings and the replay window, per device: plausible counters, immutable history. */
  private readonly history: PointHistory;

  constructor(private readonly spool: SyncSpool, private readonly limits: AdmitLimits, opts: AdmissionOptions = {}) {
    super();
    const { counterMemory, ...rest } = opts;
    this.opts = { liveIntervalMs: 1000, spoolMaxRows: 0, deadLettersPerMinute: 60, maxParked: 100_000, replayWindowPoints: REPLAY_WINDOW_POINTS, plausibleCounters: true, checkpointMs: 10_000, ...rest };
    this.history = new PointHistory(this.opts);
    if (counterMemory) this.history.seed(counterMemory);
    this.timers.push(setInterval(() => this.emitLive(), this.opts.liveIntervalMs));
    if (spool.saveCounterMemory) this.timers.push(setInterval(() => { this.checkpoint().catch((err: Error) => this.emit('checkpointError', err)); }, this.opts.checkpointMs));
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
    const result = admitMessage(kind, { deviceId: d.id, firmId: d.firmId, type: d.type, tags: device.tags }, payload, now, this.limits, this.history);
    const tally = this.tallyOf(d.id, now);
    if (result.points.length > 0 || result.state) {
      const live = this.liveEntry(device);
      for (const p of result.points) {
        if (p.ts >= live.ts) { live.ts = p.ts; Object.assign(live.metrics, p.metrics); }
        tally.telemetryAt = Math.max(tally.telemetryAt ?? 0, p.ts);
      }
      // A late (store-and-forward) state event does not replace a newer one.
      if (result.state && result.state.ts >= (live.stateTs ?? -Infinity)) { live.state = result.state.state; live.stateTs = result.state.ts; }
      this.dirty.add(d.id);
      // Only a single live point tells the device clock's offset; a backfill batch is old on purpose.
      if (result.points.length === 1) tally.clockSkewMs = (result.points[0] as AdmittedPoint).ts - now;
      this.countSequence(d.id, result.points, tally);
    }
    if (result.status) tally.reportedStatus = result.status;
    let record: SpoolRecord | undefined;
    if (result.lines.length > 0) {
      this.stats.accepted++;
      tally.accepted++;
      this.stats.points += result.lines.length;
      record = { receivedAt: now, deviceId: d.id, lines: result.lines.join('\n'), points: result.lines.length };
    }
    let dead: DeadLetter[] = [];
    if (result.problems.length > 0) {
      if (result.lines.length === 0) { this.stats.rejected++; tally.rejected++; }
      dead = this.recordProblems(device.ctx, topic, payload, result.problems, now);
    }
    const verdict: Verdict = { dropped: result.lines.length === 0 && result.problems.length > 0, problems: result.problems };
    if (result.lines.length === 0 && result.problems.length === 0) {
      // Nothing to make durable (a status message): answer at once.
      done(null, verdict);
      return;
    }
    this.enqueue({ record, dead, waiter: (err) => done(err, verdict) });
  }

  /** A publish refused before admission (wrong topic, too large): kept as a dead letter like any other rejection. */
  refuse(ctx: DeviceContext, topic: string, payload: Buffer, problem: Problem, done: (err: Error | null) => void): void {
    const now = Date.now();
    this.stats.received++;
    this.stats.rejected++;
    this.tallyOf(ctx.device.id, now).rejected++;
    this.enqueue({ record: undefined, dead: this.recordProblems(ctx, topic, payload, [problem], now), waiter: done });
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

  /** A device's own maximum counter rates (registry); they bound its next point. */
  setRateOverrides(deviceId: string, overrides: RateOverrides | undefined): void {
    this.history.setRateOverrides(deviceId, overrides);
  }

  /** Writes the counter memory of devices that sent counters since the last checkpoint. */
  async checkpoint(): Promise<void> {
    const rows = this.history.drainCheckpoint();
    if (rows.length > 0) await this.spool.saveCounterMemory?.(rows);
  }

  /** Forgets what admission remembers of a device (it was deleted or re-provisioned). */
  forget(deviceId: string): void {
    this.latest.delete(deviceId);
    this.seqState.delete(deviceId);
    this.history.forget(deviceId);
  }

  /** Commits whatever is pending now and resolves when nothing is pending or committing (tests, shutdown). */
  async flushNow(): Promise<void> {
    while (this.pending.length > 0 || this.committing) {
      this.commit();
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Stops the timers and commits what is pending, over the cap if need be (those devices are waiting for a PUBACK). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.closing = true;
    this.stats.spoolFull = false;
    await this.flushNow();
    await this.checkpoint();
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

  /**
   * Received vs expected from `seq`. A window of the last SEQ_WINDOW sequence numbers (one bit each) tells a
   * replay (already seen: not counted again) from a late arrival (fills a gap counted earlier); a jump forward is
   * a gap; a number far below the window is a device restart and starts a new run.
   */
  private countSequence(deviceId: string, points: readonly AdmittedPoint[], tally: DeviceTally): void {
    let st = this.seqState.get(deviceId);
    for (const p of [...points].sort((a, b) => a.seq - b.seq)) {
      const seq = p.seq;
      if (!st || seq <= st.last - SEQ_WINDOW) {
        st = { last: seq, seen: new Uint8Array(SEQ_WINDOW / 8) };
        this.seqState.set(deviceId, st);
        markSeq(st, seq);
        tally.seqExpected++;
        tally.seqReceived++;
      } else if (seq > st.last) {
        for (let s = st.last + 1; s < seq && s <= st.last + SEQ_WINDOW; s++) st.seen[(s % SEQ_WINDOW) >> 3]! &= ~(1 << (s % 8));
        tally.seqExpected += seq - st.last;
        tally.seqReceived++;
        st.last = seq;
        markSeq(st, seq);
      } else if (!seqSeen(st, seq)) {
        tally.seqReceived++;
        markSeq(st, seq);
      }
    }
  }

  /** Counts every problem; returns the dead letters to keep (at most the per-device, per-minute limit). */
  private recordProblems(ctx: DeviceContext, topic: string, payload: Buffer, problems: readonly Problem[], now: number): DeadLetter[] {
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
    const day = localDate(now);
    const dead: DeadLetter[] = [];
    for (const p of problems) {
      this.stats.rejectedByRule[p.rule] = (this.stats.rejectedByRule[p.rule] ?? 0) + 1;
      const key = `${ctx.device.id}\0${p.rule}\0${day}`;
      const c = this.counts.get(key);
      if (c) c.count++;
      else this.counts.set(key, { day, firmId: ctx.firm.id, deviceId: ctx.device.id, rule: p.rule, count: 1 });
      // A flood of bad messages from one device is counted in full but stored only up to the per-minute limit,
      // so it cannot fill the spool or slow the commits other devices wait on.
      if (!keep) continue;
      // A quarantined reading is kept whole (its validated point), so it can be released into the store later.
      const reading = this.history.readingOf(p);
      dead.push({ receivedAt: now, firmId: ctx.firm.id, deviceId: ctx.device.id, topic, field: p.field, rule: p.rule, reason: p.message, payload: text, ...(reading === undefined ? {} : { reading }) });
    }
    return dead;
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

  private enqueue(item: Pending): void {
    if (this.stats.spoolFull && this.pending.length >= this.opts.maxParked) {
      item.waiter(new SpoolFullError('spool full and too many publishes waiting: refusing until the ingest writer catches up'));
      return;
    }
    this.pending.push(item);
    this.stats.parked = this.stats.spoolFull ? this.pending.length : 0;
    if (!this.scheduled && !this.stats.spoolFull) {
      this.scheduled = true;
      // setImmediate: every publish of the current socket reads (all clients) joins this commit.
      setImmediate(() => this.commit());
    }
  }

  /** While full, ask the spool every 200 ms how much is waiting; commit what waited once a tenth is free. */
  private checkSpoolRoom(): void {
    if (!this.stats.spoolFull || this.committing) return;
    this.committing = true;
    this.spool.appendBatch([], [], []).then((rows) => {
      this.rowsEstimate = rows;
      this.committing = false;
      if (rows < this.opts.spoolMaxRows * 0.9) {
        this.stats.spoolFull = false;
        this.emit('spoolRoom', rows);
        this.commit();
      }
    }, () => { this.committing = false; });
  }

  private commit(): void {
    this.scheduled = false;
    // While full, hold the PUBACKs; while a commit runs, gather the next group.
    if (this.stats.spoolFull || this.committing || this.pending.length === 0) return;
    let take = this.pending.length;
    if (this.opts.spoolMaxRows > 0 && !this.closing) {
      // Commit only what fits under the cap; the rest waits (no PUBACK) until the writer makes room.
      let room = this.opts.spoolMaxRows - this.rowsEstimate;
      take = 0;
      for (const item of this.pending) {
        if (item.record && room <= 0) break;
        if (item.record) room--;
        take++;
      }
      if (take < this.pending.length) {
        this.stats.spoolFull = true;
        this.emit('spoolFull', this.opts.spoolMaxRows);
      }
      if (take === 0) {
        this.stats.parked = this.pending.length;
        return;
      }
    }
    const batch = this.pending.slice(0, take);
    this.pending = this.pending.slice(take);
    this.stats.parked = this.pending.length;
    const counts = [...this.counts.values()];
    this.counts = new Map();
    const records = batch.flatMap((b) => (b.record ? [b.record] : []));
    this.rowsEstimate += records.length;
    this.committing = true;
    const started = performance.now();
    this.spool.appendBatch(records, batch.flatMap((b) => b.dead), counts).then((rows) => {
      this.commitSeconds.observe((performance.now() - started) / 1000);
      this.rowsEstimate = rows;
      this.stats.commits++;
      return null;
    }, (err: Error) => {
      this.stats.commitErrors++;
      this.emit('commitError', err);
      return err;
    }).then((error) => {
      this.committing = false;
      for (const b of batch) b.waiter(error);
      if (this.pending.length > 0) this.commit();
    });
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
