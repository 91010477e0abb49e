// `npm start` heals itself: scripts/start.ts runs as a user runs it (private influxd, broker, ingest writer, API;
// no simulators) on free ports in a temporary DATA_DIR. While devices publish a QoS 1 stream, each child is killed
// with SIGKILL in turn; the supervisor restarts it, /healthz reports healthy again, and in the end every
// acknowledged message is in InfluxDB exactly once. Ctrl+C (SIGINT to the process group, as a terminal or
// `timeout -s INT` sends it) stops every child before npm start exits; a service that dies during start-up stops
// what had started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT, portAnswers } from '../../scripts/launch.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { Stream, provisionFleet, storedPoints } from '../helpers/processes.ts';
import { api, tempDir } from '../helpers/system.ts';

const CHILDREN = ['influxd', 'broker', 'ingest', 'api'] as const;
type Child = (typeof CHILDREN)[number];
const ADMIN_TOKEN = 'at_self_healing_admin_0123456789';

interface Started {
  proc: ChildProcess;
  output: () => string;
  dir: string;
  apiUrl: string;
  mqttUrl: string;
  mqttPort: number;
  influxUrl: string;
  /** The running children of npm start by name, read from the process table. */
  children(): Partial<Record<Child, number>>;
  exited: Promise<number | null>;
}

async function npmStart(prepare?: (dataDir: string) => void): Promise<Started> {
  const dir = tempDir('heal');
  const [mqttPort, httpPort, influxPort] = [await freePort(), await freePort(), await freePort()];
  const { INFLUX_URL: _external, ...parentEnv } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...parentEnv, DATA_DIR: path.join(dir, 'data'), MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), INFLUX_PORT: String(influxPort),
    MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', INFLUX_DB: 'heal', ADMIN_TOKEN, SIMULATE: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  };
  prepare?.(path.join(dir, 'data'));
  // A process group of its own, as `npm start` in a terminal: SIGINT to the group is what Ctrl+C sends.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const children = (): Partial<Record<Child, number>> => {
    const found: Partial<Record<Child, number>> = {};
    let ps = '';
    try {
      ps = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(proc.pid)], { encoding: 'utf8' });
    } catch {
      return found; // no children
    }
    for (const line of ps.trim().split('\n')) {
      const [pid, ...args] = line.trim().split(/\s+/);
      const name = CHILDREN.find((c) => (c === 'influxd' ? /influxd\b/.test(args[0] ?? '') : args.some((a) => a.endsWith(`${c}/main.ts`))));
      if (name) found[name] = Number(pid);
    }
    return found;
  };
  return { proc, output: () => out, dir, apiUrl: `http://127.0.0.1:${httpPort}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, mqttPort, influxUrl: `http://127.0.0.1:${influxPort}`, children, exited };
}

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** After a failure: npm start and its children (in process groups of their own) killed, children first. */
function kill(s: Started): void {
  for (const pid of Object.values(s.children())) process.kill(pid, 'SIGKILL');
  if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
}

async function healthy(apiUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { status: string }).status === 'ok';
  } catch {
    return false;
  }
}

async function spoolRows(apiUrl: string): Promise<number> {
  return ((await (await fetch(`${apiUrl}/healthz`)).json()) as { spool: { rows: number } }).spool.rows;
}

test('npm start restarts each child killed with SIGKILL; /healthz recovers; every acknowledged message is stored once', { timeout: 120_000 }, async () => {
  const s = await npmStart();
  const store = new InfluxStore({ url: s.influxUrl, db: 'heal' });
  let stream: Stream | undefined;
  try {
    await waitFor(() => healthy(s.apiUrl), 60_000, 'npm start to be up');
    assert.deepEqual(Object.keys(s.children()).sort(), [...CHILDREN].sort(), s.output());
    const devices = await provisionFleet({ apiUrl: s.apiUrl, adminToken: ADMIN_TOKEN }, 10);
    const st = new Stream(s.mqttUrl, devices, 250);
    stream = st;
    await st.connect();
    const killed: Child[] = [];
    const telemetry = `/api/v1/devices/${devices[0]!.id}/telemetry?metric=power_kw&from=${st.baseTs - 1}&to=${Date.now()}`;
    const chaos = async (): Promise<void> => {
      for (const name of ['broker', 'ingest', 'api', 'influxd'] as const) {
        await waitFor(async () => st.published >= 200 * (killed.length + 1), 30_000, 'more messages');
        const pid = s.children()[name];
        assert.ok(pid, `${name} runs`);
        process.kill(pid, 'SIGKILL');
        killed.push(name);
        await waitFor(async () => {
          const now = s.children()[name];
          return now !== undefined && now !== pid && (await healthy(s.apiUrl)) && (name !== 'broker' || (await portAnswers(s.mqttPort)));
        }, 30_000, `${name} to be restarted and /healthz to be healthy`);
      }
      // After InfluxDB came back, telemetry queries through the API answer again.
      await waitFor(async () => (await api(s, ADMIN_TOKEN, 'GET', telemetry)).status === 200, 10_000, 'telemetry queries to answer');
    };
    await Promise.all([st.run(100), chaos()]);
    assert.deepEqual(killed, ['broker', 'ingest', 'api', 'influxd']);
    for (const name of killed) assert.match(s.output(), new RegExp(`${name} exited unexpectedly \\(signal SIGKILL\\); restarting in \\d+ ms`));
    assert.equal(st.acked.size, st.published, 'every message was eventually acknowledged');
    await waitFor(async () => (await spoolRows(s.apiUrl)) === 0, 30_000, 'the spool to drain');
    assert.equal(await storedPoints(store), st.published, 'stored = published = acknowledged, no duplicates');
    await st.close();
    stream = undefined;

    const pids = Object.values(s.children());
    process.kill(-s.proc.pid!, 'SIGINT');
    assert.equal(await s.exited, 0);
    assert.match(s.output(), /Stopping\.\.\./);
    for (const pid of pids) assert.ok(gone(pid), `child ${pid} was stopped before npm start exited`);
  } finally {
    await stream?.close().catch(() => {});
    kill(s);
    await store.close();
    if (!process.env.KEEP_TEST_DIRS) fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

test('a service that dies during start-up: npm start stops what it had started and exits 1', { timeout: 60_000 }, async () => {
  // The broker cannot open its spool (a directory where the file should be) and exits while starting.
  const s = await npmStart((dataDir) => fs.mkdirSync(dataDirLayout(dataDir).spool, { recursive: true }));
  const seen = new Set<number>();
  const watch = setInterval(() => { for (const pid of Object.values(s.children())) seen.add(pid); }, 50);
  try {
    assert.equal(await s.exited, 1, s.output());
    clearInterval(watch);
    assert.match(s.output(), /broker exited during start-up \(exit code 1\)/);
    assert.ok(seen.size >= 2, 'influxd and the broker had started');
    for (const pid of seen) assert.ok(gone(pid), `child ${pid} was stopped`);
  } finally {
    clearInterval(watch);
    kill(s);
    if (!process.env.KEEP_TEST_DIRS) fs.rmSync(s.dir, { recursive: true, force: true });
  }
});
