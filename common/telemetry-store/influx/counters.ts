// What cumulative counters gained, by the counting rule of questions/energy.ts (stepIncrement), computed from
// aggregates InfluxDB returns per device: no raw reading leaves InfluxDB.
//
// Every range starts from each device's last reading before it, however old (a `last()` with only an upper time
// bound, which InfluxDB answers from the newest block of each series), or from its first reading in the range
// when it has none before. So a range split into pieces counts the same as the whole.
//
// counterDeltas: where a device's readings never fall in the range (the common case), its step increments add
// up to its last reading minus its starting reading, per bucket: one query returns, per device, the falls
// between consecutive readings (normally none), its first and last reading per bucket, and its last reading
// before the range. Only devices with a fall (a reset, jitter, or a first reading below the starting one) are
// counted step by step, from each step's last and highest readings. A fall between raw readings is necessary
// for a fall between steps, so this is exact; the raw differences cost InfluxDB a fraction of differencing
// the last reading per step (docs/pitfalls.md, InfluxQL on 1.x).
//
// counterSteps: each device's last reading per step, differenced in Node (for the rollups: many devices, short
// ranges); a reset step fetches its highest reading.
import {
  stepIncrement, isReset, type CounterDelta, type CounterDeltasQuestion, type CounterSelection, type CounterStep, type CounterStepsQuestion,
} from '../questions/energy.ts';
import { and, ident, literal, scopeCondition, timeRange, type Query, type QueryResultSeries } from './influxql.ts';

