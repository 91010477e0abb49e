// The gateway's store-and-forward queue: every sample is written here (SQLite, WAL, synchronous=FULL) before
// anything is sent, and a row is deleted only after the broker's PUBACK. Sequence numbers are allocated in the
// same transaction as the row, so they survive restarts and never repeat for a device. The queue is bounded: at its
// cap the oldest telemetry is dropped to make room (counted and logged), so a long outage keeps the newest data.
import { openDb, type Db } from '../common/sqlite.ts';
import type { MessageKind } from '../common/contract/topics.ts';
import type { Logger } from '../common/log.ts';

const MIGRATIONS = [`
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX outbox_device ON outbox (device, id);
  CREATE TABLE device_seq (device TEXT PRIMARY KEY, next INTEGER NOT NULL);
`,
// The oldest telemetry, found without a scan when the cap drops it.
`CREATE INDEX outbox_kind ON outbox (kind, id);`];

export interface QueuedMessage {
  id: number;
  device: string;
  kind: MessageKind;
  payload: string;
}

export class GatewayQueue {
  private readonly db: Db;
  private rows: number;
  private readonly acked: number[] = [];
  private flushScheduled = false;
  private readonly stmt;
  /** Messages dropped at the cap since the queue was opened. */
  private droppedCount = 0;
  /** While dropping: the count when it began (one log line when it begins, one when it ends). */
  private droppingFrom: number | undefined;

  /** `maxRows`: messages held for all devices together; at the cap the oldest telemetry is dropped for a new message. */
  constructor(file: string, readonly maxRows: number, private readonly log?: Logger) {
    this.db = openDb(file, MIGRATIONS);
    this.rows = (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    this.stmt = {
      insert: this.db.prepare('INSERT INTO outbox (device, kind, payload) VALUES (?, ?, ?)'),
      nextSeq: this.db.prepare('SELECT next FROM device_seq WHERE device = ?').pluck(),
      setSeq: this.db.prepare('INSERT INTO device_seq (device, next) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET next = excluded.next'),
      after: this.db.prepare('SELECT id, device, kind, payload FROM outbox WHERE device = ? AND id > ? ORDER BY id LIMIT ?'),
      afterAll: this.db.prepare('SELECT id, device, kind, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?'),
      remove: this.db.prepare('DELETE FROM outbox WHERE id = ?'),
      dropOldest: this.db.prepare("DELETE FROM outbox WHERE id = (SELECT min(id) FROM outbox WHERE kind = 'telemetry')"),
      depth: this.db.prepare('SELECT count(*) FROM outbox WHERE device = ?').pluck(),
    };
  }

  get full(): boolean {
    return this.rows >= this.maxRows;
  }

  get depth(): number {
    return this.rows;
  }

  /** Messages dropped at the cap since the queue was opened. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Samples taken so far for `device`: the next sequence number. */
  sampled(device: string): number {
    return (this.stmt.nextSeq.get(device) as number | undefined) ?? 0;
  }

  deviceDepth(device: string): number {
    return this.stmt.depth.get(device) as number;
  }

  /** Queues one telemetry point with the device's next sequence number (at the cap, after dropping the oldest). */
  addTelemetry(device: string, ts: number, metrics: Record<string, number>): number {
    this.makeRoom();
    return this.db.transaction(() => {
      const seq = this.sampled(device);
      this.stmt.insert.run(device, 'telemetry', JSON.stringify({ ts, seq, metrics }));
      this.stmt.setSeq.run(device, seq + 1);
      this.rows++;
      return seq;
    })();
  }

  /** Queues a state event; it counts toward the cap but is never dropped (state changes are few, and OEE needs each). */
  addState(device: string, payload: object): void {
    this.makeRoom();
    this.stmt.insert.run(device, 'state', JSON.stringify(payload));
    this.rows++;
  }

  /** At the cap, drops the oldest telemetry until one more message fits; logged when dropping begins and ends. */
  private makeRoom(): void {
    if (this.rows < this.maxRows) {
      if (this.droppingFrom !== undefined) {
        this.log?.warn({ queued: this.rows, cap: this.maxRows, dropped: this.droppedCount - this.droppingFrom }, 'queue below its cap again: no longer dropping the oldest messages');
        this.droppingFrom = undefined;
      }
      return;
    }
    // What the broker has acknowledged leaves first: it is not lost.
    this.flush();
    const before = this.droppedCount;
    while (this.rows >= this.maxRows) {
      const gone = this.stmt.dropOldest.run().changes;
      if (gone === 0) break; // only state events left: kept
      this.rows -= gone;
      this.droppedCount += gone;
    }
    if (this.droppedCount > before && this.droppingFrom === undefined) {
      this.droppingFrom = before;
      this.log?.error({ queued: this.rows, cap: this.maxRows }, 'queue full: dropping the oldest messages to keep the newest (counted in the status line)');
    }
  }

  /** The oldest messages after `afterId` of one device, or of every device (undefined), in order. */
  after(device: string | undefined, afterId: number, limit: number): QueuedMessage[] {
    return (device === undefined ? this.stmt.afterAll.all(afterId, limit) : this.stmt.after.all(device, afterId, limit)) as QueuedMessage[];
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
