// The gateway's connection to the platform, in one of two ways: with the gateway credential (one connection for
// every device the firm assigned to the gateway; the broker lets it publish for those devices only) or, as before
// gateways were registered, with one device's own credential (one connection per device). Either way: a retained
// online status per device, and the queue drained in order at QoS 1. MQTT.js resends what was in flight after a
// reconnect; a row leaves the queue only on its PUBACK, so a crash of the gateway at any point resends at most what
// was in flight, which the broker stores again as the same point.
import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { topicFor } from '../common/contract/topics.ts';
import type { Logger } from '../common/log.ts';
import type { GatewayQueue } from './queue.ts';

/** Who the connection logs in as: a gateway (its id and token) or one device (its own). */
export interface UplinkCredential {
  /** MQTT clientId and username. */
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

/** The device a rejected message was for, from its topic (dh/v1/{firm}/{device}/{kind}). */
const deviceOf = (topic: string | undefined): string | undefined => topic?.split('/')[3];

export class Uplink {
  readonly stats: UplinkStats = { published: 0, acked: 0, rejected: 0 };
  private client: MqttClient | undefined;
  private lastSentId = 0;
  private inflight = 0;
  private readonly window: number;
  /** With a device's own credential: that device, whose queue alone this connection sends (and whose last will it has). */
  private readonly ownDevice: string | undefined;

  /** `devices`: the devices whose messages this connection carries (with a device credential, just that device). */
  constructor(
    private readonly credential: UplinkCredential, private readonly devices: readonly string[], private readonly brokerUrl: string,
    private readonly queue: GatewayQueue, private readonly log: Logger, private readonly opts: UplinkOptions = {},
  ) {
    this.window = opts.window ?? 100;
    this.ownDevice = devices.length === 1 && devices[0] === credential.id ? credential.id : undefined;
  }

  private statusTopic(device: string): string {
    return topicFor(this.credential.firmId, device, 'status');
  }

  /** Messages this connection still has to send. */
  private backlog(): number {
    return this.ownDevice === undefined ? this.queue.depth : this.queue.deviceDepth(this.ownDevice);
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    if (this.client) return;
    const { id, firmId, token } = this.credential;
    const offline = Buffer.from(JSON.stringify({ status: 'offline' }));
    // A last will names one topic: a device's own connection has it; for a gateway's devices the platform marks
    // them offline when the gateway's connection ends.
    const client = mqtt.connect(this.brokerUrl, {
      clientId: id, username: id, password: token, clean: true, protocolVersion: 4,
      reconnectPeriod: this.opts.reconnectPeriodMs ?? 1000, connectTimeout: 10_000,
      ca: this.opts.ca ? fs.readFileSync(this.opts.ca) : undefined,
      ...(this.ownDevice === undefined ? {} : { will: { topic: this.statusTopic(this.ownDevice), payload: offline, qos: 1, retain: true } }),
    });
    this.client = client;
    // 'close' fires after every failed attempt too: the loss is logged once, when a live connection ends.
    let wasUp = false;
    let everUp = false;
    let lastError: string | undefined;
    client.on('connect', () => {
      lastError = undefined;
      this.log.info({ [this.ownDevice === undefined ? 'gateway' : 'device']: id, devices: this.devices.length, queued: this.backlog() }, everUp ? 'reconnected to the broker' : 'connected to the broker');
      wasUp = true;
      everUp = true;
      for (const d of this.devices) client.publish(this.statusTopic(d), JSON.stringify({ status: 'online' }), { qos: 1, retain: true });
      client.subscribe(topicFor(firmId, id, 'errors'), { qos: 1 });
      this.pump();
    });
    client.on('close', () => { if (wasUp) this.log.warn({ client: id }, 'broker connection lost; samples are kept in the queue'); wasUp = false; });
    // MQTT.js retries every second: a refused token or an unreachable broker is logged when the reason changes.
    client.on('error', (err) => {
      if (err.message !== lastError) this.log.error({ client: id, err: err.message }, 'broker connection failed; retrying every second');
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
    for (const row of this.queue.after(this.ownDevice, this.lastSentId, free)) {
      this.lastSentId = row.id;
      this.inflight++;
      this.stats.published++;
      client.publish(topicFor(this.credential.firmId, row.device, row.kind), row.payload, { qos: 1 }, (err) => {
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
    this.log.error({ device: deviceOf(report.topic) ?? this.credential.id, topic: report.topic, problems: report.problems }, `broker rejected a message: ${reasons.join('; ')}`);
  }

  /**
   * Sends what is queued while the broker answers (at most `timeoutMs`; the rest stays queued for the next start),
   * then says goodbye (offline status of each device) and closes.
   */
  async stop(timeoutMs = 2000): Promise<void> {
    const client = this.client;
    if (!client) return;
    const until = Date.now() + timeoutMs;
    while (client.connected && Date.now() < until && (this.inflight > 0 || this.backlog() > 0)) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    const offline = JSON.stringify({ status: 'offline' });
    const bye = client.connected
      ? Promise.all(this.devices.map((d) => client.publishAsync(this.statusTopic(d), offline, { qos: 1, retain: true }))).then(() => undefined, () => undefined)
      : Promise.resolve();
    await Promise.race([bye, new Promise((r) => setTimeout(r, timeoutMs))]);
    await client.endAsync(true);
  }
}
