// Which counters measure which energy carrier or output, where they are stored, and how a firm's figure is
// counted at its plant boundary. Derived from the contract's catalogue, so a new device type with one of these
// counters joins without changes here.
import { CATALOGUE } from '../../common/contract/catalogue.ts';
import { CARRIERS, type Carrier } from './factors.ts';

export const OUTPUTS = ['fabric', 'yarn', 'pieces'] as const;
export type Output = (typeof OUTPUTS)[number];
/**
 * Electricity registers besides the grid import (energy_kwh_total): what a bidirectional grid meter fed to the
 * grid (export) and what a meter at a generator's terminals counted (generation). Measured and shown, never
 * counted: purchased electricity is what was imported, and own generation's fuel is counted where it enters.
 */
export const FLOWS = ['export', 'generation'] as const;
export type Flow = (typeof FLOWS)[number];
export const QUANTITIES = [...CARRIERS, ...OUTPUTS, ...FLOWS] as const;
export type Quantity = Carrier | Output | Flow;

export function isFlow(q: string): q is Flow {
  return (FLOWS as readonly string[]).includes(q);
}

/** The cumulative counter of each quantity (contract v1: energy and output are *_total counters). */
export const QUANTITY_METRIC: Record<Quantity, string> = {
  electricity: 'energy_kwh_total', gas: 'gas_m3_total', steam: 'steam_kg_total', water: 'water_m3_total',
  fabric: 'fabric_m_total', yarn: 'yarn_kg_total', pieces: 'pieces_total', export: 'export_kwh_total', generation: 'generation_kwh_total',
};
export const QUANTITY_UNIT: Record<Quantity, string> = { electricity: 'kWh', gas: 'm³', steam: 'kg', water: 'm³', fabric: 'm', yarn: 'kg', pieces: 'pieces', export: 'kWh', generation: 'kWh' };

/** Device types that measure a carrier at the plant boundary (a firm's main meters). */
export const METER_TYPE: Record<Carrier, string> = { electricity: 'electricity_meter', gas: 'gas_meter', steam: 'steam_meter', water: 'water_meter' };

/** Instantaneous rate of a carrier per measurement, for live figures (kW, m³/h, kg/h). */
export const RATE_METRIC: Record<Carrier, { unit: string; byType: Record<string, string> }> = {
  electricity: { unit: 'kW', byType: Object.fromEntries(CATALOGUE.filter((t) => t.metrics.some((m) => m.name === 'power_kw')).map((t) => [t.type, 'power_kw'])) },
  gas: { unit: 'm³/h', byType: { gas_meter: 'flow_m3_h', ...Object.fromEntries(CATALOGUE.filter((t) => t.metrics.some((m) => m.name === 'gas_flow_m3_h')).map((t) => [t.type, 'gas_flow_m3_h'])) } },
  steam: { unit: 'kg/h', byType: { steam_meter: 'flow_kg_h' } },
  water: { unit: 'm³/h', byType: { water_meter: 'flow_m3_h' } },
};

/**
 * Counters that measure a quantity under another name or in another unit than QUANTITY_METRIC, with the factor
 * to the quantity's unit: water-jet looms count litres; sock knitters count pairs (a pair is one piece); silk
 * reeling counts raw silk, which is the yarn of a silk firm.
 */
export const OTHER_COUNTERS: Partial<Record<Quantity, Record<string, number>>> = {
  water: { water_l_total: 0.001 },
  pieces: { pairs_total: 1 },
  yarn: { raw_silk_kg_total: 1 },
};

export interface CounterSource {
  type: string;
  measurement: string;
  /** The counter metric of this type for the quantity. */
  metric: string;
  /** Factor from the metric's unit to the quantity's (QUANTITY_UNIT). */
  scale: number;
}

/** Device types (and their measurements) that report a counter of a quantity. */
export function sourcesOf(q: Quantity): CounterSource[] {
  const factors: Record<string, number> = { [QUANTITY_METRIC[q]]: 1, ...OTHER_COUNTERS[q] };
  return CATALOGUE.flatMap((t) => {
    const m = t.metrics.find((x) => x.counter && x.name in factors);
    return m ? [{ type: t.type, measurement: t.measurement, metric: m.name, scale: factors[m.name] ?? 1 }] : [];
  });
}

