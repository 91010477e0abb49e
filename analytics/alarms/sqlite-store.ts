// The alarm store in the node's monitoring database (DATA_DIR/monitoring.db, SQLite): API nodes that share the
// file share the history; a cluster with separate disks uses the PostgreSQL adapter (pg-store.ts).
import type { Db } from '../../common/sqlite.ts';
import { AsyncEditedTable } from './crud.ts';
import type { Actor } from '../base/db.ts';
import type { Alarm, AlarmRule, AlarmRuleInput } from './rules.ts';
import {
  DAY_COUNTS_SQL, OPEN_COUNTS_SQL, RULE_COLUMNS, alarmFrom, countsFrom, ruleFrom, ruleParams, whereOf,
  type AlarmDayCount, type AlarmQuery, type AlarmRow, type AlarmStore, type NewAlarm, type OpenCounts, type RuleRow,
} from './store.ts';

/** The marker (a settings key) that the default quarantine rule was created once: deleting it then sticks. */
const QUARANTINE_DEFAULT_KEY = 'alarms.default-rule.quarantine';

type Params = Record<string, string | number | null>;

/** A search's WHERE clause with SQLite's named parameters. */
function sqliteWhere(q: Omit<AlarmQuery, 'limit'>): { sql: string; params: Params } {
  const params: Params = {};
  const sql = whereOf(q, (name, v) => {
    params[name] = Array.isArray(v) ? JSON.stringify(v) : (v as string | number);
    return `@${name}`;
  }, (p) => `firm_id IN (SELECT value FROM json_each(${p}))`);
  return { sql, params };
}

export class SqliteAlarmStore implements AlarmStore {
  private readonly s;
  private readonly ruleTable: AsyncEditedTable<RuleRow, AlarmRule, AlarmRuleInput>;

  constructor(private readonly db: Db) {
    this.ensureQuarantineRule();
    this.ruleTable = new AsyncEditedTable(db, 'alarm_rules', RULE_COLUMNS, ruleFrom, (r) => ({ ...ruleParams(r), enabled: r.enabled ? 1 : 0 }));
    this.s = {
      openFor: db.prepare<[number, string], AlarmRow>('SELECT * FROM alarms WHERE rule_id = ? AND device_id = ? AND cleared_at IS NULL ORDER BY id LIMIT 1'),
      insertAlarm: db.prepare(`INSERT INTO alarms (rule_id, rule_name, kind, severity, firm_id, device_id, device_type, metric, message, message_zh, value, raised_at)
        VALUES (@ruleId, @ruleName, @kind, @severity, @firmId, @deviceId, @deviceType, @metric, @message, @messageZh, @value, @raisedAt)`),
      alarm: db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE id = ?'),
      open: db.prepare<[], AlarmRow>('SELECT * FROM alarms WHERE cleared_at IS NULL ORDER BY id'),
      openByFirm: db.prepare<[], OpenCounts & { key: string }>(`SELECT firm_id AS key, ${OPEN_COUNTS_SQL} FROM alarms WHERE cleared_at IS NULL GROUP BY firm_id`),
      openByDevice: db.prepare<[string], OpenCounts & { key: string }>(`SELECT device_id AS key, ${OPEN_COUNTS_SQL} FROM alarms WHERE cleared_at IS NULL AND device_id = ? GROUP BY device_id`),
      clear: db.prepare('UPDATE alarms SET cleared_at = @at, clear_value = @value WHERE id = @id AND cleared_at IS NULL'),
      ack: db.prepare('UPDATE alarms SET acked_at = @at, acked_by = @by, acked_by_token = @token WHERE id = @id AND acked_at IS NULL'),
    };
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

  private alarmNow(id: number): Alarm | undefined {
    const r = this.s.alarm.get(id);
    return r ? alarmFrom(r) : undefined;
  }

  rules(): Promise<AlarmRule[]> { return this.ruleTable.list(); }
  rule(id: number): Promise<AlarmRule | undefined> { return this.ruleTable.get(id); }
  createRule(r: AlarmRuleInput, actor: Actor, at?: number): Promise<AlarmRule> { return this.ruleTable.create(r, actor, at); }
  updateRule(id: number, r: AlarmRuleInput, at?: number): Promise<AlarmRule | undefined> { return this.ruleTable.update(id, r, at); }
  deleteRule(id: number): Promise<boolean> { return this.ruleTable.remove(id); }

  async alarm(id: number): Promise<Alarm | undefined> {
    return this.alarmNow(id);
  }

  async openAlarms(): Promise<Alarm[]> {
    return this.s.open.all().map(alarmFrom);
  }

  async raise(a: NewAlarm): Promise<{ alarm: Alarm; fresh: boolean }> {
    // IMMEDIATE: another process on the same file cannot slip its insert between our look and our insert.
    return this.db.transaction(() => {
      const open = this.s.openFor.get(a.ruleId, a.deviceId);
      if (open) return { alarm: alarmFrom(open), fresh: false };
      const { messages, ...rest } = a;
      const info = this.s.insertAlarm.run({ ...rest, message: messages.en, messageZh: messages.zh });
      return { alarm: this.alarmNow(Number(info.lastInsertRowid)) as Alarm, fresh: true };
    }).immediate();
  }

  async clear(id: number, at: number, value: number | null): Promise<Alarm | undefined> {
    const changed = this.s.clear.run({ id, at, value }).changes > 0;
    return changed ? this.alarmNow(id) : undefined;
  }

  async ack(id: number, actor: Actor, at = Date.now()): Promise<Alarm | undefined> {
    const changed = this.s.ack.run({ id, at, by: actor.name, token: actor.tokenId }).changes > 0;
    return changed ? this.alarmNow(id) : undefined;
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const { sql, params } = sqliteWhere(q);
    return this.db.prepare<Params, AlarmRow>(`SELECT * FROM alarms ${sql} ORDER BY id DESC LIMIT @limit`).all({ ...params, limit: q.limit }).map(alarmFrom);
  }

  async countsByDay(q: Omit<AlarmQuery, 'limit' | 'beforeId'>): Promise<AlarmDayCount[]> {
    const { sql, params } = sqliteWhere({ status: 'all', ...q });
    return this.db.prepare<Params, AlarmDayCount>(`SELECT firm_id AS firmId, strftime('%Y-%m-%d', raised_at / 1000 + 28800, 'unixepoch') AS day, ${DAY_COUNTS_SQL}
      FROM alarms ${sql} GROUP BY firm_id, day ORDER BY day DESC, firm_id`).all(params);
  }

  /** Counted by SQLite, since an overview asks on every request and thousands of open alarms (a fleet gone offline) made reading them all cost 100 ms. */
  async openCounts(deviceId?: string): Promise<Map<string, OpenCounts>> {
    return countsFrom(deviceId === undefined ? this.s.openByFirm.all() : this.s.openByDevice.all(deviceId));
  }

  /**
   * One transaction around fn. Safe although fn is async: every method here finishes synchronously, so nothing
   * else runs on this connection between BEGIN and COMMIT unless fn awaits real I/O (the engine does not).
   * IMMEDIATE: another node writing the same file between our read and our write would otherwise fail the write.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    // The monitoring database belongs to whoever opened it (analytics/index.ts closes it).
  }
}
