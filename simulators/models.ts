// Machine models with plausible behaviour from ../shared/domain-notes.md §1.3. Every value they emit is inside
// the catalogue's range (the same catalogue admission validates against); counters only go up; energy follows
// the machine's state (a stopped loom draws little).
import type { MachineState } from '../common/contract/catalogue.ts';

export type Rng = () => number;

/** mulberry32: small, fast, deterministic given the seed. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Reading {
  metrics: Record<string, number>;
  /** Set when the machine changed state during this step. */
  state?: { state: MachineState; reason?: string };
}

export interface MachineModel {
  readonly type: string;
  step(dtMs: number): Reading;
}

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Air-jet loom: 500–900 rpm, 18 picks/cm, stops ≈20 warp / 15 weft per 10⁵ picks, 1.1–1.5 kW motor + air share. */
export class LoomModel implements MachineModel {
  readonly type = 'loom';
  private readonly rpm: number;
  private readonly picksPerCm: number;
  private state: MachineState = 'running';
  private repairLeftMs = 0;
  private picks = 0;
  private fabricM = 0;
  private warpStops = 0;
  private weftStops = 0;
  private energyKwh = 0;
  private runMs = 0;
  private totalMs = 0;

  constructor(private readonly rng: Rng) {
    this.rpm = 500 + Math.round(rng() * 400);
    this.picksPerCm = 16 + Math.round(rng() * 4);
  }

  step(dtMs: number): Reading {
    let changed: Reading['state'];
    this.totalMs += dtMs;
    if (this.state === 'running') {
      const picks = (this.rpm * dtMs) / 60_000;
      this.picks += picks;
      this.fabricM += picks / (this.picksPerCm * 100);
      this.runMs += dtMs;
      // Stops per pick: 20 warp and 15 weft per 100,000 picks; repairs 0.85 and 0.30 min (domain-notes §1.2).
      const r = this.rng();
      if (r < (picks * 20) / 1e5) {
        this.warpStops++;
        this.state = 'fault';
        this.repairLeftMs = 0.85 * 60_000 * (0.5 + this.rng());
        changed = { state: 'fault', reason: 'warp stop' };
      } else if (r < (picks * 35) / 1e5) {
        this.weftStops++;
        this.state = 'fault';
        this.repairLeftMs = 0.3 * 60_000 * (0.5 + this.rng());
        changed = { state: 'fault', reason: 'weft stop' };
      }
    } else {
      this.repairLeftMs -= dtMs;
      if (this.repairLeftMs <= 0) {
        this.state = 'running';
        changed = { state: 'running' };
      }
    }
    const running = this.state === 'running';
    const powerKw = running ? 3 + this.rng() * 2 : 0.3 + this.rng() * 0.2;
    this.energyKwh += (powerKw * dtMs) / 3_600_000;
    return {
      metrics: {
        speed_rpm: running ? round(this.rpm * (0.98 + this.rng() * 0.04), 1) : 0,
        efficiency_pct: round(clamp((100 * this.runMs) / Math.max(this.totalMs, 1), 0, 100), 2),
        picks_total: Math.floor(this.picks),
        fabric_m_total: round(this.fabricM, 3),
        warp_stops_total: this.warpStops,
        weft_stops_total: this.weftStops,
        power_kw: round(powerKw, 3),
        energy_kwh_total: round(this.energyKwh, 4),
      },
      ...(changed ? { state: changed } : {}),
    };
  }
}

/** HT polyester jet dyeing: fill, heat at 1–3 °C/min to 130 °C, hold 30–60 min, cool to 70 °C, rinse, drain. */
export class DyeingMachineModel implements MachineModel {
  readonly type = 'dyeing_machine';
  static readonly PHASES = ['idle', 'fill', 'heat', 'hold', 'cool', 'rinse', 'drain'] as const;
  private phase = 1;
  private phaseMs = 0;
  private temp = 25;
  private readonly ramp: number;
  private readonly holdMin: number;
  private readonly batchKg: number;
  private readonly liquorRatio: number;
  private energyKwh = 0;
  private steamKg = 0;
  private waterM3 = 0;

  constructor(private readonly rng: Rng) {
    this.ramp = 1 + rng() * 2;
    this.holdMin = 30 + rng() * 30;
    this.batchKg = 120 + Math.round(rng() * 380);
    this.liquorRatio = 8 + Math.round(rng() * 7);
  }

  private next(): Reading['state'] {
    this.phase = this.phase === 6 ? 1 : this.phase + 1;
    this.phaseMs = 0;
    return this.phase === 1 ? { state: 'running', reason: 'new dye lot' } : undefined;
  }

