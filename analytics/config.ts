// Environment variables of the monitoring features (docs/monitoring.md). Settings people change at run time
// (conversion factors, shifts, nominal speeds, weights) are in the monitoring database instead.
import path from 'node:path';
import { ConfigError } from '../common/config.ts';
import type { Logger } from '../common/log.ts';
import type { Registry } from '../common/registry/registry.ts';
import type { TelemetryStore } from '../common/telemetry-store/store.ts';
import { Monitoring } from './index.ts';
import { HOUR, MINUTE } from '../common/time.ts';

type Env = Record<string, string | undefined>;

function num(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(name, `expected a number, got "${raw}"`);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export interface MonitoringEnv {
  file: string;
  energyLookbackMs: number;
  liveWindowMs: number;
  rollupIntervalMs: number;
  offlineCheckMs: number;
  offlineAfterMs: number;
}

export function monitoringEnv(dataDir: string, env: Env = process.env): MonitoringEnv {
  return {
    file: env.MONITORING_DB && env.MONITORING_DB !== '' ? path.resolve(env.MONITORING_DB) : path.join(dataDir, 'monitoring.db'),
    energyLookbackMs: num(env, 'ENERGY_LOOKBACK_HOURS', 6, 0.25, 24 * 31) * HOUR,
    liveWindowMs: num(env, 'ENERGY_LIVE_WINDOW_S', 300, 5, 86_400) * 1000,
    rollupIntervalMs: num(env, 'ROLLUP_INTERVAL_S', 120, 5, 3600) * 1000,
    offlineCheckMs: num(env, 'OFFLINE_CHECK_S', 60, 5, 3600) * 1000,
    offlineAfterMs: num(env, 'STATE_UNKNOWN_AFTER_MIN', 10, 1, 1440) * MINUTE,
  };
}

/** The API's Monitoring from the environment (DATA_DIR/monitoring.db unless MONITORING_DB says otherwise). */
export function openMonitoringFromEnv(o: { dataDir: string; registry: Registry; store: TelemetryStore; log: Logger; connectedWindowDays: number; env?: Env }): Monitoring {
  const e = monitoringEnv(o.dataDir, o.env);
  return new Monitoring({
    file: e.file, registry: o.registry, store: o.store, log: o.log, connectedWindowDays: o.connectedWindowDays,
    energy: { lookbackMs: e.energyLookbackMs, liveWindowMs: e.liveWindowMs },
    rollup: { intervalMs: e.rollupIntervalMs },
    oee: { offlineAfterMs: e.offlineAfterMs },
    offlineCheckMs: e.offlineCheckMs,
  });
}
