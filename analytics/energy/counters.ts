// Consumption and output from cumulative counters, aggregated inside InfluxDB.
//
// Per device series, the last reading of each step (GROUP BY time(step), "device") and the non-negative
// difference between consecutive steps give the increment of each step: robust to lost messages (a gap just
// makes one step carry several steps' worth; difference() skips empty steps) and to redelivery (same point).
// The outer query sums those increments per group (firm, device, …) and optional time bucket, so only
// aggregates leave InfluxDB.
//
// One scan usually suffices: the sum and the lowest of the step differences per group; where nothing fell the
// sum is the consumption. Counter resets (a device restarted and its register began again from zero) show up
// as a negative difference; only the groups where one occurred (rare) are recomputed precisely: the
// non-negative differences, plus a query that returns only the negative ones. For each of those, the step's
// last and highest readings are fetched: the new reading counts "from zero", and what the register gained
// before the reset in that step (highest − previous last) is added. A drop smaller than the new reading is not
// a reset but meter jitter (e.g. 1000.0001 → 1000.0000) and counts as zero.
//
// InfluxDB 1.6 misaligns rows when one subquery mixes an aggregate and a transformation (last() with
// difference(last())), so the reset values are fetched separately rather than in the same subquery.
import { and, timeRange } from '../base/scope.ts';
import { ident, literal, type TelemetryStore } from '../../common/telemetry-store/store.ts';

export const GROUP_TAGS = ['county', 'park', 'segment', 'firm', 'device'] as const;
export type GroupTag = (typeof GROUP_TAGS)[number];

export interface CounterQuery {
  /** Counter field, e.g. energy_kwh_total. */
  metric: string;
  measurements: readonly string[];
  /** Extra InfluxQL condition (scope); '' for everything. */
  where: string;
  /** [from, to): should be multiples of stepMs (see alignRange). */
  from: number;
  to: number;
  /** Inner step: increments are attributed to the step in which the reading arrived. */
  stepMs: number;
  /** Offset of the inner steps (16 h makes 1-day steps local days in UTC+8). */
  stepOffsetMs?: number;
  /** How far before `from` to look for the reading that the first increment starts from. */
  lookbackMs: number;
  /** Outer grouping tags (the measurement always separates series). */
  groupBy: readonly GroupTag[];
  /** Outer time buckets; absent = one total over [from, to). */
  intervalMs?: number;
  /** Offset of the outer buckets (e.g. 16 h for local days in UTC+8). */
  offsetMs?: number;
}

export interface CounterRow {
  measurement: string;
  tags: Record<string, string>;
  /** Start of the outer bucket (or `from` without intervalMs). */
  time: number;
  /** Sum of increments, resets counted from zero. */
  value: number;
  /** Number of (device, step) increments behind the value. */
  steps: number;
  resets: number;
}

