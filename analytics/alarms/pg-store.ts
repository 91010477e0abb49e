// The alarm store on PostgreSQL (package `pg`), in the registry's database (REGISTRY_URL): every API node of a
// cluster reads and writes the same rules and history. Two nodes evaluate the same live summaries, so both try
// to raise the same alarm: a unique index on the open alarm per rule and device makes the insert
// insert-if-absent, and only the node whose insert went in announces it. The same holds for clearing and
// acknowledging (an UPDATE that only changes an open row). Same semantics as SqliteAlarmStore, checked by the
// same conformance suite (test/conformance/alarm-store.ts).
import pg from 'pg';
import { openMigratedPool, type PgMigrations } from '../../common/pg-migrate.ts';
import type { Actor } from '../base/db.ts';
import type { Alarm, AlarmRule, AlarmRuleInput } from './rules.ts';
import { DEFAULT_RULES } from './defaults.ts';
import { PgChannelStore } from './notify/pg-channels.ts';
import {
  DAY_COUNTS_SQL, OPEN_COUNTS_SQL, RULE_COLUMNS, alarmFrom, countsFrom, ruleFrom, ruleParams, whereOf,
  type AlarmDayCount, type AlarmQuery, type AlarmRow, type AlarmStore, type NewAlarm, type OpenCounts, type RuleRow,
} from './store.ts';

/** Each entry is one schema version; never edit a shipped one, append a new one. */
const MIGRATIONS = [
  `CREATE TABLE alarm_rules (
     id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
     firm_id TEXT, device_type TEXT, device_id TEXT, metric TEXT, op TEXT, value DOUBLE PRECISION, states TEXT,
     window_s INTEGER NOT NULL, duration_s INTEGER NOT NULL, severity TEXT NOT NULL, enabled BOOLEAN NOT NULL,
     created_by TEXT NOT NULL, created_by_token TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE TABLE alarms (
     id BIGSERIAL PRIMARY KEY, rule_id BIGINT NOT NULL, rule_name TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
     firm_id TEXT NOT NULL, device_id TEXT NOT NULL, device_type TEXT NOT NULL, metric TEXT, message TEXT NOT NULL, message_zh TEXT,
     value DOUBLE PRECISION, raised_at BIGINT NOT NULL, acked_at BIGINT, acked_by TEXT, acked_by_token TEXT, cleared_at BIGINT, clear_value DOUBLE PRECISION);
   CREATE UNIQUE INDEX alarms_open_one ON alarms(rule_id, device_id) WHERE cleared_at IS NULL;
   CREATE INDEX alarms_firm ON alarms(firm_id, id);
   CREATE INDEX alarms_raised ON alarms(raised_at);`,
  // Notification channels and deliveries (pg-channels.ts): one delivery per channel, alarm and event, so two
  // nodes never send the same one twice.
  `CREATE TABLE alarm_channels (
     id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook', 'email')),
     url TEXT NOT NULL, secret TEXT, firm_id TEXT, min_severity TEXT NOT NULL, quiet_from INTEGER, quiet_to INTEGER,
     max_per_hour INTEGER NOT NULL, dedup_minutes INTEGER NOT NULL, notify_cleared BOOLEAN NOT NULL, lang TEXT NOT NULL, enabled BOOLEAN NOT NULL,
     created_by TEXT NOT NULL, created_by_token TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
   CREATE TABLE alarm_deliveries (
     id BIGSERIAL PRIMARY KEY, channel_id BIGINT NOT NULL, alarm_id BIGINT NOT NULL, event TEXT NOT NULL,
     rule_id BIGINT NOT NULL, device_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, why TEXT,
     created_at BIGINT NOT NULL, finished_at BIGINT, UNIQUE (channel_id, alarm_id, event));
   CREATE INDEX alarm_deliveries_channel ON alarm_deliveries(channel_id, created_at);`,
];

/** Arbitrary constant: the advisory lock that serialises this schema's migrations across nodes. */
const MIGRATION_LOCK = 0x64686161; // "dhaa"

// BIGINT (oid 20) arrives as a string by default; ids and millisecond times fit a double exactly.
const types = new pg.TypeOverrides();
types.setTypeParser(20, (v: string) => Number(v));

const NAMES = Object.keys(RULE_COLUMNS) as Array<keyof typeof RULE_COLUMNS>;
const RULE_INSERT = `INSERT INTO alarm_rules (${NAMES.map((n) => RULE_COLUMNS[n]).join(', ')}, created_by, created_by_token, created_at, updated_at)
  VALUES (${NAMES.map((_, i) => `$${i + 1}`).join(', ')}, $${NAMES.length + 1}, $${NAMES.length + 2}, $${NAMES.length + 3}, $${NAMES.length + 3}) RETURNING *`;
const RULE_UPDATE = `UPDATE alarm_rules SET ${NAMES.map((n, i) => `${RULE_COLUMNS[n]} = $${i + 1}`).join(', ')}, updated_at = $${NAMES.length + 1}
  WHERE id = $${NAMES.length + 2} RETURNING *`;
const ruleValues = (r: AlarmRuleInput) => { const p = ruleParams(r); return NAMES.map((n) => p[n]); };

/** A search's WHERE clause with numbered placeholders. */
function pgWhere(q: Omit<AlarmQuery, 'limit'>): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const sql = whereOf(q, (_name, v) => { values.push(v); return `$${values.length}`; }, (p) => `firm_id = ANY(${p}::text[])`);
  return { sql, values };
}

