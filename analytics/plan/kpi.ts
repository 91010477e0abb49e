// The plan's headline KPI: share of above-scale (规上) firms connected to the platform, target 50% by 2027.
// "Connected" (docs/domain.md, configurable window): at least one device sent valid telemetry in the window.
import { COUNTIES } from '../../common/places.ts';
import type { FirmConnectivity } from '../../common/registry/registry.ts';

export const CONNECTED_SHARE_TARGET = 0.5;
export const CONNECTED_SHARE_TARGET_YEAR = 2027;

export interface ShareRow {
  aboveScaleFirms: number;
  connected: number;
  share: number;
}

export interface PlatformConnectionKpi extends ShareRow {
  target: number;
  targetYear: number;
  windowDays: number;
  asOf: number;
  definition: string;
  byCounty: Array<ShareRow & { county: string; name: string }>;
}

function share(connected: number, total: number): number {
  return total === 0 ? 0 : connected / total;
}

export function platformConnectionKpi(firms: readonly FirmConnectivity[], now: number, windowDays: number): PlatformConnectionKpi {
  const since = now - windowDays * 86_400_000;
  const above = firms.filter((f) => f.aboveScale);
  const isConnected = (f: FirmConnectivity) => f.lastTelemetryAt !== null && f.lastTelemetryAt >= since;
  const connected = above.filter(isConnected).length;
  const byCounty = COUNTIES.map((c) => {
    const inCounty = above.filter((f) => f.county === c.code);
    const conn = inCounty.filter(isConnected).length;
    return { county: c.code, name: c.zh, aboveScaleFirms: inCounty.length, connected: conn, share: share(conn, inCounty.length) };
  });
  return {
    aboveScaleFirms: above.length,
    connected,
    share: share(connected, above.length),
    target: CONNECTED_SHARE_TARGET,
    targetYear: CONNECTED_SHARE_TARGET_YEAR,
    windowDays,
    asOf: now,
    definition: `above-scale firms with at least one device that sent valid telemetry in the last ${windowDays} days ÷ all above-scale firms`,
    byCounty,
  };
}