export function durationLiteral(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function fromList(measurements: readonly string[]): string {
  return measurements.map(ident).join(', ');
}

/** The inner per-device subquery (a transformation of last() per step). */
function inner(q: CounterQuery, fn: 'non_negative_difference' | 'difference'): string {
  const tags = ['device', ...q.groupBy.filter((t) => t !== 'device')].map(ident).join(', ');
  const where = and(q.where, timeRange(q.from - q.lookbackMs, q.to));
  return `SELECT ${fn}(last(${ident(q.metric)})) AS "d" FROM ${fromList(q.measurements)} WHERE ${where} GROUP BY time(${durationLiteral(q.stepMs)}${q.stepOffsetMs ? `, ${durationLiteral(q.stepOffsetMs)}` : ''}), ${tags}`;
}

/**
 * Outer buckets. InfluxDB 1.x narrows a subquery to the outer query's time range, which would cut off the
 * lookback (the reading the first increment starts from). So the outer query keeps the inner range and the
 * increments of the lookback fall into earlier buckets, which counterDeltas drops. Without intervalMs one
 * bucket spans exactly [from, to).
 */
function outerBuckets(q: CounterQuery): string {
  const interval = q.intervalMs ?? q.to - q.from;
  const offset = q.intervalMs ? (q.offsetMs ?? 0) : ((q.from % interval) + interval) % interval;
  return `time(${durationLiteral(interval)}${offset ? `, ${durationLiteral(offset)}` : ''})`;
}

/** The usual single scan: sum, count and lowest of the step differences per group and bucket. */
export function differenceStatement(q: CounterQuery): string {
  const groups = [outerBuckets(q), ...q.groupBy.map(ident)];
  return `SELECT sum("d") AS "dif_v", count("d") AS "dif_n", min("d") AS "dif_min" FROM (${inner(q, 'difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} GROUP BY ${groups.join(', ')} fill(none)`;
}

export function incrementStatement(q: CounterQuery): string {
  const groups = [outerBuckets(q), ...q.groupBy.map(ident)];
  return `SELECT sum("d") AS "inc_v", count("d") AS "inc_n" FROM (${inner(q, 'non_negative_difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} GROUP BY ${groups.join(', ')} fill(none)`;
}

export function resetStatement(q: CounterQuery): string {
  const tags = ['device', ...q.groupBy.filter((t) => t !== 'device')].map(ident).join(', ');
  return `SELECT "d" AS "drop_d" FROM (${inner(q, 'difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} AND "d" < 0 GROUP BY ${tags}`;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function bucketOf(t: number, q: CounterQuery): number {
  if (!q.intervalMs) return q.from;
  const off = q.offsetMs ?? 0;
  return Math.floor((t - off) / q.intervalMs) * q.intervalMs + off;
}

const RESET_BATCH = 100;
/** A query touching more resets than this is probably a device in a reset loop; the rest count as zero. */
const MAX_RESETS = 5000;
/** More groups with a fall than this: one precise pass over everything instead of one per group. */
const MAX_REDO = 20;

type Key = (measurement: string, tags: Record<string, string>, time: number) => string;
const keyFor = (q: CounterQuery): Key => (measurement, tags, time) => `${measurement}\u0000${q.groupBy.map((t) => tags[t] ?? '').join('\u0000')}\u0000${time}`;

/**
 * Increments of a counter per group (and bucket), with resets counted from zero.
 *
 * One scan gives, per group and bucket, the sum and the lowest of the step differences. Where nothing fell
 * (the common case) the sum is the consumption. A group and bucket where a register fell (a reset, or jitter)
 * is recomputed precisely: non-negative differences plus the reset handling below.
 */
export async function counterDeltas(store: TelemetryStore, q: CounterQuery): Promise<CounterRow[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const key = keyFor(q);
  const rows = new Map<string, CounterRow>();
  const redo: Array<{ measurement: string; tags: Record<string, string>; time: number }> = [];
  for (const s of await store.query(differenceStatement(q))) {
    const iv = s.columns.indexOf('dif_v');
    const inn = s.columns.indexOf('dif_n');
    const imin = s.columns.indexOf('dif_min');
    const tags = Object.fromEntries(q.groupBy.map((t) => [t, s.tags[t] ?? '']));
    for (const row of s.values) {
      const time = num(row[0]);
      if (time < q.from) continue; // an increment of the lookback, not of the range
      const t = q.intervalMs ? time : q.from;
      if (num(row[imin]) < 0) redo.push({ measurement: s.name, tags, time: t });
      else rows.set(key(s.name, tags, t), { measurement: s.name, tags, time: t, value: num(row[iv]), steps: num(row[inn]), resets: 0 });
    }
  }
  if (redo.length > MAX_REDO) {
    for (const r of await preciseDeltas(store, q)) if (redo.some((x) => key(x.measurement, x.tags, x.time) === key(r.measurement, r.tags, r.time))) rows.set(key(r.measurement, r.tags, r.time), r);
  } else {
    for (const g of redo) {
      const span = q.intervalMs ?? q.to - q.from;
      const where = and(q.where, ...q.groupBy.map((t) => `${ident(t)} = ${literal(g.tags[t] ?? '')}`));
      for (const r of await preciseDeltas(store, { ...q, measurements: [g.measurement], where, from: g.time, to: g.time + span, intervalMs: undefined, offsetMs: undefined })) {
        rows.set(key(g.measurement, g.tags, g.time), { ...r, time: g.time });
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.time - b.time);
}

/** Non-negative differences, plus each reset's new reading counted from zero (two scans). */
export async function preciseDeltas(store: TelemetryStore, q: CounterQuery): Promise<CounterRow[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const series = await store.query(`${incrementStatement(q)}; ${resetStatement(q)}`);
  const rows = new Map<string, CounterRow>();
  const keyOf = keyFor(q);
  const drops: Array<{ measurement: string; tags: Record<string, string>; time: number; drop: number }> = [];
  for (const s of series) {
    const iv = s.columns.indexOf('inc_v');
    const inn = s.columns.indexOf('inc_n');
    const id = s.columns.indexOf('drop_d');
    for (const row of s.values) {
      const time = num(row[0]);
      if (time < q.from) continue;
      if (iv >= 0) {
        const tags = Object.fromEntries(q.groupBy.map((t) => [t, s.tags[t] ?? '']));
        const r: CounterRow = { measurement: s.name, tags, time: q.intervalMs ? time : q.from, value: num(row[iv]), steps: num(row[inn]), resets: 0 };
        rows.set(keyOf(s.name, tags, r.time), r);
      } else if (id >= 0) {
        drops.push({ measurement: s.name, tags: s.tags, time, drop: -num(row[id]) });
      }
    }
  }
  const considered = drops.slice(0, MAX_RESETS);
  for (let i = 0; i < considered.length; i += RESET_BATCH) {
    const batch = considered.slice(i, i + RESET_BATCH);
    const stmts = batch.map((d, j) => `SELECT last(${ident(q.metric)}) AS "r_${j}", max(${ident(q.metric)}) AS "m_${j}" FROM ${ident(d.measurement)} WHERE ${and(`"device" = ${literal(d.tags.device ?? '')}`, timeRange(d.time, d.time + q.stepMs))}`);
    const res = await store.query(stmts.join('; '));
    const after = new Map<number, number>();
    const highest = new Map<number, number>();
    for (const s of res) {
      for (const [k, col] of s.columns.entries()) {
        const m = /^([rm])_(\d+)$/.exec(col);
        if (m) (m[1] === 'r' ? after : highest).set(Number(m[2]), num(s.values[0]?.[k]));
      }
    }
    batch.forEach((d, j) => {
      const newValue = after.get(j);
      // A reset: the register fell below the drop (it began again near zero). A smaller drop is jitter.
      if (newValue === undefined || !(newValue < d.drop)) return;
      const previousLast = newValue + d.drop;
      const beforeReset = Math.max(0, (highest.get(j) ?? 0) - previousLast);
      const tags = Object.fromEntries(q.groupBy.map((t) => [t, d.tags[t] ?? '']));
      const time = bucketOf(d.time, q);
      const k = keyOf(d.measurement, tags, time);
      const r = rows.get(k) ?? { measurement: d.measurement, tags, time, value: 0, steps: 0, resets: 0 };
      r.value += newValue + beforeReset;
      r.steps += 1;
      r.resets += 1;
      rows.set(k, r);
    });
  }
  return [...rows.values()].sort((a, b) => a.time - b.time);
}

export interface StepDelta {
  measurement: string;
  /** The carried tags (always device). */
  tags: Record<string, string>;
  /** Start of the step. */
  time: number;
  value: number;
  reset: boolean;
}

export interface StepQuery {
  metric: string;
  measurements: readonly string[];
  where: string;
  from: number;
  to: number;
  stepMs: number;
  lookbackMs: number;
  /** Tags to carry besides device (e.g. firm). */
  tags: readonly GroupTag[];
}

/**
 * Increments per device and step, differenced in Node from InfluxDB's last reading per device and step (plus
 * each device's last reading before the range). For the 15-minute rollups this is several times cheaper than
 * counterDeltas on InfluxDB 1.6, whose outer GROUP BY over a per-device subquery is slow with thousands of
 * devices (docs/benchmarks-monitoring.md); it returns one row per device and step, so it suits short ranges
 * with many devices. Reset and jitter rules as in counterDeltas.
 */
export async function stepDeltas(store: TelemetryStore, q: StepQuery): Promise<StepDelta[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const tagList = [...q.tags.filter((t) => t !== 'device'), 'device'];
  const groups = tagList.map(ident).join(', ');
  const m = ident(q.metric);
  const ms = fromList(q.measurements);
  const res = await store.query([
    `SELECT last(${m}) AS "b" FROM ${ms} WHERE ${and(q.where, timeRange(q.from - q.lookbackMs, q.from))} GROUP BY ${groups}`,
    `SELECT last(${m}) AS "l" FROM ${ms} WHERE ${and(q.where, timeRange(q.from, q.to))} GROUP BY time(${durationLiteral(q.stepMs)}), ${groups} fill(none)`,
  ].join('; '));
  const key = (measurement: string, tags: Record<string, string>) => `${measurement}\u0000${tags.device ?? ''}`;
  const baseline = new Map<string, number>();
  for (const s of res) if (s.columns[1] === 'b') baseline.set(key(s.name, s.tags), num(s.values[0]?.[1]));
  const out: StepDelta[] = [];
  const resets: Array<{ row: StepDelta; previous: number; last: number }> = [];
  for (const s of res) {
    if (s.columns[1] !== 'l') continue;
    const tags = Object.fromEntries(tagList.map((t) => [t, s.tags[t] ?? '']));
    let prev = baseline.get(key(s.name, s.tags));
    for (const row of s.values) {
      const l = row[1];
      if (typeof l !== 'number') continue;
      if (prev !== undefined) {
        const d = l - prev;
        const r: StepDelta = { measurement: s.name, tags, time: num(row[0]), value: Math.max(0, d), reset: false };
        // A fall below the drop is a reset (counted from zero below); a smaller fall is jitter and counts zero.
        if (d < 0 && l < -d) resets.push({ row: r, previous: prev, last: l });
        out.push(r);
      }
      prev = l;
    }
  }
  const considered = resets.slice(0, MAX_RESETS);
  for (let i = 0; i < considered.length; i += RESET_BATCH) {
    const batch = considered.slice(i, i + RESET_BATCH);
    const stmts = batch.map((x, j) => `SELECT max(${m}) AS "m_${j}" FROM ${ident(x.row.measurement)} WHERE ${and(`"device" = ${literal(x.row.tags.device ?? '')}`, timeRange(x.row.time, x.row.time + q.stepMs))}`);
    const highest = new Map<number, number>();
    for (const s of await store.query(stmts.join('; '))) {
      const mm = /^m_(\d+)$/.exec(s.columns[1] ?? '');
      if (mm) highest.set(Number(mm[1]), num(s.values[0]?.[1]));
    }
    batch.forEach((x, j) => {
      x.row.value = x.last + Math.max(0, (highest.get(j) ?? 0) - x.previous);
      x.row.reset = true;
    });
  }
  return out;
}

/** A step for a range: fine for short ranges, coarser for long ones (precision of reset handling vs. cost). */
export function stepFor(rangeMs: number): number {
  if (rangeMs <= 2 * 86_400_000) return 60_000;
  if (rangeMs <= 62 * 86_400_000) return 15 * 60_000;
  return 3_600_000;
}

/** [from, to) widened to whole steps (the figures are per step). */
export function alignRange(from: number, to: number, stepMs: number): { from: number; to: number } {
  return { from: Math.floor(from / stepMs) * stepMs, to: Math.ceil(to / stepMs) * stepMs };
}
