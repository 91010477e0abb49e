// Meters: a register that starts at a random reading and a flow that follows the shifts (base load off shift).
import { HOUR, MIN, ema, fit, forEachSubstep, round } from './physics.ts';
import type { MachineModel, ModelOptions, Reading } from './machine.ts';
import { between, type Rng } from './random.ts';

export interface MeterProfile {
  type: string;
  flow: string;
  register: string;
  /** Flow range on shift (unit of the flow metric). */
  onShift: [number, number];
  /** Off-shift flow as a share of the on-shift flow. */
  offShare: [number, number];
  registerMax: number;
  flowDigits: number;
}

export const METERS = {
  electricity_meter: { type: 'electricity_meter', flow: 'power_kw', register: 'energy_kwh_total', onShift: [100, 800], offShare: [0.2, 0.35], registerMax: 1e6, flowDigits: 2 },
  gas_meter: { type: 'gas_meter', flow: 'flow_m3_h', register: 'gas_m3_total', onShift: [40, 300], offShare: [0.05, 0.15], registerMax: 5e5, flowDigits: 2 },
  steam_meter: { type: 'steam_meter', flow: 'flow_kg_h', register: 'steam_kg_total', onShift: [500, 6000], offShare: [0.05, 0.15], registerMax: 5e6, flowDigits: 1 },
  water_meter: { type: 'water_meter', flow: 'flow_m3_h', register: 'water_m3_total', onShift: [5, 60], offShare: [0.03, 0.1], registerMax: 2e5, flowDigits: 3 },
} satisfies Record<string, MeterProfile>;

export class MeterModel implements MachineModel {
  readonly type: string;
  private readonly base: number;
  private readonly off: number;
  private level: number;
  private register: number;
  private clock = 0;

  constructor(private readonly rng: Rng, private readonly opts: ModelOptions = {}, private readonly profile: MeterProfile = METERS.electricity_meter) {
    this.type = profile.type;
    this.base = between(rng, ...profile.onShift);
    this.off = between(rng, ...profile.offShare);
    this.register = Math.round(rng() * profile.registerMax);
    this.level = this.base;
  }

  step(dtMs: number, nowMs?: number): Reading {
    const dt = Math.max(0, dtMs);
    const end = nowMs ?? this.clock + dt;
    forEachSubstep(dt, end, (h, t) => {
      const on = this.opts.schedule ? this.opts.schedule(t) : true;
      const target = this.base * (on ? between(this.rng, 0.85, 1.15) : this.off * between(this.rng, 0.9, 1.1));
      this.level = ema(this.level, target, h, 2 * MIN);
      this.register += (this.level * h) / HOUR;
    });
    this.clock = end;
    const p = this.profile;
    const metrics: Record<string, number> = {
      [p.flow]: round(this.level * between(this.rng, 0.98, 1.02), p.flowDigits),
      [p.register]: round(this.register, 3),
    };
    if (p.type === 'electricity_meter') metrics.power_factor = round(0.85 + this.rng() * 0.13, 3);
    return { metrics: fit(p.type, metrics) };
  }
}

/** A workshop's electricity meter: base load plus noise, power factor 0.85–0.98. */
export class ElectricityMeterModel extends MeterModel {
  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts, METERS.electricity_meter);
  }
}
