// The alarm engine: rules evaluated in the API process from the per-second live summaries (never from every
// message) plus periodic checks of what never reaches a live summary: silent devices (offline), quarantined
// counter readings, rejected messages (a burst of them, or a clock so far ahead that everything is rejected),
// the spool and InfluxDB. Raised, acknowledged and cleared alarms go to the store and to the listeners.
//
// Evaluation itself is synchronous and touches no store: it only queues what to raise and clear, and each
// round's queue is written afterwards as one batch (the store may be PostgreSQL, shared by several API nodes).
// Rounds run one at a time, in the order they were asked for.
import { metricSpec } from '../../common/contract/catalogue.ts';
import type { Actor } from '../base/db.ts';
import { PLATFORM_FIRM, type Alarm, type AlarmEvent, type AlarmRule, type Op } from './rules.ts';
import type { AlarmStore, NewAlarm } from './store.ts';
import { alarmTexts } from './templates.ts';

/** The shape of a device in a live summary (LiveDevice in common/contract/live.ts). */
export interface LiveDeviceSample {
  deviceId: string;
  firmId: string;
  type: string;
  /** Device time of the newest telemetry point. */
  ts: number;
  metrics: Record<string, number>;
  state?: string;
}

export interface LiveSummaryLike {
  at: number;
  devices: readonly LiveDeviceSample[];
}

export type AlarmEmitter = (rooms: string[], event: AlarmEvent) => void;

/** What the engine needs of a store (a rule preview runs it on a store in memory). */
export type EngineStore = Pick<AlarmStore, 'rules' | 'openAlarms' | 'raise' | 'clear' | 'ack' | 'batch'>;

/** Every observation of a condition (the preview follows an episode's peak with it). */
export type ConditionObserver = (rule: AlarmRule, deviceId: string, holds: boolean, at: number, value: number | null) => void;

/** A device as the periodic checks get it from the registry. */
export interface CheckedDevice {
  id: string;
  firmId: string;
  type: string;
  name?: string;
  lastSeenAt?: number | null;
}

/** Rejections counted per device, rule and day (the spool's rejection_counts). */
export interface RejectionCountLike {
  day: string;
  firmId: string;
  deviceId: string;
  rule: string;
  count: number;
}

interface CondState {
  since: number | null;
  /** The open alarm; PENDING while its raise is queued. */
  openId: number | null;
}

const PENDING = 0;

/** What a round of evaluation decided, written to the store after it. */
type StoreAction = { raise: NewAlarm; st: CondState } | { clearOf: CondState; at: number; value: number | null };

interface Subject {
  deviceId: string;
  firmId: string;
  type: string;
}

/** What a text needs beyond the rule and the value. */
interface Extra {
  state?: string | undefined;
  metric?: string | undefined;
  detail?: string | undefined;
}

const ROLLING_MAX_MS = 3_600_000;
/** A clock-ahead rejection this recent keeps a device's clock alarm on. */
const CLOCK_EVIDENCE_MS = 60_000;
const SPOOL_SUBJECT: Subject = { deviceId: 'spool', firmId: PLATFORM_FIRM, type: 'platform' };
const STORE_SUBJECT: Subject = { deviceId: 'influxdb', firmId: PLATFORM_FIRM, type: 'platform' };

function compare(v: number, op: Op, limit: number): boolean {
  switch (op) {
    case '>': return v > limit;
    case '>=': return v >= limit;
    case '<': return v < limit;
    case '<=': return v <= limit;
  }
}

export class AlarmEngine {
  private rules: AlarmRule[] = [];
  /** Metrics some rate rule watches (only their samples are kept). */
  private rateMetrics = new Set<string>();
  /** Whether some counter_reset rule is on (only then are counter readings kept). */
  private watchResets = false;
  /** Condition state per rule and device (only while the condition holds or an alarm is open). */
  private readonly cond = new Map<number, Map<string, CondState>>();
  /** Rules per device type (with the rules for every type), rebuilt with the rules. */
  private byType = new Map<string, AlarmRule[]>();
  /** Recent samples per device and metric (rate rules). */
  private readonly samples = new Map<string, Array<[number, number]>>();
  /** Value and since-when per stuck rule and device. */
  private readonly stuck = new Map<string, { value: number; since: number }>();
  /** Device time of the last telemetry seen per device, and when the API last saw the device live. */
  private readonly lastTs = new Map<string, number>();
  private readonly lastLiveAt = new Map<string, number>();
  /** Clock offset of each device's last live sample (seconds) and its last clock-ahead rejection. */
  private readonly lastSkewS = new Map<string, number>();
  private readonly lastClockReject = new Map<string, number>();
  /** Last reading of each counter, and each device's last counter reset. */
  private readonly counters = new Map<string, number>();
  private readonly lastReset = new Map<string, { at: number; metric: string }>();
  /** Rejection counts seen (device, rule, day) and the rises since, per device. */
  private readonly rejSeen = new Map<string, number>();
  private rejBaselined = false;
  private readonly rejRises = new Map<string, Array<{ at: number; n: number; rule: string }>>();
  private readonly names = new Map<string, string>();
  private emitter: AlarmEmitter | undefined;
  private readonly listeners = new Set<(ev: AlarmEvent) => void>();
  private queue: StoreAction[] = [];
  private tail: Promise<void> = Promise.resolve();
  private loaded = false;
  private observer: ConditionObserver | undefined;
  evaluations = 0;

