// A Sparkplug device's metrics (DBIRTH or DDATA, named) as contract v1 messages, so they pass the same admission
// as JSON: metrics of one timestamp become one telemetry point; one current point goes as a single point, more
// than one, or any historical metric (is_historical, an edge node's store-and-forward), as the batch form (the
// backfill path). A metric mapped to the machine state becomes a state message. What cannot be mapped is a
// problem naming the metric and how to map it.
import { MACHINE_STATES } from '../../common/contract/catalogue.ts';
import { MAX_BATCH_POINTS, type Problem } from '../../common/contract/messages.ts';
import { resolveMetric, unmappedMessage, type SparkplugMappingTable } from '../../common/contract/sparkplug-mapping.ts';
import type { SparkplugMetric } from './payload.ts';

export const MAPPING_RULE = 'sparkplug-mapping';
export const VALUE_RULE = 'sparkplug-value';

export interface TranslateInput {
  deviceType: string;
  gatewayId: string;
  metrics: readonly SparkplugMetric[];
  /** The payload's timestamp, for metrics without their own; else the receive time. */
  payloadTs: number | undefined;
  now: number;
  mappings: SparkplugMappingTable;
  /** Reserves `count` contract sequence numbers; returns the first. */
  seq: (count: number) => number;
}

export interface ContractMessages {
  /** Contract telemetry payloads (JSON): a single point, or batches of at most MAX_BATCH_POINTS. */
  telemetry: Buffer[];
  /** Contract state payloads (JSON). */
  states: Buffer[];
  problems: Problem[];
}

interface Point {
  ts: number;
  historical: boolean;
  metrics: Record<string, number>;
}

const isState = (v: string): boolean => (MACHINE_STATES as readonly string[]).includes(v);
const fieldOf = (name: string): string => `metrics["${name}"]`;

/** Groups the mapped metrics into points and states; unmapped or mistyped metrics become problems. */
function collect(input: TranslateInput, out: ContractMessages): Point[] {
  const points = new Map<string, Point>();
  for (const m of input.metrics) {
    const name = m.name ?? '';
    const target = resolveMetric(input.deviceType, name, input.mappings);
    if (!target) {
      out.problems.push({ field: fieldOf(name), rule: MAPPING_RULE, message: unmappedMessage(input.deviceType, name, input.gatewayId) });
      continue;
    }
    if (target.kind === 'ignore' || m.value === null) continue;
    const ts = m.timestamp ?? input.payloadTs ?? input.now;
    if (target.kind === 'state') {
      if (typeof m.value === 'string' && isState(m.value)) out.states.push(Buffer.from(JSON.stringify({ ts, state: m.value })));
      else out.problems.push({ field: fieldOf(name), rule: VALUE_RULE, message: `${fieldOf(name)} carries the machine state: a String, one of ${MACHINE_STATES.join(', ')}; got ${JSON.stringify(m.value)}` });
      continue;
    }
    if (typeof m.value === 'string') {
      out.problems.push({ field: fieldOf(name), rule: VALUE_RULE, message: `${fieldOf(name)} maps to ${target.metric}, a number; got the ${m.type} ${JSON.stringify(m.value)}` });
      continue;
    }
    const key = `${m.historical ? 'h' : 'c'}${ts}`;
    let p = points.get(key);
    if (!p) points.set(key, (p = { ts, historical: m.historical, metrics: {} }));
    p.metrics[target.metric] = typeof m.value === 'boolean' ? Number(m.value) : m.value;
  }
  return [...points.values()].sort((a, b) => a.ts - b.ts);
}

export function toContract(input: TranslateInput): ContractMessages {
  const out: ContractMessages = { telemetry: [], states: [], problems: [] };
  const points = collect(input, out);
  if (points.length === 0) return out;
  const first = input.seq(points.length);
  const numbered = points.map((p, i) => ({ ts: p.ts, seq: first + i, metrics: p.metrics }));
  if (numbered.length === 1 && !points[0]!.historical) {
    out.telemetry.push(Buffer.from(JSON.stringify(numbered[0])));
    return out;
  }
  for (let i = 0; i < numbered.length; i += MAX_BATCH_POINTS) {
    out.telemetry.push(Buffer.from(JSON.stringify({ points: numbered.slice(i, i + MAX_BATCH_POINTS) })));
  }
  return out;
}
