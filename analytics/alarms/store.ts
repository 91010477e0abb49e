// Alarm rules and alarms in the monitoring database (DATA_DIR/monitoring.db): every alarm with its transitions
// (raised, acknowledged by whom, cleared) survives a restart, and API nodes sharing the file share the history.
import type { Db } from '../../common/sqlite.ts';
import { EditedTable } from './crud.ts';
import type { Actor } from '../base/db.ts';
import type { Alarm, AlarmKind, AlarmRule, AlarmRuleInput, AlarmStatus, Op, Severity } from './rules.ts';

interface RuleRow {
  id: number; name: string; kind: string; firm_id: string | null; device_type: string | null; device_id: string | null; metric: string | null;
  op: string | null; value: number | null; states: string | null; window_s: number; duration_s: number; severity: string; enabled: number;
  created_by: string; created_at: number; updated_at: number;
}
interface AlarmRow {
  id: number; rule_id: number; rule_name: string; kind: string; severity: string; firm_id: string; device_id: string; device_type: string;
  metric: string | null; message: string; message_zh: string | null; value: number | null; raised_at: number; acked_at: number | null; acked_by: string | null;
  cleared_at: number | null; clear_value: number | null;
}

function ruleFrom(r: RuleRow): AlarmRule {
  return {
    id: r.id, name: r.name, kind: r.kind as AlarmKind, firmId: r.firm_id, deviceType: r.device_type, deviceId: r.device_id, metric: r.metric,
    op: r.op as Op | null, value: r.value, states: r.states ? (JSON.parse(r.states) as string[]) : null, windowS: r.window_s, durationS: r.duration_s,
    severity: r.severity as Severity, enabled: r.enabled === 1, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export interface OpenCounts { active: number; acknowledged: number; critical: number }
const OPEN_COUNTS = "sum(acked_at IS NULL) AS active, sum(acked_at IS NOT NULL) AS acknowledged, sum(severity = 'critical') AS critical";

function alarmFrom(r: AlarmRow): Alarm {
  const status: AlarmStatus = r.cleared_at === null ? (r.acked_at === null ? 'active' : 'acknowledged') : (r.acked_at === null ? 'cleared' : 'closed');
  return {
    id: r.id, ruleId: r.rule_id, ruleName: r.rule_name, kind: r.kind as AlarmKind, severity: r.severity as Severity, firmId: r.firm_id, deviceId: r.device_id,
    deviceType: r.device_type, metric: r.metric, message: r.message, messages: { zh: r.message_zh ?? r.message, en: r.message }, value: r.value,
    raisedAt: r.raised_at, ackedAt: r.acked_at, ackedBy: r.acked_by, clearedAt: r.cleared_at, clearValue: r.clear_value, status,
  };
}

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

/** The marker (a settings key) that the default quarantine rule was created once: deleting it then sticks. */
const QUARANTINE_DEFAULT_KEY = 'alarms.default-rule.quarantine';

const STATUS_WHERE: Record<AlarmStatus | 'open' | 'all', string | undefined> = {
  open: '(cleared_at IS NULL OR acked_at IS NULL)',
  active: 'cleared_at IS NULL AND acked_at IS NULL',
  acknowledged: 'cleared_at IS NULL AND acked_at IS NOT NULL',
  cleared: 'cleared_at IS NOT NULL AND acked_at IS NULL',
  closed: 'cleared_at IS NOT NULL AND acked_at IS NOT NULL',
  all: undefined,
};

function whereOf(q: Omit<AlarmQuery, 'limit'>): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  const eq = (col: string, key: keyof AlarmQuery, v: string | number | undefined) => {
    if (v === undefined) return;
    where.push(`${col} = @${key}`);
    params[key] = v;
  };
  eq('firm_id', 'firmId', q.firmId);
  if (q.firmIds !== undefined) { where.push('firm_id IN (SELECT value FROM json_each(@firmIds))'); params.firmIds = JSON.stringify(q.firmIds); }
  eq('device_id', 'deviceId', q.deviceId);
  eq('severity', 'severity', q.severity);
  eq('rule_id', 'ruleId', q.ruleId);
  eq('kind', 'kind', q.kind);
  if (q.from !== undefined) { where.push('raised_at >= @from'); params.from = q.from; }
  if (q.to !== undefined) { where.push('raised_at < @to'); params.to = q.to; }
  if (q.beforeId !== undefined) { where.push('id < @beforeId'); params.beforeId = q.beforeId; }
  const status = STATUS_WHERE[q.status ?? 'open'];
  if (status) where.push(status);
  return { sql: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

export class AlarmStore {
  private readonly s;
  private readonly ruleTable: EditedTable<RuleRow, AlarmRule, AlarmRuleInput>;

  constructor(private readonly db: Db) {
    this.ensureQuarantineRule();
    this.ruleTable = new EditedTable(db, 'alarm_rules', {
      name: 'name', kind: 'kind', firmId: 'firm_id', deviceType: 'device_type', deviceId: 'device_id', metric: 'metric', op: 'op', value: 'value',
      states: 'states', windowS: 'window_s', durationS: 'duration_s', severity: 'severity', enabled: 'enabled',
    }, ruleFrom, (r) => ({
      name: r.name, kind: r.kind, firmId: r.firmId, deviceType: r.deviceType, deviceId: r.deviceId, metric: r.metric, op: r.op, value: r.value,
      states: r.states ? JSON.stringify(r.states) : null, windowS: r.windowS, durationS: r.durationS, severity: r.severity, enabled: r.enabled ? 1 : 0,
    }));
    this.s = {
      openFor: db.prepare<[number, string], AlarmRow>('SELECT * FROM alarms WHERE rule_id = ? AND device_id = ? AND cleared_at IS NULL ORDER BY id LIMIT 1'),
      insertAlarm: db.prepare(`INSERT INTO alarms (rule_id, rule_name, kind, severity, firm_id, device_id, device_type, metric, message, message_zh, value, raised_at)
        VALUES (@ruleId, @ruleName, @kind, @severity, @firmId, @deviceId, @deviceType, @metric, @message, @messageZh, @value, @raisedAt)`),
      alarm: db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE id = ?'),
      open: db.prepare<[], AlarmRow>('SELECT * FROM alarms WHERE cleared_at IS NULL'),
      openByFirm: db.prepare<[], OpenCounts & { key: string }>(`SELECT firm_id AS key, ${OPEN_COUNTS} FROM alarms WHERE cleared_at IS NULL GROUP BY firm_id`),
      openByDevice: db.prepare<[string], OpenCounts & { key: string }>(`SELECT device_id AS key, ${OPEN_COUNTS} FROM alarms WHERE cleared_at IS NULL AND device_id = ? GROUP BY device_id`),
      clear: db.prepare('UPDATE alarms SET cleared_at = @at, clear_value = @value WHERE id = @id AND cleared_at IS NULL'),
      ack: db.prepare('UPDATE alarms SET acked_at = @at, acked_by = @by, acked_by_token = @token WHERE id = @id AND acked_at IS NULL'),
    };
  }

  rules(): AlarmRule[] {
    return this.ruleTable.list();
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
    return this.ruleTable.get(id);
  }

  createRule(r: AlarmRuleInput, actor: Actor): AlarmRule {
    return this.ruleTable.create(r, actor);
  }

  updateRule(id: number, r: AlarmRuleInput): AlarmRule | undefined {
    return this.ruleTable.update(id, r);
  }

  deleteRule(id: number): boolean {
    return this.ruleTable.remove(id);
  }

  alarm(id: number): Alarm | undefined {
    const r = this.s.alarm.get(id);
    return r ? alarmFrom(r) : undefined;
  }

  openAlarms(): Alarm[] {
    return this.s.open.all().map(alarmFrom);
  }

  /**
   * Raises an alarm unless the same rule already has one open for the device (another API node on the same
   * database raised it first): `fresh` says whether this call raised it, so it is announced once.
   */
  raise(a: NewAlarm): { alarm: Alarm; fresh: boolean } {
    return this.db.transaction(() => {
      const open = this.s.openFor.get(a.ruleId, a.deviceId);
      if (open) return { alarm: alarmFrom(open), fresh: false };
      const { messages, ...rest } = a;
      const info = this.s.insertAlarm.run({ ...rest, message: messages.en, messageZh: messages.zh });
      return { alarm: this.alarm(Number(info.lastInsertRowid)) as Alarm, fresh: true };
    }).immediate();
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
    const { sql, params } = whereOf(q);
    return this.db.prepare<Record<string, string | number>, AlarmRow>(`SELECT * FROM alarms ${sql} ORDER BY id DESC LIMIT @limit`).all({ ...params, limit: q.limit }).map(alarmFrom);
  }

  /** Alarms raised per firm and Shanghai day, by severity (any status unless asked). */
  countsByDay(q: Omit<AlarmQuery, 'limit' | 'beforeId'>): AlarmDayCount[] {
    const { sql, params } = whereOf({ status: 'all', ...q });
    return this.db.prepare<Record<string, string | number>, AlarmDayCount>(`SELECT firm_id AS firmId, strftime('%Y-%m-%d', raised_at / 1000 + 28800, 'unixepoch') AS day, count(*) AS total,
      sum(severity = 'critical') AS critical, sum(severity = 'warning') AS warning, sum(severity = 'info') AS info
      FROM alarms ${sql} GROUP BY firm_id, day ORDER BY day DESC, firm_id`).all(params);
  }

  /**
   * Open alarms per firm, or of one device keyed by its id (for overviews): counted by SQLite, since an overview
   * asks on every request and thousands of open alarms (a fleet gone offline) made reading them all cost 100 ms.
   */
  openCounts(deviceId?: string): Map<string, OpenCounts> {
    const rows = deviceId === undefined ? this.s.openByFirm.all() : this.s.openByDevice.all(deviceId);
    return new Map(rows.map((r) => [r.key, { active: r.active, acknowledged: r.acknowledged, critical: r.critical }]));
  }

  /** Runs fn in one transaction: many raises and clears (one live summary, one check) commit once. */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
