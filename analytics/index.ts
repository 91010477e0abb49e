// The analytics the API serves, opened and started in one place: energy figures and rollups,
// machine states and OEE, alarms, the plan tracker and per-mu evaluation, and the live room aggregator.
//
//   const monitoring = openMonitoring({ ...monitoringOptions(config), registry, store, log });   // analytics/config.ts
//   monitoring.start({ live });          // rollup timers, alarm evaluation from live summaries, offline check, snapshots
//   buildApp({ ..., monitoring });       // routes; app.ts passes the socket.io server to attachSocketServer()
import type { EventEmitter } from 'node:events';
import type { Logger } from '../common/log.ts';
import type { Registry } from '../common/registry/registry.ts';
import type { Db } from '../common/sqlite.ts';
import type { TelemetryStore } from '../common/telemetry-store/store.ts';
import { DEFAULT_ROLLUP_OPTIONS, RollupJob, type RollupOptions } from './energy/rollups.ts';
import { rollupCheckpoint, type RollupReads } from './energy/rollup-reads.ts';
import { RollupWorker, type RollupWorkerConfig } from './energy/rollup-worker.ts';
import { DEFAULT_ENERGY_OPTIONS, EnergyService, type EnergyServiceOptions } from './energy/service.ts';
import { EnergySettings } from './energy/settings.ts';
import { PlanService } from './plan/service.ts';
import { PlanStore } from './plan/store.ts';
import { AlarmEngine, SqliteAlarmStore, type AlarmEvent, type AlarmStore, type LiveSummaryLike } from './alarms/alarms.ts';
import { startAlarmChecks, type AlarmSpoolSource } from './alarms/checks.ts';
import type { ChannelStore } from './alarms/notify/channels.ts';
import { SqliteChannelStore } from './alarms/notify/sqlite-channels.ts';
import { AlarmNotifier, type NotifierOptions } from './alarms/notify/notifier.ts';
import { Settings, openMonitoringDb } from './base/db.ts';
import { FirmIndex } from './base/firm-index.ts';
import { DEFAULT_LATEST_WINDOWS, LiveLatest, StoreLatest, type LatestSource } from './live/latest.ts';
import { LiveRoomAggregator, type LiveRoomSummary, type RoomAggregate } from './live/live-rooms.ts';
import { DEFAULT_OEE_OPTIONS, OeeService, type OeeOptions } from './states/oee.ts';
import { MonitoringSettings } from './states/settings.ts';
import { HOUR, MINUTE } from '../common/time.ts';

export interface MonitoringOptions {
  /** SQLite file (DATA_DIR/monitoring.db), or ':memory:'. */
  file: string;
  registry: Registry;
  store: TelemetryStore;
  log?: Logger;
  connectedWindowDays: number;
  energy?: Partial<EnergyServiceOptions>;
  rollup?: Partial<RollupOptions>;
  /** Run the rollup job on a worker thread with its own connections (api/main.ts); else on this event loop. */
  rollupWorker?: Omit<RollupWorkerConfig, 'monitoringFile'>;
  oee?: Partial<OeeOptions>;
  /** Period of the offline check against the registry's lastSeenAt. */
  offlineCheckMs?: number;
  /** The spool this node shares with the broker: rejected messages and rows waiting raise alarms. */
  spool?: AlarmSpoolSource;
  /** Period of the rejection, spool and InfluxDB alarm checks. */
  alarmCheckMs?: number;
  /** Retries and timeouts of alarm notifications (企业微信, 钉钉, webhooks). */
  notifier?: Partial<NotifierOptions>;
  /** Period of the monthly KPI snapshot (the last one of a month stands for the month). */
  snapshotEveryMs?: number;
  /** Period of the latest values' refresh from InfluxDB (what a lost live summary missed). */
  latestRefreshMs?: number;
  /** Alarm rules and history shared by every API node (PostgreSQL); default: in the monitoring database. Closed with it. */
  alarmStore?: AlarmStore;
  /** Notification channels beside that store; default: in the monitoring database. */
  alarmChannels?: ChannelStore;
}

/** The part of a socket.io Server the alarms need (kept structural so common/ does not depend on socket.io). */
export interface RoomEmitter {
  to(room: string | string[]): { emit(event: string, ...args: unknown[]): unknown };
}

