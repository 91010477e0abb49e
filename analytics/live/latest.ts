// The latest reading and machine state of each device: what the overviews, live power and the live rooms read.
// One port, two adapters, one conformance suite (test/conformance/latest.ts, run by
// test/integration/ports-local.test.ts against a real influxd):
// - LiveLatest keeps them in memory from the broker's per-second live summaries (the API process always has
//   that feed), loaded from InfluxDB at start and refreshed from it every 5 minutes (the feed is QoS 0 and
//   carries changes only), so an overview of 30,000 devices is a pass over a Map instead of
//   30,000 series scans in InfluxDB (docs/benchmarks-monitoring.md: 1.5-3.6 s before, per request);
// - StoreLatest asks the telemetry store each time: the last state within stateWindowMs and the last rates
//   within rateWindowMs. Processes without a live feed (tests, tools) use it, and LiveLatest warms up with it.
import type { LiveDevice, LiveSummary } from '../../common/contract/live.ts';
import { STATE_MEASUREMENT } from '../../common/contract/line-protocol.ts';
import { RATE_METRIC, measurementOfType, typeOfMeasurement } from '../energy/carriers.ts';
import type { LatestField, MachineQuestions } from '../../common/telemetry-store/questions/machines.ts';
import { firmInScope, type Scope } from '../base/scope.ts';
import { MINUTE } from '../../common/time.ts';
import { DEFAULT_LATEST_WINDOWS, type LatestSource, type LatestWindows } from '../base/latest-source.ts';

export { DEFAULT_LATEST_WINDOWS, type LatestSource, type LatestWindows };

/** Readings stamped further ahead than this are a device clock problem, not the latest value. */
const AHEAD_MS = 5 * MINUTE;

function inScope(d: LiveDevice, scope: Scope): boolean {
  return scope.kind === 'device' ? d.deviceId === scope.id : firmInScope({ id: d.firmId, county: d.county, park: d.park, segment: d.segment }, scope);
}

/** Rate metrics per measurement (power_kw of every machine, the meters' flows). */
function rateMetrics(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const c of Object.values(RATE_METRIC)) {
    for (const [type, metric] of Object.entries(c.byType)) {
      const m = measurementOfType(type);
      if (!m) continue;
      const set = out.get(m) ?? new Set<string>();
      set.add(metric);
      out.set(m, set);
    }
  }
  return out;
}

export class StoreLatest implements LatestSource {
  constructor(private readonly store: Pick<MachineQuestions, 'latestValues'>, private readonly windows: LatestWindows = DEFAULT_LATEST_WINDOWS) {}

  async devices(scope: Scope, now: number, narrower: Partial<LatestWindows> = {}): Promise<LiveDevice[]> {
    const stateMs = Math.min(this.windows.stateMs, narrower.stateMs ?? Infinity);
    const rateMs = Math.min(this.windows.rateMs, narrower.rateMs ?? Infinity);
    const fields: LatestField[] = [{ measurement: STATE_MEASUREMENT, field: 'state', after: now - stateMs, until: now + AHEAD_MS }];
    for (const [measurement, metrics] of rateMetrics()) {
      for (const field of metrics) fields.push({ measurement, field, after: now - rateMs, until: now + AHEAD_MS });
    }
    const out = new Map<string, LiveDevice>();
    /** Time of the series each device's firm and place tags came from: the newest wins (a re-provisioned id). */
    const tagsAt = new Map<string, number>();
    for (const { measurement, field, owner, ts: t, value: v } of await this.store.latestValues(scope, fields)) {
      const id = owner.deviceId;
      const d = out.get(id) ?? { deviceId: id, firmId: owner.firmId, county: '', park: '', segment: '', type: '', ts: 0, metrics: {} };
      if (t >= (tagsAt.get(id) ?? -Infinity)) {
        tagsAt.set(id, t);
        Object.assign(d, { firmId: owner.firmId, county: owner.county, park: owner.park, segment: owner.segment, type: owner.type || (typeOfMeasurement(measurement) ?? '') });
      }
      if (measurement === STATE_MEASUREMENT) {
        if (typeof v === 'string' && t >= (d.stateTs ?? -Infinity)) { d.state = v; d.stateTs = t; }
      } else if (typeof v === 'number' && t >= d.ts) {
        d.metrics[field] = v;
        d.ts = t;
      } else if (typeof v === 'number') {
        d.metrics[field] ??= v;
      }
      out.set(id, d);
    }
    return [...out.values()];
  }
}

/**
 * In memory, from the live summaries. A summary carries each changed device's newest timestamp, every metric
 * seen since its broker started and its state if the broker saw one; what the summary lacks (a state from before
 * a broker restart, a device that reports on another node) stays as it was.
 */
