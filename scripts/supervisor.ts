// Keeps `npm start`'s child processes running. A child that exits after it was ready is started again after a
// backoff that doubles up to a cap and falls back to the minimum once the child had stayed up a while, so a crash
// loop neither spins nor leaves a healed service waiting long. A child that exits before it is ready fails
// start() instead: a service that cannot start is a configuration problem, not something to retry forever.
// stop() ends the children one by one in the order given and waits for each (SIGKILL after a timeout).
import type { ChildProcess } from 'node:child_process';

export interface ChildSpec {
  name: string;
  /** Starts one instance; called again for every restart. */
  spawn(): ChildProcess;
  /** Resolves when the instance serves (its port answers); start() waits for it. */
  ready?(child: ChildProcess): Promise<void>;
}

export interface SupervisorOptions {
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Uptime after which the next restart waits only minBackoffMs again. */
  resetAfterMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  log?: (line: string) => void;
}

interface Entry {
  spec: ChildSpec;
  child: ChildProcess | undefined;
  startedAt: number;
  backoffMs: number;
  ready: boolean;
  timer: NodeJS.Timeout | undefined;
  failStart: (err: Error) => void;
}

export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function alive(child: ChildProcess | undefined): child is ChildProcess {
  return !!child && child.exitCode === null && child.signalCode === null;
}

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private stopping = false;
  private readonly min: number;
  private readonly max: number;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.min = opts.minBackoffMs ?? 500;
    this.max = opts.maxBackoffMs ?? 30_000;
  }

  /** Starts a child and resolves when it is ready; rejects when it exits first or the supervisor is stopping. */
  start(spec: ChildSpec): Promise<void> {
    if (this.stopping) return Promise.reject(new Error(`not starting ${spec.name}: stopping`));
    if (this.entries.has(spec.name)) return Promise.reject(new Error(`${spec.name} is already supervised`));
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { spec, child: undefined, startedAt: 0, backoffMs: this.min, ready: false, timer: undefined, failStart: reject };
      this.entries.set(spec.name, entry);
      const child = this.spawn(entry);
      Promise.resolve(spec.ready?.(child)).then(() => {
        if (!alive(entry.child)) return; // the exit handler has rejected already
        entry.ready = true;
        resolve();
      }, reject);
    });
  }

  /** The running instance of a child (undefined while it waits to be restarted). */
  child(name: string): ChildProcess | undefined {
    return this.entries.get(name)?.child;
  }

  /** Stops the children named in `order` first, one at a time, then any others (last started first). */
  async stop(order: readonly string[] = []): Promise<void> {
    this.stopping = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    const rest = [...this.entries.keys()].reverse().filter((n) => !order.includes(n));
    for (const name of [...order, ...rest]) await this.stopOne(this.entries.get(name)?.child);
  }

  private spawn(entry: Entry): ChildProcess {
    const child = entry.spec.spawn();
    entry.child = child;
    entry.startedAt = Date.now();
    child.once('exit', (code, signal) => this.exited(entry, child, code, signal));
    // A process that cannot be spawned emits 'error' (and no 'exit' when it never ran).
    child.once('error', (err) => {
      if (child.pid === undefined) this.exited(entry, child, null, null, err.message);
    });
    return child;
  }

  private exited(entry: Entry, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (entry.child !== child) return;
    entry.child = undefined;
    const why = error ?? exitReason(code, signal);
    const { name } = entry.spec;
    if (!entry.ready) {
      entry.failStart(new Error(`${name} exited during start-up (${why})`));
      return;
    }
    if (this.stopping) return;
    if (Date.now() - entry.startedAt >= (this.opts.resetAfterMs ?? 60_000)) entry.backoffMs = this.min;
    const delay = entry.backoffMs;
    entry.backoffMs = Math.min(delay * 2, this.max);
    this.log(`${name} exited unexpectedly (${why}); restarting in ${delay} ms`);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.stopping) return;
      const next = this.spawn(entry);
      this.log(`${name} restarted (pid ${next.pid ?? '?'})`);
    }, delay);
  }

  private async stopOne(child: ChildProcess | undefined): Promise<void> {
    if (!alive(child)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.error(l)))(`[supervisor] ${line}`);
  }
}
