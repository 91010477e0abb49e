// Dyeing: jet / overflow machines running dye lots through their phases, with the heating physics that give the
// steam they use (docs/domain.md, machine ranges).
import { HOUR, MIN, clamp, coolTowards, round } from './physics.ts';
import { MachineBase, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

interface Recipe {
  name: string;
  target: number;
  holdMin: [number, number];
  coolTo: number;
}

// HT polyester 120–135 °C, hold 30–60 min, cool towards 60–80 °C; reactive cotton at 60–80 °C (§1.3).
const RECIPES: readonly Recipe[] = [
  { name: 'HT polyester', target: 130, holdMin: [30, 60], coolTo: 75 },
  { name: 'HT polyester (dark)', target: 132, holdMin: [45, 60], coolTo: 80 },
  { name: 'reactive cotton', target: 60, holdMin: [40, 80], coolTo: 50 },
];

/** What a phase asks of the utilities in one sub-step. */
interface PhaseDraw {
  steamKgH: number;
  circulating: boolean;
}

const IDLE_DRAW: PhaseDraw = { steamKgH: 0, circulating: false };

/**
 * Jet / overflow dyeing: each dye lot runs fill → heat (1–3 °C/min) → hold → cool (≤ 2 °C/min) → rinse → drain,
 * then the next lot starts at fill. Off shift the machine finishes its lot, then stands idle at phase 0
 * (state stopped). A rare pump fault freezes the phase while the bath cools; the lot resumes after the repair.
 */
export class DyeingMachineModel extends MachineBase {
  readonly type = 'dyeing_machine';
  static readonly PHASES = ['idle', 'fill', 'heat', 'hold', 'cool', 'rinse', 'drain'] as const;
  private phase = 1;
  private phaseMs = 0;
  private temp = 25;
  private prevTemp = 25;
  private readonly ramp: number;
  private readonly batchKg: number;
  private readonly liquorRatio: number;
  private readonly pumpKw: number;
  private recipe: Recipe;
  private holdMin: number;
  private lots = 0;
  private steamKg = 0;
  private waterM3 = 0;
  private pumpNowKw = 0;
  private scheduledNow = true;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    this.ramp = 1 + rng() * 1.95;
    this.batchKg = 120 + Math.round(rng() * 380);
    this.liquorRatio = 8 + Math.round(rng() * 7);
    this.pumpKw = between(rng, 15, 45);
    this.recipe = RECIPES[0] as Recipe;
    this.holdMin = between(rng, ...this.recipe.holdMin);
    this.shiftStart = undefined;
    this.hazards = [{ state: 'fault', reason: 'main pump fault', perHour: 1 / 200, minMin: 10, maxMin: 40 }];
  }

  private get liquorL(): number {
    return this.batchKg * this.liquorRatio;
  }

  private get phaseName(): (typeof DyeingMachineModel.PHASES)[number] {
    return DyeingMachineModel.PHASES[this.phase] ?? 'idle';
  }

  /** Steam while heating at the ramp rate: the liquor (4.19 kJ/kg·K, ≈2,100 kJ/kg latent heat, 85 % useful) plus losses. */
  private get heatingSteamKgH(): number {
    return (this.liquorL * 4.19 * this.ramp * 60) / 2100 / 0.85 + 40;
  }

  protected override canStop(): boolean {
    return this.phase === 0 || this.phase === 1 && this.phaseMs === 0;
  }

  private newLot(): void {
    this.phase = 1;
    this.phaseMs = 0;
    this.recipe = RECIPES[Math.floor(this.rng() * RECIPES.length)] as Recipe;
    this.holdMin = between(this.rng, ...this.recipe.holdMin);
  }

  private nextPhase(): void {
    this.phaseMs = 0;
    if (this.phase === 6) {
      this.lots++;
      // The next lot starts at once on shift; off shift the machine waits at phase 0 until the shift starts.
      if (this.scheduledNow) this.newLot();
      else this.phase = 0;
    } else {
      this.phase++;
    }
  }

  protected integrate(h: number, t: number): void {
    this.scheduledNow = this.scheduled(t);
    if (this.state === 'stopped') {
      this.phase = 0;
    } else if (this.phase === 0) {
      // On shift again (the state machine already left `stopped`): load the next lot.
      this.newLot();
    }
    let use = IDLE_DRAW;
    if (this.state === 'running') {
      this.phaseMs += h;
      use = this.runPhase(h);
    } else {
      // Pump fault or idle at phase 0: the bath loses heat slowly.
      this.temp = coolTowards(this.temp, 25, 0.5 * (h / MIN));
    }
    this.pumpNowKw = use.circulating ? this.pumpKw * between(this.rng, 0.85, 1) : 0;
    this.draw(this.pumpNowKw + (this.state === 'stopped' ? 0.8 : 3 + this.rng() * 2), h);
    this.steamKg += (use.steamKgH * h) / HOUR;
  }

  /** One sub-step of h ms of the current phase: bath temperature, water, and the move to the next phase. */
  private runPhase(h: number): PhaseDraw {
    const min = h / MIN;
    const r = this.recipe;
    switch (this.phaseName) {
      case 'fill':
        this.waterM3 += (this.liquorL / 1000) * (h / (5 * MIN));
        this.temp = coolTowards(this.temp, 25, 3 * min);
        if (this.phaseMs >= 5 * MIN) this.nextPhase();
        return { steamKgH: 0, circulating: true };
      case 'heat': {
        const rise = Math.min(this.ramp * min, r.target - this.temp);
        this.temp += Math.max(0, rise);
        const steamKgH = this.heatingSteamKgH;
        if (this.temp >= r.target - 1e-9) this.nextPhase();
        return { steamKgH, circulating: true };
      }
      case 'hold': {
        let steamKgH: number;
        if (this.temp < r.target - 0.5) {
          // Back from a pump fault: heat up again at the ramp rate; hold time counts only at temperature.
          this.temp = Math.min(r.target, this.temp + this.ramp * min);
          this.phaseMs -= h;
          steamKgH = this.heatingSteamKgH;
        } else {
          this.temp = r.target + (this.rng() - 0.5);
          steamKgH = 40 + this.liquorL * 0.01;
        }
        if (this.phaseMs >= this.holdMin * MIN) this.nextPhase();
        return { steamKgH, circulating: true };
      }
      case 'cool':
        this.temp = coolTowards(this.temp, r.coolTo, 2 * min);
        if (this.temp <= r.coolTo) this.nextPhase();
        return { steamKgH: 0, circulating: true };
      case 'rinse':
        this.temp = coolTowards(this.temp, 40, 1 * min);
        this.waterM3 += (this.liquorL / 1000) * (h / (10 * MIN));
        if (this.phaseMs >= 10 * MIN) this.nextPhase();
        return { steamKgH: 0, circulating: true };
      case 'drain':
        this.temp = coolTowards(this.temp, 25, 1 * min);
        if (this.phaseMs >= 3 * MIN) this.nextPhase();
        return IDLE_DRAW;
      default:
        return IDLE_DRAW;
    }
  }

  private setpoint(): number {
    if (this.phase === 0) return 25;
    switch (this.phaseName) {
      case 'cool': return this.recipe.coolTo;
      case 'rinse': return 40;
      case 'drain':
      case 'fill': return 25;
      default: return this.recipe.target;
    }
  }

  protected read(dt: number): Record<string, number> {
    const temp = round(clamp(this.temp, 0, 145), 2);
    const rampPerMin = dt > 0 ? ((temp - this.prevTemp) * MIN) / dt : 0;
    this.prevTemp = temp;
    return {
      phase: this.phase,
      bath_temp_c: temp,
      setpoint_c: this.setpoint(),
      liquor_l: this.phase === 0 ? 0 : Math.round(this.liquorL),
      batch_kg: this.phase === 0 ? 0 : this.batchKg,
      pump_power_kw: round(this.pumpNowKw, 2),
      ...this.energyMetrics(2),
      steam_kg_total: round(this.steamKg, 3),
      water_m3_total: round(this.waterM3, 4),
      liquor_ratio: this.liquorRatio,
      ramp_c_min: round(clamp(rampPerMin, -10, 10), 2),
      lots_total: this.lots,
    };
  }
}