export class LiveLatest implements LatestSource {
  private readonly byDevice = new Map<string, LiveDevice>();
  private readonly byFirm = new Map<string, Set<string>>();
  private warm: Promise<void> | undefined;

  /** `warmFrom` fills the map once, at the first question, with what InfluxDB knows. */
  constructor(private readonly warmFrom?: LatestSource) {}

  take(summary: LiveSummary | { devices: readonly LiveDevice[] }): void {
    for (const d of summary.devices) this.merge(d, true);
  }

  get(deviceId: string): LiveDevice | undefined {
    return this.byDevice.get(deviceId);
  }

  /** Firm id → ids of its devices known here. */
  firms(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.byFirm;
  }

  get size(): number {
    return this.byDevice.size;
  }

  /** Forgets devices no longer registered (called with the registry's list by the periodic offline check). */
  retain(registered: ReadonlySet<string>): void {
    for (const [id, d] of this.byDevice) {
      if (registered.has(id)) continue;
      this.byDevice.delete(id);
      const firm = this.byFirm.get(d.firmId);
      firm?.delete(id);
      if (firm?.size === 0) this.byFirm.delete(d.firmId);
    }
  }

  async devices(scope: Scope, now: number): Promise<LiveDevice[]> {
    await this.warmUp(now);
    if (scope.kind === 'device') {
      const d = this.byDevice.get(scope.id);
      return d ? [d] : [];
    }
    if (scope.kind === 'firm') return [...(this.byFirm.get(scope.id) ?? [])].map((id) => this.byDevice.get(id)).filter((d) => d !== undefined);
    const out: LiveDevice[] = [];
    for (const d of this.byDevice.values()) if (inScope(d, scope)) out.push(d);
    return out;
  }

  /** Loads what InfluxDB knows (once; again after a failure). Live values that are newer win. */
  warmUp(now = Date.now()): Promise<void> {
    if (!this.warmFrom) return Promise.resolve();
    const from = this.warmFrom;
    this.warm ??= from.devices({ kind: 'prefecture', id: '' }, now).then((list) => {
      for (const d of list) this.merge(d, false);
    }, (err: unknown) => {
      this.warm = undefined;
      throw err;
    });
    return this.warm;
  }

  /**
   * Merges what InfluxDB got within `sinceMs` (newer readings and state events win; nothing newer is replaced):
   * what a lost live summary missed. A narrow window keeps it cheap (InfluxDB reads only the newest shard).
   */
  async refresh(sinceMs: number, now = Date.now()): Promise<void> {
    if (!this.warmFrom) return;
    for (const d of await this.warmFrom.devices({ kind: 'prefecture', id: '' }, now, { stateMs: sinceMs, rateMs: sinceMs })) this.merge(d, false);
  }

  private merge(d: LiveDevice, live: boolean): void {
    const prev = this.byDevice.get(d.deviceId);
    if (!prev) {
      this.byDevice.set(d.deviceId, { ...d, metrics: { ...d.metrics } });
      this.fileUnder(d.deviceId, d.firmId);
      return;
    }
    const newer = d.ts >= prev.ts;
    // Firm and place: from the live feed, or from whichever reading is newer (a re-provisioned id moves).
    const tagsFromD = live || Math.max(d.ts, d.stateTs ?? 0) >= Math.max(prev.ts, prev.stateTs ?? 0);
    const next: LiveDevice = {
      ...prev,
      ...(tagsFromD ? { firmId: d.firmId, county: d.county, park: d.park, segment: d.segment, type: d.type } : {}),
      ts: Math.max(prev.ts, d.ts),
      metrics: newer ? { ...prev.metrics, ...d.metrics } : { ...d.metrics, ...prev.metrics },
    };
    // The newest state event wins; without times (an older broker) a live state wins and a warm-up one fills a gap.
    const takeState = d.state !== undefined && (d.stateTs !== undefined && prev.stateTs !== undefined ? d.stateTs >= prev.stateTs : live || prev.state === undefined);
    if (takeState) {
      next.state = d.state;
      if (d.stateTs !== undefined) next.stateTs = d.stateTs;
      else delete next.stateTs;
    }
    if (next.firmId !== prev.firmId) {
      this.byFirm.get(prev.firmId)?.delete(d.deviceId);
      this.fileUnder(d.deviceId, next.firmId);
    }
    this.byDevice.set(d.deviceId, next);
  }

  private fileUnder(deviceId: string, firmId: string): void {
    const set = this.byFirm.get(firmId) ?? new Set<string>();
    set.add(deviceId);
    this.byFirm.set(firmId, set);
  }
}