export function durationLiteral(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `time(interval[, offset])` for a GROUP BY. */
function timeGroup(intervalMs: number, offsetMs = 0): string {
  return `time(${durationLiteral(intervalMs)}${offsetMs ? `, ${durationLiteral(offsetMs)}` : ''})`;
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

/** An InfluxQL regex matching exactly these values. */
export function regex(values: readonly string[]): string {
  return `/^(${values.map((v) => v.replace(/[\\^$.*+?()[\]{}|/]/g, (ch) => `\\${ch}`)).join('|')})$/`;
}

const RESET_BATCH = 100;
/** Devices per statement that fetches fallen devices' steps or new devices' first readings. */
const DEVICE_BATCH = 200;
/** A query touching more resets than this is probably a device in a reset loop; the rest count only their new reading. */
const MAX_RESETS = 5000;

function batches<T>(items: readonly T[], size = RESET_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** One device's series: its measurement and tags (device first). */
type SeriesOf = { measurement: string; tags: Record<string, string> };
const seriesKey = (s: SeriesOf, tagList: readonly string[]) => `${s.measurement}\u0000${tagList.map((t) => s.tags[t] ?? '').join('\u0000')}`;
const pick = (tags: Record<string, string>, tagList: readonly string[]) => Object.fromEntries(tagList.map((t) => [t, tags[t] ?? '']));

/** The series whose first value column is `column`: each row's time and numbers, oldest first, keyed by tags. */
type SeriesEntry = { series: SeriesOf; rows: Array<{ time: number; values: number[] }> };

function rowsByColumn(res: readonly QueryResultSeries[], column: string, tagList: readonly string[]): Map<string, SeriesEntry> {
  const out = new Map<string, SeriesEntry>();
  for (const s of res) {
    if (s.columns[1] !== column) continue;
    const series = { measurement: s.name, tags: pick(s.tags, tagList) };
    const entry = out.get(seriesKey(series, tagList)) ?? { series, rows: [] };
    for (const row of s.values) if (typeof row[1] === 'number') entry.rows.push({ time: num(row[0]), values: row.slice(1).map(num) });
    out.set(seriesKey(series, tagList), entry);
  }
  return out;
}

/** Each device's last reading before `from` (unbounded back: what the store keeps), keyed like rowsByColumn. */
/**
 * How far back the baseline statement looks. Without a lower bound InfluxDB opens every shard of every series (the
 * rollup tick over 30,000 devices took twice as long); devices silent for longer get theirs from olderBaselines.
 */
const BASELINE_WINDOW_MS = 86_400_000;

function baselineStatement(metric: string, ms: string, where: string, from: number, groups: string): string {
  return `SELECT last(${metric}) AS "b" FROM ${ms} WHERE ${and(where, timeRange(from - BASELINE_WINDOW_MS, from))} GROUP BY ${groups}`;
}

/**
 * The last reading before the baseline window of each wanted series that has no baseline yet (a device silent for
 * more than a day before the range), added to `start`: one unbounded statement, for those devices only.
 */
async function olderBaselines(query: Query, b: { metric: string; ms: string; where: string; from: number; tagList: readonly string[] }, start: Map<string, number>, wanted: Iterable<SeriesEntry>): Promise<void> {
  const devices = [...new Set([...wanted].filter((e) => !start.has(seriesKey(e.series, b.tagList))).map((e) => e.series.tags.device ?? ''))];
  if (devices.length === 0) return;
  const where = devices.length > DEVICE_BATCH ? b.where : and(b.where, `"device" =~ ${regex(devices)}`);
  const res = await query(`SELECT last(${b.metric}) AS "b" FROM ${b.ms} WHERE ${and(where, `time < ${Math.floor(b.from - BASELINE_WINDOW_MS)}ms`)} GROUP BY ${b.tagList.map(ident).join(', ')}`);
  for (const [k, v] of baselines(res, b.tagList)) if (!start.has(k)) start.set(k, v);
}

function baselines(res: readonly QueryResultSeries[], tagList: readonly string[]): Map<string, number> {
  return new Map([...rowsByColumn(res, 'b', tagList)].flatMap(([k, e]) => (e.rows[0] ? [[k, e.rows[0].values[0]!] as const] : [])));
}

// ---- counterDeltas ----------------------------------------------------------------------------------------------

/** The series tags of a counterDeltas question: device, then the groupBy tags. */
const deltaTags = (q: CounterDeltasQuestion) => ['device', ...q.groupBy.filter((t) => t !== 'device')];

/**
 * Falls between consecutive raw readings in [from, to) per device (rows only where one occurred). Per device,
 * not per device and group tags: cheaper, and a fall in any of a device's series is a fall in their merged
 * readings, so nothing is missed.
 */
export function fallStatement(q: CounterDeltasQuestion): string {
  const range = timeRange(q.from, q.to);
  return `SELECT "d" AS "fall" FROM (SELECT difference(${ident(q.metric)}) AS "d" FROM ${fromList(q.measurements)} WHERE ${and(selectionCondition(q), range)} GROUP BY "device") WHERE ${range} AND "d" < 0 GROUP BY "device"`;
}

/** Each device's first and last reading per bucket of [from, to). */
export function edgeStatement(q: CounterDeltasQuestion): string {
  const groups = [...(q.intervalMs ? [timeGroup(q.intervalMs, q.offsetMs)] : []), ...deltaTags(q).map(ident)].join(', ');
  return `SELECT first(${ident(q.metric)}) AS "f", last(${ident(q.metric)}) AS "l" FROM ${fromList(q.measurements)} WHERE ${and(selectionCondition(q), timeRange(q.from, q.to))} GROUP BY ${groups}${q.intervalMs ? ' fill(none)' : ''}`;
}

function bucketOf(t: number, q: CounterDeltasQuestion): number {
  if (!q.intervalMs) return q.from;
  const off = q.offsetMs ?? 0;
  return Math.floor((t - off) / q.intervalMs) * q.intervalMs + off;
}

/** Sums per group and bucket. */
class DeltaSums {
  readonly rows = new Map<string, CounterDelta>();
  constructor(private readonly q: CounterDeltasQuestion) {}
  add(series: SeriesOf, time: number, value: number, reset: boolean): void {
    const tags = pick(series.tags, this.q.groupBy);
    const key = `${seriesKey({ measurement: series.measurement, tags }, this.q.groupBy)}\u0000${time}`;
    const r = this.rows.get(key) ?? { measurement: series.measurement, tags, time, value: 0, resets: 0 };
    r.value += value;
    if (reset) r.resets += 1;
    this.rows.set(key, r);
  }
}

/** A device with a fall in the range: where it starts from, counted step by step. */
type Fallen = { series: SeriesOf; start: number };

/**
 * Increments of a counter per group (and bucket). One request answers the devices whose readings never fall
 * (their last reading per bucket minus the one before); the others are counted from their steps.
 */
export async function counterDeltas(query: Query, q: CounterDeltasQuestion): Promise<CounterDelta[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const tagList = deltaTags(q);
  const res = await query([fallStatement(q), edgeStatement(q), baselineStatement(ident(q.metric), fromList(q.measurements), selectionCondition(q), q.from, tagList.map(ident).join(', '))].join('; '));
  const falls = new Set([...rowsByColumn(res, 'fall', ['device']).values()].map((e) => seriesKey(e.series, ['device'])));
  const before = baselines(res, tagList);
  const edges = rowsByColumn(res, 'f', tagList);
  await olderBaselines(query, { metric: ident(q.metric), ms: fromList(q.measurements), where: selectionCondition(q), from: q.from, tagList }, before, edges.values());
  const sums = new DeltaSums(q);
  const fallen: Fallen[] = [];
  for (const [key, { series, rows }] of edges) {
    const first = rows[0]?.values[0];
    if (first === undefined) continue;
    const start = before.get(key) ?? first;
    if (falls.has(seriesKey(series, ['device'])) || first < start) { fallen.push({ series, start }); continue; }
    // Readings that never fall: each bucket counts its last reading minus the one before it.
    let prev = start;
    for (const r of rows) {
      const last = r.values[1]!;
      sums.add(series, q.intervalMs ? r.time : q.from, last - prev, false);
      prev = last;
    }
  }
  for (const batch of batches(fallen, DEVICE_BATCH)) await countSteps(query, q, batch, sums);
  return [...sums.rows.values()].sort((a, b) => a.time - b.time);
}

/** Fallen devices step by step: each step's last and highest reading, the counting rule in stepIncrement. */
async function countSteps(query: Query, q: CounterDeltasQuestion, batch: readonly Fallen[], sums: DeltaSums): Promise<void> {
  const tagList = deltaTags(q);
  const m = ident(q.metric);
  const devices = [...new Set(batch.map((f) => f.series.tags.device ?? ''))];
  const where = and(selectionCondition(q), `"device" =~ ${regex(devices)}`, timeRange(q.from, q.to));
  const res = await query(`SELECT last(${m}) AS "l", max(${m}) AS "h" FROM ${fromList(q.measurements)} WHERE ${where} GROUP BY ${[timeGroup(q.stepMs, q.stepOffsetMs), ...tagList.map(ident)].join(', ')} fill(none)`);
  const steps = rowsByColumn(res, 'l', tagList);
  for (const f of batch) {
    let prev = f.start;
    for (const r of steps.get(seriesKey(f.series, tagList))?.rows ?? []) {
      const [last, highest] = r.values as [number, number];
      const inc = stepIncrement(prev, last, highest);
      sums.add(f.series, bucketOf(r.time, q), inc.value, inc.reset);
      prev = last;
    }
  }
}

// ---- counterSteps -----------------------------------------------------------------------------------------------

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

/**
 * Increments per device and step, differenced in Node from InfluxDB's last reading per device and step. For the
 * 15-minute rollups this is several times cheaper than summing in InfluxDB on 1.6, whose outer GROUP BY over a
 * per-device subquery is slow with thousands of devices (docs/benchmarks-monitoring.md); it returns one row per
 * device and step, so it suits short ranges with many devices.
 */
export async function counterSteps(query: Query, q: CounterStepsQuestion): Promise<CounterStep[]> {
  if (q.measurements.length === 0 || q.to <= q.from) return [];
  const tagList = ['device', ...q.carry.filter((t) => t !== 'device')];
  const groups = tagList.map(ident).join(', ');
  const m = ident(q.metric);
  const ms = fromList(q.measurements);
  const where = selectionCondition(q);
  const res = await query([
    baselineStatement(m, ms, where, q.from, groups),
    `SELECT last(${m}) AS "l" FROM ${ms} WHERE ${and(where, timeRange(q.from, q.to))} GROUP BY ${timeGroup(q.stepMs)}, ${groups} fill(none)`,
  ].join('; '));
  const steps = rowsByColumn(res, 'l', tagList);
  const start = baselines(res, tagList);
  await olderBaselines(query, { metric: m, ms, where, from: q.from, tagList }, start, steps.values());
  // Devices with no reading before the range start from their first reading in it (all devices in one statement
  // when there are many, as on a fresh install).
  const fresh = [...new Set([...steps.values()].filter((e) => !start.has(seriesKey(e.series, tagList))).map((e) => e.series.tags.device ?? ''))];
  const whereFresh = fresh.length > DEVICE_BATCH ? [where] : fresh.length > 0 ? [and(where, `"device" =~ ${regex(fresh)}`)] : [];
  for (const w of whereFresh) {
    const firsts = await query(`SELECT first(${m}) AS "b" FROM ${ms} WHERE ${and(w, timeRange(q.from, q.to))} GROUP BY ${groups}`);
    for (const [k, v] of baselines(firsts, tagList)) if (!start.has(k)) start.set(k, v);
  }
  const out: CounterStep[] = [];
  const resets: Reset[] = [];
  for (const [key, { series, rows }] of steps) {
    let prev = start.get(key);
    for (const r of rows) {
      const last = r.values[0]!;
      if (prev === undefined) prev = last;
      const row: CounterStep = { ...series, time: r.time, value: stepIncrement(prev, last, last).value, reset: false };
      if (isReset(prev, last)) resets.push({ row, previous: prev, last });
      out.push(row);
      prev = last;
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
    x.row.value = stepIncrement(x.previous, x.last, highest.get(`m_${j}`) ?? x.last).value;
    x.row.reset = true;
  });
}
