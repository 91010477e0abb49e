// Spool adapter on SQLite in WAL mode, synchronous=FULL (a commit survives power loss, not only a crash).
// Admission calls append() once per group commit, so the fsync cost is shared by every message in it.
import { openDb, type Db } from '../sqlite.ts';
import {
  RELEASE_BATCH_LIMIT,
  type CounterMemory, type DeadLetter, type DeadLetterQuery, type DeadLetterRow, type QuarantineSummary, type RejectionCount, type ReleaseQuery, type ReleaseResult,
  type ServiceStatus, type Spool, type SpoolRecord, type SpoolRow, type SpoolStats,
} from './spool.ts';

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
  // Quarantined readings kept whole (line protocol) so they can be released, with who released them and why;
  // admission's counter memory, checkpointed so a restarted broker still bounds the next reading.
  `ALTER TABLE dead_letters ADD COLUMN reading TEXT;
   ALTER TABLE dead_letters ADD COLUMN released_at INTEGER;
   ALTER TABLE dead_letters ADD COLUMN released_by TEXT;
   ALTER TABLE dead_letters ADD COLUMN release_reason TEXT;
   CREATE INDEX dead_letters_quarantine ON dead_letters(firm_id, device_id, received_at) WHERE reading IS NOT NULL;
   CREATE TABLE counter_memory (device_id TEXT NOT NULL, counter TEXT NOT NULL, type TEXT NOT NULL, ts REAL NOT NULL, value REAL NOT NULL,
     allowance REAL NOT NULL, PRIMARY KEY (device_id, counter));`,
];

interface RawRow { id: number; received_at: number; device_id: string; lines: string; points: number }
interface RawDead {
  id: number; received_at: number; firm_id: string; device_id: string; topic: string; field: string; rule: string; reason: string; payload: string;
  reading: string | null; released_at: number | null; released_by: string | null; release_reason: string | null;
}
type Quarantined = Pick<RawDead, 'id' | 'device_id' | 'reading' | 'released_at'>;

export class SqliteSpool implements Spool {
  private readonly db: Db;
  private readonly stmt;
  private readonly appendTx;
  private readonly releaseTx;

