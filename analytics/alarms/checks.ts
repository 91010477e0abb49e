// The periodic alarm checks of what never reaches a live summary: rejected messages counted in the spool,
// rows waiting in the spool, quarantined readings and whether InfluxDB answers.
import type { Logger } from '../../common/log.ts';
import type { Registry } from '../../common/registry/registry.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { AlarmEngine, RejectionCountLike } from './engine.ts';

/** The part of the spool the checks read (the broker writes it; the API opens the same file). */
export interface AlarmSpoolSource {
  rejectionCounts(q: { sinceDay?: string }): Promise<RejectionCountLike[]>;
  stats(): Promise<{ rows: number }>;
  /** Unreleased quarantined readings per device received at or after `since` (the quarantine alarm). */
  quarantineSummary?(since: number): Promise<Array<{ deviceId: string; count: number; newestAt: number }>>;
}

export interface AlarmCheckSources {
  registry: Pick<Registry, 'listDevices'>;
  store: Pick<TelemetryStore, 'ping'>;
  spool?: AlarmSpoolSource;
  log?: Logger;
}

/** One round of the checks. */
export async function runAlarmChecks(engine: AlarmEngine, src: AlarmCheckSources, now = Date.now()): Promise<void> {
  // Yesterday's counts too, so a burst across midnight (in any time zone the spool counts days in) is seen whole.
  const sinceDay = new Date(now - 2 * 86_400_000).toISOString().slice(0, 10);
  const storeUp = await src.store.ping().catch(() => false);
  const [devices, counts, stats, quarantined] = await Promise.all([
    src.registry.listDevices(),
    src.spool?.rejectionCounts({ sinceDay }) ?? Promise.resolve(undefined),
    src.spool?.stats() ?? Promise.resolve(undefined),
    src.spool?.quarantineSummary?.(now - 30 * 86_400_000) ?? Promise.resolve(undefined),
  ]);
  engine.setDeviceNames(devices);
  // Rules edited through another API node take effect here within one period.
  await engine.reloadRules(now);
  if (counts) await engine.checkRejections(devices, counts, now);
  if (quarantined) await engine.checkQuarantine(devices, quarantined, now);
  await engine.checkPlatform({ storeUp, ...(stats ? { spoolRows: stats.rows } : {}) }, now);
}

/** Runs the checks every `everyMs` (one at a time); returns the timer. */
export function startAlarmChecks(engine: AlarmEngine, src: AlarmCheckSources, everyMs: number): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runAlarmChecks(engine, src)
      .catch((err: Error) => src.log?.warn({ err: err.message }, 'alarm check (rejections, spool, InfluxDB) failed'))
      .finally(() => { running = false; });
  }, everyMs);
  timer.unref();
  return timer;
}
