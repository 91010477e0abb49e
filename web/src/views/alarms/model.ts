// Alarm rules as the API gives them, and how they read: the metric by its catalogue name and unit.
import { pick, tMaybe } from '../../i18n.ts';
import { unitLabel } from '../../format.ts';
import type { Catalogue, MetricSpec } from '../../types.ts';
import { at, type AlarmTextKey } from './texts.ts';

export const FORM_KINDS = ['threshold', 'rate', 'stuck', 'state', 'offline'] as const;
export const OPS = ['>', '>=', '<', '<='] as const;
export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export interface RuleBody {
  name: string;
  kind: string;
  firmId: string | null;
  deviceType: string | null;
  deviceId: string | null;
  metric: string | null;
  op: string | null;
  value: number | null;
  states: string[] | null;
  windowS: number;
  durationS: number;
  severity: string;
  enabled: boolean;
}

export interface AlarmRule extends RuleBody {
  id: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

// The preview's shape is the API's own (types only: nothing of the server is bundled).
export type { RulePreview } from '../../../../analytics/alarms/preview.ts';

const KINDS = new Set(['threshold', 'rate', 'stuck', 'state', 'offline', 'clock_skew', 'quarantine', 'counter_reset', 'rejected', 'spool', 'store_down']);

export function kindText(kind: string): string {
  return KINDS.has(kind) ? at(`kind_${kind}` as AlarmTextKey) : kind;
}

export function metricOf(cat: Catalogue, type: string | null, metric: string | null): MetricSpec | undefined {
  if (!metric) return undefined;
  const types = type ? cat.deviceTypes.filter((d) => d.type === type) : cat.deviceTypes;
  for (const d of types) {
    const m = d.metrics.find((x) => x.name === metric);
    if (m) return m;
  }
  return undefined;
}

export function metricName(cat: Catalogue, type: string | null, metric: string | null): string {
  const m = metricOf(cat, type, metric);
  return m ? pick(m) : (metric ?? '');
}

export function unitOf(cat: Catalogue, r: Pick<RuleBody, 'kind' | 'deviceType' | 'metric'>): string {
  if (r.kind === 'offline') return at('unitMin');
  const u = metricOf(cat, r.deviceType, r.metric)?.unit ?? '';
  const shown = u ? unitLabel(u) : '';
  return r.kind === 'rate' ? `${shown}/${at('unitMin')}` : shown;
}

/** The rule's condition in a few words: "染液温度 > 140 °C，30 s". */
export function conditionText(cat: Catalogue, r: RuleBody): string {
  const m = metricName(cat, r.deviceType, r.metric);
  const u = unitOf(cat, r);
  const dur = r.durationS > 0 ? ` · ${r.durationS} s` : '';
  switch (r.kind) {
    case 'threshold': return `${m} ${r.op ?? ''} ${r.value ?? ''} ${u}${dur}`;
    case 'rate': return `Δ${m} ${r.op ?? ''} ${r.value ?? ''} ${u} (${r.windowS} s)${dur}`;
    case 'stuck': return `${m} ±${r.value ?? 0} ${u}${dur}`;
    case 'state': return `${(r.states ?? []).map((s) => tMaybe('state_', s)).join(', ')}${dur}`;
    case 'offline': return `> ${r.value ?? ''} ${u}`;
    default: return [r.value === null ? null : String(r.value), r.durationS > 0 ? `${r.durationS} s` : null].filter(Boolean).join(' · ');
  }
}
