// Telemetry store on InfluxDB through the one path every version speaks: line protocol to /write?db= and
// InfluxQL over /query?db= (1.6 from Debian, 1.8, 2.x with a DBRP mapping, 3 Core). Writes go through
// @influxdata/influxdb-client with a thin transport that maps its v2 write path to /write (docs/pitfalls.md).
import http from 'node:http';
import https from 'node:https';
import { HttpError, InfluxDB, setLogger, type Transport } from '@influxdata/influxdb-client';
import { PermanentWriteError, type DeviceSeriesQuery, type SeriesPoint, type TelemetryStore } from './store.ts';
import { ident, literal, type Query, type QueryResultSeries } from './influx/influxql.ts';
import * as machines from './influx/machines.ts';
import * as counters from './influx/counters.ts';
import * as energy from './influx/energy.ts';
import * as dirty from './influx/dirty.ts';
import type {
  CounterDelta, CounterDeltasQuestion, CounterStep, CounterStepsQuestion, RollupBucket, RollupCount,
  RollupPiece, RollupPoint, RollupRows, RollupRowsQuestion, RollupSeriesQuestion, RollupTier, RollupTotal,
} from './questions/energy.ts';
import type { DirtyQuarter, DirtyQuartersQuestion, FollowingReading, FollowingReadingsQuestion } from './questions/dirty.ts';
import type {
  DeviceMeans, DeviceStateHistory, LatestField, LatestValue, MeansQuestion, SeriesInterval, SeriesIntervalsQuestion, StateHistoryQuestion,
} from './questions/machines.ts';
import type { Scope } from '../contract/scope.ts';

export interface InfluxOptions {
  url: string;
  db: string;
  user?: string | undefined;
  password?: string | undefined;
  /** 2.x/3.x API token (sent as "Authorization: Token"); 1.x uses user and password. */
  token?: string | undefined;
  timeoutMs?: number;
}

// The client logs failed writes itself; we report them where we handle them.
setLogger({ error: () => {}, warn: () => {} });

function authParams(o: InfluxOptions): string {
  return o.user ? `&u=${encodeURIComponent(o.user)}&p=${encodeURIComponent(o.password ?? '')}` : '';
}

/** Maps /api/v2/write?org=&bucket=<db>&precision=<p> to /write?db=<db>&precision=<p> (1.x names "u" precision "u"). */
export function v1WritePath(v2Path: string, auth: string): string {
  if (!v2Path.startsWith('/api/v2/write?')) return v2Path;
  const q = new URLSearchParams(v2Path.slice('/api/v2/write?'.length));
  const precision = q.get('precision') === 'us' ? 'u' : (q.get('precision') ?? 'ms');
  return `/write?db=${encodeURIComponent(q.get('bucket') ?? '')}&precision=${precision}${auth}`;
}

function v1Transport(base: Transport, auth: string): Transport {
  return {
    send: (path, body, options, callbacks) => base.send(v1WritePath(path, auth), body, options, callbacks),
    request: (path, body, options, started) => base.request(v1WritePath(path, auth), body, options, started),
    iterate: (path, body, options) => base.iterate(v1WritePath(path, auth), body, options),
    chunkCombiner: base.chunkCombiner,
  };
}

export class InfluxStore implements TelemetryStore {
  private readonly client: InfluxDB;
  private readonly agent: http.Agent;
  private readonly auth: string;
  /** query() as a function, handed to the question modules under influx/. */
  private readonly run: Query = (influxql) => this.query(influxql);
  /** Writes without marks (the rollups), handed to influx/energy.ts. */
  private readonly plain = { query: this.run, write: (lines: readonly string[]) => this.writeLines(lines) };
  private readonly marks = new dirty.MarkCoalescer();
  private markRp: string | undefined = dirty.MARK_RP;
  readonly dirtySlackMs: number;
  readonly dirtyRetentionMs = dirty.MARK_RETENTION_MS;

