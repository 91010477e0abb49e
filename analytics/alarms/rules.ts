// Alarm rule kinds, the rule and alarm shapes, and what makes a rule unusable.
import { deviceType, metricSpec, MACHINE_STATES } from '../../common/contract/catalogue.ts';

export const ALARM_KINDS = ['threshold', 'rate', 'state', 'stuck', 'offline', 'clock_skew', 'quarantine', 'counter_reset', 'rejected', 'spool', 'store_down'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
/** Kinds about the platform itself, not a device: their alarms carry PLATFORM_FIRM and the service as device. */
export const PLATFORM_KINDS: readonly AlarmKind[] = ['spool', 'store_down'];
/** Firm id of platform alarms: no firm, so only admin and bureau see them. */
export const PLATFORM_FIRM = '';
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
  /**
   * threshold: the limit; rate: the limit per minute; stuck: the tolerance; offline: minutes; clock_skew: seconds;
   * quarantine: hours looked back; counter_reset: minutes the alarm stays; rejected: messages within windowS;
   * spool: rows waiting; store_down: unused.
   */
  value: number | null;
  /** state: the states that raise the alarm. */
  states: string[] | null;
  /** rate, rejected: the window measured over (seconds). */
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
  /** English text (kept for older clients); `messages` has every language. */
  message: string;
  messages: { zh: string; en: string };
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

const positive = (v: number | null) => v !== null && v > 0;

/** Why a rule of a kind that needs no metric cannot work, or undefined. */
function valueProblem(r: AlarmRuleInput): string | undefined {
  switch (r.kind) {
    case 'state': return !r.states || r.states.length === 0 || r.states.some((s) => !(MACHINE_STATES as readonly string[]).includes(s)) ? `a state rule needs states from: ${MACHINE_STATES.join(', ')}` : undefined;
    case 'offline': return positive(r.value) ? undefined : 'an offline rule needs value = minutes (> 0)';
    case 'clock_skew': return positive(r.value) ? undefined : 'a clock_skew rule needs value = seconds (> 0)';
    case 'quarantine': return r.value !== null && r.value > 0 && r.value <= 720 ? undefined : 'a quarantine rule needs value = hours looked back (0–720)';
    case 'counter_reset': return positive(r.value) ? undefined : 'a counter_reset rule needs value = minutes the alarm stays (> 0)';
    case 'rejected': return positive(r.value) && r.windowS >= 10 && r.windowS <= 3600 ? undefined : 'a rejected rule needs value = rejected messages (> 0) within windowS (10–3600 seconds)';
    case 'spool': return r.value !== null && r.value >= 0 ? undefined : 'a spool rule needs value = rows waiting (≥ 0)';
    default: return undefined;
  }
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
  if (PLATFORM_KINDS.includes(r.kind) && (r.firmId !== null || r.deviceType !== null || r.deviceId !== null)) return `a ${r.kind} rule is about the platform: no firm, device type or device`;
  if ((r.kind === 'threshold' || r.kind === 'rate') && (!r.op || r.value === null)) return `a ${r.kind} rule needs op and value`;
  if (r.kind === 'rate' && !(r.windowS >= 10 && r.windowS <= 3600)) return 'windowS of a rate rule must be 10–3600 seconds';
  if (r.kind === 'stuck' && !(r.durationS > 0)) return 'a stuck rule needs durationS > 0 (how long the value may stay unchanged)';
  const problem = valueProblem(r);
  if (problem) return problem;
  if (r.durationS < 0 || r.durationS > 30 * 86_400) return 'durationS must be 0–2592000';
  return undefined;
}
