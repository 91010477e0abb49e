// One machine behind the gateway: sample its source every poll interval, queue each sample as one telemetry
// message (and a state message when the machine state changes), and let the uplink send the queue (the uplink,
// which may carry several devices, is started and stopped by main.ts).
import type { MachineState } from '../common/contract/catalogue.ts';
import type { Logger } from '../common/log.ts';
import type { DeviceConfig } from './config.ts';
import type { GatewayQueue } from './queue.ts';
import type { Source } from './sources/source.ts';
import type { Uplink } from './uplink.ts';

export interface DeviceStats {
  sampled: number;
  /** Ticks without a sample because the machine could not be read. */
  failed: number;
}

export class GatewayDevice {
  readonly stats: DeviceStats = { sampled: 0, failed: 0 };
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private lastState: MachineState | undefined;
  private failingSince: number | undefined;

  constructor(readonly cfg: DeviceConfig, private readonly source: Source, private readonly queue: GatewayQueue, readonly uplink: Uplink, private readonly log: Logger) {}

  start(): void {
    this.source.start();
    this.timer = setInterval(() => { void this.tick(); }, this.cfg.pollIntervalMs);
  }

  /** One sample, unless the previous one is still being read (a slow machine does not pile up reads). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.sampleOnce();
    } finally {
      this.busy = false;
    }
  }

  private async sampleOnce(): Promise<void> {
    const id = this.cfg.id;
    const ts = Date.now();
    let sample;
    try {
      sample = await this.source.sample();
    } catch (err) {
      this.stats.failed++;
      if (this.failingSince === undefined) {
        this.failingSince = ts;
        this.log.warn({ device: id, err: (err as Error).message }, 'cannot read the machine; sampling resumes when it answers');
      }
      return;
    }
    if (this.failingSince !== undefined) {
      this.log.info({ device: id, downMs: ts - this.failingSince }, 'machine answers again');
      this.failingSince = undefined;
    }
    // At its cap the queue drops its oldest telemetry for this sample (counted there).
    if (Object.keys(sample.metrics).length > 0) {
      this.queue.addTelemetry(id, ts, sample.metrics);
      this.stats.sampled++;
    }
    if (sample.state !== undefined && sample.state !== this.lastState) {
      this.queue.addState(id, { ts, state: sample.state });
      this.lastState = sample.state;
    }
    this.uplink.pump();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.source.close().catch(() => undefined);
  }
}
