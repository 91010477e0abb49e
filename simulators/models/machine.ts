// What a simulated device is to the rest of the simulator (MachineModel), and the state machine every production
// machine shares (MachineBase). States follow the contract (OPC 40001-1 / SEMI E10): running (PRD), idle (SBY),
// setup (ENG), maintenance (SDT), fault (UDT), stopped (NST, e.g. off shift).
import type { MachineState } from '../../common/contract/catalogue.ts';
import { HOUR, MIN, chance, fit, forEachSubstep, round } from './physics.ts';
import { between, type Rng } from './random.ts';

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

/** A timed episode out of production: how long it lasts (minutes) and why. */
export interface Episode {
  state: 'idle' | 'setup' | 'maintenance' | 'fault';
  reason: string;
  minMin: number;
  maxMin: number;
}

export interface Hazard extends Episode {
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
  /** Electrical power drawn in the last sub-step and the energy register. */
  protected kw = 0;
  protected energyKwh = 0;
  private leftMs = 0;
  private started = false;
  private clock = 0;

  constructor(protected readonly rng: Rng, protected readonly opts: ModelOptions = {}) {}

  step(dtMs: number, nowMs?: number): Reading {
    const dt = Math.max(0, dtMs);
    const end = nowMs ?? this.clock + dt;
    let change: StateChange | undefined;
    if (!this.started) {
      this.started = true;
      if (!this.scheduled(end - dt)) this.enter('stopped', 'off shift');
      change = this.reason ? { state: this.state, reason: this.reason } : { state: this.state };
    }
    forEachSubstep(dt, end, (h, t) => {
      const c = this.advance(h, t);
      if (c) change = c;
      this.integrate(h, t);
    });
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

  /** Draws `kw` for a sub-step of h ms: the power it reports and what its energy register counts. */
  protected draw(kw: number, h: number): void {
    this.kw = kw;
    this.energyKwh += (kw * h) / HOUR;
  }

  /** Power and energy as reported (power to `kwDigits` decimals). */
  protected energyMetrics(kwDigits = 3): { power_kw: number; energy_kwh_total: number } {
    return { power_kw: round(this.kw, kwDigits), energy_kwh_total: round(this.energyKwh, 4) };
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
