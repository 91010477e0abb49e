// Spool adapter on SQLite in WAL mode, synchronous=FULL (a commit survives power loss, not only a crash).
// Admission calls append() once per group commit, so the fsync cost is shared by every message in it.
import { openDb, type Db } from '../sqlite.ts';
import type { DeadLetter, DeadLetterQuery, DeadLetterRow, RejectionCount, ServiceStatus, Spool, SpoolRecord, SpoolRow, SpoolStats } from './spool.ts';

const MIGRATIONS = [
  `CREATE TABLE spool (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, device_id TEXT NOT NULL, lines TEXT NOT NULL, points INTEGER NOT NULL);
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT, received_at INTEGER NOT NULL, firm_id TEXT NOT NULL, device_id TEXT NOT NULL,
     topic TEXT NOT NULL, field TEXT NOT NULL, rule TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT NOT NULL);
   CREATE INDEX dead_letters_firm ON dead_letters(firm_id, id);
   CREATE INDEX dead_letters_device ON dead_letters(device_id, id);
   CREATE INDEX dead_letters_time ON dead_letters(received_at);`,
  `CREATE TABLE rejection_counts (day TEXT NOT NULL, firm_id TEXT NOT NULL, device_id TEXT NOT NULL, rule TEXT NOT NULL, count INTEGER NOT NULL,
     PRIMARY KEY (device_id, rule, day));
   CREATE INDEX rejection_counts_firm ON rejection_counts(firm_id, day);
   CREATE TABLE service_status (name TEXT PRIMARY KEY, at INTEGER NOT NULL, json TEXT NOT NULL);`,
];

interface RawRow { id: number; received_at: number; device_id: string; lines: string; points: number }
interface RawDead { id: number; received_at: number; firm_id: string; device_id: string; topic: string; field: string; rule: string; reason: string; payload: string }

export class SqliteSpool implements Spool {
  private readonly db: Db;
  private readonly stmt;
  private readonly appendTx;

  constructor(file: string) {
    this.db = openDb(file, MIGRATIONS, { synchronous: 'FULL' });
    const db = this.db;
    this.stmt = {
      insert: db.prepare('INSERT INTO spool (received_at, device_id, lines, points) VALUES (?, ?, ?, ?)'),
      insertDead: db.prepare('INSERT INTO dead_letters (received_at, firm_id, device_id, topic, field, rule, reason, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      peek: db.prepare<[number], RawRow>('SELECT * FROM spool ORDER BY id LIMIT ?'),
      ack: db.prepare('DELETE FROM spool WHERE id BETWEEN ? AND ?'),
      stats: db.prepare<[], { rows: number; points: number | null; oldest: number | null }>('SELECT count(*) AS rows, sum(points) AS points, min(received_at) AS oldest FROM spool'),
      prune: db.prepare('DELETE FROM dead_letters WHERE received_at < ?'),
      approx: db.prepare<[], { n: number | null }>('SELECT max(id) - min(id) + 1 AS n FROM spool'),
      count: db.prepare(`INSERT INTO rejection_counts VALUES (@day, @firmId, @deviceId, @rule, @count)
        ON CONFLICT (device_id, rule, day) DO UPDATE SET count = count + excluded.count`),
      putStatus: db.prepare('INSERT INTO service_status VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at, json = excluded.json'),
      statuses: db.prepare<[], { name: string; at: number; json: string }>('SELECT * FROM service_status ORDER BY name'),
    };
    this.appendTx = db.transaction((records: readonly SpoolRecord[], dead: readonly DeadLetter[], counts: readonly RejectionCount[]) => {
      for (const r of records) this.stmt.insert.run(r.receivedAt, r.deviceId, r.lines, r.points);
      for (const d of dead) this.stmt.insertDead.run(d.receivedAt, d.firmId, d.deviceId, d.topic, d.field, d.rule, d.reason, d.payload);
      for (const c of counts) this.stmt.count.run(c);
    });
  }

  async append(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[], counts: readonly RejectionCount[] = []): Promise<void> {
    this.appendTx(records, deadLetters, counts);
  }

  /**
   * Admission's group commit (in this thread; see broker/spool-worker.ts for the same off the event loop).
   * Resolves to the rows waiting, cheaply (an upper bound from the id range), for admission's cap check.
   */
  async appendBatch(records: readonly SpoolRecord[], deadLetters: readonly DeadLetter[], counts: readonly RejectionCount[]): Promise<number> {
    if (records.length > 0 || deadLetters.length > 0 || counts.length > 0) this.appendTx(records, deadLetters, counts);
    return this.stmt.approx.get()?.n ?? 0;
  }

  async rejectionCounts(q: { firmId?: string; deviceId?: string; sinceDay?: string }): Promise<RejectionCount[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (q.firmId !== undefined) { where.push('firm_id = ?'); args.push(q.firmId); }
    if (q.deviceId !== undefined) { where.push('device_id = ?'); args.push(q.deviceId); }
    if (q.sinceDay !== undefined) { where.push('day >= ?'); args.push(q.sinceDay); }
    const sql = `SELECT day, firm_id AS firmId, device_id AS deviceId, rule, count FROM rejection_counts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY day DESC, device_id, rule`;
    return this.db.prepare<string[], RejectionCount>(sql).all(...args);
  }

  async putStatus(s: ServiceStatus): Promise<void> {
    this.stmt.putStatus.run(s.name, s.at, JSON.stringify(s.values));
  }

  async statuses(): Promise<ServiceStatus[]> {
    return this.stmt.statuses.all().map((r) => ({ name: r.name, at: r.at, values: JSON.parse(r.json) as Record<string, number> }));
  }

  async peek(maxRows: number): Promise<SpoolRow[]> {
    return this.stmt.peek.all(maxRows).map((r) => ({ id: r.id, receivedAt: r.received_at, deviceId: r.device_id, lines: r.lines, points: r.points }));
  }

  async ack(firstId: number, lastId: number): Promise<void> {
    this.stmt.ack.run(firstId, lastId);
  }

  async stats(): Promise<SpoolStats> {
    const r = this.stmt.stats.get();
    return { rows: r?.rows ?? 0, points: r?.points ?? 0, oldestReceivedAt: r?.oldest ?? null };
  }

  async listDeadLetters(q: DeadLetterQuery): Promise<DeadLetterRow[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.firmId !== undefined) { where.push('firm_id = ?'); args.push(q.firmId); }
    if (q.deviceId !== undefined) { where.push('device_id = ?'); args.push(q.deviceId); }
    if (q.beforeId !== undefined) { where.push('id < ?'); args.push(q.beforeId); }
    const sql = `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare<Array<string | number>, RawDead>(sql).all(...args, q.limit);
    return rows.map((r) => ({
      id: r.id, receivedAt: r.received_at, firmId: r.firm_id, deviceId: r.device_id, topic: r.topic, field: r.field, rule: r.rule, reason: r.reason, payload: r.payload,
    }));
  }

  async pruneDeadLetters(olderThan: number): Promise<number> {
    return this.stmt.prune.run(olderThan).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
