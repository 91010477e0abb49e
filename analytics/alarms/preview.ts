// How often a rule would have fired over the last days of stored telemetry, before it is saved: the stored
// points of the devices it applies to are replayed through the live engine itself (engine.ts, on a store in
// memory), so the preview and the live alarms cannot disagree. The work is capped (devices × points); the
// answer says when it was sampled.
import { deviceType } from '../../common/contract/catalogue.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { AlarmEngine, type EngineStore } from './engine.ts';
import type { Alarm, AlarmKind, AlarmRule, AlarmRuleInput } from './rules.ts';
import type { NewAlarm } from './store.ts';

/** Kinds that depend on a device's stored telemetry (the others watch the spool, the platform or live clocks). */
export const PREVIEW_KINDS: readonly AlarmKind[] = ['threshold', 'rate', 'stuck', 'state', 'offline'];

export interface PreviewLimits {
  /** Devices replayed at most (the most recently seen first). */
  maxDevices: number;
  /** Stored points read at most, over all devices. */
  maxPoints: number;
  /** Episodes listed per device. */
  episodes: number;
}

export const DEFAULT_PREVIEW_LIMITS: PreviewLimits = { maxDevices: 50, maxPoints: 300_000, episodes: 5 };

export interface PreviewDeviceIn {
  id: string;
  firmId: string;
  type: string;
  name?: string;
  lastSeenAt?: number | null;
}

export interface PreviewEpisode {
  start: number;
  /** null: still on at the end of the preview. */
  end: number | null;
  /** The furthest the watched value went while the condition held (the lowest for < and <=); null for states. */
  peak: number | null;
}

export interface PreviewDevice {
  deviceId: string;
  name: string | null;
  fired: number;
  episodes: PreviewEpisode[];
  points: number;
  /** The device's stored points went beyond its share of the cap: replayed only up to this time. */
  coveredUntil: number | null;
}

export interface RulePreview {
  from: number;
  to: number;
  /** Times the rule would have raised an alarm, all devices together. */
  fired: number;
  devicesMatched: number;
  devicesEvaluated: number;
  pointsRead: number;
  sampled: boolean;
  /** Why the preview is not the whole picture, in both languages; empty when it is. */
  notes: Array<{ zh: string; en: string }>;
  devices: PreviewDevice[];
}

export type PreviewStore = Pick<TelemetryStore, 'deviceSeries' | 'stateHistory'>;

const TICK_MS = 60_000;

/** The engine's store for one preview: one rule, alarms kept in memory. */
class MemoryStore implements EngineStore {
  readonly alarms: Alarm[] = [];
  constructor(private readonly rule: AlarmRule) {}
  async rules() { return [this.rule]; }
  async openAlarms() { return []; }
  async raise(a: NewAlarm) {
    const open = this.alarms.find((x) => x.ruleId === a.ruleId && x.deviceId === a.deviceId && x.clearedAt === null);
    if (open) return { alarm: open, fresh: false };
    const { messages, ...rest } = a;
    const alarm: Alarm = { ...rest, id: this.alarms.length + 1, message: messages.en, messages, ackedAt: null, ackedBy: null, clearedAt: null, clearValue: null, status: 'active' };
    this.alarms.push(alarm);
    return { alarm, fresh: true };
  }
  async clear(id: number, at: number, value: number | null) {
    const a = this.alarms[id - 1];
    if (!a || a.clearedAt !== null) return undefined;
    Object.assign(a, { clearedAt: at, clearValue: value, status: 'cleared' });
    return a;
  }
  async ack() { return undefined; }
  batch<T>(fn: () => Promise<T>) { return fn(); }
}

/** Whether a rule applies to a device (the engine's own test, on the registry's devices). */
export function ruleAppliesTo(r: Pick<AlarmRuleInput, 'firmId' | 'deviceType' | 'deviceId'>, d: PreviewDeviceIn): boolean {
  return (r.firmId === null || r.firmId === d.firmId) && (r.deviceType === null || r.deviceType === d.type) && (r.deviceId === null || r.deviceId === d.id);
}

interface Replay {
  /** Lets the event loop run now and then: a replay is CPU work of up to about a second (300,000 points). */
  breathe(): Promise<void>;
  engine: AlarmEngine;
  store: PreviewStore;
  rule: AlarmRuleInput;
  from: number;
  to: number;
  limit: number;
}

/** Replays one device; returns the points read and whether they were cut at the limit. */
async function replayDevice(r: Replay, d: PreviewDeviceIn): Promise<{ points: number; coveredUntil: number | null }> {
  const spec = deviceType(d.type);
  if (!spec) return { points: 0, coveredUntil: null };
  if (r.rule.kind === 'state') return replayStates(r, d);
  const metric = r.rule.metric ?? spec.metrics[0]?.name;
  if (!metric || !spec.metrics.some((m) => m.name === metric)) return { points: 0, coveredUntil: null };
  const points = await r.store.deviceSeries({ firmId: d.firmId, deviceId: d.id, measurement: spec.measurement, metric, from: r.from, to: r.to, limit: r.limit });
  const cut = points.length >= r.limit ? (points[points.length - 1]?.ts ?? null) : null;
  if (r.rule.kind === 'offline') {
    // The periodic offline check, once a minute, against the last stored message before each tick.
    let i = 0;
    const first = points[0]?.ts;
    if (first === undefined) return { points: 0, coveredUntil: cut };
    for (let t = first + TICK_MS; t <= (cut ?? r.to); t += TICK_MS) {
      while (i + 1 < points.length && (points[i + 1]?.ts ?? Infinity) <= t) i++;
      await r.engine.checkOffline([{ id: d.id, firmId: d.firmId, type: d.type, lastSeenAt: points[i]?.ts ?? null }], t);
      await r.breathe();
    }
    return { points: points.length, coveredUntil: cut };
  }
  for (const p of points) {
    await r.engine.onLive({ at: p.ts, devices: [{ deviceId: d.id, firmId: d.firmId, type: d.type, ts: p.ts, metrics: { [metric]: p.value } }] });
    await r.breathe();
  }
  return { points: points.length, coveredUntil: cut };
}

