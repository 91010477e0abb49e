// The rules a new alarm store starts with. The SQLite monitoring database seeds the same ones in its migrations
// (analytics/base/db.ts); a PostgreSQL store seeds these when it creates its schema.
import type { AlarmRuleInput } from './rules.ts';

const rule = (r: Partial<AlarmRuleInput> & Pick<AlarmRuleInput, 'name' | 'kind' | 'severity'>): AlarmRuleInput => ({
  firmId: null, deviceType: null, deviceId: null, metric: null, op: null, value: null, states: null, windowS: 0, durationS: 0, enabled: true, ...r,
});

export const DEFAULT_RULES: readonly AlarmRuleInput[] = [
  rule({ name: '染色升温过快 / dyeing ramp above 3 °C/min', kind: 'rate', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 3, windowS: 60, durationS: 60, severity: 'warning' }),
  rule({ name: '染液超温 / dyeing bath above 140 °C', kind: 'threshold', deviceType: 'dyeing_machine', metric: 'bath_temp_c', op: '>', value: 140, durationS: 30, severity: 'critical' }),
  rule({ name: '染液温度传感器卡滞 / bath temperature stuck 30 min', kind: 'stuck', deviceType: 'dyeing_machine', metric: 'bath_temp_c', value: 0, durationS: 1800, severity: 'warning' }),
  rule({ name: '设备故障超过 15 分钟 / fault for 15 min', kind: 'state', states: ['fault'], durationS: 900, severity: 'warning' }),
  rule({ name: '设备离线超过 10 分钟 / offline for 10 min', kind: 'offline', value: 10, severity: 'warning' }),
  rule({ name: '设备时钟偏差超过 2 分钟 / clock off by 2 min', kind: 'clock_skew', value: 120, durationS: 60, severity: 'info' }),
  rule({ name: '计数器归零 / counter reset', kind: 'counter_reset', value: 10, severity: 'info' }),
  rule({ name: '5 分钟内 10 条以上消息被拒收 / 10 rejected messages in 5 min', kind: 'rejected', value: 10, windowS: 300, severity: 'warning' }),
  rule({ name: '缓冲队列积压超过 10 万行 / spool above 100,000 rows for 5 min', kind: 'spool', value: 100000, durationS: 300, severity: 'critical' }),
  rule({ name: 'InfluxDB 无法访问超过 2 分钟 / InfluxDB unreachable for 2 min', kind: 'store_down', durationS: 120, severity: 'critical' }),
  rule({ name: '计数读数被隔离 / counter readings quarantined', kind: 'quarantine', value: 24, severity: 'warning' }),
];
