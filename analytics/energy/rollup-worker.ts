// The rollup job on a thread of its own (api/main.ts, the monitoring benchmark). A recompute of the marked quarters
// over 30,000 devices takes about 10 s, most of it parsing InfluxDB's answers and differencing the series in
// JavaScript; on the API's event loop every request arriving meanwhile waited behind it. The worker opens its own
// InfluxDB client, registry and monitoring database (the watermark, shared through SQLite's WAL); the API thread
// keeps answering the reads of the job (freshness, pending marks, last run) from the progress the worker posts
// after every run. A thread rather than the ingest writer: the job's watermark, the admin rebuild and the
// freshness every energy read asks about stay with the API, and the writer's hot path is left alone.
import { isMainThread, parentPort, workerData, type MessagePort, type Worker } from 'node:worker_threads';
import { createLogger, type Logger } from '../../common/log.ts';
import { PgRegistry } from '../../common/registry/pg-registry.ts';
import type { Registry } from '../../common/registry/registry.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { InfluxStore, type InfluxOptions } from '../../common/telemetry-store/influx-store.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { workerFor } from '../../common/worker-thread.ts';
import { Settings, openMonitoringDb } from '../base/db.ts';
import { FirmIndex } from '../base/firm-index.ts';
import { RollupReads, rollupCheckpoint, type RollupCheckpoint, type RollupProgress, type RollupStats } from './rollup-reads.ts';
import { RollupJob, type RollupOptions } from './rollups.ts';

/** What the worker needs to open its own connections. */
export interface RollupWorkerConfig {
  influx: InfluxOptions;
  /** The registry: a PostgreSQL URL or the SQLite file. */
  registry: { url: string } | { file: string };
  /** The monitoring database (a file: the worker keeps the watermark there). */
  monitoringFile: string;
  logLevel?: string;
}

interface WorkerData {
  rollupWorker: RollupWorkerConfig;
  options: RollupOptions;
}

type Command = { kind: 'start' } | { kind: 'stop' } | { kind: 'tick' } | { kind: 'rebuild'; from: number; to: number };
type Request = Command & { id: number };
type Message =
  | { kind: 'progress'; progress: RollupProgress }
  | { kind: 'reply'; id: number; stats: RollupStats | undefined }
  | { kind: 'reply'; id: number; error: string };

/** How long after the worker died a new one is started (while the job should run). */
const RESTART_MS = 5_000;

/** The rollup job as the API sees it, run on a worker thread. */
export class RollupWorker extends RollupReads {
  private worker: Worker | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (stats: RollupStats | undefined) => void; reject: (err: Error) => void }>();
  private running = false;

  constructor(
    store: TelemetryStore,
    private readonly config: RollupWorkerConfig,
    private readonly opts: RollupOptions,
    checkpoint: RollupCheckpoint,
    private readonly log?: Logger,
  ) {
    super(store, opts.intervalMs, checkpoint.load());
  }

  start(): void {
    this.running = true;
    this.send({ kind: 'start' }).catch((err: Error) => this.log?.warn({ err: err.message }, 'starting the energy rollup worker failed'));
  }

  async stop(): Promise<void> {
    this.running = false;
    const worker = this.worker;
    if (!worker) return;
    // The worker finishes the run under way and closes its connections, then goes.
    await this.send({ kind: 'stop' }).catch(() => undefined);
    this.worker = undefined;
    await worker.terminate();
    this.progress = { ...this.progress, running: false, keptUpAt: undefined };
  }

  async rebuild(from: number, to: number): Promise<RollupStats> {
    return (await this.send({ kind: 'rebuild', from, to }))!;
  }

  async tick(): Promise<RollupStats> {
    return (await this.send({ kind: 'tick' }))!;
  }

  private send(command: Command): Promise<RollupStats | undefined> {
    const worker = this.worker ?? this.spawn();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...command, id } satisfies Request);
    });
  }

  private spawn(): Worker {
    const worker = workerFor(import.meta.url, { rollupWorker: this.config, options: this.opts } satisfies WorkerData);
    this.worker = worker;
    worker.on('message', (m: Message) => {
      if (m.kind === 'progress') {
        this.progress = m.progress;
        return;
      }
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if ('error' in m) w?.reject(new Error(m.error));
      else w?.resolve(m.stats);
    });
    worker.on('error', (err) => this.log?.error({ err: err.message }, 'energy rollup worker failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(new Error(`energy rollup worker exited (${code})`));
      this.waiting.clear();
      this.progress = { ...this.progress, running: false, keptUpAt: undefined, lastError: `worker exited (${code})` };
      if (!this.running) return;
      this.log?.warn({ code }, `energy rollup worker exited; starting another in ${RESTART_MS / 1000} s`);
      setTimeout(() => { if (this.running && !this.worker) this.start(); }, RESTART_MS).unref();
    });
    return worker;
  }
}

/** The worker's side: its own connections, the job, and the commands of the API thread. */
function serve(port: MessagePort, data: WorkerData): void {
  const { rollupWorker: c, options } = data;
  const opened = (async () => {
    const registry: Registry = 'url' in c.registry ? await PgRegistry.open(c.registry.url) : new SqliteRegistry(c.registry.file);
    const store = new InfluxStore(c.influx);
    const db = openMonitoringDb(c.monitoringFile);
    const onProgress = (progress: RollupProgress) => port.postMessage({ kind: 'progress', progress } satisfies Message);
    const job = new RollupJob(store, new FirmIndex(registry), createLogger('api-rollups', c.logLevel), options, rollupCheckpoint(new Settings(db)), onProgress);
    const close = async () => {
      await job.stop();
      await store.close();
      await registry.close();
      db.close();
    };
    return { job, close };
  })();
  const run = async (m: Request): Promise<RollupStats | undefined> => {
    const { job, close } = await opened;
    switch (m.kind) {
      case 'start': job.start(); return undefined;
      case 'stop': await close(); return undefined;
      case 'tick': return job.tick();
      case 'rebuild': return job.rebuild(m.from, m.to);
    }
  };
  port.on('message', (m: Request) => {
    run(m).then(
      (stats) => port.postMessage({ kind: 'reply', id: m.id, stats } satisfies Message),
      (err: Error) => port.postMessage({ kind: 'reply', id: m.id, error: err.message } satisfies Message),
    );
  });
}

if (!isMainThread && parentPort && (workerData as Partial<WorkerData> | null)?.rollupWorker) serve(parentPort, workerData as WorkerData);
