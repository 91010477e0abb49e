// Sock knitting: single-cylinder machines with slower heel and toe sections (docs/domain.md, machine ranges).
import { MIN, round } from './physics.ts';
import { MachineBase, type Episode, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

/** Single-cylinder sock knitter: 300–900 rpm (heel and toe slower), 1.5–4 min per sock, 1–3 kW (§1.3). */
export class SockKnitterModel extends MachineBase {
  readonly type = 'sock_knitter';
  private readonly rpm: number;
  private readonly coursesPerSock: number;
  private readonly runKw: number;
  private courses = 0;
  private socks = 0;
  private stops = 0;
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
    this.draw(running ? this.runKw * (slow ? 0.8 : 1) : this.state === 'stopped' ? 0.05 : 0.3, h);
  }

  protected read(): Record<string, number> {
    return {
      speed_rpm: round(this.rpmNow, 1),
      pairs_total: Math.floor(this.socks / 2),
      stops_total: this.stops,
      ...this.energyMetrics(),
    };
  }
}
