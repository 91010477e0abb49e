// A Sparkplug B edge node for tests, built on Eclipse Tahu's own client (sparkplug-client): it logs in as a
// gateway, publishes its NBIRTH and a DBIRTH per device whenever it connects (as the library asks of it) and
// again when the host sends Node Control/Rebirth, and sends device data by alias, as a real edge node does.
import sparkplugClient, { type UPayload } from 'sparkplug-client';
import { REBIRTH_METRIC } from '../../broker/sparkplug/payload.ts';

export interface BirthMetric {
  name: string;
  alias: number;
  type: 'Float' | 'Double' | 'Int32' | 'Boolean' | 'String';
  value: number | boolean | string;
}

export interface EdgeNodeOptions {
  mqttUrl: string;
  firmId: string;
  gatewayId: string;
  token: string;
  /** Per device id: the metrics its DBIRTH defines. */
  devices: Record<string, BirthMetric[]>;
}

export class TestEdgeNode {
  readonly client: ReturnType<typeof sparkplugClient.newClient>;
  births = 0;
  rebirthRequests = 0;
  private readonly waiters: Array<{ births: number; resolve: () => void }> = [];

  constructor(private readonly opts: EdgeNodeOptions) {
    this.client = sparkplugClient.newClient({
      serverUrl: opts.mqttUrl, username: opts.gatewayId, password: opts.token, clientId: opts.gatewayId,
      groupId: opts.firmId, edgeNode: opts.gatewayId, publishDeath: true, keepalive: 5, mqttOptions: { reconnectPeriod: 300 },
    });
    this.client.on('birth', () => this.birth());
    this.client.on('ncmd', (payload: UPayload) => {
      if (payload.metrics?.some((m) => m.name === REBIRTH_METRIC && m.value === true)) {
        this.rebirthRequests++;
        this.birth();
      }
    });
    this.client.on('error', () => {});
  }

  /** Resolves once the edge node has published its births `count` times in all. */
  bornTimes(count: number): Promise<void> {
    if (this.births >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ births: count, resolve }));
  }

  /** DDATA with metrics by alias (and their own timestamps when given). */
  data(deviceId: string, metrics: UPayload['metrics'], timestamp = Date.now()): void {
    this.client.publishDeviceData(deviceId, { timestamp, metrics: metrics ?? [] });
  }

  deviceDeath(deviceId: string): void {
    this.client.publishDeviceDeath(deviceId, { timestamp: Date.now(), metrics: [] });
  }

  /** Publishes its NDEATH and disconnects. */
  stop(): void {
    this.client.stop();
  }

  private birth(): void {
    const now = Date.now();
    this.client.publishNodeBirth({ timestamp: now, metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: false }] });
    for (const [deviceId, metrics] of Object.entries(this.opts.devices)) {
      this.client.publishDeviceBirth(deviceId, { timestamp: now, metrics: metrics.map((m) => ({ ...m })) });
    }
    this.births++;
    for (const w of this.waiters.filter((x) => x.births <= this.births)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }
}
