// A scope's energy rates now: the latest power and flow readings of its devices within the live window.
import type { Scope } from '../base/scope.ts';
import { MINUTE, localParts } from '../../common/time.ts';
import { METER_TYPE, RATE_METRIC, measurementOfType } from './carriers.ts';
import { basisOf, type EnergyEnv } from './context.ts';
import { CARRIERS, type Basis, type BasisId, type Carrier } from './factors.ts';
import { addAcc, emptyFigures, perDevice, perFirm, type SourceRow } from './figures.ts';

export interface EnergyLive {
  scope: Scope;
  asOf: number;
  windowMs: number;
  basis: Basis;
  devices: number;
  carriers: Record<Carrier, { unit: string; measured: number; counted: number; kgcePerHour: number }>;
  totalKgcePerHour: number;
  notes: string[];
}

/** Rates per firm, carrier and source of the devices that reported within the window, and how many count. */
async function rateRows(env: EnergyEnv, scope: Scope, now: number): Promise<{ rows: SourceRow[]; devices: number }> {
  const latest = await env.ctx.latest().devices(scope, now);
  const bySource = new Map<string, SourceRow>();
  let devices = 0;
  for (const d of latest) {
    if (d.ts <= now - env.opts.liveWindowMs || d.ts > now + 5 * MINUTE) continue;
    const source = measurementOfType(d.type);
    if (!source) continue;
    for (const c of CARRIERS) {
      const metric = RATE_METRIC[c].byType[d.type];
      const v = metric === undefined ? undefined : d.metrics[metric];
      if (v === undefined) continue;
      const key = `${d.firmId}/${c}/${source}`;
      const row = bySource.get(key) ?? { firm: d.firmId, device: '', quantity: c, source, value: 0, resets: 0 };
      row.value += v;
      bySource.set(key, row);
      // Every live device reports power; only meters are counted again for the other carriers.
      if (c === 'electricity' || d.type === METER_TYPE[c]) devices++;
    }
  }
  return { rows: [...bySource.values()], devices };
}

export async function live(env: EnergyEnv, scope: Scope, basisId: BasisId, now = Date.now()): Promise<EnergyLive> {
  const [idx, { rows, devices }] = await Promise.all([env.ctx.index.get(), rateRows(env, scope, now)]);
  const acc = emptyFigures();
  if (scope.kind === 'device') for (const a of perDevice(rows.map((r) => ({ ...r, device: scope.id }))).values()) addAcc(acc, a);
  else for (const a of perFirm(rows, idx, (f) => env.ctx.flagsOf(f)).values()) addAcc(acc, a);
  const basis = basisOf(env, basisId, localParts(now).year);
  const carriers = {} as EnergyLive['carriers'];
  let total = 0;
  for (const c of CARRIERS) {
    const k = acc.amounts[c].counted * basis.factors[c].kgcePerUnit;
    carriers[c] = { unit: RATE_METRIC[c].unit, measured: acc.amounts[c].measured, counted: acc.amounts[c].counted, kgcePerHour: k };
    if (c !== 'water' || basis.includesWater) total += k;
  }
  return {
    scope, asOf: now, windowMs: env.opts.liveWindowMs, basis, devices, carriers, totalKgcePerHour: total,
    notes: ['rates are the latest power_kw / flow readings of each device within the window; a firm with a main meter is measured by it'],
  };
}
