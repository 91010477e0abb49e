// Opening SQLite the same way everywhere: WAL, a busy timeout (the broker, the writer and the API share files),
// a schema version in user_version, and private files (0600; SQLite gives the -wal and -shm files the database's mode).
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensurePrivateFile, narrowMode } from './data-dir.ts';

export type Db = Database.Database;

export interface OpenOptions {
  /** FULL makes a commit survive power loss, not only a process crash. */
  synchronous?: 'NORMAL' | 'FULL';
}

export function openDb(file: string, migrations: readonly string[], opts: OpenOptions = {}): Db {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    ensurePrivateFile(file); // an empty file is an empty database to SQLite
    for (const side of ['-wal', '-shm']) narrowMode(file + side, PRIVATE_FILE_MODE);
  }
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}
