// Garment making: a sewing line of operators working to a standard minute value (docs/domain.md, machine ranges).
import { HOUR, MIN, ema, round } from './physics.ts';
import { MachineBase, type Episode, type ModelOptions, type StateChange } from './machine.ts';
import { between, type Rng } from './random.ts';

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
    this.draw(running ? sewingKw + 4 : this.state === 'stopped' ? 0.3 : 3, h);
  }

  protected read(): Record<string, number> {
    return {
      operators: this.state === 'stopped' ? 0 : this.operators,
      sam_min: this.sam,
      efficiency_pct: round(this.eff, 2),
      pieces_total: Math.floor(this.pieces),
      ...this.energyMetrics(),
    };
  }
}
