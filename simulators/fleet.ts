// A fleet of simulated devices in one process (one MQTT connection each): connecting them a few at a time,
// running them, fleet-wide faults (disconnect storms), totals for the live status line and the final summary.
import { between, createModel, seededRng, seedFrom, type MachineModel, type Rng } from './models.ts';
import { SimulatedDevice, type DeviceCredentials, type DeviceRunStats } from './device.ts';
import { DeviceProgram } from './program.ts';
import { FAULT_NAMES, perStepChance, settingOf, type FaultPlan } from './faults.ts';
import { scheduleOf, type Shift } from './schedule.ts';
import { mapLimit } from './provision.ts';
import type { Plan } from './scenario.ts';

export interface FleetEntry {
  creds: DeviceCredentials;
  intervalMs: number;
  shifts?: readonly Shift[];
  modelSeed: number;
  faultSeed: number;
  startDelayMs?: number;
  /** Device whose topic the foreign-topic fault uses. */
  victim?: { firmId: string; deviceId: string };
}

/** The fleet entries of a scenario plan, with each device's credentials. */
export function entriesOf(plan: Plan, credsOf: (id: string) => DeviceCredentials, intervalOverrideMs?: number): FleetEntry[] {
  return plan.devices.map((d) => ({
    creds: credsOf(d.id),
    intervalMs: intervalOverrideMs ?? d.intervalMs,
    shifts: d.shifts,
    modelSeed: d.modelSeed,
    faultSeed: d.faultSeed,
    startDelayMs: intervalOverrideMs ? Math.floor((d.startDelayMs / d.intervalMs) * intervalOverrideMs) : d.startDelayMs,
    ...(d.victimId ? { victim: { firmId: d.firmId, deviceId: d.victimId } } : {}),
  }));
}

/** The machine model of an entry: its type, its own seed, its shifts. */
export function modelFor(e: FleetEntry, utcOffsetMin = 480): MachineModel {
  const schedule = e.shifts && e.shifts.length > 0 ? scheduleOf(e.shifts, utcOffsetMin) : undefined;
  return createModel(e.creds.type, seededRng(e.modelSeed), schedule ? { schedule } : {});
}

/** What the entry's device would send, without MQTT: the same program a fleet device runs. */
export function programFor(e: FleetEntry, faults: FaultPlan, utcOffsetMin = 480): DeviceProgram {
  return new DeviceProgram({ id: e.creds.id, firmId: e.creds.firmId, type: e.creds.type }, modelFor(e, utcOffsetMin), {
    faults, rng: seededRng(e.faultSeed), ...(e.victim ? { victim: e.victim } : {}),
  });
}

export interface FleetOptions {
  mqttUrl: string;
  faults: FaultPlan;
  /** Seed of fleet-wide decisions (storms). */
  seed: number;
  utcOffsetMin?: number;
  subscribeErrors?: boolean;
  /** Telemetry messages per device; 0 = until stopped. */
  count?: number;
  connectConcurrency?: number;
  /** Connections opened per second at most (0 = as fast as connectConcurrency allows). The broker refuses more
   * than 600 connection attempts a minute from one address by default: 2,000 devices need ≤ 9/s. */
  connectRatePerS?: number;
  /** How long one device may take to connect (MQTT.js retries every reconnectPeriodMs meanwhile). */
  connectTimeoutMs?: number;
  reconnectPeriodMs?: number;
  /** Keep each device's acknowledged sequence numbers (tests). */
  trackAcked?: boolean;
  /** CA certificate(s) (PEM) for mqtts:// and wss:// broker URLs. */
  ca?: Buffer;
}

/** The devices' own counters summed over the fleet, plus fleet-wide figures. */
export interface FleetTotals extends DeviceRunStats {
  at: number;
  devices: number;
  connected: number;
  storms: number;
}

const fmt = (n: number) => n.toLocaleString('en-US');

