// The data directory is private after `npm start`: scripts/start.ts runs as a user runs it (private influxd,
// broker, ingest writer, API, a development certificate; no simulators) in a fresh DATA_DIR under a permissive
// umask, and every folder it made there is 0700 and every file 0600: SQLite databases with their -wal and -shm,
// secrets, logs, TLS keys and certificates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT } from '../../scripts/launch.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { tempDir } from '../helpers/system.ts';

/** Every path under `root` with its permission bits; influxdb/ is influxd's own layout, private through DATA_DIR's 0700. */
function modes(root: string, skip: string): Array<[string, string, 'dir' | 'file']> {
  const out: Array<[string, string, 'dir' | 'file']> = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (p === skip) continue;
      out.push([path.relative(root, p), (fs.statSync(p).mode & 0o777).toString(8), e.isDirectory() ? 'dir' : 'file']);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

test('after npm start, DATA_DIR is 0700 and everything in it 0600 (folders 0700), though the umask allowed 0644', async () => {
  const dir = tempDir('modes');
  const dataDir = path.join(dir, 'data');
  const files = dataDirLayout(dataDir);
  const [mqttPort, httpPort, influxPort, mqttsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const { INFLUX_URL: _external, ADMIN_TOKEN: _admin, ...parentEnv } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...parentEnv, DATA_DIR: dataDir, MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), INFLUX_PORT: String(influxPort), MQTTS_PORT: String(mqttsPort),
    MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', INFLUX_DB: 'modes', SIMULATE: '0', TLS_SELF_SIGNED: '1', LOG_LEVEL: 'info',
  };
  // Under the usual umask files would be 0644: the modes must come from the code, not from the environment.
  const umask = process.umask(0o022);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  process.umask(umask);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`npm start exited:\n${out}`);
      return out.includes('is running');
    }, 120_000, 'npm start to be running');
    // What the services create after their start-up (monitoring.db's WAL, the logs) is there by now.
    await waitFor(async () => fs.existsSync(`${files.spool}-wal`) && fs.existsSync(`${files.monitoring}-wal`), 10_000, 'the WAL files');

    assert.equal((fs.statSync(dataDir).mode & 0o777).toString(8), '700', 'DATA_DIR');
    const found = modes(dataDir, files.influxdb);
    const names = found.map(([p]) => p);
    for (const expected of ['registry.db', 'registry.db-wal', 'spool.db', 'spool.db-shm', 'monitoring.db', 'admin-token', 'service-secret', 'logs', 'logs/api.log', 'logs/broker.log', 'tls/key.pem', 'tls/ca.key']) {
      assert.ok(names.includes(expected), `${expected} exists (found: ${names.join(', ')})`);
    }
    const open = found.filter(([, mode, kind]) => mode !== (kind === 'dir' ? '700' : '600'));
    assert.deepEqual(open, [], 'folders 0700, files 0600');
  } finally {
    if (proc.exitCode === null) process.kill(-proc.pid!, 'SIGINT');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
