// A small InfluxQL query type for @grafana/grafana-foundation-sdk 0.0.21, which ships none: the SDK's "custom
// query type" pattern (an object that says it is a Dataquery variant, and a builder for it). Grafana's InfluxDB
// data source runs `query` as written when `rawQuery` is true, after replacing its macros ($timeFilter,
// $__interval, $__interval_ms, $tag_*, template variables).
//
// Below it, a few helpers that write the InfluxQL text. `select()` adds `$timeFilter` to every SELECT it writes,
// the outer query of a subquery included: without it the outer `GROUP BY time(...)` runs on to now() with empty
// buckets (docs/pitfalls.md, Grafana).
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

export type InfluxResultFormat = 'time_series' | 'table';

export interface InfluxQLQuery extends Dataquery {
  refId?: string;
  hide?: boolean;
  datasource?: DataSourceRef;
  /** The InfluxQL text, with Grafana macros. */
  query: string;
  /** Tells the data source to use `query` as written instead of its visual editor's model. */
  rawQuery: true;
  resultFormat: InfluxResultFormat;
  /** Series name pattern: `$tag_<key>`, `$measurement`, `$col`. */
  alias?: string;
}

export class InfluxQLQueryBuilder implements Builder<Dataquery> {
  private readonly internal: InfluxQLQuery;

  constructor(query: string) {
    this.internal = { query, rawQuery: true, resultFormat: 'time_series', _implementsDataqueryVariant() {} };
  }

  build(): InfluxQLQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }

  datasource(ds: DataSourceRef): this {
    this.internal.datasource = ds;
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  resultFormat(format: InfluxResultFormat): this {
    this.internal.resultFormat = format;
    return this;
  }
}

// ---- writing the InfluxQL text --------------------------------------------------------------------------------

export const TIME_FILTER = '$timeFilter';
export const INTERVAL = '$__interval';

/** A double-quoted identifier (measurement, tag key, field key). */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A single-quoted string literal; Grafana template variables inside it (`'$firm'`) are replaced before the query runs. */
export function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Anchored regular expression matching exactly these names, for FROM (measurements) or a function's field argument. */
export function oneOf(names: readonly string[]): string {
  if (names.length === 0) throw new Error('oneOf() needs at least one name');
  for (const n of names) if (!/^[A-Za-z0-9_]+$/.test(n)) throw new Error(`"${n}" cannot go into an InfluxQL regular expression as is`);
  return `/^(${[...names].sort().join('|')})$/`;
}

/** FROM clause for one or more measurements. */
export function from(measurements: readonly string[]): string {
  return measurements.length === 1 ? ident(measurements[0] as string) : oneOf(measurements);
}

export interface SelectParts {
  /** The select list, written out (`mean("power_kw") AS "kw"`). */
  fields: string;
  /** A FROM clause: from(...), or sub(...) for a subquery. */
  from: string;
  /** Conditions ANDed with $timeFilter. */
  where?: readonly string[];
  /** `time($__interval)` and tag keys. */
  groupBy?: readonly string[];
  fill?: 'none' | 'null' | 'previous' | 'linear' | number;
  orderDesc?: boolean;
  limit?: number;
}

/** One SELECT statement; `$timeFilter` is always in its WHERE clause. */
export function select(p: SelectParts): string {
  let q = `SELECT ${p.fields} FROM ${p.from} WHERE ${[...(p.where ?? []), TIME_FILTER].join(' AND ')}`;
  if (p.groupBy && p.groupBy.length > 0) q += ` GROUP BY ${p.groupBy.join(', ')}`;
  if (p.fill !== undefined) q += ` fill(${p.fill})`;
  if (p.orderDesc) q += ' ORDER BY time DESC';
  if (p.limit !== undefined) q += ` LIMIT ${p.limit}`;
  return q;
}

/** A subquery as a FROM clause. */
export function sub(inner: string): string {
  return `(${inner})`;
}

/** `time(<interval>)` for GROUP BY. */
export function time(interval: string = INTERVAL): string {
  return `time(${interval})`;
}

/** Tag keys for GROUP BY. */
export function tags(...keys: string[]): string[] {
  return keys.map(ident);
}

/** `"tag" = '<value>'`, e.g. eq('firm', '$firm'). */
export function eq(tag: string, value: string): string {
  return `${ident(tag)} = ${str(value)}`;
}
