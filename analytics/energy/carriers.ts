// Which counters measure which energy carrier or output, where they are stored, and how a firm's figure is
// counted at its plant boundary. Derived from the contract's catalogue, so a new device type with one of these
// counters joins without changes here.
import { CATALOGUE } from '../../common/contract/catalogue.ts';
import { CARRIERS, type Carrier } from './factors.ts';

export const OUTPUTS = ['fabric', 'yarn', 'pieces'] as const;
export type Output = (typeof OUTPUTS)[number];
export const QUANTITIES = [...CARRIERS, ...OUTPUTS] as const;
export type Quantity = Carrier | Output;

/** The cumulative counter of each quantity (contract v1: energy and output are *_total counters). */
export const QUANTITY_METRIC: Record<Quantity, string> = {
  electricity: 'energy_kwh_total', gas: 'gas_m3_total', steam: 'steam_kg_total', water: 'water_m3_total',
  fabric: 'fabric_m_total', yarn: 'yarn_kg_total', pieces: 'pieces_total',
};
export const QUANTITY_UNIT: Record<Quantity, string> = { electricity: 'kWh', gas: 'm³', steam: 'kg', water: 'm³', fabric: 'm', yarn: 'kg', pieces: 'pieces' };

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

export interface FirmEnergyFlags {
  /** 天然气+电联产: the firm generates power (and steam) from gas inside its boundary. */
  cogeneration: boolean;
}

export interface BoundaryAmount {
  /** The firm's consumption as measured: its boundary meters when it has one for the carrier, else its machines. */
  measured: number;
  /** What counts in its comprehensive energy consumption (GB/T 2589-2020 boundary rule). */
  counted: number;
  source: 'meters' | 'machines';
}

/**
 * One firm, one carrier: from amounts per measurement to the measured and the counted figure.
 * - A firm with a boundary meter for the carrier is measured by its meters; the machines' own registers are
 *   sub-metering and would count the same energy twice. Without a meter, the machines' registers add up.
 * - Cogeneration (docs/domain.md): the gas is counted at the boundary; power and steam made from it inside the
 *   boundary are not counted again. So only the electricity meters (which measure what crosses the boundary,
 *   i.e. grid import) count, the machines' registers do not; steam made in-house counts zero.
 */
export function boundaryAmount(carrier: Carrier, perMeasurement: ReadonlyMap<string, number>, firmHasMeter: boolean, flags: FirmEnergyFlags): BoundaryAmount {
  const meterMeasurement = measurementOfType(METER_TYPE[carrier]) ?? METER_TYPE[carrier];
  const meters = perMeasurement.get(meterMeasurement) ?? 0;
  let machines = 0;
  for (const [m, v] of perMeasurement) if (m !== meterMeasurement) machines += v;
  const measured = firmHasMeter ? meters : machines;
  let counted = measured;
  if (flags.cogeneration && carrier === 'electricity') counted = meters;
  if (flags.cogeneration && carrier === 'steam') counted = 0;
  return { measured, counted, source: firmHasMeter ? 'meters' : 'machines' };
}

/** Device types whose fabric counter measures finishing passes (a fabric passes a stenter about 2.5 times). */
export const FINISHING_TYPES: ReadonlySet<string> = new Set(['stenter']);

/** Whether a firm (by its registered device types) has a fabric source other than finishing machines (looms). */
export function hasPrimaryFabric(types: ReadonlySet<string>): boolean {
  return sourcesOf('fabric').some((s) => types.has(s.type) && !FINISHING_TYPES.has(s.type));
}

/**
 * One firm, one output: the woven metres of its looms when it has any (registered, like the meters-first rule),
 * else (a dyeing and finishing firm) the metres through its finishing machines; yarn and pieces add up over all
 * sources. Linear for firms alike, so it applies to a group's sums too (countingGroups).
 */
export function outputAmount(output: Output, perMeasurement: ReadonlyMap<string, number>, firmHasPrimaryFabric: boolean): number {
  let primary = 0;
  let finishing = 0;
  for (const [m, v] of perMeasurement) {
    const type = typeOfMeasurement(m) ?? m;
    if (output === 'fabric' && FINISHING_TYPES.has(type)) finishing += v;
    else primary += v;
  }
  return output === 'fabric' && !firmHasPrimaryFabric ? finishing + primary : primary;
}
