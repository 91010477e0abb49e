// Sparkplug B payloads, through Eclipse Tahu's own codec (sparkplug-payload): decoded into plain numbers,
// booleans and strings (the codec gives 64-bit integers as Long), and the host's one command, the rebirth request.
import sparkplug from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import { SPARKPLUG_NAMESPACE } from './topic.ts';

const codec = sparkplug.get(SPARKPLUG_NAMESPACE);
if (!codec) throw new Error(`sparkplug-payload has no codec for ${SPARKPLUG_NAMESPACE}`);

export type MetricValue = number | boolean | string | null;

export interface SparkplugMetric {
  name?: string;
  alias?: number;
  /** The Sparkplug data type, as the codec names it (Int32, Float, Boolean, String, …). */
  type: string;
  /** null: the metric is null (is_null), or of a type the platform does not read (DataSet, Template, Bytes, …). */
  value: MetricValue;
  timestamp?: number;
  historical: boolean;
}

export interface SparkplugPayload {
  timestamp?: number;
  seq?: number;
  metrics: SparkplugMetric[];
}

/** The Node Control metric a host sets to ask an edge node for new birth certificates. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
export const BD_SEQ_METRIC = 'bdSeq';
/** The uuid of a payload whose body is another payload, compressed (GZIP or DEFLATE): not read here. */
const COMPRESSED_UUID = 'SPBV1.0_COMPRESSED';

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return undefined;
}

function valueOf(m: UMetric): MetricValue {
  const v: unknown = m.value;
  if (m.isNull || v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  return toNumber(v) ?? null;
}

function metricOf(m: UMetric): SparkplugMetric {
  const alias = toNumber(m.alias);
  const timestamp = toNumber(m.timestamp);
  return {
    ...(m.name ? { name: m.name } : {}),
    ...(alias !== undefined ? { alias } : {}),
    type: String(m.type),
    value: valueOf(m),
    ...(timestamp !== undefined ? { timestamp } : {}),
    historical: m.isHistorical === true,
  };
}

/** Decodes a Sparkplug B payload; throws (the codec's error) when the bytes are not one, or are compressed. */
export function decodeSparkplug(bytes: Uint8Array): SparkplugPayload {
  const p: UPayload = codec!.decodePayload(bytes);
  if (p.uuid === COMPRESSED_UUID) throw new Error('compressed payloads are not read: publish uncompressed');
  const timestamp = toNumber(p.timestamp);
  const seq = toNumber(p.seq);
  return {
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(seq !== undefined ? { seq } : {}),
    metrics: (p.metrics ?? []).map(metricOf),
  };
}

/**
 * The payload as a rejected message keeps it, readable: the decoded payload as JSON, or the bytes in base64 when
 * they could not be decoded (protobuf is binary; the dead-letter store keeps text).
 */
export function keptText(raw: Buffer, decoded?: SparkplugPayload): Buffer {
  return Buffer.from(decoded ? JSON.stringify(decoded) : `base64:${raw.toString('base64')}`);
}

/** The NCMD payload asking an edge node to publish its NBIRTH and every DBIRTH again. */
export function rebirthRequest(now: number): Buffer {
  return Buffer.from(codec!.encodePayload({ timestamp: now, metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true, timestamp: now }] }));
}

/** The bdSeq metric of an NBIRTH or NDEATH, when it has one. */
export function bdSeqOf(payload: SparkplugPayload): number | undefined {
  const v = payload.metrics.find((m) => m.name === BD_SEQ_METRIC)?.value;
  return typeof v === 'number' ? v : undefined;
}

/** For tests and examples: encodes a payload as an edge node does. */
export function encodeSparkplug(payload: UPayload): Buffer {
  return Buffer.from(codec!.encodePayload(payload));
}
