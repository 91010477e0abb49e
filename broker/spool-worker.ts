// The spool's group commit on its own thread. With synchronous=FULL every commit waits for fsync (about 3 ms on
// this machine's disk); on the broker's event loop that wait would stall every client. Here the event loop keeps
// reading, validating and queueing the next group while the worker commits the previous one; PUBACKs still go
// out only after the commit that holds their message.
import { type Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import type { CounterMemory, DeadLetter, RejectionCount, ServiceStatus, SpoolRecord } from '../common/spool/spool.ts';
import type { SyncSpool } from '../common/admission/admission.ts';
import { workerFor } from '../common/worker-thread.ts';

type Request =
  | { id: number; kind: 'append'; records: readonly SpoolRecord[]; dead: readonly DeadLetter[]; counts: readonly RejectionCount[] }
  | { id: number; kind: 'status'; status: ServiceStatus }
  | { id: number; kind: 'memory'; rows: readonly CounterMemory[] };
type Reply = { id: number; rows: number } | { id: number; error: string };

export class SpoolWorker implements SyncSpool {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (rows: number) => void; reject: (e: Error) => void }>();

  constructor(file: string) {
    this.worker = workerFor(import.meta.url, { spoolWorkerFile: file });
    this.worker.on('message', (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if ('error' in m) w.reject(new Error(m.error));
      else w.resolve(m.rows);
    });
    this.worker.on('error', (err) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
  }

  private send(req: Request): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  appendBatch(records: readonly SpoolRecord[], dead: readonly DeadLetter[], counts: readonly RejectionCount[]): Promise<number> {
    return this.send({ id: this.next++, kind: 'append', records, dead, counts });
  }

  /** The broker's status for /metrics, written by the same thread (no lock wait on the event loop). */
  async putStatus(status: ServiceStatus): Promise<void> {
    await this.send({ id: this.next++, kind: 'status', status });
  }

  /** Admission's counter-memory checkpoint, on the same thread as the commits. */
  async saveCounterMemory(rows: readonly CounterMemory[]): Promise<void> {
    await this.send({ id: this.next++, kind: 'memory', rows });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!isMainThread && parentPort && (workerData as { spoolWorkerFile?: string } | null)?.spoolWorkerFile) {
  const port = parentPort;
  const spool = new SqliteSpool((workerData as { spoolWorkerFile: string }).spoolWorkerFile);
  const run = (m: Request): Promise<number> => {
    if (m.kind === 'append') return spool.appendBatch(m.records, m.dead, m.counts);
    return (m.kind === 'status' ? spool.putStatus(m.status) : spool.saveCounterMemory(m.rows)).then(() => 0);
  };
  port.on('message', (m: Request) => {
    run(m).then(
      (rows) => port.postMessage({ id: m.id, rows } satisfies Reply),
      (err: Error) => port.postMessage({ id: m.id, error: err.message } satisfies Reply),
    );
  });
}
