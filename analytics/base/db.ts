// The monitoring database (DATA_DIR/monitoring.db): settings entered by people, alarm rules and alarms, plan
// entries, firm figures and monthly KPI snapshots. Energy telemetry itself stays in InfluxDB.
import { openDb, type Db } from '../../common/sqlite.ts';

export const MONITORING_MIGRATIONS: readonly string[] = [
  `CREATE TABLE settings (
     key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_by TEXT NOT NULL, updated_by_token TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE firm_energy (
     firm_id TEXT PRIMARY KEY, cogeneration INTEGER NOT NULL, note TEXT NOT NULL,
     updated_by TEXT NOT NULL, updated_by_token TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE device_nominal (
     device_id TEXT PRIMARY KEY, nominal REAL NOT NULL, updated_by TEXT NOT NULL, updated_by_token TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alarm_rules (
     id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL,
     firm_id TEXT, device_type TEXT, device_id TEXT, metric TEXT, op TEXT, value REAL, states TEXT,
     window_s INTEGER NOT NULL, duration_s INTEGER NOT NULL, severity TEXT NOT NULL, enabled INTEGER NOT NULL,
     created_by TEXT NOT NULL, created_by_token TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alarms (
     id INTEGER PRIMARY KEY AUTOINCREMENT, rule_id INTEGER NOT NULL, rule_name TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
     firm_id TEXT NOT NULL, device_id TEXT NOT NULL, device_type TEXT NOT NULL, metric TEXT, message TEXT NOT NULL, value REAL,
     raised_at INTEGER NOT NULL, acked_at INTEGER, acked_by TEXT, acked_by_token TEXT, cleared_at INTEGER, clear_value REAL);
   CREATE INDEX alarms_open ON alarms(rule_id, device_id) WHERE cleared_at IS NULL;
   CREATE INDEX alarms_firm ON alarms(firm_id, id);
   CREATE TABLE plan_entries (
     id INTEGER PRIMARY KEY AUTOINCREMENT, target_id TEXT NOT NULL, year INTEGER NOT NULL, value REAL NOT NULL, note TEXT NOT NULL,
     entered_by TEXT NOT NULL, entered_by_token TEXT NOT NULL, entered_at INTEGER NOT NULL);
   CREATE INDEX plan_entries_target ON plan_entries(target_id, year, id);
   CREATE TABLE firm_figures (
     firm_id TEXT NOT NULL, year INTEGER NOT NULL, output_value_yuan REAL, tax_yuan REAL,
     entered_by TEXT NOT NULL, entered_by_token TEXT NOT NULL, entered_at INTEGER NOT NULL, PRIMARY KEY (firm_id, year));
   CREATE TABLE plan_snapshots (
     month TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL, detail TEXT NOT NULL, taken_at INTEGER NOT NULL, PRIMARY KEY (month, metric));
   INSERT INTO alarm_rules (name, kind, firm_id, device_type, device_id, metric, op, value, states, window_s, duration_s, severity, enabled, created_by, created_by_token, created_at, updated_at) VALUES
     ('染色升温过快 / dyeing ramp above 3 °C/min', 'rate', NULL, 'dyeing_machine', NULL, 'bath_temp_c', '>', 3, NULL, 60, 60, 'warning', 1, 'default', '', 0, 0),
     ('染液超温 / dyeing bath above 140 °C', 'threshold', NULL, 'dyeing_machine', NULL, 'bath_temp_c', '>', 140, NULL, 0, 30, 'critical', 1, 'default', '', 0, 0),
     ('染液温度传感器卡滞 / bath temperature stuck 30 min', 'stuck', NULL, 'dyeing_machine', NULL, 'bath_temp_c', NULL, 0, NULL, 0, 1800, 'warning', 1, 'default', '', 0, 0),
     ('设备故障超过 15 分钟 / fault for 15 min', 'state', NULL, NULL, NULL, NULL, NULL, NULL, '["fault"]', 0, 900, 'warning', 1, 'default', '', 0, 0),
     ('设备离线超过 10 分钟 / offline for 10 min', 'offline', NULL, NULL, NULL, NULL, NULL, 10, NULL, 0, 0, 'warning', 1, 'default', '', 0, 0),
     ('设备时钟偏差超过 2 分钟 / clock off by 2 min', 'clock_skew', NULL, NULL, NULL, NULL, NULL, 120, NULL, 0, 60, 'info', 1, 'default', '', 0, 0);`,
  // Where a firm's steam comes from replaces the cogeneration flag. A firm flagged before keeps its rule; one
  // unflagged was never asked where its steam comes from, so NULL: inferred from its meters when read.
  `ALTER TABLE firm_energy ADD COLUMN steam_source TEXT CHECK (steam_source IN ('bought', 'own-boiler', 'cogeneration'));
   UPDATE firm_energy SET steam_source = 'cogeneration' WHERE cogeneration = 1;
   ALTER TABLE firm_energy DROP COLUMN cogeneration;`,
  // Fabric output a firm reports per local month: the output of a firm without looms (a stenter's metres are passes).
  `CREATE TABLE firm_output (
     firm_id TEXT NOT NULL, month TEXT NOT NULL, fabric_m REAL NOT NULL, note TEXT NOT NULL,
     entered_by TEXT NOT NULL, entered_by_token TEXT NOT NULL, entered_at INTEGER NOT NULL, PRIMARY KEY (firm_id, month));`,
  // Alarms in both languages, searchable by time; defaults for the faults that raised nothing before: counter
  // resets, bursts of rejected messages, the spool filling and InfluxDB unreachable.
  `ALTER TABLE alarms ADD COLUMN message_zh TEXT;
   CREATE INDEX alarms_raised ON alarms(raised_at);
   INSERT INTO alarm_rules (name, kind, firm_id, device_type, device_id, metric, op, value, states, window_s, duration_s, severity, enabled, created_by, created_by_token, created_at, updated_at) VALUES
     ('计数器归零 / counter reset', 'counter_reset', NULL, NULL, NULL, NULL, NULL, 10, NULL, 0, 0, 'info', 1, 'default', '', 0, 0),
     ('5 分钟内 10 条以上消息被拒收 / 10 rejected messages in 5 min', 'rejected', NULL, NULL, NULL, NULL, NULL, 10, NULL, 300, 0, 'warning', 1, 'default', '', 0, 0),
     ('缓冲队列积压超过 10 万行 / spool above 100,000 rows for 5 min', 'spool', NULL, NULL, NULL, NULL, NULL, 100000, NULL, 0, 300, 'critical', 1, 'default', '', 0, 0),
     ('InfluxDB 无法访问超过 2 分钟 / InfluxDB unreachable for 2 min', 'store_down', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 120, 'critical', 1, 'default', '', 0, 0);`,
  // Where alarms are sent (企业微信 and 钉钉 group robots, webhooks) and every delivery with its outcome; one
  // delivery per channel, alarm and event, so two API nodes never send the same one twice.
  `CREATE TABLE alarm_channels (
     id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook')),
     url TEXT NOT NULL, secret TEXT, firm_id TEXT, min_severity TEXT NOT NULL, quiet_from INTEGER, quiet_to INTEGER,
     max_per_hour INTEGER NOT NULL, dedup_minutes INTEGER NOT NULL, notify_cleared INTEGER NOT NULL, lang TEXT NOT NULL, enabled INTEGER NOT NULL,
     created_by TEXT NOT NULL, created_by_token TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE alarm_deliveries (
     id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id INTEGER NOT NULL, alarm_id INTEGER NOT NULL, event TEXT NOT NULL,
     rule_id INTEGER NOT NULL, device_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, why TEXT,
     created_at INTEGER NOT NULL, finished_at INTEGER, UNIQUE (channel_id, alarm_id, event));
   CREATE INDEX alarm_deliveries_channel ON alarm_deliveries(channel_id, created_at);`,
  // E-mail channels: the table is rebuilt because SQLite cannot change a CHECK constraint in place.
  `CREATE TABLE alarm_channels_v2 (
     id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'webhook', 'email')),
     url TEXT NOT NULL, secret TEXT, firm_id TEXT, min_severity TEXT NOT NULL, quiet_from INTEGER, quiet_to INTEGER,
     max_per_hour INTEGER NOT NULL, dedup_minutes INTEGER NOT NULL, notify_cleared INTEGER NOT NULL, lang TEXT NOT NULL, enabled INTEGER NOT NULL,
     created_by TEXT NOT NULL, created_by_token TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
   INSERT INTO alarm_channels_v2 SELECT * FROM alarm_channels;
   DROP TABLE alarm_channels;
   ALTER TABLE alarm_channels_v2 RENAME TO alarm_channels;`,
];

