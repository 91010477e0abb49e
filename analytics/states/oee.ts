// Time in state and OEE per device, firm and shift (or day) from InfluxDB: state change events of the
// `machine_state` measurement (one point per change, so these are events, not raw samples), mean running speed
// per device and period aggregated in InfluxDB, quality from good/total counters where configured.
import { STATE_MEASUREMENT } from '../../common/contract/line-protocol.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { counterDeltas } from '../energy/counters.ts';
import type { Device } from '../../common/registry/registry.ts';
import { ident, literal, type TelemetryStore } from '../../common/telemetry-store/store.ts';
import type { FirmIndex } from '../base/firm-index.ts';
import { and, timeRange } from '../base/scope.ts';
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

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

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
    const cond = target.deviceId ? `"device" = ${literal(target.deviceId)}` : `"firm" = ${literal(target.firmId)}`;
    const notes: string[] = [];

    // State events in the range, and the last state before it.
    const events = new Map<string, StateEvent[]>();
    const q = [
      `SELECT last("state") AS "prev" FROM ${ident(STATE_MEASUREMENT)} WHERE ${and(cond, timeRange(from - this.opts.stateLookbackMs, from))} GROUP BY "device"`,
      `SELECT "state" AS "ev" FROM ${ident(STATE_MEASUREMENT)} WHERE ${and(cond, timeRange(from, to))} GROUP BY "device"`,
    ].join('; ');
    for (const s of await this.store.query(q)) {
      const list = events.get(s.tags.device ?? '') ?? [];
      for (const row of s.values) {
        const ts = num(row[0]);
        const state = row[1];
        if (ts !== null && typeof state === 'string') list.push({ ts: s.columns[1] === 'prev' ? Math.min(ts, from) : ts, state });
      }
      events.set(s.tags.device ?? '', list);
    }
    for (const list of events.values()) list.sort((a, b) => a.ts - b.ts);

    // Mean running speed (and the device's own efficiency figure) per period and device, in InfluxDB.
    const perfSpecs = this.settings.performance().value;
    const overrides = this.settings.deviceNominals();
    const types = new Set(devices.map((d) => d.type));
    const speed = new Map<string, { mean: number | null; eff: number | null }>();
    const stmts: string[] = [];
    periods.forEach((p, i) => {
      for (const type of types) {
        const spec = perfSpecs[type];
        const measurement = deviceType(type)?.measurement;
        const eff = REPORTED_EFFICIENCY[type];
        if (!measurement || (!spec && !eff)) continue;
        const fields = [
          ...(spec ? [`mean(${ident(spec.metric)}) AS "s_${i}"`] : []),
          ...(eff ? [`mean(${ident(eff)}) AS "e_${i}"`] : []),
        ].join(', ');
        stmts.push(`SELECT ${fields} FROM ${ident(measurement)} WHERE ${and(cond, spec ? `${ident(spec.metric)} > 0` : '', timeRange(p.start, p.end))} GROUP BY "device"`);
      }
    });
    for (let i = 0; i < stmts.length; i += 50) {
      for (const s of await this.store.query(stmts.slice(i, i + 50).join('; '))) {
        for (const [k, col] of s.columns.entries()) {
          const m = /^([se])_(\d+)$/.exec(col);
          if (!m) continue;
          const key = `${m[2]}/${s.tags.device ?? ''}`;
          const cur = speed.get(key) ?? { mean: null, eff: null };
          if (m[1] === 's') cur.mean = num(s.values[0]?.[k]);
          else cur.eff = num(s.values[0]?.[k]);
          speed.set(key, cur);
        }
      }
    }

    // Quality where a device type reports good and total counters.
    const qualitySpecs = this.settings.quality().value;
    const quality = new Map<string, QualityInput>();
    for (const type of types) {
      const spec = qualitySpecs[type];
      const measurement = deviceType(type)?.measurement;
      if (!spec || !measurement) continue;
      for (const [i, p] of periods.entries()) {
        const [good, total] = await Promise.all([spec.goodMetric, spec.totalMetric].map((metric) => counterDeltas(this.store, {
          metric, measurements: [measurement], where: cond, from: p.start, to: p.end, stepMs: MINUTE, lookbackMs: 6 * 60 * MINUTE, groupBy: ['device'],
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
    if (Object.keys(qualitySpecs).length === 0) notes.push('no device type reports good/total units: OEE is A×P (quality not reported)');

    const result: OeeReport['periods'] = periods.map((p, i) => {
      const items = devices.map((d) => {
        const knownUntil = d.lastSeenAt === null ? p.end : d.lastSeenAt + this.opts.offlineAfterMs;
        const times = timeInStates(events.get(d.id) ?? [], p.start, p.end, knownUntil);
        const spec = perfSpecs[d.type];
        const nominal = overrides.get(d.id) ?? spec?.nominal ?? null;
        const sp = speed.get(`${i}/${d.id}`);
        const perf: PerformanceInput | null = spec && nominal !== null && sp?.mean != null ? { meanSpeed: sp.mean, nominal } : null;
        const qu = quality.get(`${i}/${d.id}`) ?? null;
        const isLoom = LOOM_TYPES.has(d.type);
        const f = oeeFigures(times, perf, qu, isLoom);
        const row: DeviceOee = {
          deviceId: d.id, name: d.name, type: d.type, times, ...f,
          meanSpeed: sp?.mean ?? null, nominalSpeed: nominal, speedMetric: spec?.metric ?? null, reportedEfficiencyPct: sp?.eff ?? null,
        };
        return { row, item: { times, perf, quality: qu, isLoom } };
      });
      return { id: p.id, start: p.start, end: p.end, firm: aggregateOee(items.map((x) => x.item)), devices: items.map((x) => x.row) };
    });
    return { target: { firmId: target.firmId, deviceId: target.deviceId ?? null }, from, to, by, shifts: cal, periods: result, notes };
  }
}
