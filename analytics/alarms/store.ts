// The alarm-store port: alarm rules and alarms with their transitions (raised, acknowledged by whom, cleared), so
// the history survives a restart. Two adapters pass one conformance suite (test/conformance/alarm-store.ts):
// SQLite in the node's monitoring database (sqlite-store.ts) and PostgreSQL (pg-store.ts), chosen with
// REGISTRY_URL like the registry, so every API node of a cluster shares rules and history.
import type { Actor } from '../base/db.ts';
import type { Alarm, AlarmKind, AlarmRule, AlarmRuleInput, AlarmStatus, Op, Severity } from './rules.ts';

export interface OpenCounts { active: number; acknowledged: number; critical: number }

export interface AlarmQuery {
  firmId?: string;
  /** Any of these firms (a county, park or segment). */
  firmIds?: readonly string[];
  deviceId?: string;
  status?: AlarmStatus | 'open' | 'all';
  severity?: Severity;
  ruleId?: number;
  kind?: AlarmKind;
  /** Raised at or after / before (ms). */
  from?: number;
  to?: number;
  limit: number;
  beforeId?: number;
}

export type NewAlarm = Pick<Alarm, 'ruleId' | 'ruleName' | 'kind' | 'severity' | 'firmId' | 'deviceId' | 'deviceType' | 'metric' | 'value' | 'raisedAt'> & { messages: { zh: string; en: string } };

export interface AlarmDayCount {
  firmId: string;
  /** Shanghai calendar day of raisedAt. */
  day: string;
  total: number;
  critical: number;
  warning: number;
  info: number;
}

