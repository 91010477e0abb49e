// A private PostgreSQL server for tests, from Debian's packages (`apt-get install -y postgresql`): initdb into a
// temporary directory, postgres on a free 127.0.0.1 port with its socket in that directory, trust auth, stopped
// at the end. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from '../../scripts/net.ts';
import { tempDir } from './system.ts';

export interface PrivatePostgres {
  port: number;
  /** Connection string of the superuser's `postgres` database. */
  url: string;
  /** Connection string of another database on the same server. */
  urlOf(db: string): string;
  /** Creates a fresh database and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

const SUPERUSER = 'dhtest';

/** The newest PostgreSQL server installed by Debian's packages, or PG_BIN. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'postgres')) && fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql` (or set PG_BIN)');
}

function postgresUser(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const parts = line?.split(':');
  if (!parts || parts.length < 4) throw new Error('running as root, and there is no `postgres` system user to run PostgreSQL as (Debian\'s postgresql package creates it)');
  return { uid: Number(parts[2]), gid: Number(parts[3]) };
}

export async function startPrivatePostgres(dir = tempDir('pg')): Promise<PrivatePostgres> {
  try {
    return await start(dir);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function start(dir: string): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : undefined;
  const dataDir = path.join(dir, 'data');
  const sockDir = path.join(dir, 'sock');
  fs.mkdirSync(sockDir, { recursive: true });
  if (user) {
    fs.chownSync(dir, user.uid, user.gid);
    fs.chownSync(sockDir, user.uid, user.gid);
  }
  const spawnOpts: SpawnOptions = { cwd: dir, env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' }, ...(user ? { uid: user.uid, gid: user.gid } : {}) };
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'], { ...spawnOpts, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (exit ${init.status ?? init.signal}): ${init.stderr || init.stdout || init.error?.message}`);

  const port = await freePort();
  const logFile = path.join(dir, 'postgres.log');
  const log = fs.openSync(logFile, 'a');
  if (user) fs.fchownSync(log, user.uid, user.gid);
  const proc: ChildProcess = spawn(path.join(bin, 'postgres'), [
    '-D', dataDir, '-p', String(port), '-k', sockDir, '-c', 'listen_addresses=127.0.0.1',
    // A throwaway test server: no need to survive power loss.
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=50', '-c', 'shared_buffers=32MB',
  ], { ...spawnOpts, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => { exited = true; resolve(); }));
  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  const readLog = () => { try { return fs.readFileSync(logFile, 'utf8').slice(-2000); } catch { return ''; } };

  try {
    await waitFor(async () => {
      if (exited) throw new Error(`postgres exited during start-up:\n${readLog()}`);
      const c = new pg.Client({ connectionString: url });
      c.on('error', () => {});
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        await c.end().catch(() => {});
        return false;
      }
    }, 30_000, `PostgreSQL to accept connections on port ${port}`, 100);
  } catch (err) {
    if (!exited) proc.kill('SIGKILL');
    await exit;
    throw new Error(`${(err as Error).message}\n${readLog()}`);
  }

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try { return await fn(c); } finally { await c.end(); }
  };
  const urlOf = (db: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${db}`;
  return {
    port, url, urlOf,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return urlOf(name);
    },
    async dropDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
    async stop() {
      // SIGINT = fast shutdown: roll back open transactions, close connections, exit.
      if (!exited) proc.kill('SIGINT');
      const timer = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 10_000);
      await exit;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
