// What the energy figures read from (the telemetry store, the registry's firm index, the settings, the latest
// device values) and how fresh they look.
import type { FirmIndex } from '../base/firm-index.ts';
import type { LatestSource } from '../base/latest-source.ts';
import { DAY, MINUTE } from '../../common/time.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { DirtyQuarter } from '../../common/telemetry-store/questions/dirty.ts';
import type { FirmEnergyFlags } from './carriers.ts';
import { basisFor, type Basis, type BasisId, type EnergyFactorConfig } from './factors.ts';

export interface EnergyServiceOptions {
  /** Live rates: a device's latest rate counts when it is at most this old. */
  liveWindowMs: number;
  /** Firm figures come from raw data for ranges up to this long, from the rollups beyond. */
  firmRawMaxMs: number;
}

export const DEFAULT_ENERGY_OPTIONS: EnergyServiceOptions = { liveWindowMs: 5 * MINUTE, firmRawMaxMs: 2 * DAY };

export interface EnergyContext {
  store: TelemetryStore;
  index: FirmIndex;
  factors(): EnergyFactorConfig;
  flagsOf(firmId: string): FirmEnergyFlags;
  /** Fabric a firm reported for these local months, undefined when one has no entry (EnergySettings.enteredFabric). */
  enteredFabric?(firmId: string, months: readonly string[]): number | undefined;
  /** Each device's latest rates (live figures): in memory from the live feed, or from the telemetry store. */
  latest(): LatestSource;
  /** Until when the 15-minute rollups are complete (RollupJob.completeUntil), when their job keeps them up. */
  rollupsCompleteUntil?(): number | undefined;
  /** Firm-quarters the rollups may not reflect yet (RollupJob.pending) and when they will (undefined: no job runs). */
  rollupsPending?(): Promise<{ marks: readonly DirtyQuarter[]; until: number | undefined }>;
}

/** The context with the options: what every energy figure is computed with. */
export interface EnergyEnv {
  ctx: EnergyContext;
  opts: EnergyServiceOptions;
}

export function basisOf(env: EnergyEnv, id: BasisId, year: number): Basis {
  return basisFor(env.ctx.factors(), id, year);
}