/** The sources of a quantity by counter metric: one counter query per group, its values times `scale`. */
export function counterGroups(q: Quantity): Array<{ metric: string; scale: number; measurements: string[] }> {
  const out = new Map<string, { metric: string; scale: number; measurements: string[] }>();
  for (const s of sourcesOf(q)) {
    const g = out.get(s.metric) ?? { metric: s.metric, scale: s.scale, measurements: [] };
    g.measurements.push(s.measurement);
    out.set(s.metric, g);
  }
  return [...out.values()];
}

export function measurementOfType(type: string): string | undefined {
  return CATALOGUE.find((t) => t.type === type)?.measurement;
}

export function typeOfMeasurement(measurement: string): string | undefined {
  return CATALOGUE.find((t) => t.measurement === measurement)?.type;
}

/**
 * Where a firm's steam comes from, which decides what crosses its plant boundary (docs/domain.md, 2.2):
 * - bought: purchased steam crosses the boundary and counts;
 * - own-boiler: the boiler's fuel (gas) is counted where it enters; the steam made from it is not counted again;
 * - cogeneration (天然气+电联产): as own-boiler, and the power it generates is not counted again either: only
 *   the electricity meters (grid import) count.
 */
export const STEAM_SOURCES = ['bought', 'own-boiler', 'cogeneration'] as const;
export type SteamSource = (typeof STEAM_SOURCES)[number];

export const STEAM_SOURCE_LABEL: Record<SteamSource, { zh: string; en: string }> = {
  bought: { zh: '外购蒸汽：蒸汽计入', en: 'steam bought in: steam counted' },
  'own-boiler': { zh: '自备锅炉：计燃料，蒸汽不重复计入', en: 'own boiler: its fuel counted, the steam not again' },
  cogeneration: { zh: '热电联产：计燃料，自发电与蒸汽不重复计入', en: 'cogeneration: its fuel counted, self-made power and steam not again' },
};

export interface FirmEnergyFlags {
  /** Where the firm's steam comes from as entered; null when nobody entered it (steamSourceOf infers it). */
  steamSource: SteamSource | null;
}

export interface SteamSourceRule {
  source: SteamSource;
  /** entered through the API, inferred from a gas meter at a boiler, or the default (bought). */
  from: 'entered' | 'boiler-meter' | 'default';
}

/** A gas meter named or located at a boiler (锅炉房) measures boiler fuel. */
const BOILER = /锅炉|boiler/i;

/**
 * The steam source a firm is counted with: as entered, else own-boiler when one of its gas meters is at a boiler
 * (the steam its machines meter is made from that gas), else bought.
 */
export function steamSourceOf(flags: FirmEnergyFlags, devices: ReadonlyArray<{ type: string; name: string; location: string }> = []): SteamSourceRule {
  if (flags.steamSource) return { source: flags.steamSource, from: 'entered' };
  const boiler = devices.some((d) => d.type === METER_TYPE.gas && (BOILER.test(d.location) || BOILER.test(d.name)));
  return boiler ? { source: 'own-boiler', from: 'boiler-meter' } : { source: 'bought', from: 'default' };
}

export interface BoundaryAmount {
  /** The firm's consumption as measured: its boundary meters when it has one for the carrier, else its machines. */
  measured: number;
  /** What counts in its comprehensive energy consumption (GB/T 2589-2020 boundary rule). */
  counted: number;
  source: 'meters' | 'machines';
}

function meterMeasurement(carrier: Carrier): string {
  return measurementOfType(METER_TYPE[carrier]) ?? METER_TYPE[carrier];
}

/**
 * Whether one source measurement's amount of a carrier is in the firm's counted figure:
 * - meters first: with a boundary meter for the carrier only the meters count (the machines' registers are
 *   sub-metering and would count the same energy twice); without one the machines' registers add up;
 * - steam counts only when bought in (made inside, its fuel was counted already);
 * - a cogeneration firm counts only the electricity its meters import, not its machines' registers.
 */
export function countedSource(carrier: Carrier, measurement: string, firmHasMeter: boolean, steam: SteamSource): boolean {
  const isMeter = measurement === meterMeasurement(carrier);
  if (isMeter !== firmHasMeter) return false;
  if (carrier === 'steam' && steam !== 'bought') return false;
  return !(carrier === 'electricity' && steam === 'cogeneration' && !isMeter);
}

