// Starting the services as their own processes (broker, ingest writer, API), each the same command a user can
// run alone. Used by `npm start` and by the end-to-end and fault tests.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokerMaxHeapMb } from '../common/config.ts';
import { PRIVATE_FILE_MODE } from '../common/data-dir.ts';
import { waitFor } from './net.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES = { broker: 'broker/main.ts', ingest: 'ingest/main.ts', api: 'api/main.ts' } as const;
/**
 * The broker's heap cap for a fleet of `devices`: the floor of 192 MB, plus about 64 KB per connection (measured:
 * Aedes' client state, socket buffers and the admission memory per device), rounded up to 32 MB. A cap at all,
 * because under a steady stream V8 otherwise lets garbage pile up to several hundred MB before collecting
 * (measured: 594 MB through a 60 s InfluxDB outage at 5,000 msg/s, 259-300 MB with a cap, same throughput); the
 * spool keeps the backlog on disk, not in the heap.
 */
export const BROKER_HEAP_FLOOR_MB = 192;
export const BROKER_HEAP_BASE_MB = 128;
export const BROKER_HEAP_KB_PER_DEVICE = 64;
export function brokerHeapForFleet(devices: number): number {
  const need = BROKER_HEAP_BASE_MB + (Math.max(0, devices) * BROKER_HEAP_KB_PER_DEVICE) / 1024;
  return Math.max(BROKER_HEAP_FLOOR_MB, Math.ceil(need / 32) * 32);
}

/**
 * The Node flags of the sample deployments (docker-compose.yml, deploy/systemd): the heap floor, which holds about
 * 1,000 connections per broker process; set a larger --max-old-space-size there by brokerHeapForFleet's rule
 * (docs/deployment.md).
 */
export const SERVICE_NODE_ARGS: Record<ServiceName, string[]> = { broker: [`--max-old-space-size=${BROKER_HEAP_FLOOR_MB}`], ingest: [], api: [] };

/** The flags of a service started with `env`: the broker's heap as configured, or sized for the fleet. */
function nodeArgsOf(name: ServiceName, env: NodeJS.ProcessEnv, fleetDevices: number): string[] {
  if (name !== 'broker') return [];
  const heap = brokerMaxHeapMb(env) ?? brokerHeapForFleet(fleetDevices);
  return heap === 0 ? [] : [`--max-old-space-size=${heap}`];
}
export type ServiceName = keyof typeof SERVICES;

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface LaunchOptions {
  env: NodeJS.ProcessEnv;
  /** Where each service's output goes: a directory (one log file each) or 'inherit' with a name prefix. */
  logDir?: string;
  /** Devices in the registry: sizes the broker's heap unless BROKER_MAX_HEAP_MB is set. */
  fleetDevices?: number;
  /** Extra Node.js flags (e.g. --cpu-prof for the benchmark's profile). */
  nodeArgs?: string[];
  /** Run the compiled JavaScript under this folder (`npm run build`'s dist/) instead of the TypeScript through tsx. */
  compiledDir?: string;
  /**
   * In a process group of its own (`npm start`'s supervisor): a Ctrl+C in the terminal then reaches only the
   * supervisor, which stops the services in order instead of all of them at once.
   */
  detached?: boolean;
}

/** Compiled itself (`npm run start:prod` runs dist/scripts/start.js), this module starts the compiled services beside it. */
const COMPILED_ROOT = import.meta.url.endsWith('.js') ? ROOT : undefined;

/** What follows the Node flags in a service's command: its TypeScript through tsx, or its JavaScript in `compiledDir`. */
export function serviceEntry(name: ServiceName, compiledDir?: string): string[] {
  return compiledDir ? [path.join(compiledDir, SERVICES[name].replace(/\.ts$/, '.js'))] : ['--import', 'tsx', SERVICES[name]];
}

export function serviceLogFile(logDir: string, name: ServiceName): string {
  return path.join(logDir, `${name}.log`);
}

export function startService(name: ServiceName, opts: LaunchOptions): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgsOf(name, opts.env, opts.fleetDevices ?? 0), ...(opts.nodeArgs ?? []), ...serviceEntry(name, opts.compiledDir ?? COMPILED_ROOT)], {
    cwd: COMPILED_ROOT ? path.dirname(COMPILED_ROOT) : ROOT, // the repository either way, as for `npm start`
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  const sink = opts.logDir ? fs.createWriteStream(serviceLogFile(opts.logDir, name), { flags: 'a', mode: PRIVATE_FILE_MODE }) : undefined;
  const forward = (chunk: Buffer) => {
    if (sink) sink.write(chunk);
    else for (const line of chunk.toString('utf8').split('\n')) if (line) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  child.once('exit', () => sink?.end());
  return {
    name,
    child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(t);
    },
  };
}

/** What the waits below need of a service: its name and its running process. */
type Started = Pick<ServiceProcess, 'name' | 'child'>;

function exited(p: Started): string | undefined {
  return p.child.exitCode !== null || p.child.signalCode !== null ? `${p.name} exited (${p.child.exitCode ?? p.child.signalCode})` : undefined;
}

/** Whether something accepts connections on the port (on 127.0.0.1). */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function waitForPort(port: number, p: Started, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => {
    const gone = exited(p);
    if (gone) throw new Error(gone);
    return portAnswers(port);
  }, timeoutMs, `${p.name} on port ${port}`);
}

export async function waitForHttp(url: string, p: Started, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => {
    const gone = exited(p);
    if (gone) throw new Error(gone);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }, timeoutMs, `${p.name} at ${url}`);
}
