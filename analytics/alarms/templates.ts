// Alarm texts in Chinese and English from templates: the device's name, the metric's display name and unit from
// the catalogue, so a reader sees "3号染色机 染液温度 142 °C" rather than a metric id.
import { deviceType, metricSpec } from '../../common/contract/catalogue.ts';
import type { AlarmRule, Op } from './rules.ts';

export interface AlarmTexts {
  zh: string;
  en: string;
}

export interface TemplateInput {
  rule: Pick<AlarmRule, 'kind' | 'metric' | 'op' | 'value' | 'windowS' | 'durationS'>;
  type: string;
  /** The device's name in the registry; the type's name and the id stand in when unknown. */
  deviceName: string | undefined;
  deviceId: string;
  value: number | null;
  state?: string | undefined;
  /** rejected: the rules the rejections broke; clock_skew: set when the evidence is rejected messages. */
  detail?: string | undefined;
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

const OP_WORDS: Record<Op, { zh: string; en: string }> = {
  '>': { zh: '高于', en: 'above' }, '>=': { zh: '不低于', en: 'at or above' }, '<': { zh: '低于', en: 'below' }, '<=': { zh: '不高于', en: 'at or below' },
};

const STATE_WORDS: Record<string, string> = { running: '运行', idle: '待机', stopped: '停机', fault: '故障', maintenance: '维护', setup: '调机' };

/** Seconds as "30 秒" / "30 s", minutes from 120 s on. */
function span(seconds: number): AlarmTexts {
  return seconds >= 120 && seconds % 60 === 0 ? { zh: `${seconds / 60} 分钟`, en: `${seconds / 60} min` } : { zh: `${seconds} 秒`, en: `${seconds} s` };
}

function deviceLabel(i: TemplateInput): AlarmTexts {
  if (i.deviceName) return { zh: i.deviceName, en: i.deviceName };
  const t = deviceType(i.type);
  return { zh: `${t?.zh ?? i.type} ${i.deviceId}`, en: `${t?.en ?? i.type} ${i.deviceId}` };
}

function metricLabel(i: TemplateInput): AlarmTexts & { unit: string } {
  const spec = i.rule.metric ? metricSpec(i.type, i.rule.metric) : undefined;
  const unit = spec?.unit ? ` ${spec.unit}` : '';
  return { zh: spec?.zh ?? i.rule.metric ?? '', en: (spec?.en ?? i.rule.metric ?? '').toLowerCase(), unit };
}

/** The texts of a device alarm in both languages (built only when one is raised). */
export function alarmTexts(i: TemplateInput): AlarmTexts {
  const d = deviceLabel(i);
  const m = metricLabel(i);
  const v = fmt(i.value ?? 0);
  const limit = fmt(i.rule.value ?? 0);
  const u = m.unit;
  const dur = span(i.rule.durationS);
  // A rule without a duration fires at once: "for 0 s" says nothing.
  const forZh = i.rule.durationS > 0 ? ` 已持续 ${dur.zh}` : '';
  const forEn = i.rule.durationS > 0 ? ` for ${dur.en}` : '';
  const op = OP_WORDS[i.rule.op ?? '>'];
  const both = (zh: string, en: string): AlarmTexts => ({ zh: `${d.zh} ${zh}`, en: `${d.en} ${en}` });
  switch (i.rule.kind) {
    case 'threshold': return both(`${m.zh} ${v}${u}，${op.zh} ${limit}${u}${forZh}`, `${m.en} ${v}${u}, ${op.en} ${limit}${u}${forEn}`);
    case 'rate': return both(`${m.zh} 变化 ${v}${u}/分钟，${op.zh} ${limit}${u}/分钟（${i.rule.windowS} 秒内）`, `${m.en} changing at ${v}${u}/min, ${op.en} ${limit}${u}/min over ${i.rule.windowS} s`);
    case 'state': return both(`处于${STATE_WORDS[i.state ?? ''] ?? i.state ?? '?'}状态${forZh}`, `in state ${i.state ?? '?'}${forEn}`);
    case 'stuck': return both(`${m.zh} 停在 ${v}${u} 已 ${dur.zh}，设备仍在上报`, `${m.en} unchanged at ${v}${u} for ${dur.en} while the device keeps reporting`);
    case 'offline': return both(`已 ${Math.floor(i.value ?? 0)} 分钟无消息（限值 ${limit} 分钟）`, `no message for ${Math.floor(i.value ?? 0)} min (limit ${limit} min)`);
    case 'clock_skew': return i.detail
      ? both(`时钟超前平台过多，消息被拒收（clock-ahead）：请校准设备时钟（NTP）`, 'clock so far ahead of the platform that its messages are rejected (clock-ahead): set the device clock (NTP)')
      : both(`时钟${(i.value ?? 0) < 0 ? '落后' : '超前'}平台 ${fmt(Math.abs(i.value ?? 0))} 秒（限值 ${limit} 秒）`, `clock ${fmt(Math.abs(i.value ?? 0))} s ${(i.value ?? 0) < 0 ? 'behind' : 'ahead of'} the platform (limit ${limit} s)`);
    case 'quarantine': return both(`最近 ${limit} 小时有 ${Math.round(i.value ?? 0)} 个不合理的计数读数被隔离（保留、未计入）：请检查仪表，属实则在被拒消息中放行`,
      `${Math.round(i.value ?? 0)} implausible counter reading${i.value === 1 ? '' : 's'} quarantined in the last ${limit} h (kept, not counted): check the meter, then release them under rejected messages if they are real`);
    case 'counter_reset': return both(`${m.zh} 计数归零（重启或换表）`, `${m.en} counter reset (a reboot or a replaced meter)`);
    case 'rejected': return both(`${i.rule.windowS} 秒内 ${Math.round(i.value ?? 0)} 条消息被拒收（${i.detail ?? ''}），限值 ${limit} 条`, `${Math.round(i.value ?? 0)} messages rejected within ${i.rule.windowS} s (${i.detail ?? ''}), limit ${limit}`);
    case 'spool': return { zh: `缓冲队列积压 ${Math.round(i.value ?? 0)} 行，超过 ${limit} 行${forZh}：写入 InfluxDB 落后`, en: `spool holds ${Math.round(i.value ?? 0)} rows, above ${limit}${forEn}: writing to InfluxDB is behind` };
    case 'store_down': return { zh: `InfluxDB 无法访问${forZh}：数据留在缓冲队列，恢复后补写`, en: `InfluxDB unreachable${forEn}: data waits in the spool and is written once it is back` };
  }
}
