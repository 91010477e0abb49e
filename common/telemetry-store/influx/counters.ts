// What cumulative counters gained, aggregated inside InfluxDB.
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
import type { CounterDelta, CounterDeltasQuestion, CounterSelection, CounterStep, CounterStepsQuestion } from '../questions/energy.ts';
import { and, ident, literal, scopeCondition, timeRange, type Query, type QueryResultSeries } from './influxql.ts';

export function durationLiteral(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The scope and the tag matches of a selection as one condition ('' for everything). */
export function selectionCondition(q: Pick<CounterSelection, 'scope' | 'match'>): string {
  const tags = Object.entries(q.match ?? {}).flatMap(([t, v]) => (v === undefined ? [] : [`${ident(t)} = ${literal(v)}`]));
  return and(scopeCondition(q.scope), ...tags);
}

export function fromList(measurements: readonly string[]): string {
  return measurements.map(ident).join(', ');
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** The inner per-device subquery (a transformation of last() per step). */
function inner(q: CounterDeltasQuestion, fn: 'non_negative_difference' | 'difference'): string {
  const tags = ['device', ...q.groupBy.filter((t) => t !== 'device')].map(ident).join(', ');
  const where = and(selectionCondition(q), timeRange(q.from - q.lookbackMs, q.to));
  return `SELECT ${fn}(last(${ident(q.metric)})) AS "d" FROM ${fromList(q.measurements)} WHERE ${where} GROUP BY time(${durationLiteral(q.stepMs)}${q.stepOffsetMs ? `, ${durationLiteral(q.stepOffsetMs)}` : ''}), ${tags}`;
}

/**
 * Outer buckets. InfluxDB 1.x narrows a subquery to the outer query's time range, which would cut off the
 * lookback (the reading the first increment starts from). So the outer query keeps the inner range and the
 * increments of the lookback fall into earlier buckets, which counterDeltas drops. Without intervalMs one
 * bucket spans exactly [from, to).
 */
function outerBuckets(q: CounterDeltasQuestion): string {
  const interval = q.intervalMs ?? q.to - q.from;
  const offset = q.intervalMs ? (q.offsetMs ?? 0) : ((q.from % interval) + interval) % interval;
  return `time(${durationLiteral(interval)}${offset ? `, ${durationLiteral(offset)}` : ''})`;
}

/** The usual single scan: sum, count and lowest of the step differences per group and bucket. */
export function differenceStatement(q: CounterDeltasQuestion): string {
  const groups = [outerBuckets(q), ...q.groupBy.map(ident)];
  return `SELECT sum("d") AS "dif_v", count("d") AS "dif_n", min("d") AS "dif_min" FROM (${inner(q, 'difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} GROUP BY ${groups.join(', ')} fill(none)`;
}

export function incrementStatement(q: CounterDeltasQuestion): string {
  const groups = [outerBuckets(q), ...q.groupBy.map(ident)];
  return `SELECT sum("d") AS "inc_v", count("d") AS "inc_n" FROM (${inner(q, 'non_negative_difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} GROUP BY ${groups.join(', ')} fill(none)`;
}

export function resetStatement(q: CounterDeltasQuestion): string {
  const tags = ['device', ...q.groupBy.filter((t) => t !== 'device')].map(ident).join(', ');
  return `SELECT "d" AS "drop_d" FROM (${inner(q, 'difference')}) WHERE ${timeRange(q.from - q.lookbackMs, q.to)} AND "d" < 0 GROUP BY ${tags}`;
}

function bucketOf(t: number, q: CounterDeltasQuestion): number {
  if (!q.intervalMs) return q.from;
  const off = q.offsetMs ?? 0;
  return Math.floor((t - off) / q.intervalMs) * q.intervalMs + off;
}

const RESET_BATCH = 100;
/** A query touching more resets than this is probably a device in a reset loop; the rest count as zero. */
const MAX_RESETS = 5000;
/** More groups with a fall than this: one precise pass over everything instead of one per group. */
const MAX_REDO = 20;

type Group = { measurement: string; tags: Record<string, string>; time: number };
type Key = (g: Group) => string;
const keyFor = (q: CounterDeltasQuestion): Key => (g) => `${g.measurement}\u0000${q.groupBy.map((t) => g.tags[t] ?? '').join('\u0000')}\u0000${g.time}`;
const groupTags = (q: CounterDeltasQuestion, tags: Record<string, string>) => Object.fromEntries(q.groupBy.map((t) => [t, tags[t] ?? '']));

/**
 * Increments of a counter per group (and bucket), with resets counted from zero.
 *
 * One scan gives, per group and bucket, the sum and the lowest of the step differences. Where nothing fell
 * (the common case) the sum is the consumption. A group and bucket where a register fell (a reset, or jitter)
 * is recomputed precisely: non-negative differences plus the reset handling below.
 */
export async function counterDeltas(query: Query, q: CounterDeltasQuestion): Promise<CounterDelta[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const key = keyFor(q);
  const rows = new Map<string, CounterDelta>();
  const redo: Group[] = [];
  for (const s of await query(differenceStatement(q))) {
    const [iv, inn, imin] = ['dif_v', 'dif_n', 'dif_min'].map((c) => s.columns.indexOf(c)) as [number, number, number];
    const tags = groupTags(q, s.tags);
    for (const row of s.values) {
      const time = num(row[0]);
      if (time < q.from) continue; // an increment of the lookback, not of the range
      const g = { measurement: s.name, tags, time: q.intervalMs ? time : q.from };
      if (num(row[imin]) < 0) redo.push(g);
      else rows.set(key(g), { ...g, value: num(row[iv]), steps: num(row[inn]), resets: 0 });
    }
  }
  if (redo.length > MAX_REDO) {
    const wanted = new Set(redo.map(key));
    for (const r of await preciseDeltas(query, q)) if (wanted.has(key(r))) rows.set(key(r), r);
  } else {
    for (const g of redo) {
      const span = q.intervalMs ?? q.to - q.from;
      const match = { ...q.match, ...g.tags };
      for (const r of await preciseDeltas(query, { ...q, measurements: [g.measurement], match, from: g.time, to: g.time + span, intervalMs: undefined, offsetMs: undefined })) {
        rows.set(key(g), { ...r, time: g.time });
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.time - b.time);
}

type Drop = Group & { drop: number };

/** Non-negative differences, plus each reset's new reading counted from zero (two scans). */
export async function preciseDeltas(query: Query, q: CounterDeltasQuestion): Promise<CounterDelta[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const series = await query(`${incrementStatement(q)}; ${resetStatement(q)}`);
  const rows = new Map<string, CounterDelta>();
  const key = keyFor(q);
  const drops: Drop[] = [];
  for (const s of series) {
    const [iv, inn, id] = ['inc_v', 'inc_n', 'drop_d'].map((c) => s.columns.indexOf(c)) as [number, number, number];
    for (const row of s.values) {
      const time = num(row[0]);
      if (time < q.from) continue;
      if (iv >= 0) {
        const r: CounterDelta = { measurement: s.name, tags: groupTags(q, s.tags), time: q.intervalMs ? time : q.from, value: num(row[iv]), steps: num(row[inn]), resets: 0 };
        rows.set(key(r), r);
      } else if (id >= 0) {
        drops.push({ measurement: s.name, tags: s.tags, time, drop: -num(row[id]) });
      }
    }
  }
  for (const batch of batches(drops.slice(0, MAX_RESETS))) await addResets(query, q, batch, rows);
  return [...rows.values()].sort((a, b) => a.time - b.time);
}

function batches<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += RESET_BATCH) out.push(items.slice(i, i + RESET_BATCH));
  return out;
}

/** One statement per item, columns named "<prefix>_<index>" so the answers of one request can be told apart. */
function perItem(res: QueryResultSeries[], prefixes: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of res) {
    for (const [k, col] of s.columns.entries()) {
      const m = /^([a-z])_(\d+)$/.exec(col);
      if (m && prefixes.includes(m[1]!)) out.set(col, num(s.values[0]?.[k]));
    }
  }
  return out;
}

/** The step's last and highest readings of each drop: a reset adds its new reading and what came before it. */
async function addResets(query: Query, q: CounterDeltasQuestion, batch: readonly Drop[], rows: Map<string, CounterDelta>): Promise<void> {
  const key = keyFor(q);
  const stmts = batch.map((d, j) => `SELECT last(${ident(q.metric)}) AS "r_${j}", max(${ident(q.metric)}) AS "m_${j}" FROM ${ident(d.measurement)} WHERE ${and(`"device" = ${literal(d.tags.device ?? '')}`, timeRange(d.time, d.time + q.stepMs))}`);
  const found = perItem(await query(stmts.join('; ')), ['r', 'm']);
  batch.forEach((d, j) => {
    const newValue = found.get(`r_${j}`);
    // A reset: the register fell below the drop (it began again near zero). A smaller drop is jitter.
    if (newValue === undefined || !(newValue < d.drop)) return;
    const previousLast = newValue + d.drop;
    const beforeReset = Math.max(0, (found.get(`m_${j}`) ?? 0) - previousLast);
    const g = { measurement: d.measurement, tags: groupTags(q, d.tags), time: bucketOf(d.time, q) };
    const r = rows.get(key(g)) ?? { ...g, value: 0, steps: 0, resets: 0 };
    r.value += newValue + beforeReset;
    r.steps += 1;
    r.resets += 1;
    rows.set(key(g), r);
  });
}

/**
 * Increments per device and step, differenced in Node from InfluxDB's last reading per device and step (plus
 * each device's last reading before the range). For the 15-minute rollups this is several times cheaper than
 * counterDeltas on InfluxDB 1.6, whose outer GROUP BY over a per-device subquery is slow with thousands of
 * devices (docs/benchmarks-monitoring.md); it returns one row per device and step, so it suits short ranges
 * with many devices. Reset and jitter rules as in counterDeltas.
 */
export async function counterSteps(query: Query, q: CounterStepsQuestion): Promise<CounterStep[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const tagList = [...q.carry.filter((t) => t !== 'device'), 'device'];
  const groups = tagList.map(ident).join(', ');
  const m = ident(q.metric);
  const ms = fromList(q.measurements);
  const where = selectionCondition(q);
  const res = await query([
    `SELECT last(${m}) AS "b" FROM ${ms} WHERE ${and(where, timeRange(q.from - q.lookbackMs, q.from))} GROUP BY ${groups}`,
    `SELECT last(${m}) AS "l" FROM ${ms} WHERE ${and(where, timeRange(q.from, q.to))} GROUP BY time(${durationLiteral(q.stepMs)}), ${groups} fill(none)`,
  ].join('; '));
  const key = (measurement: string, tags: Record<string, string>) => `${measurement}\u0000${tags.device ?? ''}`;
  const baseline = new Map<string, number>();
  for (const s of res) if (s.columns[1] === 'b') baseline.set(key(s.name, s.tags), num(s.values[0]?.[1]));
  const out: CounterStep[] = [];
  const resets: Reset[] = [];
  for (const s of res) {
    if (s.columns[1] !== 'l') continue;
    const tags = Object.fromEntries(tagList.map((t) => [t, s.tags[t] ?? '']));
    let prev = baseline.get(key(s.name, s.tags));
    for (const row of s.values) {
      const l = row[1];
      if (typeof l !== 'number') continue;
      if (prev !== undefined) {
        const d = l - prev;
        const r: CounterStep = { measurement: s.name, tags, time: num(row[0]), value: Math.max(0, d), reset: false };
        // A fall below the drop is a reset (counted from zero below); a smaller fall is jitter and counts zero.
        if (d < 0 && l < -d) resets.push({ row: r, previous: prev, last: l });
        out.push(r);
      }
      prev = l;
    }
  }
  for (const batch of batches(resets.slice(0, MAX_RESETS))) await countResets(query, q, batch);
  return out;
}

type Reset = { row: CounterStep; previous: number; last: number };

/** A reset step counts its last reading from zero plus what the register gained before the reset. */
async function countResets(query: Query, q: CounterStepsQuestion, batch: readonly Reset[]): Promise<void> {
  const stmts = batch.map((x, j) => `SELECT max(${ident(q.metric)}) AS "m_${j}" FROM ${ident(x.row.measurement)} WHERE ${and(`"device" = ${literal(x.row.tags.device ?? '')}`, timeRange(x.row.time, x.row.time + q.stepMs))}`);
  const highest = perItem(await query(stmts.join('; ')), ['m']);
  batch.forEach((x, j) => {
    x.row.value = x.last + Math.max(0, (highest.get(`m_${j}`) ?? 0) - x.previous);
    x.row.reset = true;
  });
}
