// The registry conformance suite against the PostgreSQL adapter, on a private server started from Debian's
// packages (`apt-get install -y postgresql`). If the server cannot start, every test here fails with the reason:
// this suite never skips.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConformance } from '../conformance/registry.ts';
import pg from 'pg';
import { PgRegistry } from '../../common/registry/pg-registry.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.ts';

const server: Promise<PrivatePostgres> = startPrivatePostgres();
// Reported by the tests that await it; this only keeps Node from treating it as unhandled meanwhile.
server.catch(() => {});
after(async () => {
  const s = await server.catch(() => undefined);
  await s?.stop();
});

async function serverOrExplain(): Promise<PrivatePostgres> {
  try {
    return await server;
  } catch (err) {
    throw new Error(`could not start a private PostgreSQL server for the registry tests (needs Debian's postgresql package): ${(err as Error).message}`);
  }
}

test('a private PostgreSQL server starts', async () => {
  const s = await serverOrExplain();
  assert.ok(s.port > 0);
});

let n = 0;
registryConformance('PostgreSQL', async () => {
  const s = await serverOrExplain();
  const db = `reg_${process.pid}_${n++}`;
  const url = await s.createDatabase(db);
  const registry = await PgRegistry.open(url);
  const raw = new pg.Pool({ connectionString: url, max: 1 });
  const tokenHash = {
    get: async (id: string) => (await raw.query<{ h: string }>('SELECT token_hash AS h FROM devices WHERE id = $1', [id])).rows[0]?.h,
    set: async (id: string, hash: string) => { await raw.query('UPDATE devices SET token_hash = $1 WHERE id = $2', [hash, id]); },
  };
  return { registry, tokenHash, cleanup: async () => { await raw.end(); await s.dropDatabase(db); } };
});

test('PostgreSQL registry: schema creation is idempotent and safe when nodes open it together', async () => {
  const s = await serverOrExplain();
  const db = `reg_${process.pid}_concurrent`;
  const url = await s.createDatabase(db);
  try {
    const regs = await Promise.all([PgRegistry.open(url), PgRegistry.open(url), PgRegistry.open(url)]);
    const a = regs[0]!;
    const admin = await Promise.all(regs.map((r) => r.ensureApiToken('at_operator_chosen_token_pg_1234', 'admin', null, 'admin')));
    assert.equal(new Set(admin.map((p) => p.tokenId)).size, 1, 'one ADMIN_TOKEN row, whichever node registered it');
    await a.recordAudit({ at: 5, actor: 'a', action: 'x', target: 't1', detail: '' });
    await a.recordAudit({ at: 6, actor: 'a', action: 'y', target: 't2', detail: '' });
    const audit = await regs[1]!.listAudit({ limit: 10 });
    assert.deepEqual(audit.map((e) => [e.action, e.at]), [['y', 6], ['x', 5]]);
    assert.equal(typeof audit[0]!.id, 'number');
    assert.deepEqual((await regs[2]!.listAudit({ limit: 10, target: 't1' })).map((e) => e.action), ['x']);
    await Promise.all(regs.map((r) => r.close()));
    const again = await PgRegistry.open(url);
    assert.equal((await again.verifyApiToken('at_operator_chosen_token_pg_1234'))?.role, 'admin');
    await again.close();
  } finally {
    await s.dropDatabase(db);
  }
});