  constructor(private readonly store: EngineStore) {}

  /** Calls fn on every condition observation (set by the rule preview, never on the live path). */
  setObserver(fn: ConditionObserver | undefined): void {
    this.observer = fn;
  }

  /** Rules and open alarms from the store, once (retried by the next round when the store was down). */
  private async load(): Promise<void> {
    if (this.loaded) return;
    const [rules, open] = await Promise.all([this.store.rules(), this.store.openAlarms()]);
    this.useRules(rules, Date.now());
    for (const a of open) if (!this.condOf(a.ruleId).has(a.deviceId)) this.condOf(a.ruleId).set(a.deviceId, { since: a.raisedAt, openId: a.id });
    this.loaded = true;
  }

  /** Runs one round after the previous ones: evaluation, then its store writes in one batch. */
  private round(evaluate: () => void | Promise<void>): Promise<void> {
    const next = this.tail.then(async () => {
      await this.load();
      await evaluate();
      await this.flush();
    });
    this.tail = next.catch(() => {});
    return next;
  }

  /** Resolves once every round asked for so far is written. */
  settled(): Promise<void> {
    return this.tail;
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0) return;
    const actions = this.queue;
    this.queue = [];
    let failure: unknown;
    // A raise that did not happen is tried again by the next observation.
    const retry = () => { for (const a of actions) if ('raise' in a && a.st.openId === PENDING) a.st.openId = null; };
    try {
      await this.store.batch(async () => {
        for (const a of actions) {
          // One failure does not keep the rest of the round from being written.
          try { await this.apply(a); } catch (err) { failure ??= err; }
        }
      });
    } catch (err) {
      failure ??= err;
    }
    retry();
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  }

  private async apply(a: StoreAction): Promise<void> {
    if ('raise' in a) {
      const { alarm, fresh } = await this.store.raise(a.raise);
      a.st.openId = alarm.id;
      if (fresh) this.emit('raised', alarm);
      return;
    }
    const id = a.clearOf.openId;
    if (id === null || id === PENDING) return;
    const cleared = await this.store.clear(id, a.at, a.value);
    if (cleared) this.emit('cleared', cleared);
  }

  setEmitter(emit: AlarmEmitter | undefined): void {
    this.emitter = emit;
  }

  /** Every event this engine causes (notifications); returns the unsubscribe. */
  subscribe(fn: (ev: AlarmEvent) => void): () => void {
    this.listeners.add(fn);
    return () => { this.listeners.delete(fn); };
  }

  /** Device names for the alarm texts (the periodic checks keep them current). */
  setDeviceNames(devices: ReadonlyArray<{ id: string; name?: string }>): void {
    for (const d of devices) if (d.name) this.names.set(d.id, d.name);
  }

  /** Re-reads the rules (after an edit here, and periodically for edits on other nodes); open alarms of deleted or disabled rules are cleared. */
  reloadRules(now = Date.now()): Promise<void> {
    return this.round(async () => {
      const rules = await this.store.rules();
      this.useRules(rules, now);
    });
  }

  private useRules(all: readonly AlarmRule[], now: number): void {
    this.rules = all.filter((r) => r.enabled);
    this.rateMetrics = new Set(this.rules.filter((r) => r.kind === 'rate' && r.metric !== null).map((r) => r.metric as string));
    this.watchResets = this.rules.some((r) => r.kind === 'counter_reset');
    this.byType = new Map();
    const live = new Set(this.rules.map((r) => r.id));
    for (const [ruleId, devices] of this.cond) {
      if (live.has(ruleId)) continue;
      for (const st of devices.values()) this.clearAlarm(st, now, null);
      this.cond.delete(ruleId);
    }
  }

  private condOf(ruleId: number): Map<string, CondState> {
    let m = this.cond.get(ruleId);
    if (!m) {
      m = new Map();
      this.cond.set(ruleId, m);
    }
    return m;
  }

  private rulesFor(d: Subject): AlarmRule[] {
    let forType = this.byType.get(d.type);
    if (!forType) {
      forType = this.rules.filter((r) => r.deviceType === null || r.deviceType === d.type);
      this.byType.set(d.type, forType);
    }
    return forType.some((r) => r.firmId !== null || r.deviceId !== null)
      ? forType.filter((r) => (r.firmId === null || r.firmId === d.firmId) && (r.deviceId === null || r.deviceId === d.deviceId))
      : forType;
  }

  private emit(event: AlarmEvent['event'], alarm: Alarm): void {
    const ev = { event, alarm };
    this.emitter?.(alarm.firmId === PLATFORM_FIRM ? ['all'] : ['all', `firm:${alarm.firmId}`], ev);
    for (const fn of this.listeners) {
      // A failing listener (notifications) must not stop evaluation nor the other listeners.
      try { fn(ev); } catch { /* the listener logs its own failures */ }
    }
  }

  private clearAlarm(st: CondState, at: number, value: number | null): void {
    if (st.openId !== null) this.queue.push({ clearOf: st, at, value });
  }

  /**
   * One condition observation: true starts (or continues) the duration, false clears. Raises when the
   * condition has held for durationS.
   */
  private observe(rule: AlarmRule, d: Subject, holds: boolean, at: number, value: number | null, durationS = rule.durationS, extra: Extra = {}): void {
    this.observer?.(rule, d.deviceId, holds, at, value);
    const conds = this.cond.get(rule.id);
    let st = conds?.get(d.deviceId);
    if (!holds) {
      if (st) this.clearAlarm(st, at, value);
      if (st) conds?.delete(d.deviceId);
      return;
    }
    if (!st) {
      st = { since: at, openId: null };
      this.condOf(rule.id).set(d.deviceId, st);
    }
    st.since ??= at;
    if (st.openId === null && at - st.since >= durationS * 1000) {
      const metric = extra.metric ?? rule.metric;
      const messages = alarmTexts({ rule: { ...rule, metric }, type: d.type, deviceName: this.names.get(d.deviceId), deviceId: d.deviceId, value, state: extra.state, detail: extra.detail });
      st.openId = PENDING;
      this.queue.push({
        st, raise: {
          ruleId: rule.id, ruleName: rule.name, kind: rule.kind, severity: rule.severity, firmId: d.firmId, deviceId: d.deviceId, deviceType: d.type,
          metric, messages, value, raisedAt: at,
        },
      });
    }
  }

  /** Evaluates the rules on one live summary (once a second). */
  onLive(summary: LiveSummaryLike): Promise<void> {
    // One commit for whatever this summary raises and clears (a fleet coming back clears thousands at once).
    return this.round(() => this.evaluateSummary(summary));
  }

  private evaluateSummary(summary: LiveSummaryLike): void {
    const at = summary.at;
    for (const d of summary.devices) {
      const fresh = d.ts > (this.lastTs.get(d.deviceId) ?? -Infinity);
      if (fresh) {
        this.lastTs.set(d.deviceId, d.ts);
        // ts 0: only a state has come, no reading yet; that says nothing about the device's clock.
        if (d.ts > 0) this.lastSkewS.set(d.deviceId, (d.ts - at) / 1000);
        this.keepSamples(d);
      }
      this.lastLiveAt.set(d.deviceId, at);
      for (const rule of this.rulesFor(d)) {
        this.evaluations++;
        this.evaluate(rule, d, at, fresh);
      }
    }
  }

  /** Rate rules' samples and each counter's last reading (a fall is a reset). */
  private keepSamples(d: LiveDeviceSample): void {
    for (const metric of this.rateMetrics) {
      const v = d.metrics[metric];
      if (v === undefined) continue;
      const key = `${d.deviceId}/${metric}`;
      let list = this.samples.get(key);
      if (!list) {
        list = [];
        this.samples.set(key, list);
      }
      list.push([d.ts, v]);
      while (list.length > 0 && d.ts - (list[0]?.[0] ?? 0) > ROLLING_MAX_MS) list.shift();
      if (list.length > 4000) list.splice(0, list.length - 4000);
    }
    if (!this.watchResets) return;
    for (const [metric, v] of Object.entries(d.metrics)) {
      if (!metricSpec(d.type, metric)?.counter) continue;
      const key = `${d.deviceId}/${metric}`;
      const prev = this.counters.get(key);
      // Jitter of a register read twice is no reset: the fall must be more than a millionth of the reading.
      if (prev !== undefined && v < prev - Math.max(1e-6 * prev, 1e-9)) this.lastReset.set(d.deviceId, { at: d.ts, metric });
      this.counters.set(key, v);
    }
  }

  private evaluate(rule: AlarmRule, d: LiveDeviceSample, at: number, fresh: boolean): void {
    switch (rule.kind) {
      case 'threshold': {
        const v = rule.metric ? d.metrics[rule.metric] : undefined;
        if (v === undefined || !rule.op || rule.value === null) return;
        this.observe(rule, d, compare(v, rule.op, rule.value), at, v);
        return;
      }
      case 'rate': return this.evaluateRate(rule, d, at, fresh);
      case 'state':
        if (d.state === undefined) return;
        this.observe(rule, d, (rule.states ?? []).includes(d.state), at, null, rule.durationS, { state: d.state });
        return;
      case 'stuck': {
        const v = rule.metric ? d.metrics[rule.metric] : undefined;
        if (!fresh || v === undefined) return;
        const key = `${rule.id}/${d.deviceId}`;
        const prev = this.stuck.get(key);
        if (!prev || Math.abs(v - prev.value) > (rule.value ?? 0)) {
          this.stuck.set(key, { value: v, since: at });
          this.observe(rule, d, false, at, v, 0);
          return;
        }
        this.observe(rule, d, at - prev.since >= rule.durationS * 1000, at, v, 0);
        return;
      }
      case 'clock_skew':
        if (fresh) this.observeClock(rule, d, at);
        return;
      case 'counter_reset': return this.observeReset(rule, d, at);
      case 'offline':
        // Seen now: an open offline alarm clears.
        this.observe(rule, d, false, at, null);
        return;
      default:
        return;
    }
  }

  private evaluateRate(rule: AlarmRule, d: LiveDeviceSample, at: number, fresh: boolean): void {
    if (!fresh || !rule.metric || !rule.op || rule.value === null) return;
    const list = this.samples.get(`${d.deviceId}/${rule.metric}`);
    const last = list?.[list.length - 1];
    if (!list || !last) return;
    const windowStart = last[0] - rule.windowS * 1000;
    const first = list.find(([t]) => t >= windowStart);
    if (!first || last[0] - first[0] < (rule.windowS * 1000) / 2) return;
    const perMin = ((last[1] - first[1]) / (last[0] - first[0])) * 60_000;
    this.observe(rule, d, compare(perMin, rule.op, rule.value), at, perMin);
  }

  /** The clock is off when the last live sample says so, or when messages were lately rejected as too far ahead. */
  private observeClock(rule: AlarmRule, d: Subject, at: number): void {
    if (rule.value === null) return;
    const rejected = at - (this.lastClockReject.get(d.deviceId) ?? -Infinity) <= CLOCK_EVIDENCE_MS;
    const skew = this.lastSkewS.get(d.deviceId);
    if (rejected) this.observe(rule, d, true, at, skew ?? null, rule.durationS, { detail: 'clock-ahead' });
    else this.observe(rule, d, skew !== undefined && Math.abs(skew) > rule.value, at, skew ?? null);
  }

  private observeReset(rule: AlarmRule, d: Subject, at: number): void {
    const reset = this.lastReset.get(d.deviceId);
    const holds = reset !== undefined && (rule.metric === null || rule.metric === reset.metric) && at - reset.at < (rule.value ?? 0) * 60_000;
    this.observe(rule, d, holds, at, null, 0, { metric: reset?.metric });
  }

  /** Periodic check: devices whose last message is older than an offline rule's limit. */
  checkOffline(devices: readonly CheckedDevice[], now = Date.now()): Promise<void> {
    this.setDeviceNames(devices);
    return this.round(() => {
      if (this.rules.some((r) => r.kind === 'offline')) this.checkSilent(devices, now);
    });
  }

  private checkSilent(devices: readonly CheckedDevice[], now: number): void {
    for (const dev of devices) {
      const seen = Math.max(dev.lastSeenAt ?? -Infinity, this.lastLiveAt.get(dev.id) ?? -Infinity);
      if (!Number.isFinite(seen)) continue; // never seen: not offline, just not connected yet
      const d = { deviceId: dev.id, firmId: dev.firmId, type: dev.type };
      for (const rule of this.rulesFor(d)) {
        if (rule.kind !== 'offline' || rule.value === null) continue;
        const silentMin = (now - seen) / 60_000;
        this.evaluations++;
        this.observe(rule, d, silentMin > rule.value, now, silentMin, 0);
      }
    }
  }

  /**
   * Periodic check: devices with quarantined counter readings nobody released, received within a quarantine
   * rule's hours. The alarm clears once they are released (or older than that).
   */
  checkQuarantine(devices: readonly CheckedDevice[], quarantined: ReadonlyArray<{ deviceId: string; count: number; newestAt: number }>, now = Date.now()): Promise<void> {
    return this.round(() => this.observeQuarantine(devices, quarantined, now));
  }

  private observeQuarantine(devices: readonly CheckedDevice[], quarantined: ReadonlyArray<{ deviceId: string; count: number; newestAt: number }>, now: number): void {
    if (!this.rules.some((r) => r.kind === 'quarantine')) return;
    const byDevice = new Map(quarantined.map((q) => [q.deviceId, q]));
    for (const dev of devices) {
      const d = { deviceId: dev.id, firmId: dev.firmId, type: dev.type };
      const q = byDevice.get(dev.id);
      for (const rule of this.rulesFor(d)) {
        if (rule.kind !== 'quarantine' || rule.value === null) continue;
        this.evaluations++;
        this.observe(rule, d, q !== undefined && now - q.newestAt <= rule.value * 3_600_000, now, q?.count ?? 0, 0);
      }
    }
  }

  /**
   * Periodic check of the spool's rejection counts: a rule's number of rejected messages within its window
   * (rejected), and clock-ahead rejections as evidence of a skewed clock (clock_skew) — such a device's
   * messages never reach a live summary. The first call only learns the counts.
   */
  checkRejections(devices: readonly CheckedDevice[], counts: readonly RejectionCountLike[], now = Date.now()): Promise<void> {
    return this.round(() => this.observeRejections(devices, counts, now));
  }

  private observeRejections(devices: readonly CheckedDevice[], counts: readonly RejectionCountLike[], now: number): void {
    const current = new Set<string>();
    for (const c of counts) {
      const key = `${c.deviceId}\u0000${c.rule}\u0000${c.day}`;
      current.add(key);
      const rise = c.count - (this.rejSeen.get(key) ?? (this.rejBaselined ? 0 : c.count));
      this.rejSeen.set(key, c.count);
      if (rise <= 0) continue;
      let list = this.rejRises.get(c.deviceId);
      if (!list) {
        list = [];
        this.rejRises.set(c.deviceId, list);
      }
      list.push({ at: now, n: rise, rule: c.rule });
      if (c.rule === 'clock-ahead') this.lastClockReject.set(c.deviceId, now);
    }
    this.rejBaselined = true;
    // Days that left the counts' range are forgotten.
    for (const key of this.rejSeen.keys()) if (!current.has(key)) this.rejSeen.delete(key);
    for (const [id, list] of this.rejRises) {
      while (list.length > 0 && now - (list[0]?.at ?? 0) > ROLLING_MAX_MS) list.shift();
      if (list.length === 0) this.rejRises.delete(id);
    }
    for (const dev of devices) {
      const d = { deviceId: dev.id, firmId: dev.firmId, type: dev.type };
      for (const rule of this.rulesFor(d)) {
        if (rule.kind === 'clock_skew') this.observeClock(rule, d, now);
        if (rule.kind !== 'rejected' || rule.value === null) continue;
        this.evaluations++;
        const recent = (this.rejRises.get(dev.id) ?? []).filter((r) => now - r.at <= rule.windowS * 1000);
        const n = recent.reduce((s, r) => s + r.n, 0);
        const which = [...new Set(recent.map((r) => r.rule))].join(', ');
        this.observe(rule, d, n >= rule.value, now, n, rule.durationS, { detail: which });
      }
    }
  }

  /** Periodic check of the platform: rows waiting in the spool and whether InfluxDB answers. */
  checkPlatform(p: { spoolRows?: number; storeUp?: boolean }, now = Date.now()): Promise<void> {
    return this.round(() => this.observePlatform(p, now));
  }

  private observePlatform(p: { spoolRows?: number; storeUp?: boolean }, now: number): void {
    for (const rule of this.rulesFor(SPOOL_SUBJECT)) {
      this.evaluations++;
      if (rule.kind === 'spool' && p.spoolRows !== undefined) this.observe(rule, SPOOL_SUBJECT, p.spoolRows > (rule.value ?? 0), now, p.spoolRows);
      if (rule.kind === 'store_down' && p.storeUp !== undefined) this.observe(rule, STORE_SUBJECT, !p.storeUp, now, null);
    }
  }

  /** Acknowledges an alarm (who and when); undefined when unknown or already acknowledged. */
  async ack(id: number, actor: Actor): Promise<Alarm | undefined> {
    const a = await this.store.ack(id, actor);
    if (a) this.emit('acknowledged', a);
    return a;
  }
}
