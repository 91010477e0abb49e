// Reconnect-storm devices, their own process: N device connections, each publishing one QoS1 message every
// `everyMs` (spread over the period), and behaving like device firmware when the broker goes away: reconnect after
// a random delay, then with backoff while it refuses. Config: a JSON file named by argv[2] (too big for argv). Prints `READY` when all N are
// connected; on SIGUSR2 (the broker is about to be killed) it starts the clock, and it prints one JSON result line
// when every device has a PUBACK on a new connection (or the deadline passes): the seconds that took, and the
// acknowledged sequence numbers per device so the caller can check each one was stored.
import fs from 'node:fs';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { connectFrame, parseUrl, publishFrame, topicHeaderOf } from './loadgen.ts';

export interface StormConfig {
  url: string;
  devices: Array<{ id: string; token: string; topic: string }>;
  everyMs: number;
  /** Device time of the first message; each device's messages are 1 ms apart (unique points). */
  baseTs: number;
  /** Give up waiting for the fleet to return after this long. */
  deadlineMs: number;
}

export interface StormResult {
  devices: number;
  /** From the kill until every device had a PUBACK on a new connection; null if not all did by the deadline. */
  seconds: number | null;
  returned: number;
  reconnectAttempts: number;
  /** Per device index, the sequence numbers acknowledged. */
  acked: number[][];
}

interface Device {
  index: number;
  socket: net.Socket | undefined;
  topicHeader: Buffer;
  nextId: number;
  seq: number;
  /** seq by packet id of the messages in flight on the current connection. */
  inflight: Map<number, number>;
  connected: boolean;
  /** The current connection was opened after the kill. */
  afterKill: boolean;
  /** A connection opened after the kill has had a PUBACK. */
  back: boolean;
  retryMs: number;
}

/** Each connected device publishes every everyMs, the devices spread evenly over the period. */
function startPublishing(devices: Device[], cfg: StormConfig): void {
  const tickMs = 50;
  let cursor = 0;
  setInterval(() => {
    const due = Math.ceil((devices.length * tickMs) / cfg.everyMs);
    for (let k = 0; k < due; k++) {
      const d = devices[cursor]!;
      cursor = (cursor + 1) % devices.length;
      if (!d.connected || !d.socket) continue;
      const id = d.nextId;
      d.nextId = id === 65535 ? 1 : id + 1;
      const seq = d.seq++;
      d.inflight.set(id, seq);
      d.socket.write(publishFrame(d, id, `{"ts":${cfg.baseTs + seq},"seq":${seq},"metrics":{"speed_rpm":${600 + (seq % 100)},"power_kw":4}}`));
    }
  }, tickMs);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2] ?? '', 'utf8')) as StormConfig;
  const { host, port } = parseUrl(cfg.url);
  const acked: number[][] = cfg.devices.map(() => []);
  let killedAt: number | undefined;
  let returned = 0;
  let attempts = 0;
  let connectedCount = 0;
  let finished = false;

  const finish = (seconds: number | null) => {
    if (finished) return;
    finished = true;
    const result: StormResult = { devices: cfg.devices.length, seconds, returned, reconnectAttempts: attempts, acked };
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
  };

  const open = (d: Device) => {
    const cred = cfg.devices[d.index]!;
    const socket = net.connect({ host, port, noDelay: true });
    d.socket = socket;
    d.afterKill = killedAt !== undefined;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => {
      if (p.cmd === 'connack' && p.returnCode === 0) {
        d.connected = true;
        d.retryMs = 500;
        if (++connectedCount === cfg.devices.length && killedAt === undefined) process.stdout.write('READY\n');
      } else if (p.cmd === 'puback' && p.messageId !== undefined) {
        const seq = d.inflight.get(p.messageId);
        if (seq === undefined) return;
        d.inflight.delete(p.messageId);
        acked[d.index]!.push(seq);
        if (killedAt !== undefined && d.afterKill && !d.back) {
          d.back = true;
          if (++returned === cfg.devices.length) finish((performance.now() - killedAt) / 1000);
        }
      }
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => { /* closed below */ });
    socket.once('connect', () => socket.write(connectFrame(cred.id, cred.token)));
    socket.once('close', () => {
      if (d.connected) connectedCount--;
      d.connected = false;
      d.inflight.clear(); // not acknowledged: a device would resend them; they are not counted either way
      if (finished) return;
      // Firmware-like: a random delay, doubling while the broker refuses, at most 10 s.
      const delay = Math.random() * d.retryMs;
      d.retryMs = Math.min(10_000, d.retryMs * 2);
      attempts++;
      setTimeout(() => open(d), delay);
    });
  };

  const devices: Device[] = cfg.devices.map((c, index) => ({
    index, socket: undefined, topicHeader: topicHeaderOf(c.topic), nextId: 1, seq: 0, inflight: new Map(), connected: false, afterKill: false, back: false, retryMs: 500,
  }));
  // Connect the fleet gradually (as it would have come online), 200 at a time.
  for (let i = 0; i < devices.length; i += 200) {
    for (const d of devices.slice(i, i + 200)) open(d);
    await new Promise((r) => setTimeout(r, 50));
  }
  startPublishing(devices, cfg);
  process.on('SIGUSR2', () => {
    killedAt = performance.now();
    setTimeout(() => finish(null), cfg.deadlineMs);
  });
}

if (process.argv[1]?.endsWith('storm-devices.ts')) void main();
