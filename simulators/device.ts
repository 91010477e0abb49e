// One simulated device: its own MQTT connection (clientId = username = device id, password = its token),
// a retained status with a last will, telemetry at QoS1 with a per-device sequence number, and state changes.
import mqtt, { type MqttClient } from 'mqtt';
import { topicFor } from '../common/contract/topics.ts';
import type { MachineModel } from './models.ts';

export interface DeviceCredentials {
  id: string;
  firmId: string;
  type: string;
  token: string;
}

export interface DeviceRunStats {
  sent: number;
  acked: number;
  errors: number;
}

export class SimulatedDevice {
  readonly stats: DeviceRunStats = { sent: 0, acked: 0, errors: 0 };
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private lastStep = Date.now();

  constructor(readonly creds: DeviceCredentials, private readonly model: MachineModel, private readonly mqttUrl: string) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async connect(): Promise<void> {
    const statusTopic = topicFor(this.creds.firmId, this.creds.id, 'status');
    this.client = await mqtt.connectAsync(this.mqttUrl, {
      clientId: this.creds.id,
      username: this.creds.id,
      password: this.creds.token,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 1000,
      will: { topic: statusTopic, payload: Buffer.from(JSON.stringify({ status: 'offline' })), qos: 1, retain: true },
    });
    await this.client.publishAsync(statusTopic, JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1, retain: true });
  }

  /** Steps the model and publishes one telemetry message (and a state message if the state changed). */
  async publishOnce(now = Date.now()): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('not connected');
    const reading = this.model.step(Math.max(now - this.lastStep, 1));
    this.lastStep = now;
    const sends: Array<Promise<unknown>> = [];
    if (reading.state) {
      sends.push(client.publishAsync(topicFor(this.creds.firmId, this.creds.id, 'state'), JSON.stringify({ ts: now, ...reading.state }), { qos: 1 }));
    }
    sends.push(client.publishAsync(topicFor(this.creds.firmId, this.creds.id, 'telemetry'), JSON.stringify({ ts: now, seq: this.seq++, metrics: reading.metrics }), { qos: 1 }));
    this.stats.sent += sends.length;
    try {
      await Promise.all(sends);
      this.stats.acked += sends.length;
    } catch (err) {
      this.stats.errors++;
      throw err;
    }
  }

  /** Publishes every intervalMs until stop(), or `count` telemetry messages when count > 0. */
  run(intervalMs: number, count = 0, onDone?: () => void): void {
    let left = count;
    const tick = () => {
      this.publishOnce().catch(() => {});
      if (count > 0 && --left <= 0) {
        clearInterval(this.timer);
        onDone?.();
      }
    };
    this.timer = setInterval(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (!this.client) return;
    const statusTopic = topicFor(this.creds.firmId, this.creds.id, 'status');
    if (this.client.connected) await this.client.publishAsync(statusTopic, JSON.stringify({ status: 'offline', ts: Date.now() }), { qos: 1, retain: true }).catch(() => {});
    await this.client.endAsync();
  }
}
