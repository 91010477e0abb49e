// Energy per unit of output (per 100 m of fabric, per kg of yarn, per piece) of each firm or device of a scope,
// against the dyeing benchmarks (woven and silk woven fabric) and the ring-spinning reference.
import type { Firm } from '../../common/registry/registry.ts';
import type { Scope } from '../base/scope.ts';
import { QUARTER_HOUR, localParts, splitByYear } from '../../common/time.ts';
import { FINISHING_TYPES, hasPrimaryFabric } from './carriers.ts';
import { alignRange, stepFor } from './counters.ts';
import { basisOf, type EnergyEnv } from './context.ts';
import { BENCHMARKS, CARRIERS, type Basis, type BasisId } from './factors.ts';
import { addAcc, emptyFigures, kgceOf, perDevice, perFirm, type Acc, type SourceRow } from './figures.ts';
import { wholeLocalMonths } from './settings.ts';
import { chooseSource, sourceRows, type DataSource, type SourceChoice } from './sources.ts';
import { counted, demoFilter, type DemoCounted } from './demo.ts';

export interface IntensityRow {
  key: string;
  name: string;
  segment: string | null;
  electricityKwh: number;
  totalKgce: number;
  waterM3: number;
  fabricM: number;
  yarnKg: number;
  pieces: number;
  kwhPer100m: number | null;
  kgcePer100m: number | null;
  waterTPer100m: number | null;
  kwhPerKgYarn: number | null;
  kgcePerKgYarn: number | null;
  ringFrameKwhPerKg: number | null;
  kwhPerPiece: number | null;
  kgcePerPiece: number | null;
  /** Where fabricM comes from: the looms' woven metres, or the output the firm reported for the range's months. */
  fabricSource: 'looms' | 'entered' | null;
  /** Why a firm has no fabric intensity although it processes fabric (only finishing machines), else null. */
  fabricNote: string | null;
  /** The 印染行业规范条件 row the firm is checked against: woven (dyeing segment) or silk woven fabric (silk segment). */
  dyeingBenchmark: { applies: boolean; row: 'woven' | 'silk' | null; kgcePer100mMax: number | null; waterTPer100mMax: number | null; kgceOk: boolean | null; waterOk: boolean | null };
  spinningReference: { kwhPerKg: number; ratio: number } | null;
}

export interface EnergyIntensity extends DemoCounted {
  scope: Scope;
  from: number;
  to: number;
  source: DataSource;
  basis: Basis;
  benchmarks: typeof BENCHMARKS;
  rows: IntensityRow[];
  notes: string[];
}

type Unit = { acc: Acc; kgce: number; ringKwh: number; ringYarn: number; enteredFabric?: boolean };

const BENCHMARK_ROWS = {
  dyeing: { row: 'woven', kgce: BENCHMARKS.dyeingKgcePer100m, water: BENCHMARKS.dyeingWaterTPer100m },
  silk: { row: 'silk', kgce: BENCHMARKS.silkKgcePer100m, water: BENCHMARKS.silkWaterTPer100m },
} as const;

const NO_LOOMS = 'no looms: a stenter counts every pass of the same fabric, so its metres are not output; no fabric intensity unless the firm\'s monthly output is entered (PUT /energy/firms/{firmId}/output) for every month of a range of whole local months';

function dyeingBenchmark(segment: string | undefined, kgcePer100m: number | null, waterTPer100m: number | null): IntensityRow['dyeingBenchmark'] {
  const b = segment === 'dyeing' || segment === 'silk' ? BENCHMARK_ROWS[segment] : undefined;
  if (!b) return { applies: false, row: null, kgcePer100mMax: null, waterTPer100mMax: null, kgceOk: null, waterOk: null };
  return {
    applies: true, row: b.row, kgcePer100mMax: b.kgce, waterTPer100mMax: b.water,
    kgceOk: kgcePer100m === null ? null : kgcePer100m <= b.kgce, waterOk: waterTPer100m === null ? null : waterTPer100m <= b.water,
  };
}

function intensityRow(key: string, v: Unit, firm: Firm | undefined, deviceName: string | undefined, types: ReadonlySet<string>): IntensityRow {
  const el = v.acc.amounts.electricity.measured;
  const water = v.acc.amounts.water.measured;
  const { fabric, yarn, pieces } = v.acc.outputs;
  const per = (x: number, out: number, scale = 1) => (out > 0 ? (x / out) * scale : null);
  const kgcePer100m = per(v.kgce, fabric, 100);
  const waterTPer100m = per(water, fabric, 100);
  const ring = per(v.ringKwh, v.ringYarn);
  return {
    key, name: firm?.name ?? deviceName ?? key, segment: firm?.segment ?? null,
    electricityKwh: el, totalKgce: v.kgce, waterM3: water, fabricM: fabric, yarnKg: yarn, pieces,
    kwhPer100m: per(el, fabric, 100), kgcePer100m, waterTPer100m,
    kwhPerKgYarn: per(el, yarn), kgcePerKgYarn: per(v.kgce, yarn), ringFrameKwhPerKg: ring,
    kwhPerPiece: per(el, pieces), kgcePerPiece: per(v.kgce, pieces),
    fabricSource: v.enteredFabric ? 'entered' : hasPrimaryFabric(types) ? 'looms' : null,
    fabricNote: !v.enteredFabric && [...types].some((t) => FINISHING_TYPES.has(t)) && !hasPrimaryFabric(types) ? NO_LOOMS : null,
    dyeingBenchmark: dyeingBenchmark(firm?.segment, kgcePer100m, waterTPer100m),
    spinningReference: ring === null ? null : { kwhPerKg: BENCHMARKS.ringSpinningKwhPerKg, ratio: ring / BENCHMARKS.ringSpinningKwhPerKg },
  };
}