function byCount(rec: Record<string, number | undefined>): string {
  return Object.entries(rec)
    .filter(([, v]) => (v ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([k, v]) => `${k} ${fmt(v ?? 0)}`)
    .join(', ');
}

export class Fleet {
  readonly devices: SimulatedDevice[];
  readonly entries: readonly FleetEntry[];
  private readonly rng: Rng;
  private stormTimer: NodeJS.Timeout | undefined;
  private storms = 0;
  private done = 0;
  private started = 0;
  private readonly count: number;

  constructor(entries: readonly FleetEntry[], private readonly opts: FleetOptions) {
    this.entries = entries;
    this.count = opts.count ?? 0;
    this.rng = seededRng(seedFrom(opts.seed, 'fleet'));
    this.devices = entries.map((e) => {
      const model = modelFor(e, opts.utcOffsetMin ?? 480);
      return new SimulatedDevice(e.creds, model, opts.mqttUrl, {
        faults: opts.faults,
        rng: seededRng(e.faultSeed),
        ...(e.victim ? { victim: e.victim } : {}),
        subscribeErrors: opts.subscribeErrors ?? true,
        reconnectPeriodMs: opts.reconnectPeriodMs ?? 1000,
        connectTimeoutMs: opts.connectTimeoutMs ?? 300_000,
        trackAcked: opts.trackAcked ?? false,
        ...(opts.ca ? { ca: opts.ca } : {}),
      });
    });
  }

  /** Connects every device, `connectConcurrency` at a time; devices that fail are reported, not fatal. */
  async connect(onProgress?: (connected: number, failed: number, total: number) => void): Promise<Array<{ id: string; error: string }>> {
    const failed: Array<{ id: string; error: string }> = [];
    let ok = 0;
    const t0 = Date.now();
    const rate = this.opts.connectRatePerS ?? 0;
    await mapLimit(this.devices, this.opts.connectConcurrency ?? 50, async (d, i) => {
      if (rate > 0) {
        const wait = t0 + (i * 1000) / rate - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      try {
        await d.connect();
        ok++;
      } catch (err) {
        failed.push({ id: d.creds.id, error: (err as Error).message });
      }
      onProgress?.(ok, failed.length, this.devices.length);
    });
    return failed;
  }

  /** Starts publishing (devices that are connected), and the storm fault if it is on. */
  start(): void {
    this.started = Date.now();
    this.devices.forEach((d, i) => {
      if (!d.connected) {
        this.done++;
        return;
      }
      const e = this.entries[i] as FleetEntry;
      d.run(e.intervalMs, this.count, () => { this.done++; }, e.startDelayMs ?? 0);
    });
    const storm = settingOf(this.opts.faults, 'storm');
    if (storm) {
      this.stormTimer = setInterval(() => {
        if (this.rng() >= perStepChance(storm.rate, 1000)) return;
        this.storms++;
        const share = between(this.rng, ...storm.share);
        for (const d of this.devices) {
          // Draw for every device, connected or not, so the storms' pattern depends on the seed alone.
          const hit = this.rng() < share;
          const forMs = between(this.rng, ...storm.durationS) * 1000;
          if (hit && d.connected) {
            d.stats.injected.storm = (d.stats.injected.storm ?? 0) + 1;
            d.drop(forMs);
          }
        }
      }, 1000);
    }
  }

  /** Every device has published its `count` messages (never true when count is 0). */
  get finished(): boolean {
    return this.count > 0 && this.done >= this.devices.length;
  }

  totals(): FleetTotals {
    const t: FleetTotals = { at: Date.now(), devices: this.devices.length, connected: 0, sent: 0, acked: 0, errors: 0, points: 0, ackedPoints: 0, rejected: 0, problems: {}, injected: {}, drops: 0, reconnects: 0, storms: this.storms };
    for (const d of this.devices) {
      const s = d.stats;
      if (d.connected) t.connected++;
      t.sent += s.sent;
      t.acked += s.acked;
      t.errors += s.errors;
      t.points += s.points;
      t.ackedPoints += s.ackedPoints;
      t.rejected += s.rejected;
      t.drops += s.drops;
      t.reconnects += s.reconnects;
      for (const [k, v] of Object.entries(s.problems)) t.problems[k] = (t.problems[k] ?? 0) + v;
      for (const n of FAULT_NAMES) {
        const v = s.injected[n];
        if (v) t.injected[n] = (t.injected[n] ?? 0) + v;
      }
    }
    return t;
  }

  /** One line: devices connected, msg/s sent and acknowledged since `prev`, rejections by rule. */
  static statusLine(now: FleetTotals, prev: FleetTotals | undefined, startedAt: number): string {
    const secs = prev ? Math.max(0.001, (now.at - prev.at) / 1000) : 1;
    const sentRate = prev ? Math.round((now.sent - prev.sent) / secs) : 0;
    const ackRate = prev ? Math.round((now.acked - prev.acked) / secs) : 0;
    const rules = byCount(now.problems);
    const faults = Object.values(now.injected).reduce((a, b) => a + (b ?? 0), 0);
    return `[${Math.round((now.at - startedAt) / 1000)} s] devices ${fmt(now.connected)}/${fmt(now.devices)} connected · sent ${fmt(now.sent)} (${fmt(sentRate)}/s) · acked ${fmt(now.acked)} (${fmt(ackRate)}/s)`
      + ` · rejected ${fmt(now.rejected)}${rules ? ` (${rules})` : ''}${faults > 0 ? ` · faults ${fmt(faults)}` : ''}`;
  }

  static summary(t: FleetTotals, startedAt: number, title: string): string {
    const secs = Math.max(0.001, (t.at - startedAt) / 1000);
    const pct = t.sent > 0 ? ` (${((100 * t.acked) / t.sent).toFixed(2)} %)` : '';
    const lines = [
      `summary: ${title}, ${secs.toFixed(1)} s`,
      `  devices          ${fmt(t.devices)} (${fmt(t.connected)} connected when stopping), connections dropped ${fmt(t.drops)}, reconnections ${fmt(t.reconnects)}${t.storms ? `, storms ${t.storms}` : ''}`,
      `  messages         sent ${fmt(t.sent)}, acknowledged ${fmt(t.acked)}${pct}, failed ${fmt(t.errors)}; ${fmt(Math.round(t.acked / secs))} msg/s acknowledged on average`,
      `  telemetry points sent ${fmt(t.points)}, acknowledged ${fmt(t.ackedPoints)}`,
      `  faults injected  ${byCount(t.injected) || 'none'}`,
      `  rejected         ${fmt(t.rejected)} messages${t.rejected ? `: ${byCount(t.problems)}` : ''}`,
    ];
    return lines.join('\n');
  }

  get startedAt(): number {
    return this.started;
  }

  /** Stops every device: outstanding acks are awaited (up to settleMs), then each says offline and disconnects. */
  async stop(settleMs = 5000): Promise<void> {
    clearInterval(this.stormTimer);
    await mapLimit(this.devices, 200, (d) => d.stop(settleMs).catch(() => {}));
  }
}
