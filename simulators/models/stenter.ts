// Finishing: a stenter's four heated chambers, its burner gas and exhaust (docs/domain.md, machine ranges).
import { HOUR, MIN, ema, round } from './physics.ts';
import { MachineBase, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

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
    const deficit = this.heatZones(h, burners);
    if (this.state === 'setup' && deficit < 5 * this.temps.length) this.endEpisode();
    const running = this.state === 'running';
    this.speedNow = running ? this.speed * between(this.rng, 0.98, 1.02) : 0;
    this.fabricM += (this.speedNow * h) / MIN;
    const holding = 12 + deficit * 0.25;
    this.gasFlow = !burners ? 0 : running ? holding + this.speedNow * this.gasPerM : Math.min(200, holding);
    this.gasM3 += (this.gasFlow * h) / HOUR;
    this.humidity = ema(this.humidity, running ? between(this.rng, 0.1, 0.15) : burners ? 0.03 : 0.01, h, 3 * MIN);
    this.draw(running ? this.fanKw * between(this.rng, 0.95, 1.05) + 8 : burners ? this.fanKw * 0.7 : this.state === 'stopped' ? 1 : 3, h);
  }

  /** Moves every zone towards its set point (burners on) or towards 25 °C; returns how far below their set points they are, °C. */
  private heatZones(h: number, burners: boolean): number {
    let deficit = 0;
    for (let i = 0; i < this.temps.length; i++) {
      const sp = this.setpoints[i] as number;
      const cur = this.temps[i] as number;
      // Heating: approaches the set point with a 10-min lag; cooling (burners out): towards 25 °C, 40-min lag.
      const next = burners ? cur + (sp - cur) * (1 - Math.exp(-h / (10 * MIN))) : cur + (25 - cur) * (1 - Math.exp(-h / (40 * MIN)));
      this.temps[i] = next + (burners ? (this.rng() - 0.5) * 0.2 : 0);
      deficit += Math.max(0, sp - next);
    }
    return deficit;
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
      ...this.energyMetrics(2),
      fabric_m_total: round(this.fabricM, 2),
    };
  }
}
