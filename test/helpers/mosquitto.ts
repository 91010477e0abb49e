// A private Mosquitto broker for tests, from Debian's package (`apt-get install -y mosquitto`): anonymous, on a
// free 127.0.0.1 port, unlimited offline queue, no persistence file. Stands in for "an existing broker".
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, waitFor } from '../../scripts/net.ts';
import { tempDir } from './system.ts';

export interface PrivateMosquitto {
  port: number;
  url: string;
  /** What the broker logged so far (stderr). */
  log(): string;
  stop(): Promise<void>;
}

export function mosquittoBinary(): string {
  for (const p of [process.env.MOSQUITTO_BIN, '/usr/sbin/mosquitto', '/usr/bin/mosquitto']) if (p && fs.existsSync(p)) return p;
  throw new Error('mosquitto not found (/usr/sbin/mosquitto): install it with `apt-get install -y mosquitto` (or set MOSQUITTO_BIN)');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export async function startMosquitto(dir = tempDir('mosq'), extraConf: string[] = []): Promise<PrivateMosquitto> {
  const bin = mosquittoBinary();
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    // 0 = no limit: a subscriber that is away (killed, restarting) must not lose its session's queue.
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    ...extraConf,
    '',
  ].join('\n'));
  let out = '';
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => { exited = true; resolve(); }));
  proc.once('error', (err) => { out += `\n${err.message}`; });
  try {
    await waitFor(async () => {
      if (exited) throw new Error('mosquitto exited during start-up');
      return portOpen(port);
    }, 10_000, `mosquitto to listen on port ${port}`);
  } catch (err) {
    if (!exited) proc.kill('SIGKILL');
    await exit;
    throw new Error(`${(err as Error).message}\n${out.slice(-2000)}`);
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log: () => out,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) proc.kill('SIGKILL'); }, 5000);
      await exit;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
