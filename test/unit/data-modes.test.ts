// Files of the data directory are private whatever the umask, and those an older version left readable by others
// are narrowed when opened: SQLite databases with their -wal and -shm, secrets, folders.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, narrowMode } from '../../common/data-dir.ts';
import { openDb } from '../../common/sqlite.ts';
import { loadOrCreateSecret } from '../../common/secrets.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-modes-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** Runs fn under umask 000, where anything created without an explicit mode is world-writable. */
function underUmask0<T>(fn: () => T): T {
  const old = process.umask(0);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

test('new: folders 0700, databases with their WAL and shared memory 0600, secrets 0600, under umask 000', () => {
  const dir = path.join(root, 'new', 'data');
  underUmask0(() => {
    const db = openDb(path.join(dir, 'x.db'), ['CREATE TABLE t (v)']);
    db.prepare('INSERT INTO t VALUES (1)').run();
    loadOrCreateSecret(path.join(root, 'new', 'secrets', 'admin-token'), 'at');
    assert.deepEqual(['x.db', 'x.db-wal', 'x.db-shm'].map((f) => mode(path.join(dir, f))), ['600', '600', '600']);
    db.close();
  });
  assert.equal(mode(path.join(root, 'new')), '700', 'missing parents too');
  assert.equal(mode(dir), '700');
  assert.equal(mode(path.join(root, 'new', 'secrets')), '700');
  assert.equal(mode(path.join(root, 'new', 'secrets', 'admin-token')), '600');
});

test('an older data directory (0755, files 0644) is narrowed; its data stays', () => {
  const dir = path.join(root, 'old');
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const file = path.join(dir, 'x.db');
  const db = openDb(file, ['CREATE TABLE t (v)']);
  db.prepare('INSERT INTO t VALUES (42)').run();
  db.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o644);
  ensurePrivateDir(dir);
  assert.equal(mode(dir), '700');
  const again = openDb(file, ['CREATE TABLE t (v)']);
  assert.deepEqual(again.prepare('SELECT v FROM t').all(), [{ v: 42 }]);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) assert.equal(mode(f), '600', f);
  again.close();
});

test('narrowMode only takes away: a missing path is no error, a 0400 file stays 0400', () => {
  narrowMode(path.join(root, 'nothing-here'), 0o600);
  const f = path.join(root, 'read-only');
  fs.writeFileSync(f, 'x', { mode: 0o400 });
  narrowMode(f, 0o600);
  assert.equal(mode(f), '400');
});