/** How a firm's carrier is counted: by its boundary meters, by its machines' registers, or not at all (made inside). */
export type CarrierRule = 'meters' | 'machines' | 'not-counted';

export function carrierRule(carrier: Carrier, firmHasMeter: boolean, steam: SteamSource): CarrierRule {
  if (carrier === 'steam' && steam !== 'bought') return 'not-counted';
  if (carrier === 'electricity' && steam === 'cogeneration' && !firmHasMeter) return 'not-counted';
  return firmHasMeter ? 'meters' : 'machines';
}

type Text = { zh: string; en: string };

/** Gas and water: their meters, else the machines' registers; never made inside. */
function meteredOnly(meters: Text, machines: Text): Record<CarrierRule, Text> {
  return { meters, machines, 'not-counted': { zh: '不计入', en: 'not counted' } };
}

/** What each rule means for each carrier, for responses and the CSV (docs/monitoring.md, "Plant boundary"); no commas in English, for naive CSV readers. */
export const CARRIER_RULE_TEXT: Record<Carrier, Record<CarrierRule, Text>> = {
  electricity: {
    meters: { zh: '电表计购入（正向）电量；上网与自发电量只计量，不计入', en: 'the meters\' grid import counted; export and own generation measured and not counted' },
    machines: { zh: '无总电表：设备电量累加', en: 'no grid meter: the machines\' registers add up' },
    'not-counted': { zh: '热电联产且无总电表：不计电量（发电燃料已计入）', en: 'cogeneration without a grid meter: no electricity counted (the generator\'s fuel is)' },
  },
  gas: meteredOnly({ zh: '天然气表计量', en: 'the gas meters' }, { zh: '无总表：设备用气累加', en: 'no gas meter: the machines\' registers add up' }),
  steam: {
    meters: { zh: '外购蒸汽，蒸汽表计量', en: 'bought steam by the steam meters' },
    machines: { zh: '外购蒸汽，设备用汽累加', en: 'bought steam: the machines\' registers add up' },
    'not-counted': { zh: '自产蒸汽不重复计入（燃料已计入）', en: 'steam made inside: not counted again (its fuel is)' },
  },
  water: meteredOnly({ zh: '水表计量', en: 'the water meters' }, { zh: '无总表：设备用水累加', en: 'no water meter: the machines\' registers add up' }),
};

/** One firm, one carrier: from amounts per measurement to the measured and the counted figure (countedSource). */
export function boundaryAmount(carrier: Carrier, perMeasurement: ReadonlyMap<string, number>, firmHasMeter: boolean, steam: SteamSource): BoundaryAmount {
  const meter = meterMeasurement(carrier);
  let measured = 0;
  let counted = 0;
  for (const [m, v] of perMeasurement) {
    if ((m === meter) === firmHasMeter) measured += v;
    if (countedSource(carrier, m, firmHasMeter, steam)) counted += v;
  }
  return { measured, counted, source: firmHasMeter ? 'meters' : 'machines' };
}

/** Device types whose fabric counter measures finishing passes (a fabric passes a stenter about 2.5 times). */
export const FINISHING_TYPES: ReadonlySet<string> = new Set(['stenter']);

/** Whether a firm (by its registered device types) has a fabric source other than finishing machines (looms). */
export function hasPrimaryFabric(types: ReadonlySet<string>): boolean {
  return sourcesOf('fabric').some((s) => types.has(s.type) && !FINISHING_TYPES.has(s.type));
}

/**
 * One output from amounts per measurement: fabric is the looms' woven metres only. A stenter counts every pass
 * of the same fabric, so its metres are never output (a firm without looms has no fabric output from telemetry).
 * Yarn and pieces add up over all sources. Linear, so it applies to a group's sums too (countingGroups).
 */
export function outputAmount(output: Output, perMeasurement: ReadonlyMap<string, number>): number {
  let out = 0;
  for (const [m, v] of perMeasurement) if (isOutputSource(output, m)) out += v;
  return out;
}

/** Whether a source measurement's counter is output (not a finishing machine's fabric passes). */
export function isOutputSource(output: Output, measurement: string): boolean {
  return !(output === 'fabric' && FINISHING_TYPES.has(typeOfMeasurement(measurement) ?? measurement));
}