  constructor(file: string) {
    this.db = openDb(file, MIGRATIONS, { synchronous: 'FULL' });
    const db = this.db;
    this.stmt = {
      insert: db.prepare('INSERT INTO spool (received_at, device_id, lines, points) VALUES (?, ?, ?, ?)'),
      insertDead: db.prepare('INSERT INTO dead_letters (received_at, firm_id, device_id, topic, field, rule, reason, payload, reading) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      peek: db.prepare<[number], RawRow>('SELECT * FROM spool ORDER BY id LIMIT ?'),
      ack: db.prepare('DELETE FROM spool WHERE id BETWEEN ? AND ?'),
      stats: db.prepare<[], { rows: number; points: number | null; oldest: number | null }>('SELECT count(*) AS rows, sum(points) AS points, min(received_at) AS oldest FROM spool'),
      prune: db.prepare('DELETE FROM dead_letters WHERE received_at < ?'),
      approx: db.prepare<[], { n: number | null }>('SELECT max(id) - min(id) + 1 AS n FROM spool'),
      count: db.prepare(`INSERT INTO rejection_counts VALUES (@day, @firmId, @deviceId, @rule, @count)
        ON CONFLICT (device_id, rule, day) DO UPDATE SET count = count + excluded.count`),
      putStatus: db.prepare('INSERT INTO service_status VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at, json = excluded.json'),
      statuses: db.prepare<[], { name: string; at: number; json: string }>('SELECT * FROM service_status ORDER BY name'),
      // A point with several implausible counters is one dead letter per counter: releasing one releases all.
      markReleased: db.prepare(`UPDATE dead_letters SET released_at = @at, released_by = @by, release_reason = @reason
        WHERE device_id = @deviceId AND reading = @reading AND released_at IS NULL`),
      quarantine: db.prepare<[number], QuarantineSummary>(`SELECT firm_id AS firmId, device_id AS deviceId, count(*) AS count, min(received_at) AS oldestAt,
        max(received_at) AS newestAt FROM dead_letters WHERE reading IS NOT NULL AND released_at IS NULL AND received_at >= ? GROUP BY firm_id, device_id`),
      saveMemory: db.prepare(`INSERT INTO counter_memory VALUES (@deviceId, @counter, @type, @ts, @value, @allowance)
        ON CONFLICT (device_id, counter) DO UPDATE SET type = excluded.type, ts = excluded.ts, value = excluded.value, allowance = excluded.allowance`),
      loadMemory: db.prepare<[], CounterMemory>('SELECT device_id AS deviceId, counter, type, ts, value, allowance FROM counter_memory'),
    };
    this.appendTx = db.transaction((records: readonly SpoolRecord[], dead: readonly DeadLetter[], counts: readonly RejectionCount[]) => {
      for (const r of records) this.stmt.insert.run(r.receivedAt, r.deviceId, r.lines, r.points);
      for (const d of dead) this.stmt.insertDead.run(d.receivedAt, d.firmId, d.deviceId, d.topic, d.field, d.rule, d.reason, d.payload, d.reading ?? null);
      for (const c of counts) this.stmt.count.run(c);
    });
    this.releaseTx = db.transaction((q: ReleaseQuery, rows: readonly Quarantined[]): ReleaseResult => {
      const result: ReleaseResult = { released: [], alreadyReleased: [], points: 0, devices: [] };
      const byDevice = new Map<string, { ids: number[]; lines: Set<string> }>();
      for (const r of rows) {
        if (r.released_at !== null || r.reading === null) { result.alreadyReleased.push(r.id); continue; }
        result.released.push(r.id);
        const d = byDevice.get(r.device_id) ?? { ids: [], lines: new Set<string>() };
        d.ids.push(r.id);
        d.lines.add(r.reading);
        byDevice.set(r.device_id, d);
      }
      for (const [deviceId, { ids, lines }] of byDevice) {
        this.stmt.insert.run(q.at, deviceId, [...lines].join('\n'), lines.size);
        for (const reading of lines) this.stmt.markReleased.run({ at: q.at, by: q.by, reason: q.reason, deviceId, reading });
        result.points += lines.size;
        result.devices.push({ deviceId, ids, points: lines.size });
      }
      return result;
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
      releasable: r.reading !== null, releasedAt: r.released_at, releasedBy: r.released_by, releaseReason: r.release_reason,
    }));
  }

  async releaseQuarantined(q: ReleaseQuery): Promise<ReleaseResult> {
    const where = ['firm_id = ?', 'reading IS NOT NULL'];
    const args: Array<string | number> = [q.firmId];
    if (q.ids !== undefined) { where.push(`id IN (${q.ids.map(() => '?').join(',') || 'NULL'})`); args.push(...q.ids); }
    if (q.deviceId !== undefined) { where.push('device_id = ?'); args.push(q.deviceId); }
    if (q.from !== undefined) { where.push('received_at >= ?'); args.push(q.from); }
    if (q.to !== undefined) { where.push('received_at <= ?'); args.push(q.to); }
    const sql = `SELECT id, device_id, reading, released_at FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${RELEASE_BATCH_LIMIT}`;
    const select = this.db.prepare<Array<string | number>, Quarantined>(sql);
    // Read inside the transaction: two releases at once cannot both see a reading unreleased.
    return this.db.transaction(() => this.releaseTx(q, select.all(...args)))();
  }

  async quarantineSummary(since: number): Promise<QuarantineSummary[]> {
    return this.stmt.quarantine.all(since);
  }

  async saveCounterMemory(rows: readonly CounterMemory[]): Promise<void> {
    if (rows.length > 0) this.db.transaction(() => { for (const r of rows) this.stmt.saveMemory.run(r); })();
  }

  async loadCounterMemory(): Promise<CounterMemory[]> {
    return this.stmt.loadMemory.all();
  }

  async pruneDeadLetters(olderThan: number): Promise<number> {
    return this.stmt.prune.run(olderThan).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
