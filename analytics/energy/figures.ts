// From amounts per firm (or device), quantity and source measurement to energy figures: the plant-boundary rule
// per firm (carriers.ts), a device's own figures, and the conversion to standard coal (factors.ts).
import type { FirmIndexSnapshot } from '../base/firm-index.ts';
import {
  CARRIER_RULE_TEXT, FLOWS, METER_TYPE, OUTPUTS, QUANTITY_UNIT, STEAM_SOURCES, boundaryAmount, carrierRule, isFlow, outputAmount, steamSourceOf,
  type CarrierRule, type FirmEnergyFlags, type Flow, type Output, type Quantity, type SteamSource, type SteamSourceRule,
} from './carriers.ts';
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
  /** Counted at the plant boundary (the firm's steam-source rule). */
  counted: number;
  kgce: number;
}

/** How one carrier of a figure was counted: one rule, `mixed` when its firms differ, null without firms (a device). */
export interface CarrierRuleFigure {
  rule: CarrierRule | 'mixed' | null;
  zh: string;
  en: string;
}

/** Which boundary rule the firms of a figure were counted with; null steamSource: no firm (a device's own figure). */
export interface BoundaryRules {
  steamSource: SteamSource | 'mixed' | null;
  firms: Record<SteamSource, number>;
  carriers: Record<Carrier, CarrierRuleFigure>;
}

export interface Figures {
  carriers: Record<Carrier, CarrierFigure>;
  boundary: BoundaryRules;
  totalKgce: number;
  totalTce: number;
  outputs: Record<Output, { unit: string; value: number }>;
  /** Electricity fed to the grid and generated on site (kWh): measured, never counted (the import is). */
  electricityFlows: { unit: string; export: number; generation: number };
}

export function emptyFigures(): {
  amounts: Record<Carrier, { measured: number; counted: number }>; outputs: Record<Output, number>; flows: Record<Flow, number>;
  steamSources: Map<string, SteamSource>; carrierRules: Map<string, Record<Carrier, CarrierRule>>;
} {
  return {
    amounts: { electricity: { measured: 0, counted: 0 }, gas: { measured: 0, counted: 0 }, steam: { measured: 0, counted: 0 }, water: { measured: 0, counted: 0 } },
    outputs: { fabric: 0, yarn: 0, pieces: 0 },
    flows: { export: 0, generation: 0 },
    // Firm → the steam source and carrier rules it was counted with (maps, so a range split by year counts each firm once).
    steamSources: new Map(),
    carrierRules: new Map(),
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
  for (const f of FLOWS) into.flows[f] += from.flows[f];
  for (const [firm, source] of from.steamSources) into.steamSources.set(firm, source);
  for (const [firm, rules] of from.carrierRules) into.carrierRules.set(firm, rules);
}

const MIXED = { zh: '各企业计法不同', en: 'firms counted with different rules' };
const NO_FIRM = { zh: '设备自身计量，不适用企业边界', en: 'a device\'s own register: no plant boundary' };

function carrierRules(rules: ReadonlyMap<string, Record<Carrier, CarrierRule>>): Record<Carrier, CarrierRuleFigure> {
  const out = {} as Record<Carrier, CarrierRuleFigure>;
  for (const c of CARRIERS) {
    const used = new Set([...rules.values()].map((r) => r[c]));
    const [only] = used;
    out[c] = used.size === 0 ? { rule: null, ...NO_FIRM } : used.size > 1 || !only ? { rule: 'mixed', ...MIXED } : { rule: only, ...CARRIER_RULE_TEXT[c][only] };
  }
  return out;
}

export function boundaryRules(acc: { steamSources: ReadonlyMap<string, SteamSource>; carrierRules: ReadonlyMap<string, Record<Carrier, CarrierRule>> }): BoundaryRules {
  const firms = Object.fromEntries(STEAM_SOURCES.map((s) => [s, 0])) as Record<SteamSource, number>;
  for (const s of acc.steamSources.values()) firms[s]++;
  const used = STEAM_SOURCES.filter((s) => firms[s] > 0);
  return { steamSource: used.length === 0 ? null : used.length === 1 ? used[0]! : 'mixed', firms, carriers: carrierRules(acc.carrierRules) };
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
  const electricityFlows = { unit: 'kWh', export: acc.flows.export, generation: acc.flows.generation };
  return { carriers, boundary: boundaryRules(acc), totalKgce: total, totalTce: total / 1000, outputs, electricityFlows };
}

export function isCarrier(q: string): q is Carrier {
  return (CARRIERS as readonly string[]).includes(q);
}

export function hasMeter(idx: FirmIndexSnapshot, firmId: string, carrier: Carrier): boolean {
  return idx.typesByFirm.get(firmId)?.has(METER_TYPE[carrier]) ?? false;
}

/** What the boundary rules of the firms in a figure mean for it, for a response's notes. */
export function boundaryNotes(steamSources: ReadonlyMap<string, SteamSource>): string[] {
  const { firms } = boundaryRules({ steamSources, carrierRules: new Map() });
  const notes: string[] = [];
  if (firms['own-boiler'] > 0) notes.push(`${firms['own-boiler']} firm(s) with their own boiler: the boiler's gas is counted at the plant boundary; the steam made from it is measured but not counted again`);
  if (firms.cogeneration > 0) notes.push(`${firms.cogeneration} cogeneration firm(s): their gas is counted at the plant boundary; power and steam made from it are not counted again (only electricity meters at the boundary count)`);
  return notes;
}

/** The steam-source rule a registered firm is counted with (entered, or inferred from its meters). */
export function firmSteamSource(idx: FirmIndexSnapshot, firmId: string, flagsOf: (firmId: string) => FirmEnergyFlags): SteamSourceRule {
  return steamSourceOf(flagsOf(firmId), idx.devicesByFirm.get(firmId));
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
    const steam = firmSteamSource(idx, firm, flagsOf).source;
    const rules = {} as Record<Carrier, CarrierRule>;
    for (const c of CARRIERS) {
      const metered = hasMeter(idx, firm, c);
      const b = boundaryAmount(c, byQ.get(c) ?? new Map(), metered, steam);
      acc.amounts[c] = { measured: b.measured, counted: b.counted };
      rules[c] = carrierRule(c, metered, steam);
    }
    for (const o of OUTPUTS) acc.outputs[o] = outputAmount(o, byQ.get(o) ?? new Map<string, number>());
    for (const f of FLOWS) for (const v of byQ.get(f)?.values() ?? []) acc.flows[f] += v;
    acc.steamSources.set(firm, steam);
    acc.carrierRules.set(firm, rules);
    out.set(firm, acc);
  }
  return out;
}

/** Adds an amount of a quantity as measured and counted (no boundary rule). */
export function addAmount(acc: Acc, quantity: Quantity, value: number): void {
  if (isCarrier(quantity)) {
    acc.amounts[quantity].measured += value;
    acc.amounts[quantity].counted += value;
  } else if (isFlow(quantity)) acc.flows[quantity] += value;
  else acc.outputs[quantity] += value;
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