export interface AlarmStore {
  rules(): Promise<AlarmRule[]>;
  rule(id: number): Promise<AlarmRule | undefined>;
  createRule(r: AlarmRuleInput, actor: Actor, at?: number): Promise<AlarmRule>;
  updateRule(id: number, r: AlarmRuleInput, at?: number): Promise<AlarmRule | undefined>;
  deleteRule(id: number): Promise<boolean>;
  alarm(id: number): Promise<Alarm | undefined>;
  /** Alarms not yet cleared. */
  openAlarms(): Promise<Alarm[]>;
  /**
   * Raises an alarm unless the same rule already has one open for the device (another API node sharing the store
   * raised it first): `fresh` says whether this call raised it, so it is announced once.
   */
  raise(a: NewAlarm): Promise<{ alarm: Alarm; fresh: boolean }>;
  /** Undefined when unknown or already cleared (by another node). */
  clear(id: number, at: number, value: number | null): Promise<Alarm | undefined>;
  /** Undefined when unknown or already acknowledged. */
  ack(id: number, actor: Actor, at?: number): Promise<Alarm | undefined>;
  /** Newest first. */
  list(q: AlarmQuery): Promise<Alarm[]>;
  /** Alarms raised per firm and Shanghai day, by severity (any status unless asked), newest day first. */
  countsByDay(q: Omit<AlarmQuery, 'limit' | 'beforeId'>): Promise<AlarmDayCount[]>;
  /** Open (not cleared) alarms per firm, or of one device keyed by its id (for overviews). */
  openCounts(deviceId?: string): Promise<Map<string, OpenCounts>>;
  /** Runs fn as one commit where the adapter can (many raises and clears of one live summary). */
  batch<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Rows as both adapters read them (SQLite gives enabled as 0/1, PostgreSQL as a boolean). */
export interface RuleRow {
  id: number; name: string; kind: string; firm_id: string | null; device_type: string | null; device_id: string | null; metric: string | null;
  op: string | null; value: number | null; states: string | null; window_s: number; duration_s: number; severity: string; enabled: number | boolean;
  created_by: string; created_at: number; updated_at: number;
}
export interface AlarmRow {
  id: number; rule_id: number; rule_name: string; kind: string; severity: string; firm_id: string; device_id: string; device_type: string;
  metric: string | null; message: string; message_zh: string | null; value: number | null; raised_at: number; acked_at: number | null; acked_by: string | null;
  cleared_at: number | null; clear_value: number | null;
}

export function ruleFrom(r: RuleRow): AlarmRule {
  return {
    id: r.id, name: r.name, kind: r.kind as AlarmKind, firmId: r.firm_id, deviceType: r.device_type, deviceId: r.device_id, metric: r.metric,
    op: r.op as Op | null, value: r.value, states: r.states ? (JSON.parse(r.states) as string[]) : null, windowS: r.window_s, durationS: r.duration_s,
    severity: r.severity as Severity, enabled: r.enabled === 1 || r.enabled === true, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function alarmFrom(r: AlarmRow): Alarm {
  const status: AlarmStatus = r.cleared_at === null ? (r.acked_at === null ? 'active' : 'acknowledged') : (r.acked_at === null ? 'cleared' : 'closed');
  return {
    id: r.id, ruleId: r.rule_id, ruleName: r.rule_name, kind: r.kind as AlarmKind, severity: r.severity as Severity, firmId: r.firm_id, deviceId: r.device_id,
    deviceType: r.device_type, metric: r.metric, message: r.message, messages: { zh: r.message_zh ?? r.message, en: r.message }, value: r.value,
    raisedAt: r.raised_at, ackedAt: r.acked_at, ackedBy: r.acked_by, clearedAt: r.cleared_at, clearValue: r.clear_value, status,
  };
}

/** A rule's columns as parameters: states as JSON text. */
export function ruleParams(r: AlarmRuleInput) {
  return {
    name: r.name, kind: r.kind, firmId: r.firmId, deviceType: r.deviceType, deviceId: r.deviceId, metric: r.metric, op: r.op, value: r.value,
    states: r.states ? JSON.stringify(r.states) : null, windowS: r.windowS, durationS: r.durationS, severity: r.severity, enabled: r.enabled,
  };
}

/** Parameter name → column of an alarm rule. */
export const RULE_COLUMNS: Readonly<Record<keyof ReturnType<typeof ruleParams>, string>> = {
  name: 'name', kind: 'kind', firmId: 'firm_id', deviceType: 'device_type', deviceId: 'device_id', metric: 'metric', op: 'op', value: 'value',
  states: 'states', windowS: 'window_s', durationS: 'duration_s', severity: 'severity', enabled: 'enabled',
};

export const OPEN_COUNTS_SQL = "sum(CASE WHEN acked_at IS NULL THEN 1 ELSE 0 END) AS active, sum(CASE WHEN acked_at IS NOT NULL THEN 1 ELSE 0 END) AS acknowledged, sum(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS critical";
export const DAY_COUNTS_SQL = "count(*) AS total, sum(CASE WHEN severity = 'critical' THEN 1 ELSE 0 END) AS critical, sum(CASE WHEN severity = 'warning' THEN 1 ELSE 0 END) AS warning, sum(CASE WHEN severity = 'info' THEN 1 ELSE 0 END) AS info";

const STATUS_WHERE: Record<AlarmStatus | 'open' | 'all', string | undefined> = {
  open: '(cleared_at IS NULL OR acked_at IS NULL)',
  active: 'cleared_at IS NULL AND acked_at IS NULL',
  acknowledged: 'cleared_at IS NULL AND acked_at IS NOT NULL',
  cleared: 'cleared_at IS NOT NULL AND acked_at IS NULL',
  closed: 'cleared_at IS NOT NULL AND acked_at IS NOT NULL',
  all: undefined,
};

/**
 * The WHERE clause of a search, with placeholders made by `param` (each adapter has its own syntax) and a
 * clause for "firm in this list".
 */
export function whereOf(q: Omit<AlarmQuery, 'limit'>, param: (name: string, v: unknown) => string, firmIn: (placeholder: string) => string): string {
  const where: string[] = [];
  const eq = (col: string, key: string, v: string | number | undefined) => { if (v !== undefined) where.push(`${col} = ${param(key, v)}`); };
  eq('firm_id', 'firmId', q.firmId);
  if (q.firmIds !== undefined) where.push(firmIn(param('firmIds', q.firmIds)));
  eq('device_id', 'deviceId', q.deviceId);
  eq('severity', 'severity', q.severity);
  eq('rule_id', 'ruleId', q.ruleId);
  eq('kind', 'kind', q.kind);
  if (q.from !== undefined) where.push(`raised_at >= ${param('from', q.from)}`);
  if (q.to !== undefined) where.push(`raised_at < ${param('to', q.to)}`);
  if (q.beforeId !== undefined) where.push(`id < ${param('beforeId', q.beforeId)}`);
  const status = STATUS_WHERE[q.status ?? 'open'];
  if (status) where.push(status);
  return where.length ? `WHERE ${where.join(' AND ')}` : '';
}

export function countsFrom(rows: ReadonlyArray<OpenCounts & { key: string }>): Map<string, OpenCounts> {
  return new Map(rows.map((r) => [r.key, { active: Number(r.active), acknowledged: Number(r.acknowledged), critical: Number(r.critical) }]));
}
