// Weaving: air-jet, rapier and water-jet looms, one model with a profile per kind (docs/domain.md, machine ranges).
import { HOUR, MIN, ema, round } from './physics.ts';
import { MachineBase, type Episode, type ModelOptions } from './machine.ts';
import { between, type Rng } from './random.ts';

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
    this.draw(this.powerNow(), h);
  }

  private powerNow(): number {
    const base = this.runKw;
    switch (this.state) {
      case 'running': return base * between(this.rng, 0.97, 1.03);
      case 'fault': return 0.12 * base + 0.1; // main motor off, controls and air on
      case 'idle': return 0.08 * base + 0.1;
      case 'setup':
      case 'maintenance': return 0.15;
      default: return 0.05; // controller only
    }
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
      ...this.energyMetrics(),
    };
    if (this.type === 'water_jet_loom') metrics.water_l_total = round(this.waterL, 2);
    return metrics;
  }
}