export class PgAlarmStore implements AlarmStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connects and creates or upgrades the schema (the default rules come with it). */
  static async open(connectionString: string, poolSize = 5): Promise<PgAlarmStore> {
    return new PgAlarmStore(await openMigratedPool({ connectionString, max: poolSize, types }, SCHEMA));
  }

  private async rows<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, values)).rows;
  }

  async rules(): Promise<AlarmRule[]> {
    return (await this.rows<RuleRow>('SELECT * FROM alarm_rules ORDER BY id')).map(ruleFrom);
  }

  async rule(id: number): Promise<AlarmRule | undefined> {
    const [r] = await this.rows<RuleRow>('SELECT * FROM alarm_rules WHERE id = $1', [id]);
    return r ? ruleFrom(r) : undefined;
  }

  async createRule(r: AlarmRuleInput, actor: Actor, at = Date.now()): Promise<AlarmRule> {
    const [row] = await this.rows<RuleRow>(RULE_INSERT, [...ruleValues(r), actor.name, actor.tokenId, at]);
    return ruleFrom(row as RuleRow);
  }

  async updateRule(id: number, r: AlarmRuleInput, at = Date.now()): Promise<AlarmRule | undefined> {
    const [row] = await this.rows<RuleRow>(RULE_UPDATE, [...ruleValues(r), at, id]);
    return row ? ruleFrom(row) : undefined;
  }

  async deleteRule(id: number): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM alarm_rules WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async alarm(id: number): Promise<Alarm | undefined> {
    const [r] = await this.rows<AlarmRow>('SELECT * FROM alarms WHERE id = $1', [id]);
    return r ? alarmFrom(r) : undefined;
  }

  async openAlarms(): Promise<Alarm[]> {
    return (await this.rows<AlarmRow>('SELECT * FROM alarms WHERE cleared_at IS NULL ORDER BY id')).map(alarmFrom);
  }

  async raise(a: NewAlarm): Promise<{ alarm: Alarm; fresh: boolean }> {
    const values = [a.ruleId, a.ruleName, a.kind, a.severity, a.firmId, a.deviceId, a.deviceType, a.metric, a.messages.en, a.messages.zh, a.value, a.raisedAt];
    // Tried twice: the open alarm that blocked the insert may be cleared before we read it.
    for (let attempt = 0; attempt < 2; attempt++) {
      const [inserted] = await this.rows<AlarmRow>(`INSERT INTO alarms (rule_id, rule_name, kind, severity, firm_id, device_id, device_type, metric, message, message_zh, value, raised_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (rule_id, device_id) WHERE cleared_at IS NULL DO NOTHING RETURNING *`, values);
      if (inserted) return { alarm: alarmFrom(inserted), fresh: true };
      const [open] = await this.rows<AlarmRow>('SELECT * FROM alarms WHERE rule_id = $1 AND device_id = $2 AND cleared_at IS NULL', [a.ruleId, a.deviceId]);
      if (open) return { alarm: alarmFrom(open), fresh: false };
    }
    throw new Error(`alarm of rule ${a.ruleId} for ${a.deviceId}: neither inserted nor found open`);
  }

  async clear(id: number, at: number, value: number | null): Promise<Alarm | undefined> {
    const [r] = await this.rows<AlarmRow>('UPDATE alarms SET cleared_at = $1, clear_value = $2 WHERE id = $3 AND cleared_at IS NULL RETURNING *', [at, value, id]);
    return r ? alarmFrom(r) : undefined;
  }

  async ack(id: number, actor: Actor, at = Date.now()): Promise<Alarm | undefined> {
    const [r] = await this.rows<AlarmRow>('UPDATE alarms SET acked_at = $1, acked_by = $2, acked_by_token = $3 WHERE id = $4 AND acked_at IS NULL RETURNING *', [at, actor.name, actor.tokenId, id]);
    return r ? alarmFrom(r) : undefined;
  }

  async list(q: AlarmQuery): Promise<Alarm[]> {
    const { sql, values } = pgWhere(q);
    return (await this.rows<AlarmRow>(`SELECT * FROM alarms ${sql} ORDER BY id DESC LIMIT $${values.length + 1}`, [...values, q.limit])).map(alarmFrom);
  }

  async countsByDay(q: Omit<AlarmQuery, 'limit' | 'beforeId'>): Promise<AlarmDayCount[]> {
    const { sql, values } = pgWhere({ status: 'all', ...q });
    return this.rows<AlarmDayCount>(`SELECT firm_id AS "firmId", to_char(to_timestamp(raised_at / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day, ${DAY_COUNTS_SQL}
      FROM alarms ${sql} GROUP BY firm_id, day ORDER BY day DESC, firm_id`, values);
  }

  async openCounts(deviceId?: string): Promise<Map<string, OpenCounts>> {
    return countsFrom(deviceId === undefined
      ? await this.rows<OpenCounts & { key: string }>(`SELECT firm_id AS key, ${OPEN_COUNTS_SQL} FROM alarms WHERE cleared_at IS NULL GROUP BY firm_id`)
      : await this.rows<OpenCounts & { key: string }>(`SELECT device_id AS key, ${OPEN_COUNTS_SQL} FROM alarms WHERE cleared_at IS NULL AND device_id = $1 GROUP BY device_id`, [deviceId]));
  }

  /** The notification channels in the same database (one pool for both). */
  channels(): PgChannelStore {
    return new PgChannelStore(this.pool);
  }

  /** Each statement commits on its own: the unique index, not a transaction, keeps two nodes from raising twice. */
  batch<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const SCHEMA: PgMigrations = { versionTable: 'alarm_schema_version', lock: MIGRATION_LOCK, what: 'alarm', migrations: MIGRATIONS, seed: async (c) => { for (const d of DEFAULT_RULES) await c.query(RULE_INSERT, [...ruleValues(d), 'default', '', 0]); } };
