// The ingest writer: drains the spool to the telemetry store in batches and deletes rows only after the
// store confirmed them. A batch the store refuses as data (HTTP 400) is split until the offending rows are
// found; those go to the dead-letter store and the rest is written, so one bad row never blocks the spool.
// Transient failures (InfluxDB down) are retried with backoff: the spool holds everything meanwhile.
import type { Spool, SpoolRow } from '../common/spool/spool.ts';
import { PermanentWriteError, type TelemetryStore } from '../common/telemetry-store/store.ts';
import type { Logger } from '../common/log.ts';
import { LatencyHistogram } from '../common/latency.ts';

export interface WriterOptions {
  batchRows: number;
  idleMs?: number;
  maxBackoffMs?: number;
}

export interface WriterStats {
  batches: number;
  rows: number;
  points: number;
  writeErrors: number;
  deadLettered: number;
  lastWriteMs: number;
  storeDown: boolean;
}


export class IngestWriter {
  readonly stats: WriterStats = { batches: 0, rows: 0, points: 0, writeErrors: 0, deadLettered: 0, lastWriteMs: 0, storeDown: false };
  /** From admission (the broker's PUBACK) to stored in InfluxDB, i.e. queryable, per message. */
  readonly queryable = new LatencyHistogram();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly spool: Spool, private readonly store: TelemetryStore, private readonly log: Logger, private readonly opts: WriterOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      let rows: SpoolRow[];
      try {
        rows = await this.spool.peek(this.opts.batchRows);
      } catch (err) {
        this.log.error({ err }, 'cannot read the spool');
        await this.pause(1000);
        continue;
      }
      if (rows.length === 0) {
        await this.pause(this.opts.idleMs ?? 50);
        continue;
      }
      try {
        await this.writeRows(rows);
        if (this.stats.storeDown) this.log.info('InfluxDB accepts writes again; draining the spool');
        this.stats.storeDown = false;
        backoff = 100;
      } catch (err) {
        this.stats.writeErrors++;
        if (!this.stats.storeDown) this.log.warn({ err: (err as Error).message }, 'InfluxDB write failed; keeping the data in the spool and retrying');
        this.stats.storeDown = true;
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 5000);
      }
    }
  }

  /** Writes rows (contiguous, oldest first) and acks them; isolates rows InfluxDB refuses as data. */
  private async writeRows(rows: SpoolRow[]): Promise<void> {
    const first = rows[0] as SpoolRow;
    const last = rows[rows.length - 1] as SpoolRow;
    const started = performance.now();
    try {
      await this.store.write(rows.map((r) => r.lines));
    } catch (err) {
      if (!(err instanceof PermanentWriteError)) throw err;
      if (rows.length === 1) {
        await this.deadLetter(first, err.message);
        return;
      }
      const mid = rows.length >> 1;
      await this.writeRows(rows.slice(0, mid));
      await this.writeRows(rows.slice(mid));
      return;
    }
    this.stats.lastWriteMs = performance.now() - started;
    await this.spool.ack(first.id, last.id);
    this.stats.batches++;
    this.stats.rows += rows.length;
    this.stats.points += rows.reduce((n, r) => n + r.points, 0);
    const now = Date.now();
    for (const r of rows) this.queryable.observe(Math.max(0, now - r.receivedAt) / 1000);
  }

  private async deadLetter(row: SpoolRow, reason: string): Promise<void> {
    const firmId = /,firm=([^, ]+)/.exec(row.lines)?.[1] ?? '';
    this.log.warn({ deviceId: row.deviceId, reason }, 'InfluxDB refused a spooled message; moved to dead letters');
    await this.spool.append([], [{
      receivedAt: row.receivedAt, firmId, deviceId: row.deviceId, topic: '', field: '(store)', rule: 'store-rejected',
      reason: `InfluxDB refused the data: ${reason}`, payload: row.lines.slice(0, 2048),
    }]);
    await this.spool.ack(row.id, row.id);
    this.stats.deadLettered++;
  }
}
