// Schema migrations on PostgreSQL for a store several processes open at once (the registry, the alarm store): one
// transaction under an advisory lock, so two nodes starting together never apply a migration twice, and a schema
// newer than the code refuses to start instead of being misread.
import pg from 'pg';

export interface PgMigrations {
  /** Table holding the applied version, e.g. `schema_version`. */
  versionTable: string;
  /** Advisory lock key of this schema. */
  lock: number;
  /** Named in the error when the schema is newer than this code. */
  what: string;
  migrations: readonly string[];
  /** Runs in the same transaction when the schema was just created (seed rows). */
  seed?: (c: pg.PoolClient) => Promise<void>;
}

export async function migratePg(pool: pg.Pool, m: PgMigrations): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [m.lock]);
    await c.query(`CREATE TABLE IF NOT EXISTS ${m.versionTable} (version INTEGER NOT NULL)`);
    const r = await c.query<{ version: number }>(`SELECT version FROM ${m.versionTable}`);
    const current = r.rows[0]?.version ?? 0;
    if (current > m.migrations.length) throw new Error(`${m.what} schema version ${current} is newer than this code knows (${m.migrations.length}): upgrade the service`);
    for (let v = current; v < m.migrations.length; v++) await c.query(m.migrations[v] as string);
    if (current === 0 && m.seed) await m.seed(c);
    if (r.rows.length === 0) await c.query(`INSERT INTO ${m.versionTable} (version) VALUES ($1)`, [m.migrations.length]);
    else await c.query(`UPDATE ${m.versionTable} SET version = $1`, [m.migrations.length]);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

/** A pool on a schema created or upgraded by `m`; ended again when that fails. */
export async function openMigratedPool(config: pg.PoolConfig, m: PgMigrations): Promise<pg.Pool> {
  const pool = new pg.Pool(config);
  // An idle client losing its server connection emits 'error' on the pool; without a listener it kills the process.
  pool.on('error', () => {});
  try {
    await migratePg(pool, m);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}
