// Load generator process: N device connections publishing QoS1 at a paced rate for a fixed time, measuring
// acknowledged messages and PUBACK latency. Config as JSON in argv[2]; prints one JSON result line.
import mqtt, { type MqttClient } from 'mqtt';

export interface LoadConfig {
  url: string;
  devices: Array<{ id: string; token: string; topic: string }>;
  /** Messages per second over all devices (0 = as fast as the in-flight cap allows). */
  rate: number;
  seconds: number;
  /** Unacknowledged publishes allowed per connection before it waits. */
  inflight: number;
  /** Device timestamps start here and advance 1 ms per message per device, so every point is unique. */
  baseTs: number;
  /** Bare relay runs use plain credentials-free clients. */
  auth: boolean;
}

export interface LoadResult {
  sent: number;
  acked: number;
  seconds: number;
  pubackP50Ms: number;
  pubackP99Ms: number;
  connected: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
  const clients: MqttClient[] = [];
  for (let i = 0; i < cfg.devices.length; i += 50) {
    clients.push(...(await Promise.all(cfg.devices.slice(i, i + 50).map((d) => mqtt.connectAsync(cfg.url, {
      clientId: d.id, ...(cfg.auth ? { username: d.id, password: d.token } : {}), reconnectPeriod: 1000, clean: true, keepalive: 60,
    })))));
  }
  const n = clients.length;
  const inflight = new Int32Array(n);
  const seqs = new Float64Array(n);
  const latencies: number[] = [];
  let sent = 0;
  let acked = 0;
  process.stdout.write('START\n'); // connected: the measured window begins now
  const started = performance.now();
  const endAt = started + cfg.seconds * 1000;
  const tickMs = 5;
  let next = 0;
  let budget = 0;
  // Points are 1 ms apart, so the counters rise slowly enough to stay plausible (admission quarantines faster ones).
  const payloadOf = (i: number): string => {
    const seq = seqs[i]!++;
    const v = seq % 1000;
    return `{"ts":${cfg.baseTs + seq},"seq":${seq},"metrics":{"speed_rpm":${600 + (v % 100)},"efficiency_pct":${80 + (v % 20)},"picks_total":${Math.floor(seq / 100)},"fabric_m_total":${seq / 1e6},"power_kw":${3 + (v % 3)},"energy_kwh_total":${seq / 1e6}}}`;
  };
  let lastTick = started;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now >= endAt) return resolve();
      // Pace by the time that really passed: timers fire late under load, and the rate must not sag with them.
      budget += cfg.rate > 0 ? (cfg.rate * (now - lastTick)) / 1000 : 1e9;
      lastTick = now;
      let tries = 0;
      while (budget >= 1 && tries < n) {
        const i = next;
        next = (next + 1) % n;
        if (inflight[i]! >= cfg.inflight) { tries++; continue; }
        tries = 0;
        budget--;
        inflight[i]!++;
        sent++;
        const t0 = performance.now();
        clients[i]!.publish(cfg.devices[i]!.topic, payloadOf(i), { qos: 1 }, (err) => {
          inflight[i]!--;
          if (err) return;
          acked++;
          if (performance.now() <= endAt) latencies.push(performance.now() - t0);
        });
      }
      if (budget > n * cfg.inflight) budget = n * cfg.inflight; // do not bank what the system could not take
      setTimeout(tick, tickMs);
    };
    tick();
  });
  const ackedInWindow = latencies.length;
  // Let the tail arrive, but count the rate only within the window.
  await new Promise((r) => setTimeout(r, 2000));
  const sorted = Float64Array.from(latencies).sort();
  const result: LoadResult = {
    sent, acked: ackedInWindow, seconds: cfg.seconds, pubackP50Ms: percentile(sorted, 0.5), pubackP99Ms: percentile(sorted, 0.99), connected: n,
  };
  await Promise.all(clients.map((c) => c.endAsync(true)));
  process.stdout.write(`${JSON.stringify({ ...result, ackedTotal: acked })}\n`);
  process.exit(0);
}

if (process.argv[1]?.endsWith('loadgen.ts')) void main();
