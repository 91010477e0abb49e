// The reconnect storm: N devices connected and publishing, the broker killed (SIGKILL) and started again, and the
// time until every device is connected again and has a message acknowledged, with every acknowledged message
// checked in InfluxDB. Devices reconnect like firmware does (random delay, backoff while refused), all from this
// machine's one address, so the broker's per-address pre-login cap is raised for the run (devices in the field
// come from many addresses).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { makeUscc } from '../../common/ids.ts';
import { topicFor } from '../../common/contract/topics.ts';
import type { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { ROOT, startService, waitForPort, type ServiceProcess } from '../../scripts/launch.ts';
import type { StormConfig, StormResult } from './storm-devices.ts';

export interface StormFigures {
  devices: number;
  /** Kill to the last device back (connected and acknowledged); null: not all were back by the deadline. */
  seconds: number | null;
  returned: number;
  reconnectAttempts: number;
  acked: number;
  lost: number;
  brokerRestartMs: number;
}

export interface StormSystem {
  registryFile: string;
  url: string;
  mqttPort: number;
  store: InfluxStore;
  env: NodeJS.ProcessEnv;
  logDir: string;
  broker: ServiceProcess;
  /** Devices already in the registry (sizes the restarted broker's heap with the storm's). */
  otherDevices: number;
  waitDrained(): Promise<void>;
}

const STORM_FIRM = makeUscc('533102', 4343);

async function seedStormFleet(registryFile: string, n: number): Promise<StormConfig['devices']> {
  const registry = new SqliteRegistry(registryFile);
  await registry.createFirm({ id: STORM_FIRM, name: 'storm', county: '533102', park: 'ruili-coop', segment: 'weaving', aboveScale: true, employees: 1, landMu: 1, smartFactoryTier: 'none', demo: true });
  const out: StormConfig['devices'] = [];
  for (let i = 0; i < n; i += 50) {
    const made = await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => registry.createDevice({ firmId: STORM_FIRM, type: 'loom', name: `s${i + k}`, id: `storm-${i + k}` })));
    for (const m of made) out.push({ id: m.device.id, token: m.token, topic: topicFor(STORM_FIRM, m.device.id, 'telemetry') });
  }
  await registry.close();
  return out;
}

/** Runs the storm; returns the figures and the broker process now running (the restarted one). */
export async function reconnectStorm(sys: StormSystem, n: number, baseTs: number, log: (...m: unknown[]) => void): Promise<{ figures: StormFigures; broker: ServiceProcess }> {
  const devices = await seedStormFleet(sys.registryFile, n);
  log(`storm: ${n} devices provisioned`);
  // The broker as npm start would run it for this fleet (its heap sized for it).
  const fleetDevices = sys.otherDevices + n;
  await sys.broker.stop();
  const before = startService('broker', { env: sys.env, logDir: sys.logDir, fleetDevices });
  await waitForPort(sys.mqttPort, before);
  const cfg: StormConfig = { url: sys.url, devices, everyMs: 10_000, baseTs, deadlineMs: 300_000 };
  const cfgFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dh-storm-')), 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify(cfg), { mode: 0o600 });
  const gen = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/ingest/storm-devices.ts'), cfgFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => gen.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('READY\n')) resolve(); }));
  const done = new Promise<StormResult>((resolve, reject) => gen.once('exit', (code) => {
    const line = out.trim().split('\n').pop();
    if (code !== 0 || !line?.startsWith('{')) reject(new Error(`storm devices failed (${code})`));
    else resolve(JSON.parse(line) as StormResult);
  }));
  await ready;
  log(`storm: ${n} devices connected; publishing for 15 s before the kill`);
  await new Promise((r) => setTimeout(r, 15_000));
  gen.kill('SIGUSR2');
  await before.stop('SIGKILL');
  const restartAt = performance.now();
  const broker = startService('broker', { env: sys.env, logDir: sys.logDir, fleetDevices });
  await waitForPort(sys.mqttPort, broker);
  const brokerRestartMs = performance.now() - restartAt;
  const r = await done;
  fs.rmSync(path.dirname(cfgFile), { recursive: true, force: true });
  await sys.waitDrained();
  const stored = await storedSeqs(sys.store, baseTs);
  let acked = 0;
  let lost = 0;
  r.acked.forEach((seqs, i) => {
    for (const s of seqs) {
      acked++;
      if (!stored.has(`storm-${i}:${s}`)) lost++;
    }
  });
  const figures: StormFigures = { devices: n, seconds: r.seconds, returned: r.returned, reconnectAttempts: r.reconnectAttempts, acked, lost, brokerRestartMs };
  log(`storm: ${r.returned}/${n} back in ${r.seconds?.toFixed(1) ?? '–'} s (broker listening again after ${Math.round(brokerRestartMs)} ms), ${acked} acknowledged, ${lost} lost`);
  return { figures, broker };
}

async function storedSeqs(store: InfluxStore, baseTs: number): Promise<Set<string>> {
  const out = new Set<string>();
  const series = await store.query(`SELECT "seq", "device" FROM "loom" WHERE "firm" = '${STORM_FIRM}' AND time >= ${baseTs}ms AND time < ${baseTs + 10_000_000}ms`);
  for (const s of series) {
    const iSeq = s.columns.indexOf('seq');
    const iDev = s.columns.indexOf('device');
    for (const row of s.values) out.add(`${String(row[iDev])}:${String(row[iSeq])}`);
  }
  return out;
}
