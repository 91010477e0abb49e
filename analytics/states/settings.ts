// Monitoring settings people change through the API: the shift calendar, nominal speeds per device type (and
// per device), and which counters report good and total units for OEE quality.
import { metricSpec } from '../../common/contract/catalogue.ts';
import type { Db } from '../../common/sqlite.ts';
import type { Actor, SettingRecord, Settings } from '../base/db.ts';
import { DEFAULT_SHIFTS, shiftCalendarProblem, type ShiftCalendar } from '../../common/time.ts';

export interface PerformanceSpec {
  /** The speed metric of the device type (e.g. speed_rpm). */
  metric: string;
  /** Nominal (ideal) speed in the metric's unit. */
  nominal: number;
}

export interface QualitySpec {
  /** Counter of good units and counter of all units (both *_total). */
  goodMetric: string;
  totalMetric: string;
}

/** Nominal speeds (docs/domain.md, machine ranges); types missing from the catalogue are skipped. */
export const DEFAULT_PERFORMANCE: Record<string, PerformanceSpec> = Object.fromEntries(Object.entries({
  loom: { metric: 'speed_rpm', nominal: 800 },
  rapier_loom: { metric: 'speed_rpm', nominal: 500 },
  water_jet_loom: { metric: 'speed_rpm', nominal: 900 },
  spinning_frame: { metric: 'spindle_speed_rpm', nominal: 18000 },
  rotor_spinning: { metric: 'rotor_speed_rpm', nominal: 90000 },
  sock_knitter: { metric: 'speed_rpm', nominal: 800 },
}).filter(([type, s]) => metricSpec(type, s.metric) !== undefined));

/** Metrics a device reports as its own efficiency (shown beside OEE, never mixed into it). */
export const REPORTED_EFFICIENCY: Record<string, string> = Object.fromEntries(
  ['loom', 'rapier_loom', 'water_jet_loom', 'sewing_line'].filter((t) => metricSpec(t, 'efficiency_pct') !== undefined).map((t) => [t, 'efficiency_pct']),
);

/** Weaving machines: loom efficiency (running ÷ (running + fault)) is computed for these. */
export const LOOM_TYPES: ReadonlySet<string> = new Set(['loom', 'rapier_loom', 'water_jet_loom']);

const SHIFTS = 'monitoring.shifts';
const PERFORMANCE = 'monitoring.performance';
const QUALITY = 'monitoring.quality';

export class MonitoringSettings {
  private readonly getNominal;
  private readonly putNominal;
  private readonly allNominals;

  constructor(db: Db, private readonly settings: Settings) {
    this.getNominal = db.prepare<[string], { nominal: number; updated_by: string; updated_at: number }>('SELECT nominal, updated_by, updated_at FROM device_nominal WHERE device_id = ?');
    this.putNominal = db.prepare(`INSERT INTO device_nominal (device_id, nominal, updated_by, updated_by_token, updated_at) VALUES (@id, @nominal, @by, @token, @at)
      ON CONFLICT(device_id) DO UPDATE SET nominal = excluded.nominal, updated_by = excluded.updated_by, updated_by_token = excluded.updated_by_token, updated_at = excluded.updated_at`);
    this.allNominals = db.prepare<[], { device_id: string; nominal: number }>('SELECT device_id, nominal FROM device_nominal');
  }

  shifts(): SettingRecord<ShiftCalendar> {
    return this.settings.get(SHIFTS, DEFAULT_SHIFTS);
  }

  setShifts(cal: ShiftCalendar, actor: Actor): void {
    const p = shiftCalendarProblem(cal);
    if (p) throw new RangeError(p);
    this.settings.put(SHIFTS, cal, actor);
  }

  performance(): SettingRecord<Record<string, PerformanceSpec>> {
    return this.settings.get(PERFORMANCE, DEFAULT_PERFORMANCE);
  }

  setPerformance(specs: Record<string, PerformanceSpec>, actor: Actor): void {
    for (const [type, s] of Object.entries(specs)) {
      if (!metricSpec(type, s.metric)) throw new RangeError(`"${s.metric}" is not a metric of device type "${type}"`);
      if (!(s.nominal > 0)) throw new RangeError(`the nominal speed of ${type} must be positive`);
    }
    this.settings.put(PERFORMANCE, specs, actor);
  }

  quality(): SettingRecord<Record<string, QualitySpec>> {
    return this.settings.get(QUALITY, {});
  }

  setQuality(specs: Record<string, QualitySpec>, actor: Actor): void {
    for (const [type, s] of Object.entries(specs)) {
      for (const m of [s.goodMetric, s.totalMetric]) {
        const spec = metricSpec(type, m);
        if (!spec?.counter) throw new RangeError(`"${m}" is not a counter of device type "${type}"`);
      }
    }
    this.settings.put(QUALITY, specs, actor);
  }

  deviceNominal(deviceId: string): { nominal: number; updatedBy: string; updatedAt: number } | undefined {
    const r = this.getNominal.get(deviceId);
    return r ? { nominal: r.nominal, updatedBy: r.updated_by, updatedAt: r.updated_at } : undefined;
  }

  setDeviceNominal(deviceId: string, nominal: number, actor: Actor): void {
    if (!(nominal > 0)) throw new RangeError('the nominal speed must be positive');
    this.putNominal.run({ id: deviceId, nominal, by: actor.name, token: actor.tokenId, at: Date.now() });
  }

  deviceNominals(): Map<string, number> {
    return new Map(this.allNominals.all().map((r) => [r.device_id, r.nominal]));
  }
}
