// What a connection may cost the broker, measured on the broker as its own process (its RSS from /proc): packets
// announcing more than allowed are cut at their header, before or after login; connections that do not log in
// are capped per address and in total and closed at the CONNECT deadline; devices already connected carry on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { startService, waitForPort, type ServiceProcess } from '../../scripts/launch.ts';
import { tempDir, testFirm } from '../helpers/system.ts';
import { rssMb } from '../helpers/processes.ts';
import { closed, connackFor, connectPacket, fixedHeader, rawConnect } from '../helpers/raw-mqtt.ts';

interface Creds { id: string; firmId: string; token: string }
const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(MB, 0x61);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let broker: ServiceProcess;
let port: number;
let dir: string;
const devices: Creds[] = [];

before(async () => {
  dir = tempDir('prelogin');
  const registry = new SqliteRegistry(dataDirLayout(dir).registry);
  const firm = testFirm();
  await registry.createFirm(firm);
  for (let i = 0; i < 4; i++) {
    const { device, token } = await registry.createDevice({ firmId: firm.id, type: 'loom', name: `loom ${i}` });
    devices.push({ id: device.id, firmId: firm.id, token });
  }
  await registry.close();
  port = await freePort();
  broker = startService('broker', {
    logDir: dir,
    env: {
      ...process.env, DATA_DIR: dir, MQTT_PORT: String(port), MQTT_HOST: '127.0.0.1', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      CONNECT_TIMEOUT_S: '3', PRELOGIN_CONNECTIONS_PER_ADDRESS: '20', PRELOGIN_CONNECTIONS: '50', AUTH_FAILURES_PER_MINUTE: '3',
    },
  });
  await waitForPort(port, broker);
});
after(async () => {
  await broker.stop();
  if (!process.env.KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
});

const rss = () => rssMb(broker.child.pid);
const device = (c: Creds) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: c.id, username: c.id, password: c.token, protocolVersion: 4, reconnectPeriod: 0 });
const point = (seq: number) => JSON.stringify({ ts: Date.now(), seq, metrics: { speed_rpm: 600 } });

/** Highest broker RSS seen while `work` runs. */
async function peakRss(work: Promise<unknown>): Promise<number> {
  let peak = rss();
  let done = false;
  const sampling = (async () => { while (!done) { peak = Math.max(peak, rss()); await sleep(50); } })();
  try {
    await work;
  } finally {
    done = true;
    await sampling;
  }
  return Math.max(peak, rss());
}

/** Writes `header`, then up to `totalMb` MB as fast as the socket takes them; resolves with the MB written when closed or done. */
async function pump(s: net.Socket, header: Buffer, totalMb: number): Promise<number> {
  s.on('error', () => {});
  s.write(header);
  let sent = 0;
  while (sent < totalMb && !s.destroyed) {
    if (!s.write(CHUNK)) await Promise.race([new Promise((r) => s.once('drain', r)), closed(s)]);
    sent++;
  }
  return sent;
}

/** Resolves true when the socket closes within `ms`, false otherwise (and then closes it). */
async function closesWithin(s: net.Socket, ms: number): Promise<boolean> {
  const r = await Promise.race([closed(s).then(() => true), sleep(ms).then(() => false)]);
  s.destroy();
  return r;
}

/** A device publishing QoS 1 every 20 ms until stopped; counts PUBACKs. */
function steadyPublisher(client: mqtt.MqttClient, c: Creds) {
  let stop = false;
  let sent = 0;
  let acked = 0;
  const running = (async () => {
    while (!stop) {
      await client.publishAsync(topicFor(c.firmId, c.id, 'telemetry'), point(sent++), { qos: 1 });
      acked++;
      await sleep(20);
    }
  })();
  return { acked: () => acked, async stop() { stop = true; await running; return { sent, acked }; } };
}

