// One simulated device: its own MQTT connection (clientId = username = device id, password = its token),
// a retained status with a last will, telemetry at QoS1 with a per-device sequence number, state changes, and
// the faults of its program. It listens on its own errors topic to count what the platform rejected and why.
import mqtt, { type MqttClient } from 'mqtt';
import { topicFor } from '../common/contract/topics.ts';
import type { MachineModel } from './models.ts';
import { DeviceProgram, type Outgoing, type ProgramOptions, type Tick } from './program.ts';
import type { FaultName } from './faults.ts';

export interface DeviceCredentials {
  id: string;
  firmId: string;
  type: string;
  token: string;
}

export interface DeviceRunStats {
  /** Messages published (telemetry, state; a batch is one message). */
  sent: number;
  /** Messages the broker acknowledged (PUBACK). */
  acked: number;
  /** Publishes that failed (the connection ended before the PUBACK). */
  errors: number;
  /** Telemetry points published and acknowledged (a batch carries many). */
  points: number;
  ackedPoints: number;
  /** Error reports received on the device's errors topic, and their problems by rule. */
  rejected: number;
  problems: Record<string, number>;
  /** Faults injected, by name. */
  injected: Partial<Record<FaultName, number>>;
  /** Connections dropped on purpose, and reconnections that followed (or any other). */
  drops: number;
  reconnects: number;
}

export interface DeviceOptions extends ProgramOptions {
  /** Subscribe to the device's errors topic and count rejections (default true). */
  subscribeErrors?: boolean;
  /** MQTT.js reconnect period after an unplanned loss of connection, ms (default 1000). */
  reconnectPeriodMs?: number;
  /** Keep the sequence numbers of acknowledged valid telemetry (tests check they were all stored). */
  trackAcked?: boolean;
  /** Give up connecting after this long, ms (default 30 s). */
  connectTimeoutMs?: number;
  /** CA certificate(s) (PEM) to trust for mqtts:// and wss:// broker URLs. */
  ca?: Buffer;
}

export interface ErrorReport {
  ts: number;
  topic: string;
  problems: Array<{ field: string; rule: string; message: string }>;
}