/** Adds one year's rows per unit (firm or device), with the spinning frames' own electricity and yarn apart. */
function addRows(out: Map<string, Unit>, units: Map<string, Acc>, rows: readonly SourceRow[], basis: Basis, byDevice: boolean): void {
  for (const [key, acc] of units) {
    const cur = out.get(key) ?? { acc: emptyFigures(), kgce: 0, ringKwh: 0, ringYarn: 0 };
    addAcc(cur.acc, acc);
    const k = kgceOf(acc, basis);
    for (const c of CARRIERS) if (c !== 'water' || basis.includesWater) cur.kgce += k[c];
    out.set(key, cur);
  }
  for (const row of rows) {
    if (row.source !== 'spinning_frame') continue;
    const cur = out.get(byDevice ? row.device : row.firm);
    if (!cur) continue;
    if (row.quantity === 'electricity') cur.ringKwh += row.value;
    if (row.quantity === 'yarn') cur.ringYarn += row.value;
  }
}

/** A firm without looms takes the fabric output it reported, when it did for every month of a whole-month range. */
function useEnteredFabric(env: EnergyEnv, out: Map<string, Unit>, typesByFirm: ReadonlyMap<string, ReadonlySet<string>>, from: number, to: number): void {
  const months = wholeLocalMonths(from, to);
  if (!months || !env.ctx.enteredFabric) return;
  for (const [firm, unit] of out) {
    if (hasPrimaryFabric(typesByFirm.get(firm) ?? new Set<string>())) continue;
    const entered = env.ctx.enteredFabric(firm, months);
    if (entered === undefined) continue;
    unit.acc.outputs.fabric = entered;
    unit.enteredFabric = true;
  }
}

export async function intensity(env: EnergyEnv, scope: Scope, from: number, to: number, basisId: BasisId, choice: SourceChoice = 'auto', includeDemo = false): Promise<EnergyIntensity> {
  const source = chooseSource(env, scope, from, to, choice);
  const step = source === 'rollup' ? QUARTER_HOUR : stepFor(to - from);
  const r = alignRange(from, to, step);
  const idx = await env.ctx.index.get();
  const demo = demoFilter(idx, scope, includeDemo);
  const byDevice = scope.kind === 'device';
  const out = new Map<string, Unit>();
  let basis: Basis | undefined;
  for (const piece of splitByYear(r.from, r.to)) {
    const b = basisOf(env, basisId, piece.year);
    basis ??= b;
    const rows = counted(await sourceRows(env, source, scope, piece.from, piece.to, step), demo);
    addRows(out, byDevice ? perDevice(rows) : perFirm(rows, idx, (f) => env.ctx.flagsOf(f)), rows, b, byDevice);
  }
  if (!byDevice) useEnteredFabric(env, out, idx.typesByFirm, r.from, r.to);
  const typesOf = (key: string) => (byDevice ? new Set([idx.devices.get(key)?.type ?? '']) : idx.typesByFirm.get(key) ?? new Set<string>());
  const rows = [...out.entries()].map(([key, v]) => intensityRow(key, v, byDevice ? undefined : idx.firms.get(key), byDevice ? idx.devices.get(key)?.name : undefined, typesOf(key)));
  rows.sort((a, b) => (b.kgcePer100m ?? -1) - (a.kgcePer100m ?? -1));
  return {
    scope, from: r.from, to: r.to, source, basis: basis ?? basisOf(env, basisId, localParts(r.from).year), benchmarks: BENCHMARKS, rows, includeDemo, demoFirmsLeftOut: demo.demoFirmsLeftOut,
    notes: [
      'dyeing benchmark (印染行业规范条件 2017): woven fabric ≤ 30 kgce and ≤ 1.6 t fresh water per 100 m, applied to firms of the dyeing segment; silk woven fabric ≤ 36 kgce and ≤ 2.2 t per 100 m, applied to firms of the silk segment with woven output; yarn and knitted fabric ≤ 1.1 tce and ≤ 90 t per tonne, not applied (no counter weighs knitted fabric)',
      'ring spinning ≈ 1.3 kWh per kg of yarn: the spinning frames\' own registers against their own yarn (a reference, not a limit)',
      'output comes from the fabric_m_total, yarn_kg_total and pieces_total counters; a firm without an output counter has no intensity',
      'fabric: the looms\' woven metres; a firm without looms, the output it entered for each month of a range of whole local months (fabricSource: entered); never a stenter\'s metres, which count every pass (fabricNote says so)',
    ],
  };
}
