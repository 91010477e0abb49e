// The port the overviews, live power and live rooms read each device's latest values through (adapters in
// analytics/live/latest.ts; conformance suite test/conformance/latest.ts).
import type { LiveDevice } from '../../common/contract/live.ts';
import { DAY, MINUTE } from '../../common/time.ts';
import type { Scope } from './scope.ts';

export interface LatestWindows {
  /** A rate (power_kw, flows) counts when its reading is at most this old. */
  rateMs: number;
  /** A machine state is known when its event is at most this old (StoreLatest; LiveLatest keeps the last one). */
  stateMs: number;
}

export const DEFAULT_LATEST_WINDOWS: LatestWindows = { rateMs: 5 * MINUTE, stateMs: 7 * DAY };
/** The port: every device of a scope with something known about it (ts 0 and no metrics: only a state). */
export interface LatestSource {
  /** `windows` narrows what is looked at (a refresh only needs what changed lately); memory ignores it. */
  devices(scope: Scope, now: number, windows?: Partial<LatestWindows>): Promise<LiveDevice[]>;
}

