// Shared by the benchmarks: CPU and memory of a process from /proc, percentiles, running a load generator, and
// counting what reached InfluxDB.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/launch.ts';
import type { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import type { LoadConfig, LoadResult } from './loadgen.ts';

const CLK_TCK = 100;
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
  } catch {
    return 0;
  }
}
export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
/** Samples the RSS of named processes every `everyMs` and keeps each one's peak, until `stop()`. */
export function watchPeakRss<K extends string>(pids: Record<K, number | undefined>, everyMs: number): { peak: Record<K, number>; stop(): void } {
  const names = Object.keys(pids) as K[];
  const peak = Object.fromEntries(names.map((k) => [k, 0])) as Record<K, number>;
  const timer = setInterval(() => {
    for (const k of names) peak[k] = Math.max(peak[k], rssMb(pids[k]));
  }, everyMs);
  return { peak, stop: () => clearInterval(timer) };
}
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number) : 0;
}

/** Runs a load generator process; `onStart` runs when its connections are up and publishing begins. */
export function runLoad(cfg: LoadConfig, onStart?: () => void): Promise<LoadResult & { ackedTotal: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/ingest/loadgen.ts'), JSON.stringify(cfg)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let started = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!started && out.includes('START\n')) {
        started = true;
        onStart?.();
      }
    });
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`load generator failed (${code}): ${out}`));
      resolve(JSON.parse(line) as LoadResult & { ackedTotal: number });
    });
  });
}


/** Loom points stored in one step's slice of device time, [baseTs, baseTs + 10,000 s); `where` narrows it further. */
export async function storedInSlice(store: InfluxStore, baseTs: number, where = ''): Promise<number> {
  const series = await store.query(`SELECT count("seq") FROM "loom" WHERE ${where}time >= ${baseTs}ms AND time < ${baseTs + 10_000_000}ms`);
  return (series[0]?.values[0]?.[1] as number | undefined) ?? 0;
}
