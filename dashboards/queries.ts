// The InfluxQL shapes the dashboards reuse. Counters (`*_total`) are cumulative registers, so a quantity over a
// period is the sum of non_negative_difference() of the register's last value per bucket, per device: a counter
// reset (a negative step) is dropped instead of subtracting a whole register. Totals over several devices are a
// subquery per device summed by the outer query, and both carry $timeFilter (select() adds it).
import { STATE_MEASUREMENT } from '../common/contract/line-protocol.ts';
import { INTERVAL, from, ident, oneOf, select, sub, tags, time } from './influxql.ts';

export interface Scope {
  measurements: readonly string[];
  /** Extra conditions (tag filters such as eq('firm', '$firm')). */
  where?: readonly string[];
  /** Tag keys the result is split by (county, park, type, …); none = one total. */
  by?: readonly string[];
}

/** Sum over devices of each device's mean of `field` per `$__interval` (power, flow). */
export function sumOfMeans(field: string, s: Scope): string {
  const by = s.by ?? [];
  const inner = select({
    fields: `mean(${ident(field)}) AS "v"`, from: from(s.measurements), where: s.where,
    groupBy: [time(), ...tags('device', ...by)], fill: 'none',
  });
  return select({ fields: `sum("v") AS "v"`, from: sub(inner), groupBy: [time(), ...tags(...by)], fill: 'none' });
}

/** Increase of counter `field` per `interval` bucket, summed over devices (kWh per hour, metres per hour, …). */
export function counterIncrease(field: string, s: Scope, interval: string = INTERVAL): string {
  const by = s.by ?? [];
  const inner = select({
    fields: `non_negative_difference(last(${ident(field)})) AS "v"`, from: from(s.measurements), where: s.where,
    groupBy: [time(interval), ...tags('device', ...by)], fill: 'none',
  });
  return select({ fields: `sum("v") AS "v"`, from: sub(inner), groupBy: [time(interval), ...tags(...by)], fill: 'none' });
}

/** Increase of counter `field` over the whole time range, summed over devices (one value per `by` group). */
export function counterTotal(field: string, s: Scope): string {
  const by = s.by ?? [];
  const inner = select({
    fields: `non_negative_difference(last(${ident(field)})) AS "v"`, from: from(s.measurements), where: s.where,
    groupBy: [time(), ...tags('device', ...by)], fill: 'none',
  });
  return select({ fields: `sum("v") AS "v"`, from: sub(inner), ...(by.length > 0 ? { groupBy: tags(...by) } : {}) });
}

/** Ratio of the increases of two counters of the same devices over the range (kWh per kg of yarn). */
export function counterRatio(numerator: string, denominator: string, s: Scope): string {
  const inner = select({
    fields: `non_negative_difference(last(${ident(numerator)})) AS "n", non_negative_difference(last(${ident(denominator)})) AS "d"`,
    from: from(s.measurements), where: s.where, groupBy: [time(), ...tags('device')], fill: 'none',
  });
  return select({ fields: `sum("n") / sum("d") AS "v"`, from: sub(inner) });
}

/** A field argument: one field by name, or a regular expression over several (one series per field, `$col`). */
function fieldArg(field: string | readonly string[]): string {
  return typeof field === 'string' ? ident(field) : oneOf(field);
}

/** Mean of `field` per `$__interval`, per series (no sum over devices): one device's power, or each device's. */
export function meanPerSeries(field: string | readonly string[], s: Scope): string {
  return select({
    fields: `mean(${fieldArg(field)})`, from: from(s.measurements), where: s.where,
    groupBy: [time(), ...tags(...(s.by ?? []))], fill: 'none',
  });
}

/** Increase of counter `field` per `interval` bucket, per series (no sum over devices): one device's registers. */
export function increasePerSeries(field: string | readonly string[], s: Scope, interval: string = INTERVAL): string {
  return select({
    fields: `non_negative_difference(last(${fieldArg(field)}))`, from: from(s.measurements), where: s.where,
    groupBy: [time(interval), ...tags(...(s.by ?? []))], fill: 'none',
  });
}

/** Last reported machine state per `$__interval`, carried forward over the buckets without a change. */
export function lastState(where: readonly string[], by: readonly string[] = []): string {
  return select({ fields: 'last("state")', from: ident(STATE_MEASUREMENT), where, groupBy: [time(), ...tags(...by)], fill: 'previous' });
}
