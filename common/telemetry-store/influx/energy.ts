// The energy questions answered in InfluxQL: the rollups stored as the measurements
// rollup_15m, rollup_1h and rollup_1d (tags county, firm, park, segment, quantity, source; fields value, resets,
// and devices on the 15-minute points, intervals on the coarser ones). The counter increments are in counters.ts.
import { escapeTag } from '../../contract/line-protocol.ts';
import type { Scope } from '../../contract/scope.ts';
import { floorTo } from '../../time.ts';
import {
  ROLLUP_BUCKETS, ROLLUP_TIERS, type FirmFilter, type RollupBucket, type RollupCount,
  type RollupPiece, type RollupPoint, type RollupRows, type RollupRowsQuestion, type RollupSeriesQuestion, type RollupTier, type RollupTotal,
} from '../questions/energy.ts';
import { durationLiteral, num, regex } from './counters.ts';
import { and, ident, literal, scopeCondition, timeRange, type Query, type QueryResultSeries } from './influxql.ts';

export interface Influx {
  query: Query;
  write(lines: readonly string[]): Promise<void>;
}

export const ROLLUP_MEASUREMENT: Record<RollupTier, string> = { '15m': 'rollup_15m', '1h': 'rollup_1h', '1d': 'rollup_1d' };

/** Lines per write request. */
const WRITE_BATCH = 5000;

async function writeAll(db: Influx, lines: readonly string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += WRITE_BATCH) await db.write(lines.slice(i, i + WRITE_BATCH));
}

/** A tag set sorted by key (as line protocol prefers), empty values left out. */
function sortedTags(tags: Record<string, string>): string {
  return Object.entries(tags).filter(([, v]) => v !== '').sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${escapeTag(k)}=${escapeTag(v)}`).join(',');
}

export async function writeRollups(db: Influx, points: readonly RollupPoint[]): Promise<void> {
  await writeAll(db, points.map((p) => {
    const tags = sortedTags({ county: p.county, firm: p.firmId, park: p.park, segment: p.segment, quantity: p.quantity, source: p.source });
    return `${ROLLUP_MEASUREMENT['15m']},${tags} value=${p.value},devices=${p.devices}i,resets=${p.resets}i ${p.time}`;
  }));
}

/** Re-sums a coarse tier for every bucket [from, to) touches, from the next finer tier: one query. */
export async function rebuildRollupTier(db: Influx, tier: Exclude<RollupTier, '15m'>, from: number, to: number): Promise<number> {
  const finer = ROLLUP_TIERS[ROLLUP_TIERS.indexOf(tier) - 1] ?? '15m';
  const { stepMs, offsetMs } = ROLLUP_BUCKETS[tier];
  // The 15-minute points count as one interval each; coarser points carry their count.
  const intervals = finer === '15m' ? 'count("value")' : 'sum("intervals")';
  const range = timeRange(floorTo(from, stepMs, offsetMs), floorTo(to - 1, stepMs, offsetMs) + stepMs);
  const series = await db.query(
    `SELECT sum("value") AS "value", sum("resets") AS "resets", ${intervals} AS "intervals" FROM ${ident(ROLLUP_MEASUREMENT[finer])} WHERE ${range} GROUP BY time(${durationLiteral(stepMs)}${offsetMs ? `, ${durationLiteral(offsetMs)}` : ''}), * fill(none)`,
  );
  const lines: string[] = [];
  for (const s of series) {
    const tags = sortedTags(s.tags);
    for (const [t, value, r, n] of s.values) {
      if (typeof t !== 'number' || typeof value !== 'number') continue;
      lines.push(`${ROLLUP_MEASUREMENT[tier]},${tags} value=${value},resets=${typeof r === 'number' ? r : 0}i,intervals=${typeof n === 'number' ? n : 0}i ${t}`);
    }
  }
  await writeAll(db, lines);
  return lines.length;
}

export async function rollupTime(query: Query, tier: RollupTier, edge: 'first' | 'last'): Promise<number | undefined> {
  const s = await query(`SELECT ${edge}("value") FROM ${ident(ROLLUP_MEASUREMENT[tier])}`);
  const t = s[0]?.values[0]?.[0];
  return typeof t === 'number' ? t : undefined;
}

function rollupKey(s: QueryResultSeries): { firmId: string; quantity: string; source: string } {
  return { firmId: s.tags.firm ?? '', quantity: s.tags.quantity ?? '', source: s.tags.source ?? '' };
}

export async function rollupTotals(query: Query, scope: Scope, pieces: readonly RollupPiece[]): Promise<RollupTotal[]> {
  // One request per piece: InfluxDB runs the statements of one request one after the other, separate requests
  // in parallel.
  const series = await Promise.all(pieces.map((p) => query(
    `SELECT sum("value") AS "v", sum("resets") AS "r" FROM ${ident(ROLLUP_MEASUREMENT[p.tier])} WHERE ${and(scopeCondition(scope), timeRange(p.from, p.to))} GROUP BY "firm", "quantity", "source"`)));
  return series.flat().flatMap((s) => s.values.map((row) => ({ ...rollupKey(s), value: num(row[1]), resets: num(row[2]) })));
}

function firmCondition(f: FirmFilter | undefined): string {
  if (!f) return '';
  if (f.exclude) return f.ids.length > 0 ? `"firm" !~ ${regex(f.ids)}` : '';
  return `"firm" =~ ${regex(f.ids)}`;
}

export async function rollupSeries(query: Query, q: RollupSeriesQuestion): Promise<RollupBucket[]> {
  const where = and(
    scopeCondition(q.scope), firmCondition(q.firms), q.quantity !== undefined ? `"quantity" = ${literal(q.quantity)}` : '',
    q.sources !== undefined ? `"source" =~ ${regex(q.sources)}` : '', timeRange(q.from, q.to),
  );
  const buckets = `time(${durationLiteral(q.intervalMs)}${q.offsetMs ? `, ${durationLiteral(q.offsetMs)}` : ''})`;
  const series = await query(`SELECT sum("value") AS "v" FROM ${ident(ROLLUP_MEASUREMENT[q.tier])} WHERE ${where} GROUP BY ${buckets}, "quantity", "source" fill(none)`);
  return series.flatMap((s) => s.values.map((row) => ({ time: num(row[0]), quantity: s.tags.quantity ?? '', source: s.tags.source ?? '', value: num(row[1]) })));
}

export async function rollupCounts(query: Query, scope: Scope, quantities: readonly string[], from: number, to: number): Promise<RollupCount[]> {
  const where = and(scopeCondition(scope), `"quantity" =~ ${regex(quantities)}`, timeRange(from, to));
  const series = await query(`SELECT count("value") AS "n" FROM ${ident(ROLLUP_MEASUREMENT['15m'])} WHERE ${where} GROUP BY "firm", "quantity", "source"`);
  return series.map((s) => ({ ...rollupKey(s), count: num(s.values[0]?.[1]) }));
}

export async function rollupRows(query: Query, q: RollupRowsQuestion): Promise<RollupRows[]> {
  const where = and(scopeCondition(q.scope), timeRange(q.from, q.to));
  const series = await query(`SELECT "value", "devices", "resets" FROM ${ident(ROLLUP_MEASUREMENT['15m'])} WHERE ${where} GROUP BY "firm", "quantity", "source" LIMIT ${Math.floor(q.limit)}`);
  return series.map((s) => ({ ...rollupKey(s), rows: s.values.map((row) => ({ time: num(row[0]), value: num(row[1]), devices: num(row[2]), resets: num(row[3]) })) }));
}
