// Time in state and OEE per device, firm and shift (or day) from the telemetry store: machine-state change
// events (one point per change, so these are events, not raw samples), mean running speed per device and
// period aggregated in the store, quality from good/total counters where configured.
import { deviceType } from '../../common/contract/catalogue.ts';
import type { Device } from '../../common/registry/registry.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { FirmDevices } from '../../common/telemetry-store/questions/machines.ts';
import type { FirmIndex } from '../base/firm-index.ts';
import { LOOM_TYPES, REPORTED_EFFICIENCY, type MonitoringSettings } from './settings.ts';
import { aggregateOee, oeeFigures, timeInStates, type OeeFigures, type PerformanceInput, type QualityInput, type StateEvent, type StateTimes } from './states.ts';
import { DAY, MINUTE, daysIn, localDate, shiftInstances, type ShiftCalendar } from '../../common/time.ts';

export const PERIODS = ['shift', 'day', 'total'] as const;
export type PeriodKind = (typeof PERIODS)[number];

export interface Period {
  id: string;
  start: number;
  end: number;
}

export interface DeviceOee extends OeeFigures {
  deviceId: string;
  name: string;
  type: string;
  times: StateTimes;
  meanSpeed: number | null;
  nominalSpeed: number | null;
  /** Where the nominal speed comes from: set for this device, or its type's. */
  nominalFrom: 'device' | 'type' | null;
  speedMetric: string | null;
  /** What the device reports itself (e.g. a loom's efficiency_pct), averaged: not OEE. */
  reportedEfficiencyPct: number | null;
}

export interface OeeReport {
  target: { firmId: string; deviceId: string | null };
  from: number;
  to: number;
  by: PeriodKind;
  shifts: ShiftCalendar;
  periods: Array<{ id: string; start: number; end: number; firm: OeeFigures & { times: StateTimes }; devices: DeviceOee[] }>;
  notes: string[];
}

export interface OeeOptions {
  /** A device silent for longer than this after its lastSeenAt has unknown state from then on. */
  offlineAfterMs: number;
  /** How far before `from` to look for the state at `from`. */
  stateLookbackMs: number;
}

export const DEFAULT_OEE_OPTIONS: OeeOptions = { offlineAfterMs: 10 * MINUTE, stateLookbackMs: 31 * DAY };

export function periodsOf(by: PeriodKind, from: number, to: number, cal: ShiftCalendar): Period[] {
  if (by === 'total') return [{ id: 'total', start: from, end: to }];
  if (by === 'shift') return shiftInstances(cal, from, to).map((s) => ({ id: s.id, start: s.start, end: s.end }));
  return daysIn(from, to).map((d) => ({ id: localDate(d), start: Math.max(d, from), end: Math.min(d + DAY, to) }));
}

export class OeeService {
  constructor(
    private readonly store: TelemetryStore,
    private readonly index: FirmIndex,
    private readonly settings: MonitoringSettings,
    private readonly opts: OeeOptions = DEFAULT_OEE_OPTIONS,
  ) {}

  /** Devices of the target, or undefined when the firm/device is unknown. */
  async devicesOf(target: { firmId: string; deviceId?: string }): Promise<Device[] | undefined> {
    const idx = await this.index.get();
    if (target.deviceId) {
      const d = idx.devices.get(target.deviceId);
      return d && d.firmId === target.firmId ? [d] : undefined;
    }
    if (!idx.firms.has(target.firmId)) return undefined;
    return idx.devicesByFirm.get(target.firmId) ?? [];
  }

