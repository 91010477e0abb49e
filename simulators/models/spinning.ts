// Spinning: ring frames and rotor (open-end) machines share the physics (docs/domain.md, spinning); a spec says
// what distinguishes one machine from another.
import { HOUR, round } from './physics.ts';
import { MachineBase, type Hazard, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

interface SpinningSpec {
  rpm: number;
  positions: number;
  tex: number;
  /** Twists per metre: delivery (m/min) = rpm ÷ tpm. */
  tpm: number;
  kwhPerKg: number;
  /** End breaks per 1,000 position-hours. */
  breakRate: number;
  efficiency: number;
  rpmJitter: number;
  /** Power while idle (machine on, not spinning) and while stopped. */
  idleKw: number;
  stoppedKw: number;
}

/** One kind of spinning machine: how to draw a machine's spec, its episodes and the names of what it reports. */
interface SpinningKind {
  type: string;
  spec: (rng: Rng) => SpinningSpec;
  hazards: Hazard[];
  speedMetric: string;
  deliveryMetric: string;
  deliveryDigits: number;
}

/** Ring frame: 14,000–22,000 rpm, 480–1,200 spindles, delivery = rpm ÷ TPM, ≈1.32–1.36 kWh/kg yarn. */
const RING_FRAME: SpinningKind = {
  type: 'spinning_frame',
  spec: (rng) => {
    const rpm = 14_000 + Math.round(rng() * 8000);
    const positions = 480 + 24 * Math.round(rng() * 30);
    const tex = Math.round(between(rng, 14, 30));
    const tpm = 3828 / Math.sqrt(tex); // αtex 3828: 20 tex → ≈856 TPM
    return {
      rpm, positions, tex, tpm, kwhPerKg: between(rng, 1.32, 1.36), breakRate: between(rng, 20, 60),
      efficiency: 0.92, rpmJitter: 0.01, idleKw: 1.5, stoppedKw: 0.3,
    };
  },
  hazards: [
    { state: 'setup', reason: 'doffing', perHour: 1 / 3, minMin: 3, maxMin: 6 },
    { state: 'idle', reason: 'waiting for roving', perHour: 0.02, minMin: 5, maxMin: 25 },
    { state: 'fault', reason: 'drafting or suction fault', perHour: 0.01, minMin: 10, maxMin: 40 },
    { state: 'maintenance', reason: 'scheduled maintenance', perHour: 1 / 336, minMin: 60, maxMin: 180 },
  ],
  speedMetric: 'spindle_speed_rpm',
  deliveryMetric: 'front_roller_m_min',
  deliveryDigits: 3,
};

/** Rotor (open-end) spinning: 60,000–100,000 rpm, delivery 100–200 m/min, 0.6–1.0 kWh/kg (§1.3). */
const ROTOR: SpinningKind = {
  type: 'rotor_spinning',
  spec: (rng) => {
    const rpm = 60_000 + Math.round(rng() * 40_000);
    const positions = 24 * Math.round(between(rng, 10, 20)); // 240–480 rotors
    const tex = Math.round(between(rng, 20, 50));
    // Twist chosen so delivery lands at 100–200 m/min for this rotor speed.
    const tpm = rpm / between(rng, 110, 190);
    return {
      rpm, positions, tex, tpm, kwhPerKg: between(rng, 0.6, 1.0), breakRate: between(rng, 40, 120),
      efficiency: 0.95, rpmJitter: 0.005, idleKw: 4, stoppedKw: 0.5,
    };
  },
  hazards: [
    { state: 'setup', reason: 'lot change', perHour: 1 / 48, minMin: 20, maxMin: 60 },
    { state: 'idle', reason: 'waiting for sliver cans', perHour: 0.02, minMin: 5, maxMin: 20 },
    { state: 'fault', reason: 'piecing robot or suction fault', perHour: 0.01, minMin: 10, maxMin: 45 },
    { state: 'maintenance', reason: 'rotor cleaning and maintenance', perHour: 1 / 336, minMin: 60, maxMin: 180 },
  ],
  speedMetric: 'rotor_speed_rpm',
  deliveryMetric: 'delivery_m_min',
  deliveryDigits: 2,
};

/** Spinning: yarn from positions × delivery × tex, end breaks per position-hour, power from kWh per kg. */
class SpinningModel extends MachineBase {
  readonly type: string;
  private readonly spec: SpinningSpec;
  private yarnKg = 0;
  private breaks = 0;
  private breakFraction = 0;
  private rpmNow = 0;

  constructor(rng: Rng, opts: ModelOptions, private readonly kind: SpinningKind) {
    super(rng, opts);
    this.type = kind.type;
    this.spec = kind.spec(rng);
    this.hazards = kind.hazards;
  }

  protected integrate(h: number): void {
    const sp = this.spec;
    const running = this.state === 'running';
    this.rpmNow = running ? sp.rpm * between(this.rng, 1 - sp.rpmJitter, 1 + sp.rpmJitter) : 0;
    const delivery = this.rpmNow / sp.tpm;
    const kgPerH = (sp.positions * delivery * 60 * sp.tex) / 1e6 * sp.efficiency;
    this.yarnKg += (kgPerH * h) / HOUR;
    if (running) {
      this.breakFraction += ((sp.positions / 1000) * sp.breakRate * between(this.rng, 0.5, 1.5) * h) / HOUR;
      while (this.breakFraction >= 1) {
        this.breaks++;
        this.breakFraction -= 1;
      }
    }
    this.draw(running ? kgPerH * sp.kwhPerKg : this.state === 'stopped' ? sp.stoppedKw : sp.idleKw, h);
  }

  protected read(): Record<string, number> {
    const k = this.kind;
    return {
      [k.speedMetric]: Math.round(this.rpmNow),
      [k.deliveryMetric]: round(this.rpmNow / this.spec.tpm, k.deliveryDigits),
      end_breaks_total: this.breaks,
      yarn_kg_total: round(this.yarnKg, 4),
      ...this.energyMetrics(),
    };
  }
}

export class SpinningFrameModel extends SpinningModel {
  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts, RING_FRAME);
  }
}

export class RotorSpinningModel extends SpinningModel {
  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts, ROTOR);
  }
}