export class SimulatedDevice {
  readonly stats: DeviceRunStats = { sent: 0, acked: 0, errors: 0, points: 0, ackedPoints: 0, rejected: 0, problems: {}, injected: {}, drops: 0, reconnects: 0 };
  readonly program: DeviceProgram;
  /** Sequence numbers of acknowledged valid telemetry, when trackAcked is set. */
  readonly ackedSeqs = new Set<number>();
  /** The last error reports received (at most 20), newest last. */
  readonly reports: ErrorReport[] = [];
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly opts: DeviceOptions;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(readonly creds: DeviceCredentials, model: MachineModel, private readonly mqttUrl: string, opts: DeviceOptions = {}) {
    this.opts = opts;
    this.program = new DeviceProgram({ id: creds.id, firmId: creds.firmId, type: creds.type }, model, opts);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  private topic(kind: 'status' | 'errors'): string {
    return topicFor(this.creds.firmId, this.creds.id, kind);
  }

  async connect(): Promise<void> {
    const statusTopic = this.topic('status');
    const reconnectPeriod = this.opts.reconnectPeriodMs ?? 1000;
    const connecting = mqtt.connectAsync(this.mqttUrl, {
      clientId: this.creds.id,
      username: this.creds.id,
      password: this.creds.token,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod,
      connectTimeout: 15_000,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      will: { topic: statusTopic, payload: Buffer.from(JSON.stringify({ status: 'offline' })), qos: 1, retain: true },
    });
    const client = await this.within(connecting, this.opts.connectTimeoutMs ?? 30_000);
    this.client = client;
    client.on('connect', () => {
      // A reconnection: restore the normal reconnect period and announce the device again.
      this.stats.reconnects++;
      client.options.reconnectPeriod = reconnectPeriod;
      client.publish(statusTopic, JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1, retain: true }, () => {});
    });
    client.on('error', () => {}); // connection errors are retried by MQTT.js; counted through reconnects
    if (this.opts.subscribeErrors ?? true) {
      const errorsTopic = this.topic('errors');
      client.on('message', (topic, payload) => {
        if (topic === errorsTopic) this.countRejection(payload);
      });
      await client.subscribeAsync(errorsTopic, { qos: 0 });
    }
    await client.publishAsync(statusTopic, JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1, retain: true });
  }

  /** The connection, or an error after timeoutMs (a connection that comes later is closed at once). */
  private async within(connecting: Promise<MqttClient>, timeoutMs: number): Promise<MqttClient> {
    let timeout: NodeJS.Timeout | undefined;
    return Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timeout = setTimeout(() => {
          void connecting.then((c) => c.end(true), () => {});
          reject(new Error(`device ${this.creds.id} could not connect to ${this.mqttUrl} within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timeout));
  }

  /** A report on the device's errors topic: counted by rule, the last 20 kept. */
  private countRejection(payload: Buffer): void {
    this.stats.rejected++;
    try {
      const report = JSON.parse(payload.toString('utf8')) as ErrorReport;
      for (const p of report.problems ?? []) this.stats.problems[p.rule] = (this.stats.problems[p.rule] ?? 0) + 1;
      this.reports.push(report);
      if (this.reports.length > 20) this.reports.shift();
    } catch {
      this.stats.problems['(unreadable report)'] = (this.stats.problems['(unreadable report)'] ?? 0) + 1;
    }
  }

  /**
   * Steps the model to device time `now` and publishes one telemetry message (and a state message if the state
   * changed), with whatever faults the program injects. dtMs defaults to the time since the previous call.
   */
  async publishOnce(now = Date.now(), dtMs?: number): Promise<void> {
    if (!this.client) throw new Error('not connected');
    await this.apply(this.program.tick(now, dtMs));
  }

  /** Runs the actions of a tick (connection drops) and publishes its messages; resolves when all are acked. */
  async apply(tick: Tick): Promise<void> {
    for (const f of tick.injected) this.stats.injected[f] = (this.stats.injected[f] ?? 0) + 1;
    for (const a of tick.actions) this.drop(a.forMs);
    await this.send(tick.messages);
  }

  /** Publishes messages at QoS 1; resolves when every one is acknowledged, rejects if any publish failed. */
  async send(messages: readonly Outgoing[]): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('not connected');
    const sends = messages.map((m) => {
      this.stats.sent++;
      this.stats.points += m.seqs.length;
      const p = client.publishAsync(m.topic, m.payload, { qos: 1 }).then(() => {
        this.stats.acked++;
        this.stats.ackedPoints += m.seqs.length;
        if (this.opts.trackAcked && m.valid && m.kind === 'telemetry') for (const s of m.seqs) this.ackedSeqs.add(s);
      }, (err: Error) => {
        this.stats.errors++;
        throw err;
      });
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p)).catch(() => {});
      return p;
    });
    const results = await Promise.allSettled(sends);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Drops the connection abruptly (no DISCONNECT, so the broker sends the last will); MQTT.js reconnects after forMs. */
  drop(forMs: number): void {
    const c = this.client;
    if (!c || !c.connected || this.stopping) return;
    this.stats.drops++;
    c.options.reconnectPeriod = Math.max(1, Math.round(forMs));
    c.stream.destroy();
  }

  /**
   * Publishes every intervalMs until stop(), or `count` telemetry messages when count > 0. The model is stepped
   * by the nominal interval (not the timer's jitter), so the readings depend only on the seed; timestamps are
   * the real clock. startDelayMs spreads a fleet's publishes over the interval.
   */
  run(intervalMs: number, count = 0, onDone?: () => void, startDelayMs = 0): void {
    let left = count;
    let first = true;
    const tick = () => {
      if (this.stopping) return;
      const dt = first ? 1000 : intervalMs;
      first = false;
      this.publishOnce(Date.now(), dt).catch(() => {});
      if (count > 0 && --left <= 0) {
        onDone?.();
        return;
      }
      this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, Math.max(0, startDelayMs));
  }

  /** Resolves when every publish started so far has been acknowledged or has failed (or after timeoutMs). */
  async settled(timeoutMs = 10_000): Promise<void> {
    if (this.inflight.size === 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => { t = setTimeout(r, timeoutMs); })]);
    clearTimeout(t);
  }

  /** Stops publishing, sends any store-and-forward backlog, waits for outstanding acks, says offline, disconnects. */
  async stop(settleMs = 5000): Promise<void> {
    clearTimeout(this.timer);
    const client = this.client;
    if (!client) return;
    if (!this.stopping) {
      this.stopping = true;
      if (this.program.offline) {
        // Cut a store-and-forward outage short: reconnect now and send the backlog.
        if (!client.connected) {
          client.options.reconnectPeriod = this.opts.reconnectPeriodMs ?? 1000;
          client.reconnect();
        }
        void this.send(this.program.endOutage(Date.now()).messages).catch(() => {});
      }
      if (settleMs > 0) await this.settled(settleMs);
    }
    if (client.connected) {
      // Bounded: a broker that holds PUBACKs (spool at its cap) or is going away must not hold up the stop.
      await withTimeout(client.publishAsync(this.topic('status'), JSON.stringify({ status: 'offline', ts: Date.now() }), { qos: 1, retain: true }), 2000).catch(() => {});
      await withTimeout(client.endAsync(), 2000).catch(() => client.end(true));
    } else {
      await withTimeout(client.endAsync(true), 2000).catch(() => {});
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error('timeout')), ms); })]).finally(() => clearTimeout(t));
}
