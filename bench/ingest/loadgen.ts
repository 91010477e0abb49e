// Load generator process: N device connections publishing QoS1 at a paced rate for a fixed time, measuring
// acknowledged messages and PUBACK latency. Config as JSON in argv[2]; prints one JSON result line.
//
// It speaks MQTT over plain sockets (mqtt-packet for CONNECT and for parsing what comes back, PUBLISH frames
// written by hand from a prebuilt topic header) so that it costs the shared 2 cores as little as possible: with
// MQTT.js and a callback per publish, the generator itself used a large share of the CPU the system under test
// needed at the top step. The bare relay, the system and the cluster are all driven by this same generator.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { fixedHeader } from '../../test/helpers/raw-mqtt.ts';

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

/** Slots for send times per connection, indexed by packet id; more than the in-flight cap ever uses. */
const SLOTS = 1024;

/** One device connection: a socket, its PUBLISH topic header, send times by packet id, in-flight count. */
export interface Conn {
  socket: net.Socket;
  topicHeader: Buffer;
  sentAt: Float64Array;
  nextId: number;
  inflight: number;
  seq: number;
}

export function parseUrl(url: string): { host: string; port: number } {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:') throw new Error(`the load generator speaks plain mqtt:// only, not ${u.protocol}`);
  return { host: u.hostname, port: Number(u.port || 1883) };
}

/** A QoS1 PUBLISH: fixed header, topic (prebuilt), packet id, payload. */
export function publishFrame(c: Pick<Conn, 'topicHeader'>, id: number, payload: string): Buffer {
  const body = Buffer.byteLength(payload);
  const remaining = c.topicHeader.length + 2 + body;
  const header = fixedHeader(0x32, remaining);
  const frame = Buffer.allocUnsafe(header.length + remaining);
  let o = header.copy(frame, 0);
  o += c.topicHeader.copy(frame, o);
  frame.writeUInt16BE(id, o);
  frame.write(payload, o + 2, 'utf8');
  return frame;
}

/** The topic of a PUBLISH as it goes on the wire (length-prefixed), built once per connection. */
export function topicHeaderOf(topicName: string): Buffer {
  const topic = Buffer.from(topicName);
  const header = Buffer.alloc(2 + topic.length);
  header.writeUInt16BE(topic.length, 0);
  topic.copy(header, 2);
  return header;
}

/** A CONNECT packet (MQTT 3.1.1, clean session). */
export function connectFrame(clientId: string, token: string | undefined): Buffer {
  return mqttPacket.generate({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 120, clientId,
    ...(token !== undefined ? { username: clientId, password: Buffer.from(token) } : {}),
  });
}

function connect(cfg: LoadConfig, d: LoadConfig['devices'][number], onAck: (c: Conn, id: number) => void): Promise<Conn> {
  const { host, port } = parseUrl(cfg.url);
  const topicHeader = topicHeaderOf(d.topic);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const conn: Conn = { socket, topicHeader, sentAt: new Float64Array(SLOTS), nextId: 1, inflight: 0, seq: 0 };
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => {
      if (p.cmd === 'puback' && p.messageId !== undefined) onAck(conn, p.messageId);
      else if (p.cmd === 'connack') {
        if (p.returnCode === 0) resolve(conn);
        else reject(new Error(`${d.id}: CONNACK ${p.returnCode}`));
      }
    });
    parser.on('error', reject);
    socket.on('data', (b) => parser.parse(b));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(connectFrame(d.id, cfg.auth ? d.token : undefined)));
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
  const latencies: number[] = [];
  let sent = 0;
  let acked = 0;
  let endAt = Infinity;
  const onAck = (c: Conn, id: number) => {
    c.inflight--;
    acked++;
    const now = performance.now();
    if (now <= endAt) latencies.push(now - c.sentAt[id % SLOTS]!);
  };
  const conns: Conn[] = [];
  for (let i = 0; i < cfg.devices.length; i += 50) {
    conns.push(...(await Promise.all(cfg.devices.slice(i, i + 50).map((d) => connect(cfg, d, onAck)))));
  }
  const n = conns.length;
  process.stdout.write('START\n'); // connected: the measured window begins now
  const started = performance.now();
  endAt = started + cfg.seconds * 1000;
  const tickMs = 5;
  let next = 0;
  let budget = 0;
  // Points are 1 ms apart, so the counters rise slowly enough to stay plausible (admission quarantines faster ones).
  const payloadOf = (c: Conn): string => {
    const seq = c.seq++;
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
        const c = conns[next]!;
        next = (next + 1) % n;
        if (c.inflight >= cfg.inflight) { tries++; continue; }
        tries = 0;
        budget--;
        c.inflight++;
        sent++;
        const id = c.nextId;
        c.nextId = id === 65535 ? 1 : id + 1;
        c.sentAt[id % SLOTS] = now;
        c.socket.write(publishFrame(c, id, payloadOf(c)));
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
  for (const c of conns) c.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  process.stdout.write(`${JSON.stringify({ ...result, ackedTotal: acked })}\n`);
  process.exit(0);
}

if (process.argv[1]?.endsWith('loadgen.ts')) void main();
