// Alarms: rules per device type or device (threshold with duration, rate of change, state, stuck sensor,
// offline, clock skew, quarantined counter readings), evaluated in the API process from the per-second live
// summaries (never from every message) plus a periodic check of the registry's lastSeenAt (offline) and of the
// spool's quarantined readings waiting for an engineer (quarantine). Alarms are raised, acknowledged
// and cleared with timestamps, stored in SQLite, and pushed through an emit callback (socket.io rooms).
import { deviceType, metricSpec, MACHINE_STATES } from '../../common/contract/catalogue.ts';
import type { Db } from '../../common/sqlite.ts';
import type { Actor } from '../base/db.ts';

export const ALARM_KINDS = ['threshold', 'rate', 'state', 'stuck', 'offline', 'clock_skew', 'quarantine'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const OPS = ['>', '>=', '<', '<='] as const;
export type Op = (typeof OPS)[number];
export const ALARM_STATUSES = ['active', 'acknowledged', 'cleared', 'closed'] as const;
export type AlarmStatus = (typeof ALARM_STATUSES)[number];

export interface AlarmRuleInput {
  name: string;
  kind: AlarmKind;
  /** null: every firm (admin and bureau only). */
  firmId: string | null;
  /** The rule applies to devices of this type, or to one device; both null: every device. */
  deviceType: string | null;
  deviceId: string | null;
  /** threshold, rate, stuck: the metric watched. */
  metric: string | null;
  /** threshold and rate: comparison. */
  op: Op | null;
  /** threshold: the limit; rate: the limit per minute; stuck: the tolerance; offline: minutes; clock_skew: seconds; quarantine: hours looked back. */
  value: number | null;
  /** state: the states that raise the alarm. */
  states: string[] | null;
  /** rate: the window the rate is measured over (seconds). */
  windowS: number;
  /** How long the condition must hold before the alarm is raised (seconds). */
  durationS: number;
  severity: Severity;
  enabled: boolean;
}

export interface AlarmRule extends AlarmRuleInput {
  id: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface Alarm {
  id: number;
  ruleId: number;
  ruleName: string;
  kind: AlarmKind;
  severity: Severity;
  firmId: string;
  deviceId: string;
  deviceType: string;
  metric: string | null;
  message: string;
  value: number | null;
  raisedAt: number;
  ackedAt: number | null;
  ackedBy: string | null;
  clearedAt: number | null;
  clearValue: number | null;
  /** active (raised, not acknowledged), acknowledged (still on), cleared (off, not acknowledged), closed. */
  status: AlarmStatus;
}

export interface AlarmEvent {
  event: 'raised' | 'acknowledged' | 'cleared';
  alarm: Alarm;
}

/** Why a rule cannot work, or undefined. */
export function ruleProblem(r: AlarmRuleInput): string | undefined {
  if (r.deviceType && !deviceType(r.deviceType)) return `unknown device type "${r.deviceType}"`;
  const needsMetric = r.kind === 'threshold' || r.kind === 'rate' || r.kind === 'stuck';
  if (needsMetric) {
    if (!r.metric) return `a ${r.kind} rule needs a metric`;
    if (!r.deviceType && !r.deviceId) return `a ${r.kind} rule needs a device type or a device`;
    if (r.deviceType && !metricSpec(r.deviceType, r.metric)) return `"${r.metric}" is not a metric of ${r.deviceType}; it has: ${deviceType(r.deviceType)?.metrics.map((m) => m.name).join(', ')}`;
  }
  if ((r.kind === 'threshold' || r.kind === 'rate') && (!r.op || r.value === null)) return `a ${r.kind} rule needs op and value`;
  if (r.kind === 'rate' && !(r.windowS >= 10 && r.windowS <= 3600)) return 'windowS of a rate rule must be 10–3600 seconds';
  if (r.kind === 'state' && (!r.states || r.states.length === 0 || r.states.some((s) => !(MACHINE_STATES as readonly string[]).includes(s)))) return `a state rule needs states from: ${MACHINE_STATES.join(', ')}`;
  if (r.kind === 'offline' && !(r.value !== null && r.value > 0)) return 'an offline rule needs value = minutes (> 0)';
  if (r.kind === 'clock_skew' && !(r.value !== null && r.value > 0)) return 'a clock_skew rule needs value = seconds (> 0)';
  if (r.kind === 'quarantine' && !(r.value !== null && r.value > 0 && r.value <= 720)) return 'a quarantine rule needs value = hours looked back (0–720)';
  if (r.kind === 'stuck' && !(r.durationS > 0)) return 'a stuck rule needs durationS > 0 (how long the value may stay unchanged)';
  if (r.durationS < 0 || r.durationS > 30 * 86_400) return 'durationS must be 0–2592000';
  return undefined;
}

interface RuleRow {
  id: number; name: string; kind: string; firm_id: string | null; device_type: string | null; device_id: string | null; metric: string | null;
  op: string | null; value: number | null; states: string | null; window_s: number; duration_s: number; severity: string; enabled: number;
  created_by: string; created_at: number; updated_at: number;
}
interface AlarmRow {
  id: number; rule_id: number; rule_name: string; kind: string; severity: string; firm_id: string; device_id: string; device_type: string;
  metric: string | null; message: string; value: number | null; raised_at: number; acked_at: number | null; acked_by: string | null;
  cleared_at: number | null; clear_value: number | null;
}

function ruleFrom(r: RuleRow): AlarmRule {
  return {
    id: r.id, name: r.name, kind: r.kind as AlarmKind, firmId: r.firm_id, deviceType: r.device_type, deviceId: r.device_id, metric: r.metric,
    op: r.op as Op | null, value: r.value, states: r.states ? (JSON.parse(r.states) as string[]) : null, windowS: r.window_s, durationS: r.duration_s,
    severity: r.severity as Severity, enabled: r.enabled === 1, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function alarmFrom(r: AlarmRow): Alarm {
  const status: AlarmStatus = r.cleared_at === null ? (r.acked_at === null ? 'active' : 'acknowledged') : (r.acked_at === null ? 'cleared' : 'closed');
  return {
    id: r.id, ruleId: r.rule_id, ruleName: r.rule_name, kind: r.kind as AlarmKind, severity: r.severity as Severity, firmId: r.firm_id, deviceId: r.device_id,
    deviceType: r.device_type, metric: r.metric, message: r.message, value: r.value, raisedAt: r.raised_at, ackedAt: r.acked_at, ackedBy: r.acked_by,
    clearedAt: r.cleared_at, clearValue: r.clear_value, status,
  };
}

export interface AlarmQuery {
  firmId?: string;
  deviceId?: string;
  status?: AlarmStatus | 'open' | 'all';
  limit: number;
  beforeId?: number;
}

/** The marker (a settings key) that the default quarantine rule was created once: deleting it then sticks. */
const QUARANTINE_DEFAULT_KEY = 'alarms.default-rule.quarantine';

export class AlarmStore {
  private readonly s;

  constructor(private readonly db: Db) {
    this.ensureQuarantineRule();
    this.s = {
      rules: db.prepare<[], RuleRow>('SELECT * FROM alarm_rules ORDER BY id'),
      rule: db.prepare<[number], RuleRow>('SELECT * FROM alarm_rules WHERE id = ?'),
      insertRule: db.prepare(`INSERT INTO alarm_rules (name, kind, firm_id, device_type, device_id, metric, op, value, states, window_s, duration_s, severity, enabled, created_by, created_by_token, created_at, updated_at)
        VALUES (@name, @kind, @firmId, @deviceType, @deviceId, @metric, @op, @value, @states, @windowS, @durationS, @severity, @enabled, @by, @token, @at, @at)`),
      updateRule: db.prepare(`UPDATE alarm_rules SET name = @name, kind = @kind, firm_id = @firmId, device_type = @deviceType, device_id = @deviceId, metric = @metric, op = @op, value = @value,
        states = @states, window_s = @windowS, duration_s = @durationS, severity = @severity, enabled = @enabled, updated_at = @at WHERE id = @id`),
      deleteRule: db.prepare<[number]>('DELETE FROM alarm_rules WHERE id = ?'),
      insertAlarm: db.prepare(`INSERT INTO alarms (rule_id, rule_name, kind, severity, firm_id, device_id, device_type, metric, message, value, raised_at)
        VALUES (@ruleId, @ruleName, @kind, @severity, @firmId, @deviceId, @deviceType, @metric, @message, @value, @raisedAt)`),
      alarm: db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE id = ?'),
      open: db.prepare<[], AlarmRow>('SELECT * FROM alarms WHERE cleared_at IS NULL'),
      clear: db.prepare('UPDATE alarms SET cleared_at = @at, clear_value = @value WHERE id = @id AND cleared_at IS NULL'),
      ack: db.prepare('UPDATE alarms SET acked_at = @at, acked_by = @by, acked_by_token = @token WHERE id = @id AND acked_at IS NULL'),
    };
  }

  rules(): AlarmRule[] {
    return this.s.rules.all().map(ruleFrom);
  }

  /** Quarantined readings wait for someone: every firm sees them as an alarm unless an admin removes the rule. */
  private ensureQuarantineRule(): void {
    this.db.transaction(() => {
      const marked = this.db.prepare(`INSERT OR IGNORE INTO settings (key, value, updated_by, updated_by_token, updated_at) VALUES (?, 'true', 'default', '', 0)`).run(QUARANTINE_DEFAULT_KEY);
      if (marked.changes === 0) return;
      this.db.prepare(`INSERT INTO alarm_rules (name, kind, firm_id, device_type, device_id, metric, op, value, states, window_s, duration_s, severity, enabled, created_by, created_by_token, created_at, updated_at)
        VALUES ('计数读数被隔离 / counter readings quarantined', 'quarantine', NULL, NULL, NULL, NULL, NULL, 24, NULL, 0, 0, 'warning', 1, 'default', '', 0, 0)`).run();
    })();
  }

  rule(id: number): AlarmRule | undefined {
    const r = this.s.rule.get(id);
    return r ? ruleFrom(r) : undefined;
  }

  private params(r: AlarmRuleInput) {
    return {
      name: r.name, kind: r.kind, firmId: r.firmId, deviceType: r.deviceType, deviceId: r.deviceId, metric: r.metric, op: r.op, value: r.value,
      states: r.states ? JSON.stringify(r.states) : null, windowS: r.windowS, durationS: r.durationS, severity: r.severity, enabled: r.enabled ? 1 : 0,
    };
  }

  createRule(r: AlarmRuleInput, actor: Actor): AlarmRule {
    const info = this.s.insertRule.run({ ...this.params(r), by: actor.name, token: actor.tokenId, at: Date.now() });
    return this.rule(Number(info.lastInsertRowid)) as AlarmRule;
  }

  updateRule(id: number, r: AlarmRuleInput): AlarmRule | undefined {
    this.s.updateRule.run({ ...this.params(r), id, at: Date.now() });
    return this.rule(id);
  }

  deleteRule(id: number): boolean {
    return this.s.deleteRule.run(id).changes > 0;
  }

  alarm(id: number): Alarm | undefined {
    const r = this.s.alarm.get(id);
    return r ? alarmFrom(r) : undefined;
  }

  openAlarms(): Alarm[] {
    return this.s.open.all().map(alarmFrom);
  }

  raise(a: Pick<Alarm, 'ruleId' | 'ruleName' | 'kind' | 'severity' | 'firmId' | 'deviceId' | 'deviceType' | 'metric' | 'message' | 'value' | 'raisedAt'>): Alarm {
    const info = this.s.insertAlarm.run(a);
    return this.alarm(Number(info.lastInsertRowid)) as Alarm;
  }

  clear(id: number, at: number, value: number | null): Alarm | undefined {
    const changed = this.s.clear.run({ id, at, value }).changes > 0;
    return changed ? this.alarm(id) : undefined;
  }

  ack(id: number, actor: Actor, at = Date.now()): Alarm | undefined {
    const changed = this.s.ack.run({ id, at, by: actor.name, token: actor.tokenId }).changes > 0;
    return changed ? this.alarm(id) : undefined;
  }

  list(q: AlarmQuery): Alarm[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: q.limit };
    if (q.firmId !== undefined) { where.push('firm_id = @firmId'); params.firmId = q.firmId; }
    if (q.deviceId !== undefined) { where.push('device_id = @deviceId'); params.deviceId = q.deviceId; }
    if (q.beforeId !== undefined) { where.push('id < @beforeId'); params.beforeId = q.beforeId; }
    switch (q.status ?? 'open') {
      case 'open': where.push('(cleared_at IS NULL OR acked_at IS NULL)'); break;
      case 'active': where.push('cleared_at IS NULL AND acked_at IS NULL'); break;
      case 'acknowledged': where.push('cleared_at IS NULL AND acked_at IS NOT NULL'); break;
      case 'cleared': where.push('cleared_at IS NOT NULL AND acked_at IS NULL'); break;
      case 'closed': where.push('cleared_at IS NOT NULL AND acked_at IS NOT NULL'); break;
      case 'all': break;
    }
    const sql = `SELECT * FROM alarms ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
    return this.db.prepare<Record<string, string | number>, AlarmRow>(sql).all(params).map(alarmFrom);
  }

  /** Open alarms per firm (for overviews). */
  openCounts(): Map<string, { active: number; acknowledged: number; critical: number }> {
    const out = new Map<string, { active: number; acknowledged: number; critical: number }>();
    for (const a of this.openAlarms()) {
      const c = out.get(a.firmId) ?? { active: 0, acknowledged: 0, critical: 0 };
      if (a.status === 'active') c.active++;
      else c.acknowledged++;
      if (a.severity === 'critical') c.critical++;
      out.set(a.firmId, c);
    }
    return out;
  }
}

// ---- the engine --------------------------------------------------------------------------------------------

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

interface CondState {
  since: number | null;
  openId: number | null;
}

const ROLLING_MAX_MS = 3_600_000;

function compare(v: number, op: Op, limit: number): boolean {
  switch (op) {
    case '>': return v > limit;
    case '>=': return v >= limit;
    case '<': return v < limit;
    case '<=': return v <= limit;
  }
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

/** The message of a raised alarm (built only when one is raised). */
function describe(rule: AlarmRule, type: string, value: number | null, d: { state?: string | undefined }): string {
  const unit = rule.metric ? (metricSpec(type, rule.metric)?.unit ?? '') : '';
  const u = unit ? ` ${unit}` : '';
  const v = value ?? 0;
  const limit = rule.value ?? 0;
  switch (rule.kind) {
    case 'threshold': return `${rule.metric} ${fmt(v)}${u} ${rule.op} ${fmt(limit)}${u} for ${rule.durationS} s`;
    case 'rate': return `${rule.metric} changing at ${fmt(v)}${u}/min (${rule.op} ${fmt(limit)}${u}/min) over ${rule.windowS} s`;
    case 'state': return `state ${d.state ?? '?'} for ${Math.round(rule.durationS / 60)} min or more`;
    case 'stuck': return `${rule.metric} unchanged at ${fmt(v)}${u} for ${Math.round(rule.durationS / 60)} min while the device keeps reporting`;
    case 'offline': return `no message for ${Math.floor(v)} min (limit ${limit} min)`;
    case 'clock_skew': return `device clock ${fmt(Math.abs(v))} s ${v < 0 ? 'behind' : 'ahead of'} the platform (limit ${limit} s)`;
    case 'quarantine': return `${Math.round(v)} implausible counter reading${v === 1 ? '' : 's'} quarantined in the last ${limit} h (kept, not counted): check the meter, then release them under rejected messages if they are real`;
  }
}

export class AlarmEngine {
  private rules: AlarmRule[] = [];
  /** Metrics some rate rule watches (only their samples are kept). */
  private rateMetrics = new Set<string>();
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
  private emitter: AlarmEmitter | undefined;
  evaluations = 0;

  constructor(private readonly store: AlarmStore) {
    this.reloadRules();
    for (const a of store.openAlarms()) this.condOf(a.ruleId).set(a.deviceId, { since: a.raisedAt, openId: a.id });
  }

  setEmitter(emit: AlarmEmitter | undefined): void {
    this.emitter = emit;
  }

  /** Re-reads the rules; open alarms of deleted or disabled rules are cleared. */
  reloadRules(now = Date.now()): void {
    this.rules = this.store.rules().filter((r) => r.enabled);
    this.rateMetrics = new Set(this.rules.filter((r) => r.kind === 'rate' && r.metric !== null).map((r) => r.metric as string));
    this.byType = new Map();
    const live = new Set(this.rules.map((r) => r.id));
    for (const [ruleId, devices] of this.cond) {
      if (live.has(ruleId)) continue;
      for (const st of devices.values()) if (st.openId !== null) this.clearAlarm(st.openId, now, null);
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

  private rulesFor(d: { deviceId: string; firmId: string; type: string }): AlarmRule[] {
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
    this.emitter?.(['all', `firm:${alarm.firmId}`], { event, alarm });
  }

  private clearAlarm(id: number, at: number, value: number | null): void {
    const a = this.store.clear(id, at, value);
    if (a) this.emit('cleared', a);
  }

  /**
   * One condition observation: true starts (or continues) the duration, false clears. Raises when the
   * condition has held for durationS.
   */
  private observe(rule: AlarmRule, d: { deviceId: string; firmId: string; type: string; state?: string }, holds: boolean, at: number, value: number | null, durationS = rule.durationS): void {
    const conds = this.cond.get(rule.id);
    let st = conds?.get(d.deviceId);
    if (!holds) {
      if (st?.openId != null) this.clearAlarm(st.openId, at, value);
      if (st) conds?.delete(d.deviceId);
      return;
    }
    if (!st) {
      st = { since: at, openId: null };
      this.condOf(rule.id).set(d.deviceId, st);
    }
    st.since ??= at;
    if (st.openId === null && at - st.since >= durationS * 1000) {
      const a = this.store.raise({
        ruleId: rule.id, ruleName: rule.name, kind: rule.kind, severity: rule.severity, firmId: d.firmId, deviceId: d.deviceId, deviceType: d.type,
        metric: rule.metric, message: describe(rule, d.type, value, d), value, raisedAt: at,
      });
      st.openId = a.id;
      this.emit('raised', a);
    }
  }

  /** Evaluates the rules on one live summary (once a second). */
  onLive(summary: LiveSummaryLike): void {
    const at = summary.at;
    for (const d of summary.devices) {
      const fresh = d.ts > (this.lastTs.get(d.deviceId) ?? -Infinity);
      if (fresh) this.lastTs.set(d.deviceId, d.ts);
      this.lastLiveAt.set(d.deviceId, at);
      if (fresh) {
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
      }
      for (const rule of this.rulesFor(d)) {
        this.evaluations++;
        this.evaluate(rule, d, at, fresh);
      }
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
      case 'rate': {
        if (!fresh || !rule.metric || !rule.op || rule.value === null) return;
        const list = this.samples.get(`${d.deviceId}/${rule.metric}`);
        const last = list?.[list.length - 1];
        if (!list || !last) return;
        const windowStart = last[0] - rule.windowS * 1000;
        const first = list.find(([t]) => t >= windowStart);
        if (!first || last[0] - first[0] < (rule.windowS * 1000) / 2) return;
        const perMin = ((last[1] - first[1]) / (last[0] - first[0])) * 60_000;
        this.observe(rule, d, compare(perMin, rule.op, rule.value), at, perMin);
        return;
      }
      case 'state':
        if (d.state === undefined) return;
        this.observe(rule, d, (rule.states ?? []).includes(d.state), at, null);
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
      case 'clock_skew': {
        if (!fresh || rule.value === null) return;
        const skewS = (d.ts - at) / 1000;
        this.observe(rule, d, Math.abs(skewS) > rule.value, at, skewS);
        return;
      }
      case 'offline':
        // Seen now: an open offline alarm clears.
        this.observe(rule, d, false, at, null);
        return;
    }
  }

  /** Periodic check: devices whose last message is older than an offline rule's limit. */
  checkOffline(devices: ReadonlyArray<{ id: string; firmId: string; type: string; lastSeenAt: number | null }>, now = Date.now()): void {
    const offlineRules = this.rules.filter((r) => r.kind === 'offline');
    if (offlineRules.length === 0) return;
    for (const dev of devices) {
      const seen = Math.max(dev.lastSeenAt ?? -Infinity, this.lastLiveAt.get(dev.id) ?? -Infinity);
      if (!Number.isFinite(seen)) continue; // never seen: not offline, just not connected yet
      const d = { deviceId: dev.id, firmId: dev.firmId, type: dev.type };
      for (const rule of this.rulesFor(d)) {
        if (rule.kind !== 'offline' || rule.value === null) continue;
        const silentMin = (now - seen) / 60_000;
        const limit = rule.value;
        this.evaluations++;
        this.observe(rule, d, silentMin > limit, now, silentMin, 0);
      }
    }
  }

  /**
   * Periodic check: devices with quarantined counter readings nobody released, received within a quarantine
   * rule's hours. The alarm clears once they are released (or older than that).
   */
  checkQuarantine(devices: ReadonlyArray<{ id: string; firmId: string; type: string }>, quarantined: ReadonlyArray<{ deviceId: string; count: number; newestAt: number }>, now = Date.now()): void {
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

  /** Acknowledges an alarm (who and when); undefined when unknown or already acknowledged. */
  ack(id: number, actor: Actor): Alarm | undefined {
    const a = this.store.ack(id, actor);
    if (a) this.emit('acknowledged', a);
    return a;
  }
}