  step(dtMs: number): Reading {
    this.phaseMs += dtMs;
    const min = dtMs / 60_000;
    let changed: Reading['state'];
    let setpoint = 130;
    let steamKgH = 0;
    switch (DyeingMachineModel.PHASES[this.phase]) {
      case 'fill':
        this.waterM3 += (this.batchKg * this.liquorRatio) / 1000 * (dtMs / 300_000);
        if (this.phaseMs >= 300_000) changed = this.next();
        break;
      case 'heat':
        this.temp = Math.min(130, this.temp + this.ramp * min);
        steamKgH = 300 + this.rng() * 100;
        if (this.temp >= 130) changed = this.next();
        break;
      case 'hold':
        this.temp = 130 + (this.rng() - 0.5);
        steamKgH = 60 + this.rng() * 20;
        if (this.phaseMs >= this.holdMin * 60_000) changed = this.next();
        break;
      case 'cool':
        setpoint = 70;
        this.temp = Math.max(70, this.temp - 2 * min);
        if (this.temp <= 70) changed = this.next();
        break;
      case 'rinse':
        setpoint = 60;
        this.temp = Math.max(40, this.temp - 1 * min);
        this.waterM3 += (this.batchKg * this.liquorRatio) / 1000 * (dtMs / 600_000);
        if (this.phaseMs >= 600_000) changed = this.next();
        break;
      default:
        setpoint = 25;
        this.temp = Math.max(25, this.temp - 1 * min);
        if (this.phaseMs >= 180_000) changed = this.next();
    }
    const pumpKw = 15 + this.rng() * 15;
    const powerKw = pumpKw + 3 + this.rng() * 2;
    this.energyKwh += (powerKw * dtMs) / 3_600_000;
    this.steamKg += (steamKgH * dtMs) / 3_600_000;
    return {
      metrics: {
        phase: this.phase,
        bath_temp_c: round(clamp(this.temp, 0, 145), 2),
        setpoint_c: setpoint,
        liquor_l: Math.round(this.batchKg * this.liquorRatio),
        batch_kg: this.batchKg,
        pump_power_kw: round(pumpKw, 2),
        power_kw: round(powerKw, 2),
        energy_kwh_total: round(this.energyKwh, 4),
        steam_kg_total: round(this.steamKg, 3),
        water_m3_total: round(this.waterM3, 4),
      },
      ...(changed ? { state: changed } : {}),
    };
  }
}

/** Ring frame: 14,000–22,000 rpm, 1,000 spindles, ≈23 g/h per spindle at 20 tex, ≈1.3 kWh/kg yarn. */
export class SpinningFrameModel implements MachineModel {
  readonly type = 'spinning_frame';
  private readonly rpm: number;
  private yarnKg = 0;
  private breaks = 0;
  private energyKwh = 0;

  constructor(private readonly rng: Rng) {
    this.rpm = 14_000 + Math.round(rng() * 8000);
  }

  step(dtMs: number): Reading {
    const rpm = this.rpm * (0.99 + this.rng() * 0.02);
    const delivery = rpm / 856; // m/min at 856 twists per metre
    const kgPerH = (delivery * 20 * 60) / 1000 / 1000 * 1000 * 0.92; // 1,000 spindles, 20 tex, 92 % efficiency
    const kg = (kgPerH * dtMs) / 3_600_000;
    this.yarnKg += kg;
    if (this.rng() < (dtMs / 3_600_000) * 40) this.breaks++;
    const powerKw = kgPerH * 1.33;
    this.energyKwh += (powerKw * dtMs) / 3_600_000;
    return {
      metrics: {
        spindle_speed_rpm: Math.round(rpm),
        front_roller_m_min: round(delivery, 3),
        end_breaks_total: this.breaks,
        yarn_kg_total: round(this.yarnKg, 4),
        power_kw: round(powerKw, 3),
        energy_kwh_total: round(this.energyKwh, 4),
      },
    };
  }
}

/** A workshop's electricity meter: base load plus noise, power factor 0.85–0.98. */
export class ElectricityMeterModel implements MachineModel {
  readonly type = 'electricity_meter';
  private readonly baseKw: number;
  private energyKwh: number;

  constructor(private readonly rng: Rng) {
    this.baseKw = 100 + rng() * 700;
    this.energyKwh = Math.round(rng() * 1e6);
  }

  step(dtMs: number): Reading {
    const kw = this.baseKw * (0.85 + this.rng() * 0.3);
    this.energyKwh += (kw * dtMs) / 3_600_000;
    return { metrics: { power_kw: round(kw, 2), energy_kwh_total: round(this.energyKwh, 3), power_factor: round(0.85 + this.rng() * 0.13, 3) } };
  }
}

const MODELS: Record<string, new (rng: Rng) => MachineModel> = {
  loom: LoomModel,
  dyeing_machine: DyeingMachineModel,
  spinning_frame: SpinningFrameModel,
  electricity_meter: ElectricityMeterModel,
};

export const simulatedTypes = Object.keys(MODELS);

export function createModel(type: string, rng: Rng): MachineModel {
  const Model = MODELS[type];
  if (!Model) throw new Error(`no simulator model for device type "${type}"; available: ${simulatedTypes.join(', ')}`);
  return new Model(rng);
}