export class Monitoring {
  readonly db: Db;
  readonly settings: Settings;
  readonly index: FirmIndex;
  readonly energySettings: EnergySettings;
  readonly monitoringSettings: MonitoringSettings;
  readonly energy: EnergyService;
  readonly rollups: RollupReads;
  readonly oee: OeeService;
  readonly alarmStore: AlarmStore;
  readonly alarms: AlarmEngine;
  readonly alarmChannels: ChannelStore;
  readonly notifier: AlarmNotifier;
  readonly planStore: PlanStore;
  readonly plan: PlanService;
  readonly rooms: LiveRoomAggregator;
  /** Each device's latest values from the live feed (after start({ live })), warmed from InfluxDB. */
  readonly liveLatest: LiveLatest;
  /** The same asked of the telemetry store each time: what processes without a live feed read. */
  readonly storeLatest: StoreLatest;
  private liveFed = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly roomListeners = new Set<(updates: RoomAggregate[]) => void>();
  /** Which rooms are worth computing (someone listens); all by default once a listener is there. */
  private roomFilter: (room: string) => boolean = () => true;

  constructor(readonly opts: MonitoringOptions) {
    this.db = openMonitoringDb(opts.file);
    this.settings = new Settings(this.db);
    this.index = new FirmIndex(opts.registry);
    this.energySettings = new EnergySettings(this.db, this.settings);
    this.monitoringSettings = new MonitoringSettings(this.db, this.settings);
    const rollupOptions = { ...DEFAULT_ROLLUP_OPTIONS, ...opts.rollup };
    // One live window for /energy/live, the overviews and the live rooms.
    const liveWindowMs = opts.energy?.liveWindowMs ?? DEFAULT_ENERGY_OPTIONS.liveWindowMs;
    this.storeLatest = new StoreLatest(opts.store, { ...DEFAULT_LATEST_WINDOWS, rateMs: liveWindowMs });
    this.liveLatest = new LiveLatest(this.storeLatest);
    this.energy = new EnergyService({
      store: opts.store, index: this.index, latest: () => this.latest, rollupsCompleteUntil: () => this.rollups.completeUntil(),
      rollupsPending: async () => ({ marks: await this.rollups.pending(), until: this.rollups.pendingUntil() }),
      factors: () => this.energySettings.factors().value,
      flagsOf: (firmId) => this.energySettings.flagsOf(firmId),
      enteredFabric: (firmId, months) => this.energySettings.enteredFabric(firmId, months),
    }, { ...DEFAULT_ENERGY_OPTIONS, ...opts.energy });
    // The watermark of the marked quarters survives a restart here.
    const checkpoint = rollupCheckpoint(this.settings);
    // A worker shares the monitoring database through its file; an in-memory one stays on this thread.
    this.rollups = opts.rollupWorker && opts.file !== ':memory:'
      ? new RollupWorker(opts.store, { ...opts.rollupWorker, monitoringFile: opts.file }, rollupOptions, checkpoint, opts.log)
      : new RollupJob(opts.store, this.index, opts.log, rollupOptions, checkpoint);
    this.oee = new OeeService(opts.store, this.index, this.monitoringSettings, { ...DEFAULT_OEE_OPTIONS, ...opts.oee });
    this.alarmStore = opts.alarmStore ?? new SqliteAlarmStore(this.db);
    this.alarms = new AlarmEngine(this.alarmStore);
    this.alarmChannels = opts.alarmChannels ?? new SqliteChannelStore(this.db);
    this.notifier = new AlarmNotifier(this.alarmChannels, { ...opts.notifier, log: opts.log });
    this.alarms.subscribe((ev) => this.notifier.notify(ev));
    this.planStore = new PlanStore(this.db, this.settings);
    this.plan = new PlanService(opts.registry, this.planStore, this.energy, opts.connectedWindowDays, opts.store);
    this.rooms = new LiveRoomAggregator({ staleMs: liveWindowMs, minIntervalMs: 1000 }, this.liveLatest);
  }

  /** Where the overviews read each device's latest state and rates: memory once the live feed is attached. */
  get latest(): LatestSource {
    return this.liveFed ? this.liveLatest : this.storeLatest;
  }