/** States are stored as changes; live summaries carry the state every second, so the replay ticks each minute too. */
async function replayStates(r: Replay, d: PreviewDeviceIn): Promise<{ points: number; coveredUntil: number | null }> {
  const [h] = await r.store.stateHistory({ firmId: d.firmId, deviceId: d.id, from: r.from, to: r.to, lookbackMs: 7 * 86_400_000, limit: r.limit });
  if (!h) return { points: 0, coveredUntil: null };
  const cut = h.events.length >= r.limit ? (h.events[h.events.length - 1]?.ts ?? null) : null;
  const end = cut ?? r.to;
  let state = h.before?.state;
  let i = 0;
  const feed = (at: number) => state === undefined ? Promise.resolve() : r.engine.onLive({ at, devices: [{ deviceId: d.id, firmId: d.firmId, type: d.type, ts: at, metrics: {}, state }] });
  for (let t = r.from; t <= end; t += TICK_MS) {
    for (let e = h.events[i]; e && e.ts <= t; e = h.events[++i]) {
      state = e.state;
      await feed(e.ts);
    }
    await feed(t);
    await r.breathe();
  }
  return { points: h.events.length, coveredUntil: cut };
}

/** Follows each open episode's peak through the engine's observations. */
function peakTracker(rule: AlarmRuleInput) {
  const lowest = rule.op === '<' || rule.op === '<=';
  const peaks = new Map<string, number>();
  const observe = (_r: AlarmRule, deviceId: string, holds: boolean, _at: number, value: number | null) => {
    if (!holds) { peaks.delete(deviceId); return; }
    if (value === null) return;
    const p = peaks.get(deviceId);
    peaks.set(deviceId, p === undefined ? value : lowest ? Math.min(p, value) : Math.max(p, value));
  };
  return { observe, peaks };
}

export async function previewRule(input: AlarmRuleInput, devices: readonly PreviewDeviceIn[], store: PreviewStore, opts: { from: number; to: number; limits?: Partial<PreviewLimits> }): Promise<RulePreview> {
  const limits = { ...DEFAULT_PREVIEW_LIMITS, ...opts.limits };
  const matched = devices.filter((d) => ruleAppliesTo(input, d)).sort((a, b) => (b.lastSeenAt ?? -1) - (a.lastSeenAt ?? -1) || a.id.localeCompare(b.id));
  const chosen = matched.slice(0, limits.maxDevices);
  const rule: AlarmRule = { ...input, enabled: true, id: 1, createdBy: 'preview', createdAt: 0, updatedAt: 0 };
  const notes: RulePreview['notes'] = [];
  if (chosen.length < matched.length) notes.push({ zh: `只回放了最近上报的 ${chosen.length} 台设备（共 ${matched.length} 台）`, en: `only the ${chosen.length} most recently seen of ${matched.length} devices were replayed` });
  const limit = Math.max(100, Math.floor(limits.maxPoints / Math.max(1, chosen.length)));
  const out: PreviewDevice[] = [];
  let pointsRead = 0;
  let steps = 0;
  const breathe = async () => {
    if (++steps % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
  };
  for (const d of chosen) {
    // One engine per device: the alarms and peaks below are this device's alone.
    const mem = new MemoryStore(rule);
    const engine = new AlarmEngine(mem);
    if (d.name) engine.setDeviceNames([{ id: d.id, name: d.name }]);
    const tracker = peakTracker(input);
    const episodes: PreviewEpisode[] = [];
    engine.setObserver((r, deviceId, holds, at, value) => {
      const open = mem.alarms.find((a) => a.clearedAt === null);
      if (!holds && open) episodes.push({ start: open.raisedAt, end: at, peak: tracker.peaks.get(deviceId) ?? open.value });
      tracker.observe(r, deviceId, holds, at, value);
    });
    const { points, coveredUntil } = await replayDevice({ breathe, engine, store, rule: input, from: opts.from, to: opts.to, limit }, d);
    const still = mem.alarms.find((a) => a.clearedAt === null);
    if (still) episodes.push({ start: still.raisedAt, end: null, peak: tracker.peaks.get(d.id) ?? still.value });
    pointsRead += points;
    out.push({ deviceId: d.id, name: d.name ?? null, fired: mem.alarms.length, episodes: episodes.slice(0, limits.episodes), points, coveredUntil });
  }
  const cut = out.filter((d) => d.coveredUntil !== null).length;
  if (cut > 0) notes.push({ zh: `${cut} 台设备数据点超过每台 ${limit} 个的上限，只回放到其第 ${limit} 个点`, en: `${cut} device${cut === 1 ? '' : 's'} had more than ${limit} stored points each: replayed up to the ${limit}th` });
  out.sort((a, b) => b.fired - a.fired || a.deviceId.localeCompare(b.deviceId));
  return {
    from: opts.from, to: opts.to, fired: out.reduce((s, d) => s + d.fired, 0), devicesMatched: matched.length, devicesEvaluated: chosen.length,
    pointsRead, sampled: notes.length > 0, notes, devices: out,
  };
}