describe('before login', () => {
  test('CONNECTs announcing 200 MB are cut at their header: the broker does not grow and a device keeps getting PUBACKs', async () => {
    const c = devices[0]!;
    const client = await device(c);
    const publisher = steadyPublisher(client, c);
    await sleep(300);
    const base = rss();
    const attackers = await Promise.all(Array.from({ length: 20 }, (_, i) => rawConnect(port, `127.0.0.${10 + (i % 4)}`)));
    const peak = await peakRss(Promise.all(attackers.map((s) => pump(s, fixedHeader(0x10, 200 * MB), 10))));
    const cut = await Promise.all(attackers.map((s) => closesWithin(s, 5000)));
    // The device keeps getting PUBACKs after the attack (by count, not by time: a loaded machine is slower).
    const afterAttack = publisher.acked();
    const deadline = Date.now() + 10_000;
    while (publisher.acked() < afterAttack + 3 && Date.now() < deadline) await sleep(20);
    const { sent, acked } = await publisher.stop();
    await client.endAsync();
    assert.ok(peak - base < 40, `broker RSS grew by ${Math.round(peak - base)} MB (from ${Math.round(base)} MB) while 20 sockets offered 200 MB`);
    assert.equal(cut.filter(Boolean).length, 20, 'every oversized connection closed by the broker');
    assert.ok(acked >= afterAttack + 3 && acked === sent, `device: ${acked} of ${sent} acknowledged, ${acked - afterAttack} after the attack`);
  });

  test('connections that do not log in: beyond 20 per address or 50 in all refused at once, the rest closed at the CONNECT deadline', async () => {
    const c = devices[1]!;
    const client = await device(c);
    const partialConnect = Buffer.concat([fixedHeader(0x10, 100), Buffer.alloc(10)]);
    const batch = async (from: string) => {
      const socks = await Promise.all(Array.from({ length: 30 }, () => rawConnect(port, from)));
      for (const s of socks) { s.on('error', () => {}); s.write(partialConnect); }
      await sleep(500);
      return socks;
    };
    const refusedOf = (socks: net.Socket[]) => socks.filter((s) => s.destroyed || s.readableEnded).length;
    const a = await batch('127.0.0.20');
    const b = await batch('127.0.0.21');
    const d = await batch('127.0.0.22');
    assert.deepEqual([refusedOf(a), refusedOf(b), refusedOf(d)], [10, 10, 20], 'refused at once: over 20 per address, then over 50 in all');
    await client.publishAsync(topicFor(c.firmId, c.id, 'telemetry'), point(1), { qos: 1 }); // logged in: not affected
    const all = [...a, ...b, ...d];
    await waitFor(async () => all.every((s) => s.destroyed || s.readableEnded), 6000, 'the CONNECT deadline (3 s) to close the rest');
    for (const s of all) s.destroy();
    await client.endAsync();
    (await device(devices[2]!)).end(true); // room again for a device to log in
  });
});

describe('after login', () => {
  test("a device's PUBLISH announcing 100 MB closes its connection unread; another device carries on", async () => {
    const c = devices[3]!;
    const s = await rawConnect(port, '127.0.0.1');
    const connack = new Promise<Buffer>((r) => s.once('data', r));
    s.write(connectPacket(c.id, c.token));
    assert.equal((await connack)[3], 0, 'logged in');
    const base = rss();
    const publish = pump(s, fixedHeader(0x32, 100 * MB), 100);
    const peak = await peakRss(Promise.race([publish, sleep(15_000)]));
    const cut = await closesWithin(s, 1000);
    assert.ok(peak - base < 40, `broker RSS grew by ${Math.round(peak - base)} MB while a 100 MB publish was offered`);
    assert.ok(cut, 'the oversized publish closed the connection');
    const other = await device(devices[0]!);
    await other.publishAsync(topicFor(devices[0]!.firmId, devices[0]!.id, 'telemetry'), point(2), { qos: 1 });
    await other.endAsync();
  });
});

describe('the log', () => {
  test('a lockout is logged once per address and minute; client ids and user names from the wire are clipped', async () => {
    const c = devices[0]!;
    for (let i = 0; i < 5; i++) await connackFor(port, '127.0.0.30', connectPacket(c.id, 'dt_guess'));
    const long = 'x'.repeat(7000); // twice in a CONNECT still under its 16 KiB cap; a 60 KB one is cut at its header
    assert.equal(await connackFor(port, '127.0.0.31', connectPacket(long, c.token, c.id)), 5);
    assert.equal(await connackFor(port, '127.0.0.32', connectPacket(long, 'dt_guess')), 4);
    const file = path.join(dir, 'broker.log');
    const lines = () => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    await waitFor(async () => lines().filter((l) => l.includes('(7000 characters)')).length === 2, 5000, 'both refusals in the log');
    const lockouts = lines().filter((l) => l.includes('locked out') && l.includes('"127.0.0.30"'));
    assert.equal(lockouts.length, 1, 'one lockout line for five failures');
    const longest = Math.max(...lines().map((l) => l.length));
    assert.ok(longest < 1000, `longest log line ${longest} characters`);
  });
});