  /**
   * Starts the background work: rollups, alarm evaluation on each live summary, the periodic offline check and
   * the monthly KPI snapshot. `onRooms` receives the per-room live aggregates (at most one per room per second).
   */
  start(opts: { live?: EventEmitter; onRooms?: (updates: RoomAggregate[]) => void } = {}): void {
    const log = this.opts.log;
    this.rollups.start();
    if (opts.live) {
      const live = opts.live;
      const onLive = (summary: LiveSummaryLike & LiveRoomSummary) => {
        // Apart, so a failing alarm store cannot keep the latest values (the overviews) behind, nor the reverse.
        try {
          // Without a listener the aggregator only keeps the latest values (nothing is computed).
          const listening = opts.onRooms !== undefined || this.roomListeners.size > 0;
          const updates = this.rooms.update(summary, listening ? this.roomFilter : () => false);
          if (updates.length > 0) {
            opts.onRooms?.(updates);
            for (const fn of this.roomListeners) fn(updates);
          }
        } catch (err) {
          log?.warn({ err: (err as Error).message }, 'live room aggregation failed on a live summary');
        }
        this.alarms.onLive(summary).catch((err: Error) => log?.warn({ err: err.message }, 'alarm evaluation failed on a live summary'));
      };
      live.on('live', onLive);
      this.unsubscribe = () => live.off('live', onLive);
      this.liveFed = true;
      this.liveLatest.warmUp().catch((err: Error) => log?.warn({ err: err.message }, 'loading the latest device values from InfluxDB failed; the next overview retries'));
      // The live feed is QoS 0 and carries changes only: now and then InfluxDB corrects what a lost summary missed.
      const every = this.opts.latestRefreshMs ?? 5 * MINUTE;
      const refresh = setInterval(() => {
        // Twice the period back, so one failed refresh leaves no gap.
        this.liveLatest.refresh(2 * every).catch((err: Error) => log?.warn({ err: err.message }, 'refreshing the latest device values from InfluxDB failed'));
      }, every);
      refresh.unref();
      this.timers.push(refresh);
    }
    const offline = setInterval(() => {
      this.opts.registry.listDevices().then((devices) => {
        this.liveLatest.retain(new Set(devices.map((d) => d.id)));
        return this.alarms.checkOffline(devices);
      }).catch((err: Error) => log?.warn({ err: err.message }, 'offline check failed'));
    }, this.opts.offlineCheckMs ?? MINUTE);
    this.timers.push(startAlarmChecks(this.alarms, { registry: this.opts.registry, store: this.opts.store, ...(this.opts.spool ? { spool: this.opts.spool } : {}), ...(log ? { log } : {}) }, this.opts.alarmCheckMs ?? 30_000));
    const snapshot = () => { this.plan.snapshot().catch((err: Error) => log?.warn({ err: err.message }, 'plan snapshot failed')); };
    snapshot();
    const snap = setInterval(snapshot, this.opts.snapshotEveryMs ?? 6 * HOUR);
    offline.unref();
    snap.unref();
    this.timers.push(offline, snap);
  }

  /**
   * Per-room live aggregates (at most one per room per second) as they are computed from the live summaries
   * (after start({ live })). For socket.io: `subscribeRooms((us) => { for (const u of us) io.to(u.room).emit('aggregate', u); })`.
   */
  subscribeRooms(fn: (updates: RoomAggregate[]) => void): () => void {
    this.roomListeners.add(fn);
    return () => { this.roomListeners.delete(fn); };
  }

  /** Limits the room aggregates to rooms with listeners, e.g. `(room) => io.sockets.adapter.rooms.has(room)`. */
  setRoomFilter(fn: (room: string) => boolean): void {
    this.roomFilter = fn;
  }

  /** Alarm events go to the rooms api/live.ts joins clients to: 'all' and 'firm:<id>'. */
  attachSocketServer(io: RoomEmitter): void {
    this.alarms.setEmitter((rooms: string[], ev: AlarmEvent) => { io.to(rooms).emit('alarm', ev); });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    this.roomListeners.clear();
    this.alarms.setEmitter(undefined);
    await this.notifier.close();
    await this.rollups.stop();
    await this.alarms.settled();
    await this.alarmStore.close();
    this.db.close();
  }
}

export function openMonitoring(opts: MonitoringOptions): Monitoring {
  return new Monitoring(opts);
}
