// Conversion to standard coal (kgce) per GB/T 2589-2020 综合能耗计算通则 (docs/domain.md, energy).
// Two bases: 当量值 (calorific equivalent, the default) and 等价值 (primary-energy equivalent, whose electricity
// factor is the year's thermal-power supply coal rate and so is configured per year). Every figure in kgce is
// returned with the basis that produced it.
export const CARRIERS = ['electricity', 'gas', 'steam', 'water'] as const;
export type Carrier = (typeof CARRIERS)[number];

export const CARRIER_UNIT: Record<Carrier, string> = { electricity: 'kWh', gas: 'm³', steam: 'kg', water: 'm³' };

export const BASES = ['calorific', 'primary'] as const;
export type BasisId = (typeof BASES)[number];

export interface EnergyFactorConfig {
  electricity: {
    /** 当量值, kgce/kWh (GB/T 2589-2020 Appendix A: 0.1229). */
    calorific: number;
    /** 等价值 by year ("2025": 0.2986 …), kgce/kWh: the year's supply coal rate of thermal power. */
    primaryByYear: Record<string, number>;
    /** 等价值 for a year missing from primaryByYear. */
    primaryDefault: number;
  };
  /** Natural gas, kgce/m³ (12.143 tce per 10⁴ m³); the same on both bases (a primary fuel). */
  gas: number;
  /**
   * Steam, kgce/kg: the reference table's low-pressure steam row (3,763 MJ/t, 900 Mcal/t: 0.1286) on both bases;
   * a firm metering pressure and temperature should set it from the enthalpy (MJ/kg × HEAT_KGCE_PER_MJ).
   */
  steam: { calorific: number; primary: number };
  /** Fresh water (耗能工质), kgce/m³ (= per t). */
  water: number;
  /** Whether fresh water counts in the kgce total (the caliber decides; off by default, always shown in m³). */
  includeWater: boolean;
}

export const DEFAULT_FACTORS: EnergyFactorConfig = {
  electricity: { calorific: 0.1229, primaryByYear: {}, primaryDefault: 0.3 },
  gas: 1.2143,
  steam: { calorific: 0.1286, primary: 0.1286 },
  water: 0.2571,
  includeWater: false,
};

/** Heat, kgce/MJ (for people converting steam by enthalpy: kgce/kg = MJ/kg × 0.03412). */
export const HEAT_KGCE_PER_MJ = 0.03412;

export interface Basis {
  id: BasisId;
  zh: string;
  en: string;
  standard: 'GB/T 2589-2020';
  /** The calendar year whose factors were used (matters for 等价值 electricity). */
  year: number;
  factors: Record<Carrier, { kgcePerUnit: number; unit: string }>;
  /** Fresh water is in the kgce total only when the configured caliber says so. */
  includesWater: boolean;
  note: string;
}

export function primaryElectricityFactor(cfg: EnergyFactorConfig, year: number): { value: number; configured: boolean } {
  const v = cfg.electricity.primaryByYear[String(year)];
  return v === undefined ? { value: cfg.electricity.primaryDefault, configured: false } : { value: v, configured: true };
}

export function basisFor(cfg: EnergyFactorConfig, id: BasisId, year: number): Basis {
  const perUnit = (carrier: Carrier, kgcePerUnit: number) => ({ kgcePerUnit, unit: `kgce/${CARRIER_UNIT[carrier]}` });
  if (id === 'calorific') {
    return {
      id, zh: '当量值', en: 'calorific equivalent', standard: 'GB/T 2589-2020', year,
      factors: {
        electricity: perUnit('electricity', cfg.electricity.calorific), gas: perUnit('gas', cfg.gas),
        steam: perUnit('steam', cfg.steam.calorific), water: perUnit('water', cfg.water),
      },
      includesWater: cfg.includeWater,
      note: '当量值: electricity at its heat content (0.1229 kgce/kWh by default)',
    };
  }
  const el = primaryElectricityFactor(cfg, year);
  return {
    id, zh: '等价值', en: 'primary-energy equivalent', standard: 'GB/T 2589-2020', year,
    factors: {
      electricity: perUnit('electricity', el.value), gas: perUnit('gas', cfg.gas),
      steam: perUnit('steam', cfg.steam.primary), water: perUnit('water', cfg.water),
    },
    includesWater: cfg.includeWater,
    note: el.configured
      ? `等价值: electricity at the ${year} supply coal rate of thermal power`
      : `等价值: no electricity factor configured for ${year}; the default ${el.value} kgce/kWh was used`,
  };
}

export type CarrierAmounts = Record<Carrier, number>;

export function zeroAmounts(): CarrierAmounts {
  return { electricity: 0, gas: 0, steam: 0, water: 0 };
}

/** kgce per carrier and in total for quantities in physical units (kWh, m³, kg, m³). */
export function toKgce(q: CarrierAmounts, basis: Basis): { byCarrier: CarrierAmounts; totalKgce: number } {
  const byCarrier = zeroAmounts();
  let totalKgce = 0;
  for (const c of CARRIERS) {
    byCarrier[c] = q[c] * basis.factors[c].kgcePerUnit;
    if (c !== 'water' || basis.includesWater) totalKgce += byCarrier[c];
  }
  return { byCarrier, totalKgce };
}

/** Why a factor configuration is unusable, or undefined. */
export function factorProblem(cfg: EnergyFactorConfig): string | undefined {
  const positive = (name: string, v: number) => (Number.isFinite(v) && v > 0 && v < 100 ? undefined : `${name} must be a positive number of kgce per unit, got ${v}`);
  const checks = [
    positive('electricity.calorific', cfg.electricity.calorific),
    positive('electricity.primaryDefault', cfg.electricity.primaryDefault),
    positive('gas', cfg.gas), positive('steam.calorific', cfg.steam.calorific), positive('steam.primary', cfg.steam.primary), positive('water', cfg.water),
    ...Object.entries(cfg.electricity.primaryByYear).map(([y, v]) => (/^(19|20|21)\d\d$/.test(y) ? positive(`electricity.primaryByYear.${y}`, v) : `electricity.primaryByYear: "${y}" is not a year`)),
  ];
  return checks.find((c) => c !== undefined);
}

// ---- benchmarks (docs/domain.md, energy) ------------------------------------------------------------

export const BENCHMARKS = {
  /** 印染行业规范条件 (2017): cotton, linen, chemical-fibre and blended woven fabric ≤ 30 kgce and ≤ 1.6 t fresh water per 100 m. */
  dyeingKgcePer100m: 30,
  dyeingWaterTPer100m: 1.6,
  /** The same, silk woven fabric (真丝绸机织物, 含练白): ≤ 36 kgce and ≤ 2.2 t fresh water per 100 m. */
  silkKgcePer100m: 36,
  silkWaterTPer100m: 2.2,
  /** The same, yarn and knitted fabric: ≤ 1.1 tce and ≤ 90 t fresh water per tonne; no counter weighs knitted fabric, so shown, not applied. */
  knitKgcePerT: 1100,
  knitWaterTPerT: 90,
  /** Ring spinning about 1.3 kWh per kg of yarn (literature; a reference, not a limit). */
  ringSpinningKwhPerKg: 1.3,
} as const;
