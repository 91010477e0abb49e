// The machine questions answered in InfluxQL.
import { STATE_MEASUREMENT } from '../../contract/line-protocol.ts';
import type { Scope } from '../../contract/scope.ts';
import type {
  DeviceMeans, DeviceStateHistory, FirmDevices, LatestField, LatestValue, MeansQuestion, SeriesInterval, SeriesIntervalsQuestion,
  StateHistoryQuestion, StoredStateEvent,
} from '../questions/machines.ts';
import { and, ident, literal, scopeCondition, timeRange, type Query, type QueryResultSeries } from './influxql.ts';

/** Statements per request: enough to save round trips, few enough to keep one answer small. */
const STATEMENTS_PER_REQUEST = 50;

function firmDevices(q: FirmDevices): string {
  return and(q.deviceId !== undefined ? `"device" = ${literal(q.deviceId)}` : '', `"firm" = ${literal(q.firmId)}`);
}

/** Rows of SELECT "state", "reason" per device (columns looked up by name), oldest first. */
function stateRows(series: QueryResultSeries[]): Map<string, StoredStateEvent[]> {
  const out = new Map<string, StoredStateEvent[]>();
  for (const s of series) {
    const [iTime, iState, iReason] = ['time', 'state', 'reason'].map((c) => s.columns.indexOf(c)) as [number, number, number];
    const list = out.get(s.tags.device ?? '') ?? [];
    for (const row of s.values) {
      const ts = row[iTime];
      const state = row[iState];
      const reason = iReason >= 0 ? row[iReason] : null;
      if (typeof ts === 'number' && typeof state === 'string') list.push({ ts, state, reason: typeof reason === 'string' ? reason : null });
    }
    out.set(s.tags.device ?? '', list);
  }
  for (const list of out.values()) list.sort((a, b) => a.ts - b.ts);
  return out;
}

export async function stateHistory(query: Query, q: StateHistoryQuestion): Promise<DeviceStateHistory[]> {
  const select = `SELECT "state", "reason" FROM ${ident(STATE_MEASUREMENT)} WHERE ${firmDevices(q)}`;
  const [before, events] = await Promise.all([
    query(`${select} AND ${timeRange(q.from - q.lookbackMs, q.from)} GROUP BY "device" ORDER BY time DESC LIMIT 1`),
    query(`${select} AND ${timeRange(q.from, q.to)} GROUP BY "device" ORDER BY time ASC${q.limit !== undefined ? ` LIMIT ${Math.floor(q.limit)}` : ''}`),
  ]).then(([b, e]) => [stateRows(b), stateRows(e)] as const);
  const ids = [...new Set([...before.keys(), ...events.keys()])].filter((id) => id !== '').sort();
  return ids.map((deviceId) => ({ deviceId, before: before.get(deviceId)?.at(-1) ?? null, events: events.get(deviceId) ?? [] }));
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export async function meansPerPeriod(query: Query, q: MeansQuestion): Promise<DeviceMeans[]> {
  // Columns are named "<period>_<metric index>": the answers of all statements arrive as one list.
  const stmts = q.periods.map((p, i) => {
    const fields = q.metrics.map((m, k) => `mean(${ident(m)}) AS "${i}_${k}"`).join(', ');
    const where = and(firmDevices(q), q.aboveZero !== undefined ? `${ident(q.aboveZero)} > 0` : '', timeRange(p.start, p.end));
    return `SELECT ${fields} FROM ${ident(q.measurement)} WHERE ${where} GROUP BY "device"`;
  });
  const out = new Map<string, DeviceMeans>();
  for (let i = 0; i < stmts.length && q.metrics.length > 0; i += STATEMENTS_PER_REQUEST) {
    for (const s of await query(stmts.slice(i, i + STATEMENTS_PER_REQUEST).join('; '))) {
      const deviceId = s.tags.device ?? '';
      for (const [c, col] of s.columns.entries()) {
        const m = /^(\d+)_(\d+)$/.exec(col);
        const metric = m ? q.metrics[Number(m[2])] : undefined;
        if (!m || metric === undefined) continue;
        const key = `${m[1]}/${deviceId}`;
        const row = out.get(key) ?? { period: Number(m[1]), deviceId, means: Object.fromEntries(q.metrics.map((x) => [x, null])) };
        row.means[metric] = num(s.values[0]?.[c]);
        out.set(key, row);
      }
    }
  }
  return [...out.values()].sort((a, b) => a.period - b.period || a.deviceId.localeCompare(b.deviceId));
}

export async function seriesIntervals(query: Query, q: SeriesIntervalsQuestion): Promise<SeriesInterval[]> {
  const f = ident(q.metric);
  // With more than one function InfluxDB stamps each row with the start of its interval.
  const from = Math.floor(q.from);
  const every = Math.max(1, Math.floor(q.everyMs));
  const where = and(firmDevices(q), `time >= ${from}ms AND time <= ${Math.floor(q.to)}ms`);
  // InfluxDB aligns intervals to the epoch; the offset aligns them to `from` instead.
  const stmt = `SELECT mean(${f}) AS "mean", min(${f}) AS "min", max(${f}) AS "max", count(${f}) AS "count" FROM ${ident(q.measurement)} `
    + `WHERE ${where} GROUP BY time(${every}ms, ${((from % every) + every) % every}ms) fill(none) ORDER BY time ASC LIMIT ${Math.floor(q.limit)}`;
  const out: SeriesInterval[] = [];
  for (const s of await query(stmt)) {
    const [iTime, iMean, iMin, iMax, iCount] = ['time', 'mean', 'min', 'max', 'count'].map((c) => s.columns.indexOf(c)) as [number, number, number, number, number];
    for (const row of s.values) {
      const [ts, mean, min, max, count] = [iTime, iMean, iMin, iMax, iCount].map((i) => num(row[i]));
      if (ts != null && mean != null && min != null && max != null && count != null && count > 0) out.push({ ts, mean, min, max, count });
    }
  }
  return out.sort((a, b) => a.ts - b.ts);
}

export async function latestValues(query: Query, scope: Scope, fields: readonly LatestField[]): Promise<LatestValue[]> {
  if (fields.length === 0) return [];
  const where = scopeCondition(scope);
  const stmts = fields.map((f) => {
    const window = `time > ${Math.floor(f.after)}ms AND time <= ${Math.floor(f.until)}ms`;
    return `SELECT last(${ident(f.field)}) AS ${ident(f.field)} FROM ${ident(f.measurement)} WHERE ${and(where, window)} GROUP BY *`;
  });
  const out: LatestValue[] = [];
  for (const s of await query(stmts.join('; '))) {
    const { device, firm } = s.tags;
    const [ts, value] = s.values[0] ?? [];
    if (!device || !firm || typeof ts !== 'number' || value === null || value === undefined) continue;
    const t = s.tags;
    out.push({
      measurement: s.name, field: s.columns[1] ?? '', ts, value,
      owner: { deviceId: device, firmId: firm, county: t.county ?? '', park: t.park ?? '', segment: t.segment ?? '', type: t.type ?? '' },
    });
  }
  return out;
}
