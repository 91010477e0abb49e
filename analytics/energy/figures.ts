// From amounts per firm (or device), quantity and source measurement to energy figures: the plant-boundary rule
// per firm (carriers.ts), a device's own figures, and the conversion to standard coal (factors.ts).
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import { METER_TYPE, OUTPUTS, QUANTITY_UNIT, boundaryAmount, hasPrimaryFabric, outputAmount, type FirmEnergyFlags, type Output, type Quantity } from './carriers.ts';
import { CARRIERS, CARRIER_UNIT, zeroAmounts, type Basis, type Carrier, type CarrierAmounts } from './factors.ts';

/** One source's amount of one quantity for one firm (and device, on the raw path). */
export interface SourceRow {
  firm: string;
  device: string;
  quantity: Quantity;
  source: string;
  value: number;
  resets: number;
}

export interface CarrierFigure {
  unit: string;
  /** As measured (meters first, else the machines' registers). */
  measured: number;
  /** Counted at the plant boundary (cogeneration rule). */
  counted: number;
  kgce: number;
}

export interface Figures {
  carriers: Record<Carrier, CarrierFigure>;
  totalKgce: number;
  totalTce: number;
  outputs: Record<Output, { unit: string; value: number }>;
}

export function emptyFigures(): { amounts: Record<Carrier, { measured: number; counted: number }>; outputs: Record<Output, number> } {
  return {
    amounts: { electricity: { measured: 0, counted: 0 }, gas: { measured: 0, counted: 0 }, steam: { measured: 0, counted: 0 }, water: { measured: 0, counted: 0 } },
    outputs: { fabric: 0, yarn: 0, pieces: 0 },
  };
}
/** Amounts of one unit (firm, device, group, bucket) before conversion. */
export type Acc = ReturnType<typeof emptyFigures>;

export function addAcc(into: Acc, from: Acc): void {
  for (const c of CARRIERS) {
    into.amounts[c].measured += from.amounts[c].measured;
    into.amounts[c].counted += from.amounts[c].counted;
  }
  for (const o of OUTPUTS) into.outputs[o] += from.outputs[o];
}

export function toFigures(acc: Acc, kgcePerCarrier: CarrierAmounts, includesWater: boolean): Figures {
  const carriers = {} as Record<Carrier, CarrierFigure>;
  let total = 0;
  for (const c of CARRIERS) {
    carriers[c] = { unit: CARRIER_UNIT[c], measured: acc.amounts[c].measured, counted: acc.amounts[c].counted, kgce: kgcePerCarrier[c] };
    if (c !== 'water' || includesWater) total += kgcePerCarrier[c];
  }
  const outputs = {} as Record<Output, { unit: string; value: number }>;
  for (const o of OUTPUTS) outputs[o] = { unit: QUANTITY_UNIT[o], value: acc.outputs[o] };
  return { carriers, totalKgce: total, totalTce: total / 1000, outputs };
}

export function isCarrier(q: string): q is Carrier {
  return (CARRIERS as readonly string[]).includes(q);
}

export function hasMeter(idx: FirmIndexSnapshot, firmId: string, carrier: Carrier): boolean {
  return idx.typesByFirm.get(firmId)?.has(METER_TYPE[carrier]) ?? false;
}

/** Plant-boundary figures of each firm from per-source rows. */
export function perFirm(rows: readonly SourceRow[], idx: FirmIndexSnapshot, flagsOf: (firmId: string) => FirmEnergyFlags): Map<string, Acc> {
  const grouped = new Map<string, Map<Quantity, Map<string, number>>>();
  for (const r of rows) {
    const byQ = grouped.get(r.firm) ?? new Map<Quantity, Map<string, number>>();
    const bySource = byQ.get(r.quantity) ?? new Map<string, number>();
    bySource.set(r.source, (bySource.get(r.source) ?? 0) + r.value);
    byQ.set(r.quantity, bySource);
    grouped.set(r.firm, byQ);
  }
  const out = new Map<string, Acc>();
  for (const [firm, byQ] of grouped) {
    const acc = emptyFigures();
    const flags = flagsOf(firm);
    for (const c of CARRIERS) {
      const b = boundaryAmount(c, byQ.get(c) ?? new Map(), hasMeter(idx, firm, c), flags);
      acc.amounts[c] = { measured: b.measured, counted: b.counted };
    }
    const primaryFabric = hasPrimaryFabric(idx.typesByFirm.get(firm) ?? new Set<string>());
    for (const o of OUTPUTS) acc.outputs[o] = outputAmount(o, byQ.get(o) ?? new Map<string, number>(), primaryFabric);
    out.set(firm, acc);
  }
  return out;
}

/** Adds an amount of a quantity as measured and counted (no boundary rule). */
export function addAmount(acc: Acc, quantity: Quantity, value: number): void {
  if (isCarrier(quantity)) {
    acc.amounts[quantity].measured += value;
    acc.amounts[quantity].counted += value;
  } else acc.outputs[quantity] += value;
}

/** A device's own figures (no boundary rule: sub-metering is what it is). */
export function perDevice(rows: readonly SourceRow[]): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const r of rows) {
    const acc = out.get(r.device) ?? emptyFigures();
    addAmount(acc, r.quantity, r.value);
    out.set(r.device, acc);
  }
  return out;
}

export function kgceOf(acc: Acc, basis: Basis): CarrierAmounts {
  const k = zeroAmounts();
  for (const c of CARRIERS) k[c] = acc.amounts[c].counted * basis.factors[c].kgcePerUnit;
  return k;
}
