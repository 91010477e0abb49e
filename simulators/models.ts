// Machine models with plausible behaviour from docs/domain.md (machine ranges). Every value they emit is inside
// the catalogue's range (the same catalogue admission validates against); counters only go up; energy follows
// the machine's state (a stopped loom draws little). States follow the contract (OPC 40001-1 / SEMI E10):
// running (PRD), idle (SBY), setup (ENG), maintenance (SDT), fault (UDT), stopped (NST, e.g. off shift).
// Deterministic: every random draw comes from the Rng the model was made with, so the same seed and the same
// sequence of steps give the same readings.
import { deviceType, type MachineState } from '../common/contract/catalogue.ts';

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

/** A 32-bit seed from several parts (FNV-1a), e.g. seedFrom(2027, 'sim-loom-001'): one stream per device. */
export function seedFrom(...parts: ReadonlyArray<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export interface StateChange {
  state: MachineState;
  reason?: string;
}

export interface Reading {
  metrics: Record<string, number>;
  /** Set when the machine changed state during this step (and on the first step: its initial state). */
  state?: StateChange;
}

export interface ModelOptions {
  /** Scheduled production time (shifts): false → machines stop (NST) and meters fall to their base load. */
  schedule?: (tsMs: number) => boolean;
}

export interface MachineModel {
  readonly type: string;
  /**
   * Advances the model by dtMs and returns what the device reports at the end of it. `nowMs` is the device's
   * time at the end of the step (used for shifts); without it the model keeps its own clock from 0.
   */
  step(dtMs: number, nowMs?: number): Reading;
}

const MIN = 60_000;
const HOUR = 3_600_000;
/** Longest stretch simulated in one go: a 60-s step is 12 sub-steps, so rare events stay rare and ordered. */
const SUBSTEP_MS = 5000;

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const between = (rng: Rng, lo: number, hi: number) => lo + rng() * (hi - lo);
/** Exponential moving average over time constant tauMs. */
const ema = (prev: number, value: number, dtMs: number, tauMs: number) => prev + (value - prev) * (1 - Math.exp(-dtMs / tauMs));
/** Cools by at most `drop` towards `floor`, never warming a bath that is already below it. */
const coolTowards = (temp: number, floor: number, drop: number) => (temp > floor ? Math.max(floor, temp - drop) : temp);
/** Probability that an event with `perHour` rate happens within dtMs. */
const chance = (perHour: number, dtMs: number) => 1 - Math.exp((-perHour * dtMs) / HOUR);

/** Keeps each gauge inside its catalogue range and each counter ≥ 0, whatever the model computed. */
function fit(type: string, metrics: Record<string, number>): Record<string, number> {
  const spec = deviceType(type);
  if (!spec) return metrics;
  const out: Record<string, number> = {};
  for (const m of spec.metrics) {
    const v = metrics[m.name];
    if (v === undefined || !Number.isFinite(v)) continue;
    out[m.name] = clamp(v, m.min, m.max);
  }
  return out;
}

/** A timed episode out of production: how long it lasts (minutes) and why. */
export interface Episode {
  state: 'idle' | 'setup' | 'maintenance' | 'fault';
  reason: string;
  minMin: number;
  maxMin: number;
}

interface Hazard extends Episode {
  perHour: number;
}

/**
 * The state machine every production machine shares: running until an episode (fault, idle, setup,
 * maintenance) starts, back to running when it ends; stopped off shift, then a short setup at shift start.
 * Subclasses integrate production and energy for each sub-step in the state the machine is in.
 */
export abstract class MachineBase implements MachineModel {
  abstract readonly type: string;
  protected state: MachineState = 'running';
  protected reason: string | undefined;
  /** Episodes that may start while running, with their rate per running hour. */
  protected hazards: Hazard[] = [];
  /** What happens when the shift starts (undefined: straight to running). */
  protected shiftStart: Episode | undefined = { state: 'setup', reason: 'shift start: handover and checks', minMin: 5, maxMin: 15 };
  private leftMs = 0;
  private started = false;
  private clock = 0;

  constructor(protected readonly rng: Rng, protected readonly opts: ModelOptions = {}) {}

  step(dtMs: number, nowMs?: number): Reading {
    const dt = Math.max(0, dtMs);
    const end = nowMs ?? this.clock + dt;
    let t = end - dt;
    let change: StateChange | undefined;
    if (!this.started) {
      this.started = true;
      if (!this.scheduled(t)) this.enter('stopped', 'off shift');
      change = this.reason ? { state: this.state, reason: this.reason } : { state: this.state };
    }
    for (let left = dt; left > 0;) {
      const h = Math.min(left, SUBSTEP_MS);
      left -= h;
      t += h;
      const c = this.advance(h, t);
      if (c) change = c;
      this.integrate(h, t);
    }
    this.clock = end;
    const metrics = fit(this.type, this.read(dt, end));
    return change ? { metrics, state: change } : { metrics };
  }

  get currentState(): MachineState {
    return this.state;
  }

  protected scheduled(t: number): boolean {
    return this.opts.schedule ? this.opts.schedule(t) : true;
  }

  protected enter(state: MachineState, reason?: string, forMs = 0): StateChange {
    this.state = state;
    this.reason = reason;
    this.leftMs = forMs;
    return reason ? { state, reason } : { state };
  }

  protected startEpisode(ep: Episode): StateChange {
    this.onEpisode(ep);
    return this.enter(ep.state, ep.reason, between(this.rng, ep.minMin, ep.maxMin) * MIN);
  }

  /** Ends the current episode at the next sub-step (a stenter that is warm before its warm-up time is up). */
  protected endEpisode(): void {
    this.leftMs = 0;
  }

  /** Model-specific ways out of running in this sub-step (e.g. loom stops per pick): [probability, episode]. */
  protected runningHazards(_h: number): Array<[number, Episode]> {
    return [];
  }

  protected onEpisode(_ep: Episode): void {}

  /** May the machine stop for the end of the shift now? (A dyeing machine finishes its lot first.) */
  protected canStop(): boolean {
    return true;
  }

  private advance(h: number, t: number): StateChange | undefined {
    const on = this.scheduled(t);
    if (!on && this.state !== 'stopped' && this.canStop()) return this.enter('stopped', 'off shift');
    if (this.state === 'stopped') {
      if (!on) return undefined;
      return this.shiftStart ? this.startEpisode(this.shiftStart) : this.enter('running', 'shift start');
    }
    if (this.state !== 'running') {
      this.leftMs -= h;
      return this.leftMs <= 0 ? this.enter('running') : undefined;
    }
    const r = this.rng();
    let acc = 0;
    for (const [p, ep] of this.runningHazards(h)) {
      acc += p;
      if (r < acc) return this.startEpisode(ep);
    }
    for (const hz of this.hazards) {
      acc += chance(hz.perHour, h);
      if (r < acc) return this.startEpisode(hz);
    }
    return undefined;
  }

  /** Accumulates production, utilities and energy over h ms in the current state. */
  protected abstract integrate(h: number, t: number): void;
  /** The metrics reported at the end of a step of dt ms. */
  protected abstract read(dt: number, t: number): Record<string, number>;
}

// ---------------------------------------------------------------------------------------------------------
// Weaving

export type LoomKind = 'loom' | 'rapier_loom' | 'water_jet_loom';

interface LoomProfile {
  rpm: [number, number];
  picksPerCm: [number, number];
  /** kW while weaving, including the compressor share for air-jet looms. */
  runKw: [number, number];
  /** Water per pick, litres (water-jet only). */
  waterLPerPick?: [number, number];
}

// docs/domain.md (machine ranges): air-jet 500–900 rpm, 3–8 kW with air; rapier 300–600 rpm, 2–4 kW; water-jet 600–1,000 rpm,
// 2–4 kW, < 2 cm³ of water per pick.
const LOOM_PROFILES: Record<LoomKind, LoomProfile> = {
  loom: { rpm: [500, 900], picksPerCm: [16, 20], runKw: [3.5, 6.5] },
  rapier_loom: { rpm: [300, 600], picksPerCm: [14, 26], runKw: [2, 4] },
  water_jet_loom: { rpm: [600, 1000], picksPerCm: [10, 18], runKw: [2, 4], waterLPerPick: [0.0008, 0.0018] },
};

/** Looms: stops ≈20 warp / 15 weft / 6 other per 10⁵ picks, repairs 0.85 / 0.30 / 0.12 min on average (§1.2). */
export class LoomModel extends MachineBase {
  readonly type: LoomKind;
  private readonly rpm: number;
  private readonly picksPerCm: number;
  private readonly runKw: number;
  private readonly waterPerPick: number;
  /** Stop-rate multiplier of this machine and its yarn. */
  private readonly stopFactor: number;
  private picks = 0;
  private fabricM = 0;
  private warpStops = 0;
  private weftStops = 0;
  private waterL = 0;
  private energyKwh = 0;
  private kw = 0;
  private eff: number;

  constructor(rng: Rng, opts: ModelOptions = {}, kind: LoomKind = 'loom') {
    super(rng, opts);
    this.type = kind;
    const p = LOOM_PROFILES[kind];
    this.rpm = Math.round(between(rng, ...p.rpm));
    this.picksPerCm = Math.round(between(rng, ...p.picksPerCm));
    this.runKw = between(rng, ...p.runKw);
    this.waterPerPick = p.waterLPerPick ? between(rng, ...p.waterLPerPick) : 0;
    this.stopFactor = between(rng, 0.6, 1.4);
    this.eff = between(rng, 85, 93);
    this.hazards = [
      { state: 'idle', reason: 'waiting for weft yarn or a weaver', perHour: 0.04, minMin: 5, maxMin: 20 },
      { state: 'setup', reason: 'warp change (new beam)', perHour: 1 / 72, minMin: 60, maxMin: 150 },
      { state: 'maintenance', reason: 'scheduled lubrication and cleaning', perHour: 1 / 168, minMin: 30, maxMin: 90 },
    ];
  }

  protected override runningHazards(h: number): Array<[number, Episode]> {
    const picks = (this.rpm * h) / MIN;
    const f = this.stopFactor;
    return [
      [Math.min(0.5, (picks * 20 * f) / 1e5), { state: 'fault', reason: 'warp stop', minMin: 0.4, maxMin: 1.3 }],
      [Math.min(0.5, (picks * 15 * f) / 1e5), { state: 'fault', reason: 'weft stop', minMin: 0.15, maxMin: 0.45 }],
      [Math.min(0.5, (picks * 6 * f) / 1e5), { state: 'fault', reason: 'other stop', minMin: 0.06, maxMin: 0.18 }],
    ];
  }

  protected override onEpisode(ep: Episode): void {
    if (ep.reason === 'warp stop') this.warpStops++;
    else if (ep.reason === 'weft stop') this.weftStops++;
  }

  protected integrate(h: number): void {
    const running = this.state === 'running';
    if (running) {
      const picks = (this.rpm * h) / MIN;
      this.picks += picks;
      this.fabricM += picks / (this.picksPerCm * 100);
      this.waterL += picks * this.waterPerPick;
    }
    // Efficiency = running ÷ (running + stopped) over planned time: off-shift time does not count (§1.1).
    if (this.state !== 'stopped') this.eff = ema(this.eff, running ? 100 : 0, h, HOUR);
    const base = this.runKw;
    switch (this.state) {
      case 'running': this.kw = base * between(this.rng, 0.97, 1.03); break;
      case 'fault': this.kw = 0.12 * base + 0.1; break; // main motor off, controls and air on
      case 'idle': this.kw = 0.08 * base + 0.1; break;
      case 'setup':
      case 'maintenance': this.kw = 0.15; break;
      default: this.kw = 0.05; // controller only
    }
    this.energyKwh += (this.kw * h) / HOUR;
  }

  protected read(): Record<string, number> {
    const running = this.state === 'running';
    const metrics: Record<string, number> = {
      speed_rpm: running ? round(this.rpm * between(this.rng, 0.98, 1.02), 1) : 0,
      efficiency_pct: round(this.eff, 2),
      picks_total: Math.floor(this.picks),
      fabric_m_total: round(this.fabricM, 3),
      warp_stops_total: this.warpStops,
      weft_stops_total: this.weftStops,
      power_kw: round(this.kw, 3),
      energy_kwh_total: round(this.energyKwh, 4),
    };
    if (this.type === 'water_jet_loom') metrics.water_l_total = round(this.waterL, 2);
    return metrics;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dyeing

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
  private energyKwh = 0;
  private steamKg = 0;
  private waterM3 = 0;
  private kw = 0;
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
    const min = h / MIN;
    let steamKgH = 0;
    let circulating = false;
    if (this.state === 'stopped') {
      this.phase = 0;
    } else if (this.phase === 0) {
      // On shift again (the state machine already left `stopped`): load the next lot.
      this.newLot();
    }
    if (this.state === 'running') {
      this.phaseMs += h;
      const r = this.recipe;
      switch (this.phaseName) {
        case 'fill':
          circulating = true;
          this.waterM3 += (this.liquorL / 1000) * (h / (5 * MIN));
          this.temp = coolTowards(this.temp, 25, 3 * min);
          if (this.phaseMs >= 5 * MIN) this.nextPhase();
          break;
        case 'heat': {
          circulating = true;
          const rise = Math.min(this.ramp * min, r.target - this.temp);
          this.temp += Math.max(0, rise);
          // Steam to heat the liquor (4.19 kJ/kg·K, ≈2,100 kJ/kg latent heat, 85 % useful) plus losses.
          steamKgH = (this.liquorL * 4.19 * this.ramp * 60) / 2100 / 0.85 + 40;
          if (this.temp >= r.target - 1e-9) this.nextPhase();
          break;
        }
        case 'hold':
          circulating = true;
          if (this.temp < r.target - 0.5) {
            // Back from a pump fault: heat up again at the ramp rate; hold time counts only at temperature.
            this.temp = Math.min(r.target, this.temp + this.ramp * min);
            this.phaseMs -= h;
            steamKgH = (this.liquorL * 4.19 * this.ramp * 60) / 2100 / 0.85 + 40;
          } else {
            this.temp = r.target + (this.rng() - 0.5);
            steamKgH = 40 + this.liquorL * 0.01;
          }
          if (this.phaseMs >= this.holdMin * MIN) this.nextPhase();
          break;
        case 'cool':
          circulating = true;
          this.temp = coolTowards(this.temp, r.coolTo, 2 * min);
          if (this.temp <= r.coolTo) this.nextPhase();
          break;
        case 'rinse':
          circulating = true;
          this.temp = coolTowards(this.temp, 40, 1 * min);
          this.waterM3 += (this.liquorL / 1000) * (h / (10 * MIN));
          if (this.phaseMs >= 10 * MIN) this.nextPhase();
          break;
        case 'drain':
          this.temp = coolTowards(this.temp, 25, 1 * min);
          if (this.phaseMs >= 3 * MIN) this.nextPhase();
          break;
        default:
          break;
      }
    } else {
      // Pump fault or idle at phase 0: the bath loses heat slowly.
      this.temp = coolTowards(this.temp, 25, 0.5 * min);
    }
    this.pumpNowKw = circulating ? this.pumpKw * between(this.rng, 0.85, 1) : 0;
    this.kw = this.pumpNowKw + (this.state === 'stopped' ? 0.8 : 3 + this.rng() * 2);
    this.energyKwh += (this.kw * h) / HOUR;
    this.steamKg += (steamKgH * h) / HOUR;
  }

  protected read(dt: number): Record<string, number> {
    const setpoint = this.phase === 0 ? 25
      : this.phaseName === 'cool' ? this.recipe.coolTo
        : this.phaseName === 'rinse' ? 40
          : this.phaseName === 'drain' || this.phaseName === 'fill' ? 25 : this.recipe.target;
    const temp = round(clamp(this.temp, 0, 145), 2);
    const rampPerMin = dt > 0 ? ((temp - this.prevTemp) * MIN) / dt : 0;
    this.prevTemp = temp;
    return {
      phase: this.phase,
      bath_temp_c: temp,
      setpoint_c: setpoint,
      liquor_l: this.phase === 0 ? 0 : Math.round(this.liquorL),
      batch_kg: this.phase === 0 ? 0 : this.batchKg,
      pump_power_kw: round(this.pumpNowKw, 2),
      power_kw: round(this.kw, 2),
      energy_kwh_total: round(this.energyKwh, 4),
      steam_kg_total: round(this.steamKg, 3),
      water_m3_total: round(this.waterM3, 4),
      liquor_ratio: this.liquorRatio,
      ramp_c_min: round(clamp(rampPerMin, -10, 10), 2),
      lots_total: this.lots,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Spinning

/** What distinguishes one spinning machine from another; the physics are the same (docs/domain.md, spinning). */
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

/** Spinning: yarn from positions × delivery × tex, end breaks per position-hour, power from kWh per kg. */
abstract class SpinningBase extends MachineBase {
  protected yarnKg = 0;
  protected breaks = 0;
  private breakFraction = 0;
  protected energyKwh = 0;
  protected kw = 0;
  protected rpmNow = 0;
  protected abstract readonly spec: SpinningSpec;

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
    this.kw = running ? kgPerH * sp.kwhPerKg : this.state === 'stopped' ? sp.stoppedKw : sp.idleKw;
    this.energyKwh += (this.kw * h) / HOUR;
  }

  /** Metrics every spinning machine reports (speed and delivery are named per machine). */
  protected common(): Record<string, number> {
    return {
      end_breaks_total: this.breaks,
      yarn_kg_total: round(this.yarnKg, 4),
      power_kw: round(this.kw, 3),
      energy_kwh_total: round(this.energyKwh, 4),
    };
  }
}

/** Ring frame: 14,000–22,000 rpm, 480–1,200 spindles, delivery = rpm ÷ TPM, ≈1.32–1.36 kWh/kg yarn. */
export class SpinningFrameModel extends SpinningBase {
  readonly type = 'spinning_frame';
  protected readonly spec: SpinningSpec;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    const rpm = 14_000 + Math.round(rng() * 8000);
    const positions = 480 + 24 * Math.round(rng() * 30);
    const tex = Math.round(between(rng, 14, 30));
    const tpm = 3828 / Math.sqrt(tex); // αtex 3828: 20 tex → ≈856 TPM
    this.spec = {
      rpm, positions, tex, tpm, kwhPerKg: between(rng, 1.32, 1.36), breakRate: between(rng, 20, 60),
      efficiency: 0.92, rpmJitter: 0.01, idleKw: 1.5, stoppedKw: 0.3,
    };
    this.hazards = [
      { state: 'setup', reason: 'doffing', perHour: 1 / 3, minMin: 3, maxMin: 6 },
      { state: 'idle', reason: 'waiting for roving', perHour: 0.02, minMin: 5, maxMin: 25 },
      { state: 'fault', reason: 'drafting or suction fault', perHour: 0.01, minMin: 10, maxMin: 40 },
      { state: 'maintenance', reason: 'scheduled maintenance', perHour: 1 / 336, minMin: 60, maxMin: 180 },
    ];
  }

  protected read(): Record<string, number> {
    return { spindle_speed_rpm: Math.round(this.rpmNow), front_roller_m_min: round(this.rpmNow / this.spec.tpm, 3), ...this.common() };
  }
}

/** Rotor (open-end) spinning: 60,000–100,000 rpm, delivery 100–200 m/min, 0.6–1.0 kWh/kg (§1.3). */
export class RotorSpinningModel extends SpinningBase {
  readonly type = 'rotor_spinning';
  protected readonly spec: SpinningSpec;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    const rpm = 60_000 + Math.round(rng() * 40_000);
    const positions = 24 * Math.round(between(rng, 10, 20)); // 240–480 rotors
    const tex = Math.round(between(rng, 20, 50));
    // Twist chosen so delivery lands at 100–200 m/min for this rotor speed.
    const tpm = rpm / between(rng, 110, 190);
    this.spec = {
      rpm, positions, tex, tpm, kwhPerKg: between(rng, 0.6, 1.0), breakRate: between(rng, 40, 120),
      efficiency: 0.95, rpmJitter: 0.005, idleKw: 4, stoppedKw: 0.5,
    };
    this.hazards = [
      { state: 'setup', reason: 'lot change', perHour: 1 / 48, minMin: 20, maxMin: 60 },
      { state: 'idle', reason: 'waiting for sliver cans', perHour: 0.02, minMin: 5, maxMin: 20 },
      { state: 'fault', reason: 'piecing robot or suction fault', perHour: 0.01, minMin: 10, maxMin: 45 },
      { state: 'maintenance', reason: 'rotor cleaning and maintenance', perHour: 1 / 336, minMin: 60, maxMin: 180 },
    ];
  }

  protected read(): Record<string, number> {
    return { rotor_speed_rpm: Math.round(this.rpmNow), delivery_m_min: round(this.rpmNow / this.spec.tpm, 2), ...this.common() };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Finishing

/**
 * Stenter with four chambers: zone set points 150–210 °C (heat-set 180–210), fabric 20–80 m/min, burner gas
 * 30–120 m³/h, exhaust humidity 0.10–0.15 kg/kg while running. Zones follow their set points with a lag; a
 * warm-up (setup) at shift start lasts until every zone is within 5 °C; off shift the burners are out.
 */
export class StenterModel extends MachineBase {
  readonly type = 'stenter';
  private readonly setpoints: number[];
  private readonly temps: number[];
  private readonly speed: number;
  private readonly fanKw: number;
  private readonly gasPerM: number;
  private fabricM = 0;
  private gasM3 = 0;
  private energyKwh = 0;
  private kw = 0;
  private gasFlow = 0;
  private speedNow = 0;
  private humidity = 0.01;
  private first = true;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    const heatSet = rng() < 0.6;
    const top = heatSet ? between(rng, 185, 210) : between(rng, 150, 170);
    this.setpoints = [top - 15, top - 5, top, top].map((v) => Math.round(v));
    this.temps = this.setpoints.map(() => 25);
    this.speed = Math.round(between(rng, 20, 80));
    this.fanKw = between(rng, 40, 90);
    this.gasPerM = between(rng, 0.9, 1.5); // m³/h of gas per m/min of fabric
    this.shiftStart = { state: 'setup', reason: 'warm-up', minMin: 60, maxMin: 60 };
    this.hazards = [
      { state: 'idle', reason: 'waiting for fabric', perHour: 0.08, minMin: 5, maxMin: 30 },
      { state: 'maintenance', reason: 'lint filter cleaning', perHour: 1 / 12, minMin: 15, maxMin: 30 },
      { state: 'fault', reason: 'clip chain or burner fault', perHour: 0.02, minMin: 10, maxMin: 45 },
    ];
  }

  protected integrate(h: number): void {
    if (this.first) {
      // A stenter found running is warm; one found stopped is cold.
      this.first = false;
      if (this.state === 'running') this.setpoints.forEach((sp, i) => { this.temps[i] = sp; });
    }
    const burners = this.state === 'running' || this.state === 'idle' || this.state === 'setup';
    let deficit = 0;
    for (let i = 0; i < this.temps.length; i++) {
      const sp = this.setpoints[i] as number;
      const cur = this.temps[i] as number;
      // Heating: approaches the set point with a 10-min lag; cooling (burners out): towards 25 °C, 40-min lag.
      const next = burners ? cur + (sp - cur) * (1 - Math.exp(-h / (10 * MIN))) : cur + (25 - cur) * (1 - Math.exp(-h / (40 * MIN)));
      this.temps[i] = next + (burners ? (this.rng() - 0.5) * 0.2 : 0);
      deficit += Math.max(0, sp - next);
    }
    if (this.state === 'setup' && deficit < 5 * this.temps.length) this.endEpisode();
    const running = this.state === 'running';
    this.speedNow = running ? this.speed * between(this.rng, 0.98, 1.02) : 0;
    this.fabricM += (this.speedNow * h) / MIN;
    const holding = 12 + deficit * 0.25;
    this.gasFlow = !burners ? 0 : running ? holding + this.speedNow * this.gasPerM : Math.min(200, holding);
    this.gasM3 += (this.gasFlow * h) / HOUR;
    this.humidity = ema(this.humidity, running ? between(this.rng, 0.1, 0.15) : burners ? 0.03 : 0.01, h, 3 * MIN);
    this.kw = running ? this.fanKw * between(this.rng, 0.95, 1.05) + 8 : burners ? this.fanKw * 0.7 : this.state === 'stopped' ? 1 : 3;
    this.energyKwh += (this.kw * h) / HOUR;
  }

  protected read(): Record<string, number> {
    return {
      zone1_temp_c: round(this.temps[0] as number, 1),
      zone2_temp_c: round(this.temps[1] as number, 1),
      zone3_temp_c: round(this.temps[2] as number, 1),
      zone4_temp_c: round(this.temps[3] as number, 1),
      fabric_speed_m_min: round(this.speedNow, 2),
      gas_flow_m3_h: round(this.gasFlow, 2),
      gas_m3_total: round(this.gasM3, 3),
      exhaust_humidity: round(this.humidity, 4),
      power_kw: round(this.kw, 2),
      energy_kwh_total: round(this.energyKwh, 4),
      fabric_m_total: round(this.fabricM, 2),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Garment making and socks

/**
 * Sewing line: 20–40 operators, SAM 8–25 min per piece, line efficiency 55–72 % (§1.2: pieces/h = operators ×
 * 60 × efficiency ÷ SAM). Servo machines draw 0.2–0.5 kW only while sewing; lighting and irons stay on.
 */
export class SewingLineModel extends MachineBase {
  readonly type = 'sewing_line';
  private readonly nominalOperators: number;
  private operators: number;
  private sam: number;
  private readonly targetEff: number;
  private eff: number;
  private pieces = 0;
  private energyKwh = 0;
  private kw = 0;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    this.nominalOperators = Math.round(between(rng, 20, 40));
    this.operators = this.nominalOperators;
    this.sam = round(between(rng, 8, 25), 1);
    this.targetEff = between(rng, 55, 72);
    this.eff = this.targetEff;
    this.shiftStart = { state: 'setup', reason: 'shift start: line briefing', minMin: 5, maxMin: 10 };
    this.hazards = [
      { state: 'idle', reason: 'waiting for cut pieces', perHour: 0.08, minMin: 5, maxMin: 20 },
      { state: 'setup', reason: 'style changeover', perHour: 1 / 40, minMin: 30, maxMin: 120 },
      { state: 'fault', reason: 'bottleneck machine breakdown', perHour: 0.04, minMin: 5, maxMin: 20 },
      { state: 'maintenance', reason: 'machine servicing', perHour: 1 / 300, minMin: 30, maxMin: 60 },
    ];
  }

  protected override startEpisode(ep: Episode): StateChange {
    if (ep.reason === 'style changeover') this.sam = round(between(this.rng, 8, 25), 1);
    if (ep.reason.startsWith('shift start')) this.operators = Math.round(this.nominalOperators * between(this.rng, 0.88, 1));
    return super.startEpisode(ep);
  }

  protected integrate(h: number): void {
    const running = this.state === 'running';
    const effNow = running ? this.targetEff * between(this.rng, 0.9, 1.1) : 0;
    if (running) this.pieces += (this.operators * effNow) / 100 / this.sam * (h / MIN);
    if (this.state !== 'stopped') this.eff = ema(this.eff, effNow, h, HOUR);
    const sewingKw = this.operators * 0.35 * (effNow / 100) * 1.4;
    this.kw = running ? sewingKw + 4 : this.state === 'stopped' ? 0.3 : 3;
    this.energyKwh += (this.kw * h) / HOUR;
  }

  protected read(): Record<string, number> {
    return {
      operators: this.state === 'stopped' ? 0 : this.operators,
      sam_min: this.sam,
      efficiency_pct: round(this.eff, 2),
      pieces_total: Math.floor(this.pieces),
      power_kw: round(this.kw, 3),
      energy_kwh_total: round(this.energyKwh, 4),
    };
  }
}

/** Single-cylinder sock knitter: 300–900 rpm (heel and toe slower), 1.5–4 min per sock, 1–3 kW (§1.3). */
export class SockKnitterModel extends MachineBase {
  readonly type = 'sock_knitter';
  private readonly rpm: number;
  private readonly coursesPerSock: number;
  private readonly runKw: number;
  private courses = 0;
  private socks = 0;
  private stops = 0;
  private energyKwh = 0;
  private kw = 0;
  private rpmNow = 0;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    this.rpm = Math.round(between(rng, 300, 900));
    this.coursesPerSock = Math.round(this.rpm * between(rng, 1.6, 3.2)); // 1.6–3.2 min at full speed + slow sections
    this.runKw = between(rng, 1, 3);
    this.hazards = [
      { state: 'fault', reason: 'yarn break', perHour: 1.5, minMin: 0.5, maxMin: 3 },
      { state: 'fault', reason: 'needle fault', perHour: 0.2, minMin: 5, maxMin: 20 },
      { state: 'idle', reason: 'waiting for yarn', perHour: 0.03, minMin: 5, maxMin: 30 },
      { state: 'setup', reason: 'pattern or size change', perHour: 1 / 24, minMin: 10, maxMin: 30 },
      { state: 'maintenance', reason: 'cleaning and oiling', perHour: 1 / 168, minMin: 20, maxMin: 60 },
    ];
  }

  protected override onEpisode(ep: Episode): void {
    if (ep.state === 'fault') this.stops++;
  }

  protected integrate(h: number): void {
    const running = this.state === 'running';
    const progress = (this.courses % this.coursesPerSock) / this.coursesPerSock;
    // Heel (≈55–70 %) and toe (≈90–100 %) are knitted reciprocating, at about 60 % speed.
    const slow = (progress > 0.55 && progress < 0.7) || progress > 0.9;
    this.rpmNow = running ? this.rpm * (slow ? 0.6 : 1) * between(this.rng, 0.98, 1.02) : 0;
    this.courses += (this.rpmNow * h) / MIN;
    this.socks = Math.floor(this.courses / this.coursesPerSock);
    this.kw = running ? this.runKw * (slow ? 0.8 : 1) : this.state === 'stopped' ? 0.05 : 0.3;
    this.energyKwh += (this.kw * h) / HOUR;
  }

  protected read(): Record<string, number> {
    return {
      speed_rpm: round(this.rpmNow, 1),
      pairs_total: Math.floor(this.socks / 2),
      stops_total: this.stops,
      power_kw: round(this.kw, 3),
      energy_kwh_total: round(this.energyKwh, 4),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Silk

/**
 * Automatic silk reeling machine (one line): 300–480 ends (Dehong Zhengxin: 24 lines, 9,600 ends), 80–95 % of
 * them running, 100–160 m/min, 20–22 denier raw silk (denier = grams per 9,000 m). Power figures are [U].
 */
export class SilkReelingModel extends MachineBase {
  readonly type = 'silk_reeling';
  private readonly ends: number;
  private readonly speed: number;
  private readonly denier: number;
  private readonly runKw: number;
  private running = 0;
  private silkKg = 0;
  private energyKwh = 0;
  private kw = 0;
  private speedNow = 0;

  constructor(rng: Rng, opts: ModelOptions = {}) {
    super(rng, opts);
    this.ends = 20 * Math.round(between(rng, 15, 24));
    this.speed = Math.round(between(rng, 100, 160));
    this.denier = between(rng, 20, 22);
    this.runKw = between(rng, 8, 20);
    this.running = Math.round(this.ends * 0.9);
    this.hazards = [
      { state: 'idle', reason: 'waiting for cooked cocoons', perHour: 0.05, minMin: 5, maxMin: 20 },
      { state: 'setup', reason: 'denier or lot change', perHour: 1 / 48, minMin: 20, maxMin: 60 },
      { state: 'fault', reason: 'reeling machine fault', perHour: 0.02, minMin: 10, maxMin: 40 },
      { state: 'maintenance', reason: 'scheduled maintenance', perHour: 1 / 300, minMin: 60, maxMin: 120 },
    ];
  }

  protected integrate(h: number): void {
    const on = this.state === 'running';
    // Ends drop out as cocoons run out and come back as reelers feed new ones.
    const target = on ? this.ends * between(this.rng, 0.8, 0.95) : 0;
    this.running = on ? Math.round(clamp(this.running + (target - this.running) * 0.2, 0, this.ends)) : 0;
    this.speedNow = on ? this.speed * between(this.rng, 0.98, 1.02) : 0;
    const kgPerMin = (this.running * this.speedNow * this.denier) / 9000 / 1000;
    this.silkKg += kgPerMin * (h / MIN);
    this.kw = on ? this.runKw * between(this.rng, 0.95, 1.05) : this.state === 'stopped' ? 0.2 : 2;
    this.energyKwh += (this.kw * h) / HOUR;
  }

  protected read(): Record<string, number> {
    return {
      ends_running: this.running,
      reeling_m_min: round(this.speedNow, 2),
      raw_silk_kg_total: round(this.silkKg, 4),
      power_kw: round(this.kw, 3),
      energy_kwh_total: round(this.energyKwh, 4),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Meters: a register that starts at a random reading and a flow that follows the shifts (base load off shift).

interface MeterProfile {
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

const METERS = {
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
    let t = end - dt;
    for (let left = dt; left > 0;) {
      const h = Math.min(left, SUBSTEP_MS);
      left -= h;
      t += h;
      const on = this.opts.schedule ? this.opts.schedule(t) : true;
      const target = this.base * (on ? between(this.rng, 0.85, 1.15) : this.off * between(this.rng, 0.9, 1.1));
      this.level = ema(this.level, target, h, 2 * MIN);
      this.register += (this.level * h) / HOUR;
    }
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

type Factory = (rng: Rng, opts: ModelOptions) => MachineModel;

const MODELS: Record<string, Factory> = {
  loom: (rng, o) => new LoomModel(rng, o, 'loom'),
  rapier_loom: (rng, o) => new LoomModel(rng, o, 'rapier_loom'),
  water_jet_loom: (rng, o) => new LoomModel(rng, o, 'water_jet_loom'),
  dyeing_machine: (rng, o) => new DyeingMachineModel(rng, o),
  spinning_frame: (rng, o) => new SpinningFrameModel(rng, o),
  rotor_spinning: (rng, o) => new RotorSpinningModel(rng, o),
  stenter: (rng, o) => new StenterModel(rng, o),
  sewing_line: (rng, o) => new SewingLineModel(rng, o),
  sock_knitter: (rng, o) => new SockKnitterModel(rng, o),
  silk_reeling: (rng, o) => new SilkReelingModel(rng, o),
  electricity_meter: (rng, o) => new ElectricityMeterModel(rng, o),
  gas_meter: (rng, o) => new MeterModel(rng, o, METERS.gas_meter),
  steam_meter: (rng, o) => new MeterModel(rng, o, METERS.steam_meter),
  water_meter: (rng, o) => new MeterModel(rng, o, METERS.water_meter),
};

export const simulatedTypes = Object.keys(MODELS);

/** Types that report machine states (meters only report flows and registers). */
export const machineTypes = simulatedTypes.filter((t) => !(t in METERS));

export function createModel(type: string, rng: Rng, opts: ModelOptions = {}): MachineModel {
  const make = MODELS[type];
  if (!make) throw new Error(`no simulator model for device type "${type}"; available: ${simulatedTypes.join(', ')}`);
  return make(rng, opts);
}
