// One device's connection to the platform: its own credentials (the broker's authentication and topic ACL are
// per device), a retained online status with an offline last will, and the queue drained in order at QoS 1.
// MQTT.js resends what was in flight after a reconnect; a row leaves the queue only on its PUBACK, so a crash of
// the gateway at any point resends at most what was in flight, which the broker stores again as the same point.
import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { topicFor } from '../common/contract/topics.ts';
import type { Logger } from '../common/log.ts';
import type { GatewayQueue } from './queue.ts';

export interface UplinkDevice {
  id: string;
  firmId: string;
  token: string;
}

export interface UplinkOptions {
  ca?: string;
  /** Publishes awaiting their PUBACK at once (the broker disconnects a client with more than MAX_INFLIGHT). */
  window?: number;
  reconnectPeriodMs?: number;
}

export interface UplinkStats {
  published: number;
  acked: number;
  rejected: number;
}

interface ErrorReport {
  topic?: string;
  problems?: Array<{ field?: string; rule?: string; message?: string }>;
}

export class Uplink {
  readonly stats: UplinkStats = { published: 0, acked: 0, rejected: 0 };
  private client: MqttClient | undefined;
  private lastSentId = 0;
  private inflight = 0;
  private readonly window: number;

  constructor(private readonly device: UplinkDevice, private readonly brokerUrl: string, private readonly queue: GatewayQueue, private readonly log: Logger, private readonly opts: UplinkOptions = {}) {
    this.window = opts.window ?? 100;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { id, firmId, token } = this.device;
    const status = topicFor(firmId, id, 'status');
    const client = mqtt.connect(this.brokerUrl, {
      clientId: id, username: id, password: token, clean: true, protocolVersion: 4,
      reconnectPeriod: this.opts.reconnectPeriodMs ?? 1000, connectTimeout: 10_000,
      ca: this.opts.ca ? fs.readFileSync(this.opts.ca) : undefined,
      will: { topic: status, payload: Buffer.from(JSON.stringify({ status: 'offline' })), qos: 1, retain: true },
    });
    this.client = client;
    // 'close' fires after every failed attempt too: the loss is logged once, when a live connection ends.
    let wasUp = false;
    let everUp = false;
    let lastError: string | undefined;
    client.on('connect', () => {
      lastError = undefined;
      this.log.info({ device: id, queued: this.queue.deviceDepth(id) }, everUp ? 'reconnected to the broker' : 'connected to the broker');
      wasUp = true;
      everUp = true;
      client.publish(status, JSON.stringify({ status: 'online' }), { qos: 1, retain: true });
      client.subscribe(topicFor(firmId, id, 'errors'), { qos: 1 });
      this.pump();
    });
    client.on('close', () => { if (wasUp) this.log.warn({ device: id }, 'broker connection lost; samples are kept in the queue'); wasUp = false; });
    // MQTT.js retries every second: a refused token or an unreachable broker is logged when the reason changes.
    client.on('error', (err) => {
      if (err.message !== lastError) this.log.error({ device: id, err: err.message }, 'broker connection failed; retrying every second');
      lastError = err.message;
    });
    client.on('message', (_topic, payload) => this.onErrorReport(payload));
  }

  /** New messages are queued: send what the window allows. */
  pump(): void {
    const client = this.client;
    if (!client?.connected) return;
    const free = this.window - this.inflight;
    if (free <= 0) return;
    for (const row of this.queue.after(this.device.id, this.lastSentId, free)) {
      this.lastSentId = row.id;
      this.inflight++;
      this.stats.published++;
      client.publish(topicFor(this.device.firmId, this.device.id, row.kind), row.payload, { qos: 1 }, (err) => {
        this.inflight--;
        // An error here means the client was ended: the row stays queued and is sent after the next start.
        if (err) return;
        this.stats.acked++;
        this.queue.acknowledge(row.id);
        this.pump();
      });
    }
  }

  /**
   * The broker acknowledged a message it rejected (so it is not resent) and says why here: log it with the
   * broker's reason. The message has already left the queue; a rejection is never retried.
   */
  private onErrorReport(payload: Buffer): void {
    this.stats.rejected++;
    let report: ErrorReport = {};
    try {
      report = JSON.parse(payload.toString()) as ErrorReport;
    } catch {
      // Not ours to judge: log it as it came.
    }
    const reasons = report.problems?.map((p) => `${p.rule ?? '?'}: ${p.message ?? ''}`) ?? [payload.toString().slice(0, 500)];
    this.log.error({ device: this.device.id, topic: report.topic, problems: report.problems }, `broker rejected a message: ${reasons.join('; ')}`);
  }

  /**
   * Sends what is queued while the broker answers (at most `timeoutMs`; the rest stays queued for the next start),
   * then says goodbye (offline status) and closes.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    const client = this.client;
    if (!client) return;
    const { id, firmId } = this.device;
    const until = Date.now() + timeoutMs;
    while (client.connected && Date.now() < until && (this.inflight > 0 || this.queue.deviceDepth(id) > 0)) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    const bye = client.connected
      ? client.publishAsync(topicFor(firmId, id, 'status'), JSON.stringify({ status: 'offline' }), { qos: 1, retain: true }).then(() => undefined, () => undefined)
      : Promise.resolve();
    await Promise.race([bye, new Promise((r) => setTimeout(r, timeoutMs))]);
    await client.endAsync(true);
  }
}
