// A private influxd (Debian's InfluxDB 1.6 package) with its data under a directory of ours, for `npm start`
// without INFLUX_URL, for tests and for benchmarks. Both its ports are chosen here so it never clashes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitFor } from './net.ts';

export interface PrivateInfluxd {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Kill -9 (fault tests): the data on disk stays. */
  kill(): void;
  /** Start again on the same port and directory after stop() or kill(). */
  restart(): Promise<void>;
}

/** `configured` (INFLUXD_BIN) when it exists, else Debian's. */
export function influxdBinary(configured?: string): string | undefined {
  for (const p of [configured, '/usr/bin/influxd', '/usr/local/bin/influxd']) if (p && fs.existsSync(p)) return p;
  return undefined;
}

async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.status === 204;
  } catch {
    return false;
  }
}

async function refuseIfAnswering(url: string, port: number): Promise<void> {
  if (await ping(url)) throw new Error(`port ${port} already answers as InfluxDB: is another influxd running? Set INFLUX_PORT or INFLUX_URL`);
}

/** What runs a private influxd: its binary, arguments, address and log, with the config file written. */
export interface InfluxdCommand {
  bin: string;
  args: string[];
  url: string;
  port: number;
  logFile: string;
}

/**
 * Writes the config of a private influxd under `dir` (HTTP on `httpPort`, else a free port) and says how to run it.
 * Refuses when the port already answers as InfluxDB: ours would fail to bind while the other one answered for it.
 */
export async function privateInfluxdCommand(dir: string, httpPort?: number, binary?: string): Promise<InfluxdCommand> {
  const bin = influxdBinary(binary);
  if (!bin) throw new Error('influxd not found: install Debian\'s "influxdb" package (npm start and npm test do this) or set INFLUX_URL');
  fs.mkdirSync(dir, { recursive: true });
  const port = httpPort && httpPort > 0 ? httpPort : await freePort();
  const rpcPort = await freePort();
  const conf = path.join(dir, 'influxd.conf');
  fs.writeFileSync(conf, `reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = "${path.join(dir, 'meta')}"
[data]
  dir = "${path.join(dir, 'data')}"
  wal-dir = "${path.join(dir, 'wal')}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${port}"
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[continuous_queries]
  log-enabled = false
`);
  const url = `http://127.0.0.1:${port}`;
  await refuseIfAnswering(url, port);
  return { bin, args: ['-config', conf], url, port, logFile: path.join(dir, 'influxd.log') };
}

/** Starts one influxd process, its output appended to its log; `detached`: in a process group of its own. */
export function spawnInfluxd(cmd: InfluxdCommand, detached = false): ChildProcess {
  const log = fs.openSync(cmd.logFile, 'a');
  const child = spawn(cmd.bin, cmd.args, { stdio: ['ignore', log, log], detached });
  fs.closeSync(log);
  return child;
}

/** Resolves when the influxd started as `child` answers /ping; rejects when it exits first. */
export async function influxdReady(cmd: InfluxdCommand, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  let exited: string | undefined;
  child.once('exit', (code, sig) => { exited = `influxd exited (${code ?? sig}); see ${cmd.logFile}`; });
  await waitFor(async () => {
    if (exited) throw new Error(exited);
    return ping(cmd.url);
  }, timeoutMs, `influxd on ${cmd.url}`);
}

export async function startPrivateInfluxd(dir: string, httpPort?: number, binary?: string): Promise<PrivateInfluxd> {
  const cmd = await privateInfluxdCommand(dir, httpPort, binary);
  let child = spawnInfluxd(cmd);
  await influxdReady(cmd, child);
  const launch = async (): Promise<void> => {
    await refuseIfAnswering(cmd.url, cmd.port);
    child = spawnInfluxd(cmd);
    await influxdReady(cmd, child);
  };

  const handle: PrivateInfluxd = {
    url: cmd.url,
    port: cmd.port,
    get process() { return child; },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
    kill() { child.kill('SIGKILL'); },
    async restart() {
      await handle.stop();
      await launch();
    },
  };
  return handle;
}