  constructor(private readonly opts: InfluxOptions) {
    this.auth = authParams(opts);
    // Bounded sockets: the client has no backpressure of its own (docs/pitfalls.md).
    this.agent = opts.url.startsWith('https:') ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
    const common = { url: opts.url, token: opts.token ?? '', timeout: opts.timeoutMs ?? 30_000, transportOptions: { agent: this.agent } };
    this.client = new InfluxDB({ ...common, transport: v1Transport(new InfluxDB(common).transport, this.auth) });
    this.dirtySlackMs = dirty.dirtySlackMs(opts.timeoutMs ?? 30_000);
  }

  /** How this client reaches its server: another thread opens its own client with them (the rollup worker). */
  get options(): InfluxOptions {
    return { ...this.opts };
  }

  private async http(method: 'GET' | 'POST', path: string, params: Record<string, string>, form?: Record<string, string> | string): Promise<Response> {
    const qs = new URLSearchParams({ db: this.opts.db, ...params }).toString() + this.auth;
    const headers: Record<string, string> = this.opts.token ? { Authorization: `Token ${this.opts.token}` } : {};
    const body = typeof form === 'string' ? form : form ? new URLSearchParams(form) : undefined;
    return fetch(`${this.opts.url}${path}?${qs}`, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
  }

  async ensureDatabase(): Promise<void> {
    const res = await this.http('POST', '/query', { q: `CREATE DATABASE ${ident(this.opts.db)}` });
    // 2.x/3.x refuse CREATE DATABASE over v1 (the bucket is made by their own setup); that is fine if it exists.
    if (!res.ok) await res.body?.cancel();
    else await res.text();
    // The marks' own short retention; 2.x/3.x refuse it over v1 and keep the marks in the default one.
    const rp = await this.http('POST', '/query', { q: `CREATE RETENTION POLICY ${ident(dirty.MARK_RP)} ON ${ident(this.opts.db)} DURATION ${dirty.MARK_RETENTION_MS / 3_600_000}h REPLICATION 1` });
    await rp.body?.cancel();
  }

  /**
   * Writes the data, then marks the quarters it touched per firm (questions/dirty.ts): after the data, so a mark
   * is never visible before its data; before resolving, so what the ingest writer acknowledges is marked.
   */
  async write(lines: readonly string[]): Promise<void> {
    const at = Date.now();
    await this.writeLines(lines);
    const needed = this.marks.needed(lines, at);
    if (needed.length === 0) return;
    await this.writeMarks(dirty.markLines(needed, at));
    this.marks.confirm(needed, at);
  }

  /** The marks go to their retention policy until the server refuses it (2.x/3.x), then to the default one. */
  private async writeMarks(body: string): Promise<void> {
    if (this.markRp) {
      const res = await this.http('POST', '/write', { rp: this.markRp, precision: 'ns' }, body);
      const text = await res.text();
      if (res.ok) return;
      // InfluxDB 1.x answers a missing policy with a 500, 2.x with a 404: the text tells.
      if (!dirty.isMissingPolicy(text)) throw new Error(`InfluxDB refused the dirty-quarter marks (${res.status}): ${text}`);
      this.markRp = undefined;
    }
    const res = await this.http('POST', '/write', { precision: 'ns' }, body);
    const text = await res.text();
    if (!res.ok) throw new Error(`InfluxDB refused the dirty-quarter marks (${res.status}): ${text}`);
  }

  private async writeLines(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const api = this.client.getWriteApi('', this.opts.db, 'ms', {
      batchSize: lines.length + 1, flushInterval: 0, maxRetries: 0, maxBufferLines: 0, gzipThreshold: Number.MAX_SAFE_INTEGER,
    });
    api.writeRecords(lines as string[]);
    try {
      await api.close();
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 400) throw new PermanentWriteError(err.body || err.message);
      throw err;
    }
  }