  async report(target: { firmId: string; deviceId?: string }, fromIn: number, toIn: number, by: PeriodKind, now = Date.now()): Promise<OeeReport> {
    const devices = (await this.devicesOf(target)) ?? [];
    const to = Math.min(toIn, now);
    const from = Math.min(fromIn, to);
    const cal = this.settings.shifts().value;
    const periods = periodsOf(by, from, to, cal);
    const scope: FirmDevices = { firmId: target.firmId, deviceId: target.deviceId || undefined };
    const types = new Set(devices.map((d) => d.type));
    const [events, speed, quality] = await Promise.all([this.stateEvents(scope, from, to), this.speeds(scope, types, periods), this.quality(scope, types, periods)]);
    const notes: string[] = [];
    if (Object.keys(this.settings.quality().value).length === 0) notes.push('no device type reports good/total units: OEE is A×P (quality not reported)');

    const perfSpecs = this.settings.performance().value;
    const overrides = this.settings.deviceNominals();
    const result: OeeReport['periods'] = periods.map((p, i) => {
      const items = devices.map((d) => {
        const knownUntil = d.lastSeenAt === null ? p.end : d.lastSeenAt + this.opts.offlineAfterMs;
        const times = timeInStates(events.get(d.id) ?? [], p.start, p.end, knownUntil);
        const spec = perfSpecs[d.type];
        const own = overrides.get(d.id);
        const nominal = own ?? spec?.nominal ?? null;
        const sp = speed.get(`${i}/${d.id}`);
        const perf: PerformanceInput | null = spec && nominal !== null && sp?.mean != null ? { meanSpeed: sp.mean, nominal } : null;
        const qu = quality.get(`${i}/${d.id}`) ?? null;
        const isLoom = LOOM_TYPES.has(d.type);
        const f = oeeFigures(times, perf, qu, isLoom);
        const row: DeviceOee = {
          deviceId: d.id, name: d.name, type: d.type, times, ...f,
          meanSpeed: sp?.mean ?? null, nominalSpeed: nominal, nominalFrom: own !== undefined ? 'device' : nominal !== null ? 'type' : null,
          speedMetric: spec?.metric ?? null, reportedEfficiencyPct: sp?.eff ?? null,
        };
        return { row, item: { times, perf, quality: qu, isLoom } };
      });
      return { id: p.id, start: p.start, end: p.end, firm: aggregateOee(items.map((x) => x.item)), devices: items.map((x) => x.row) };
    });
    const fast = [...new Set(result.flatMap((p) => p.devices.filter((d) => d.nominalExceeded).map((d) => d.deviceId)))];
    if (fast.length > 0) {
      notes.push(`${fast.length} device(s) ran faster than their nominal speed (${fast.slice(0, 5).join(', ')}${fast.length > 5 ? ', …' : ''}): performance is capped at 1; set the right nominal (PUT /monitoring/devices/{id}/nominal)`);
    }
    return { target: { firmId: target.firmId, deviceId: target.deviceId ?? null }, from, to, by, shifts: cal, periods: result, notes };
  }

  /** State events per device in [from, to), led by the last state before `from` as if it began at `from`. */
  private async stateEvents(scope: FirmDevices, from: number, to: number): Promise<Map<string, StateEvent[]>> {
    const events = new Map<string, StateEvent[]>();
    for (const h of await this.store.stateHistory({ ...scope, from, to, lookbackMs: this.opts.stateLookbackMs })) {
      const before = h.before ? [{ ts: Math.min(h.before.ts, from), state: h.before.state }] : [];
      events.set(h.deviceId, [...before, ...h.events.map((e) => ({ ts: e.ts, state: e.state }))]);
    }
    return events;
  }

  /** Mean running speed (and the device's own efficiency figure) per "period/device", averaged in the store. */
  private async speeds(scope: FirmDevices, types: ReadonlySet<string>, periods: readonly Period[]): Promise<Map<string, { mean: number | null; eff: number | null }>> {
    const perfSpecs = this.settings.performance().value;
    const speed = new Map<string, { mean: number | null; eff: number | null }>();
    await Promise.all([...types].map(async (type) => {
      const spec = perfSpecs[type];
      const measurement = deviceType(type)?.measurement;
      const eff = REPORTED_EFFICIENCY[type];
      if (!measurement || (!spec && !eff)) return;
      const metrics = [...(spec ? [spec.metric] : []), ...(eff ? [eff] : [])];
      for (const r of await this.store.meansPerPeriod({ ...scope, measurement, metrics, aboveZero: spec?.metric, periods })) {
        speed.set(`${r.period}/${r.deviceId}`, { mean: spec ? (r.means[spec.metric] ?? null) : null, eff: eff ? (r.means[eff] ?? null) : null });
      }
    }));
    return speed;
  }

  /** Good and total units per "period/device" where a device type reports both counters. */
  private async quality(scope: FirmDevices, types: ReadonlySet<string>, periods: readonly Period[]): Promise<Map<string, QualityInput>> {
    const qualitySpecs = this.settings.quality().value;
    // A device's counters are counted within its firm too, like its states and speeds.
    const counted = scope.deviceId !== undefined
      ? { scope: { kind: 'device' as const, id: scope.deviceId }, match: { firm: scope.firmId } }
      : { scope: { kind: 'firm' as const, id: scope.firmId } };
    const quality = new Map<string, QualityInput>();
    for (const type of types) {
      const spec = qualitySpecs[type];
      const measurement = deviceType(type)?.measurement;
      if (!spec || !measurement) continue;
      for (const [i, p] of periods.entries()) {
        const [good, total] = await Promise.all([spec.goodMetric, spec.totalMetric].map((metric) => this.store.counterDeltas({
          metric, measurements: [measurement], ...counted, from: p.start, to: p.end, stepMs: MINUTE, groupBy: ['device'],
        })));
        for (const r of good ?? []) {
          const key = `${i}/${r.tags.device ?? ''}`;
          quality.set(key, { good: r.value, total: quality.get(key)?.total ?? 0 });
        }
        for (const r of total ?? []) {
          const key = `${i}/${r.tags.device ?? ''}`;
          quality.set(key, { good: quality.get(key)?.good ?? 0, total: r.value });
        }
      }
    }
    return quality;
  }
}
