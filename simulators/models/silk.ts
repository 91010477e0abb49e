// Silk: automatic reeling lines turning cocoons into raw silk (docs/domain.md, machine ranges).
import { MIN, clamp, round } from './physics.ts';
import { MachineBase, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

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
    this.draw(on ? this.runKw * between(this.rng, 0.95, 1.05) : this.state === 'stopped' ? 0.2 : 2, h);
  }

  protected read(): Record<string, number> {
    return {
      ends_running: this.running,
      reeling_m_min: round(this.speedNow, 2),
      raw_silk_kg_total: round(this.silkKg, 4),
      ...this.energyMetrics(),
    };
  }
}
