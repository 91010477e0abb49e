// The gateway's store-and-forward queue: every sample is written here (SQLite, WAL, synchronous=FULL) before
// anything is sent, and a row is deleted only after the broker's PUBACK. Sequence numbers are allocated in the
// same transaction as the row, so they survive restarts and never repeat for a device.
import { openDb, type Db } from '../common/sqlite.ts';
import type { MessageKind } from '../common/contract/topics.ts';

const MIGRATIONS = [`
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX outbox_device ON outbox (device, id);
  CREATE TABLE device_seq (device TEXT PRIMARY KEY, next INTEGER NOT NULL);
`];

export interface QueuedMessage {
  id: number;
  kind: MessageKind;
  payload: string;
}

export class GatewayQueue {
  private readonly db: Db;
  private rows: number;
  private readonly acked: number[] = [];
  private flushScheduled = false;
  private readonly stmt;

  /** `maxRows`: messages held for all devices together; at the cap, `addTelemetry` takes nothing. */
  constructor(file: string, readonly maxRows: number) {
    this.db = openDb(file, MIGRATIONS);
    this.rows = (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    this.stmt = {
      insert: this.db.prepare('INSERT INTO outbox (device, kind, payload) VALUES (?, ?, ?)'),
      nextSeq: this.db.prepare('SELECT next FROM device_seq WHERE device = ?').pluck(),
      setSeq: this.db.prepare('INSERT INTO device_seq (device, next) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET next = excluded.next'),
      after: this.db.prepare('SELECT id, kind, payload FROM outbox WHERE device = ? AND id > ? ORDER BY id LIMIT ?'),
      remove: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      depth: this.db.prepare('SELECT count(*) FROM outbox WHERE device = ?').pluck(),
    };
  }

  get full(): boolean {
    return this.rows >= this.maxRows;
  }

  get depth(): number {
    return this.rows;
  }

  /** Samples taken so far for `device`: the next sequence number. */
  sampled(device: string): number {
    return (this.stmt.nextSeq.get(device) as number | undefined) ?? 0;
  }

  deviceDepth(device: string): number {
    return this.stmt.depth.get(device) as number;
  }

  /** Queues one telemetry point with the device's next sequence number; undefined when the queue is full. */
  addTelemetry(device: string, ts: number, metrics: Record<string, number>): number | undefined {
    if (this.full) return undefined;
    return this.db.transaction(() => {
      const seq = this.sampled(device);
      this.stmt.insert.run(device, 'telemetry', JSON.stringify({ ts, seq, metrics }));
      this.stmt.setSeq.run(device, seq + 1);
      this.rows++;
      return seq;
    })();
  }

  /** Queues a state event (they are few, so the cap does not apply: a state change is never skipped). */
  addState(device: string, payload: object): void {
    this.stmt.insert.run(device, 'state', JSON.stringify(payload));
    this.rows++;
  }

  /** The device's oldest messages after `afterId`, in order. */
  after(device: string, afterId: number, limit: number): QueuedMessage[] {
    return this.stmt.after.all(device, afterId, limit) as QueuedMessage[];
  }

  /** Forgets an acknowledged message; deletes are grouped into one commit per turn of the event loop. */
  acknowledge(id: number): void {
    this.acked.push(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const ids = this.acked.splice(0);
    if (ids.length === 0 || !this.db.open) return;
    this.db.transaction(() => { for (const id of ids) this.rows -= this.stmt.remove.run(id).changes; })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
