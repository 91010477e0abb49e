// InfluxQL text, written only inside the InfluxDB adapter: quoting, conditions and durations.
/** One series of an InfluxQL answer (epoch=ms). */
export interface QueryResultSeries {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: Array<Array<string | number | boolean | null>>;
}

/** Runs InfluxQL: what the question modules are given by the adapter. */
export type Query = (influxql: string) => Promise<QueryResultSeries[]>;

import { SCOPE_TAG, type Scope } from '../../contract/scope.ts';

/** Quotes an InfluxQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Quotes an InfluxQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** InfluxQL condition for a scope ('' for the whole prefecture). */
export function scopeCondition(scope: Scope): string {
  if (scope.kind === 'prefecture') return '';
  return `${ident(SCOPE_TAG[scope.kind])} = ${literal(scope.id)}`;
}

/** Joins conditions with AND, skipping empty ones. */
export function and(...conds: string[]): string {
  return conds.filter((c) => c !== '').join(' AND ');
}

/** [from, to) in epoch ms. */
export function timeRange(from: number, to: number): string {
  return `time >= ${Math.floor(from)}ms AND time < ${Math.floor(to)}ms`;
}