  async query(influxql: string): Promise<QueryResultSeries[]> {
    // Long statements (firm lists in a regex) go in a form body: proxies in front of InfluxDB refuse long URLs.
    const res = influxql.length > 2000 ? await this.http('POST', '/query', { epoch: 'ms' }, { q: influxql }) : await this.http('GET', '/query', { q: influxql, epoch: 'ms' });
    const body = (await res.json()) as { results?: Array<{ series?: QueryResultSeries[]; error?: string }>; error?: string };
    if (!res.ok || body.error) throw new Error(`InfluxDB query failed (${res.status}): ${body.error ?? 'no detail'}`);
    const out: QueryResultSeries[] = [];
    for (const r of body.results ?? []) {
      if (r.error) throw new Error(`InfluxDB query failed: ${r.error}`);
      for (const s of r.series ?? []) out.push({ name: s.name, tags: s.tags ?? {}, columns: s.columns, values: s.values });
    }
    return out;
  }

  async deviceSeries({ firmId, deviceId, measurement, metric, from, to, limit }: DeviceSeriesQuery): Promise<SeriesPoint[]> {
    const q = `SELECT ${ident(metric)} FROM ${ident(measurement)} WHERE "firm" = ${literal(firmId)} AND "device" = ${literal(deviceId)} AND time >= ${Math.floor(from)}ms AND time <= ${Math.floor(to)}ms ORDER BY time ASC LIMIT ${limit}`;
    const series = await this.query(q);
    const out: SeriesPoint[] = [];
    for (const s of series) {
      for (const row of s.values) {
        const [ts, value] = row;
        if (typeof ts === 'number' && typeof value === 'number') out.push({ ts, value });
      }
    }
    return out;
  }

  async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.opts.url}/ping`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return res.status === 204 || res.ok;
    } catch {
      return false;
    }
  }

  // ---- energy questions (answered in influx/energy.ts and influx/counters.ts) ----

  counterDeltas(q: CounterDeltasQuestion): Promise<CounterDelta[]> {
    return counters.counterDeltas(this.run, q);
  }

  counterSteps(q: CounterStepsQuestion): Promise<CounterStep[]> {
    return counters.counterSteps(this.run, q);
  }

  writeRollups(points: readonly RollupPoint[]): Promise<void> {
    return energy.writeRollups(this.plain, points);
  }

  rebuildRollupTier(tier: Exclude<RollupTier, '15m'>, from: number, to: number): Promise<number> {
    return energy.rebuildRollupTier(this.plain, tier, from, to);
  }

  rollupTime(tier: RollupTier, edge: 'first' | 'last'): Promise<number | undefined> {
    return energy.rollupTime(this.run, tier, edge);
  }

  rollupTotals(scope: Scope, pieces: readonly RollupPiece[]): Promise<RollupTotal[]> {
    return energy.rollupTotals(this.run, scope, pieces);
  }

  rollupSeries(q: RollupSeriesQuestion): Promise<RollupBucket[]> {
    return energy.rollupSeries(this.run, q);
  }

  rollupCounts(scope: Scope, quantities: readonly string[], from: number, to: number): Promise<RollupCount[]> {
    return energy.rollupCounts(this.run, scope, quantities, from, to);
  }

  rollupRows(q: RollupRowsQuestion): Promise<RollupRows[]> {
    return energy.rollupRows(this.run, q);
  }

  // ---- what was written (answered in influx/dirty.ts) ----

  dirtyQuarters(q: DirtyQuartersQuestion): Promise<DirtyQuarter[]> {
    return dirty.dirtyQuarters(this.run, q);
  }

  followingReadings(q: FollowingReadingsQuestion): Promise<FollowingReading[]> {
    return dirty.followingReadings(this.run, q);
  }

  // ---- machine questions (answered in influx/machines.ts) ----

  stateHistory(q: StateHistoryQuestion): Promise<DeviceStateHistory[]> {
    return machines.stateHistory(this.run, q);
  }

  meansPerPeriod(q: MeansQuestion): Promise<DeviceMeans[]> {
    return machines.meansPerPeriod(this.run, q);
  }

  latestValues(scope: Scope, fields: readonly LatestField[]): Promise<LatestValue[]> {
    return machines.latestValues(this.run, scope, fields);
  }

  seriesIntervals(q: SeriesIntervalsQuestion): Promise<SeriesInterval[]> {
    return machines.seriesIntervals(this.run, q);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