export function openMonitoringDb(file: string): Db {
  return openDb(file, MONITORING_MIGRATIONS, { synchronous: 'NORMAL' });
}

/** Who did something through the API (name and token id of the principal), kept with what they entered. */
export interface Actor {
  name: string;
  tokenId: string;
}

export interface SettingRecord<T> {
  value: T;
  updatedBy: string | null;
  updatedAt: number | null;
}

/** JSON settings with who changed them and when; defaults live in code. */
export class Settings {
  private readonly get_;
  private readonly put_;

  constructor(private readonly db: Db) {
    this.get_ = db.prepare<[string], { value: string; updated_by: string; updated_at: number }>('SELECT value, updated_by, updated_at FROM settings WHERE key = ?');
    this.put_ = db.prepare('INSERT INTO settings (key, value, updated_by, updated_by_token, updated_at) VALUES (@key, @value, @by, @token, @at) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, updated_by_token = excluded.updated_by_token, updated_at = excluded.updated_at');
  }

  get<T>(key: string, def: T): SettingRecord<T> {
    const r = this.get_.get(key);
    if (!r) return { value: def, updatedBy: null, updatedAt: null };
    return { value: JSON.parse(r.value) as T, updatedBy: r.updated_by, updatedAt: r.updated_at };
  }

  put<T>(key: string, value: T, actor: Actor, at = Date.now()): void {
    this.put_.run({ key, value: JSON.stringify(value), by: actor.name, token: actor.tokenId, at });
  }
}
