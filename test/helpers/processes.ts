// The system as separate processes (the same commands `npm start` runs), for fault tests that kill them.
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { startService, waitForHttp, waitForPort, type ServiceName, type ServiceProcess } from '../../scripts/launch.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { api, tempDir, testFirm } from './system.ts';

export interface ProcessSystem {
  dir: string;
  influxd: PrivateInfluxd;
  store: InfluxStore;
  env: NodeJS.ProcessEnv;
  apiUrl: string;
  mqttUrl: string;
  adminToken: string;
  services: Record<ServiceName, ServiceProcess>;
  restart(name: ServiceName): Promise<void>;
  kill(name: ServiceName): Promise<void>;
  spoolRows(): Promise<number>;
  close(): Promise<void>;
}

export async function startProcesses(extraEnv: Record<string, string> = {}): Promise<ProcessSystem> {
  const dir = tempDir('proc');
  const influxd = await startPrivateInfluxd(path.join(dir, 'influxdb'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const adminToken = 'at_process_test_admin_0123456789';
  const env: NodeJS.ProcessEnv = {
    ...process.env, DATA_DIR: path.join(dir, 'data'), INFLUX_URL: influxd.url, INFLUX_DB: 'faults', MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort),
    MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', ADMIN_TOKEN: adminToken, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...extraEnv,
  };
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const apiUrl = `http://127.0.0.1:${httpPort}`;
  const start = async (name: ServiceName): Promise<ServiceProcess> => {
    const p = startService(name, { env, logDir });
    if (name === 'broker') await waitForPort(mqttPort, p);
    if (name === 'api') await waitForHttp(`${apiUrl}/healthz`, p);
    return p;
  };
  const services = { broker: await start('broker'), ingest: await start('ingest'), api: await start('api') } as Record<ServiceName, ServiceProcess>;
  const store = new InfluxStore({ url: influxd.url, db: 'faults' });
  return {
    dir, influxd, store, env, apiUrl, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, adminToken, services,
    async restart(name) { services[name] = await start(name); },
    async kill(name) { await services[name].stop('SIGKILL'); },
    async spoolRows() {
      const res = await fetch(`${apiUrl}/healthz`);
      return ((await res.json()) as { spool: { rows: number } }).spool.rows;
    },
    async close() {
      for (const s of Object.values(services)) await s.stop();
      await store.close();
      await influxd.stop();
      if (!process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function provisionFleet(sys: { apiUrl: string; adminToken: string }, n: number, type = 'electricity_meter'): Promise<DeviceCredentials[]> {
  const firm = testFirm();
  const r = await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm);
  if (r.status !== 201) throw new Error(`firm: ${r.status}`);
  const out: DeviceCredentials[] = [];
  for (let i = 0; i < n; i++) out.push(await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, type, `fleet ${i}`));
  return out;
}

/**
 * Devices that publish a known stream at QoS1 and remember what was acknowledged. MQTT.js keeps unacknowledged
 * messages and resends them after a reconnect, as a real device with a store-and-forward buffer would.
 */
export class Stream {
  readonly acked = new Set<string>();
  published = 0;
  private clients: mqtt.MqttClient[] = [];

  constructor(private readonly url: string, private readonly devices: readonly DeviceCredentials[], readonly perDevice: number, readonly baseTs = Date.now() - 3_600_000) {}

  async connect(): Promise<void> {
    this.clients = await Promise.all(this.devices.map((d) => mqtt.connectAsync(this.url, {
      clientId: d.id, username: d.id, password: d.token, reconnectPeriod: 250, connectTimeout: 5000, clean: true,
    })));
  }

  /** Publishes everything at about `ratePerSec` messages per second in all; resolves when all are acknowledged. */
  async run(ratePerSec: number, onProgress?: (sent: number) => void | Promise<void>): Promise<void> {
    const done: Array<Promise<void>> = [];
    const total = this.devices.length * this.perDevice;
    const tickMs = 20;
    const perTick = Math.max(1, Math.round((ratePerSec * tickMs) / 1000));
    let i = 0;
    while (i < total) {
      for (let k = 0; k < perTick && i < total; k++, i++) {
        const d = i % this.devices.length;
        const seq = Math.floor(i / this.devices.length);
        const dev = this.devices[d]!;
        const payload = JSON.stringify({ ts: this.baseTs + seq * 1000, seq, metrics: { power_kw: 100 + (seq % 50), energy_kwh_total: seq } });
        done.push(new Promise<void>((resolve) => {
          this.clients[d]!.publish(topicFor(dev.firmId, dev.id, 'telemetry'), payload, { qos: 1 }, (err) => {
            if (!err) this.acked.add(`${dev.id}:${seq}`);
            resolve();
          });
        }));
        this.published++;
      }
      await onProgress?.(i);
      await new Promise((r) => setTimeout(r, tickMs));
    }
    await Promise.all(done);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync()));
  }
}

export async function storedPoints(store: InfluxStore, measurement = 'electricity_meter'): Promise<number> {
  const s = await store.query(`SELECT count("seq") FROM "${measurement}"`);
  return (s[0]?.values[0]?.[1] as number | undefined) ?? 0;
}

export async function drained(sys: ProcessSystem, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await sys.spoolRows()) === 0, timeoutMs, 'the spool to drain');
}

export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** A Stream progress callback that runs `fn` once, when `n` messages have been sent. */
export function onceAt(n: number, fn: () => Promise<void>): (sent: number) => Promise<void> {
  let done = false;
  return async (sent) => {
    if (done || sent < n) return;
    done = true;
    await fn();
  };
}
