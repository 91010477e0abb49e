// The analytics' options from the process' Config (monitoring variables: docs/monitoring.md). Settings people
// change at run time (conversion factors, shifts, nominal speeds, weights) are in the monitoring database instead.
import type { Config } from '../common/config.ts';
import type { MonitoringOptions } from './index.ts';

export function monitoringOptions(config: Config): Omit<MonitoringOptions, 'registry' | 'store' | 'log'> {
  const m = config.monitoring;
  return {
    file: m.file,
    connectedWindowDays: config.connectedWindowDays,
    energy: { liveWindowMs: m.liveWindowMs },
    rollup: { intervalMs: m.rollupIntervalMs, maxAgeMs: config.maxAgeDays * 86_400_000 },
    oee: { offlineAfterMs: m.offlineAfterMs },
    offlineCheckMs: m.offlineCheckMs,
  };
}
