// Modbus register values to numbers: 16-bit registers, 32-bit values over two registers in either word order
// (meters disagree: many send the high word first, as Modicon did, others the low word), then the scale; and which
// requests read a device's metrics (neighbouring registers in one request).
import type { RegisterType } from './config.ts';
import { scaled } from './sources/source.ts';

export type WordOrder = 'big' | 'little';

/** Registers a value of this type spans. */
export function registerCount(type: RegisterType): 1 | 2 {
  return type === 'uint16' || type === 'int16' ? 1 : 2;
}

/** Decodes `registers` (as read, each 0..65535) into the value, times `scale`. */
export function decodeRegisters(registers: readonly number[], type: RegisterType, wordOrder: WordOrder = 'big', scale = 1): number {
  const n = registerCount(type);
  if (registers.length < n) throw new Error(`${type} needs ${n} registers, got ${registers.length}`);
  const buf = Buffer.alloc(4);
  if (n === 1) {
    buf.writeUInt16BE(registers[0]! & 0xffff, 0);
  } else {
    const [first, second] = [registers[0]! & 0xffff, registers[1]! & 0xffff];
    buf.writeUInt16BE(wordOrder === 'big' ? first : second, 0);
    buf.writeUInt16BE(wordOrder === 'big' ? second : first, 2);
  }
  const raw = { uint16: () => buf.readUInt16BE(0), int16: () => buf.readInt16BE(0), uint32: () => buf.readUInt32BE(0), int32: () => buf.readInt32BE(0), float32: () => buf.readFloatBE(0) }[type]();
  return scaled(raw, scale);
}

/** The inverse, for tests and simulated meters: a raw value (before scale) as registers. */
export function encodeRegisters(value: number, type: RegisterType, wordOrder: WordOrder = 'big'): number[] {
  const buf = Buffer.alloc(4);
  ({ uint16: () => buf.writeUInt16BE(value, 0), int16: () => buf.writeInt16BE(value, 0), uint32: () => buf.writeUInt32BE(value, 0), int32: () => buf.writeInt32BE(value, 0), float32: () => buf.writeFloatBE(value, 0) })[type]();
  if (registerCount(type) === 1) return [buf.readUInt16BE(0)];
  const [high, low] = [buf.readUInt16BE(0), buf.readUInt16BE(2)];
  return wordOrder === 'big' ? [high, low] : [low, high];
}

export type RegisterFunction = 'holding' | 'input';

export interface RegisterMetric {
  address: number;
  function: RegisterFunction;
  type: RegisterType;
  wordOrder?: WordOrder;
  scale?: number;
}

/** One request: `count` registers of one function from `address`, and the metrics it feeds (by offset). */
export interface RegisterSpan {
  function: RegisterFunction;
  address: number;
  count: number;
  metrics: Array<{ name: string; offset: number; metric: RegisterMetric }>;
}

/**
 * The requests that read every metric: neighbouring registers of one function are read together while the span
 * stays within `maxRegisters` and the unmapped registers between two metrics are at most `maxGap`.
 */
export function planReads(metrics: Record<string, RegisterMetric>, maxGap: number, maxRegisters: number): RegisterSpan[] {
  const sorted = Object.entries(metrics).sort(([, a], [, b]) => a.function.localeCompare(b.function) || a.address - b.address);
  const spans: RegisterSpan[] = [];
  let span: RegisterSpan | undefined;
  for (const [name, metric] of sorted) {
    const end = metric.address + registerCount(metric.type);
    const joins = span !== undefined && span.function === metric.function
      && metric.address - (span.address + span.count) <= maxGap
      && Math.max(end, span.address + span.count) - span.address <= maxRegisters;
    if (!joins || !span) {
      span = { function: metric.function, address: metric.address, count: end - metric.address, metrics: [] };
      spans.push(span);
    }
    span.count = Math.max(span.count, end - span.address);
    span.metrics.push({ name, offset: metric.address - span.address, metric });
  }
  return spans;
}

/** The values of a span's metrics from the registers read for it. */
export function decodeSpan(span: RegisterSpan, registers: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { name, offset, metric } of span.metrics) {
    out[name] = decodeRegisters(registers.slice(offset, offset + registerCount(metric.type)), metric.type, metric.wordOrder, metric.scale);
  }
  return out;
}
