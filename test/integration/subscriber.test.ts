// The standalone MQTT-subscriber front-end against an existing broker (Debian's Mosquitto), a real influxd and
// one ingest writer per spool. Two subscriber processes share `$share/ingest/...`; one is SIGKILLed mid-stream
// and restarted with the same clientId: every point of the known stream ends up in InfluxDB exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { createLogger } from '../../common/log.ts';
import { waitFor } from '../../scripts/net.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { IngestWriter } from '../../ingest/writer.ts';
import { startSubscriber } from '../../ingest/subscriber.ts';
import { startMosquitto, type PrivateMosquitto } from '../helpers/mosquitto.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
const dir = tempDir('subscriber');
let influxd: PrivateInfluxd;
let mosquitto: PrivateMosquitto;
let registry: SqliteRegistry;

before(async () => {
  influxd = await startPrivateInfluxd(path.join(dir, 'influxdb'));
  mosquitto = await startMosquitto();
  registry = new SqliteRegistry(path.join(dir, 'registry.db'));
});
after(async () => {
  await registry?.close();
  await mosquitto?.stop();
  await influxd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface SubscriberProcess {
  proc: ChildProcess;
  output(): string;
  ready: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

function spawnSubscriber(clientId: string, spoolFile: string): SubscriberProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'ingest/subscriber-main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env, DATA_DIR: dir, LOG_LEVEL: 'info', SUBSCRIBER_MQTT_URL: mosquitto.url, SUBSCRIBER_CLIENT_ID: clientId,
      SUBSCRIBER_SHARE_GROUP: 'ingest', SUBSCRIBER_SPOOL_FILE: spoolFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  proc.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const ready = waitFor(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`subscriber ${clientId} exited: ${out.slice(-2000)}`);
    return out.includes('"msg":"subscriber ready"');
  }, 30_000, `subscriber ${clientId} to be ready`, 50);
  return {
    proc, ready, output: () => out,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

async function pointsPerDevice(store: InfluxStore, measurement: string): Promise<Map<string, { count: number; sum: number }>> {
  const series = await store.query(`SELECT count("seq"), sum("seq") FROM "${measurement}" GROUP BY "device"`);
  const out = new Map<string, { count: number; sum: number }>();
  for (const s of series) {
    const row = s.values[0];
    out.set(s.tags.device ?? '', { count: Number(row?.[1] ?? 0), sum: Number(row?.[2] ?? 0) });
  }
  return out;
}

test('two subscribers in a $share group store a known stream exactly once; one SIGKILLed mid-stream loses nothing', { timeout: 180_000 }, async (t) => {
  const firm = testFirm();
  await registry.createFirm(firm);
  const devices = [];
  for (let i = 0; i < 4; i++) devices.push((await registry.createDevice({ firmId: firm.id, type: 'electricity_meter', name: `meter ${i}` })).device);
  const perDevice = 250;
  const total = devices.length * perDevice;

  const spoolFiles = [path.join(dir, 'spool-a.db'), path.join(dir, 'spool-b.db')];
  const spools = spoolFiles.map((f) => new SqliteSpool(f)); // creates the schema before the subscribers open them
  const store = new InfluxStore({ url: influxd.url, db: 'subscriber_share' });
  await store.ensureDatabase();
  const writers = spools.map((s) => new IngestWriter(s, store, log, { batchRows: 500, idleMs: 20 }));
  for (const w of writers) w.start();

  let a = spawnSubscriber('dh-sub-a', spoolFiles[0]!);
  const b = spawnSubscriber('dh-sub-b', spoolFiles[1]!);
  const publishers: mqtt.MqttClient[] = [];
  try {
    await Promise.all([a.ready, b.ready]);
    for (const d of devices) publishers.push(await mqtt.connectAsync(mosquitto.url, { clientId: d.id, clean: true, reconnectPeriod: 250 }));

    const baseTs = Date.now() - 3_600_000;
    const acks: Array<Promise<void>> = [];
    let killedAt = -1;
    const killPoint = Math.floor(perDevice * 0.4);
    for (let seq = 0; seq < perDevice; seq++) {
      devices.forEach((d, k) => {
        const payload = JSON.stringify({ ts: baseTs + seq * 1000, seq, metrics: { power_kw: 100 + (seq % 50), energy_kwh_total: seq } });
        acks.push(publishers[k]!.publishAsync(topicFor(firm.id, d.id, 'telemetry'), payload, { qos: 1 }).then(() => undefined));
      });
      if (seq === killPoint) {
        // Mid-stream, in the middle of a burst (A commits one message per fsync, so it has a backlog and messages
        // in flight): subscriber A dies without a word; what it did not acknowledge stays in its session.
        killedAt = seq;
        await new Promise((r) => setTimeout(r, 30));
        await a.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 300));
        a = spawnSubscriber('dh-sub-a', spoolFiles[0]!);
      }
      const inBurst = seq > killPoint - 50 && seq < killPoint;
      if (seq % 5 === 4 && !inBurst) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(killedAt > 0);
    await Promise.all(acks);
    await a.ready;
    assert.match(a.output(), /session resumed/, 'the restarted subscriber resumes its session instead of subscribing anew');

    await waitFor(async () => {
      const per = await pointsPerDevice(store, 'electricity_meter');
      return [...per.values()].reduce((n, v) => n + v.count, 0) >= total;
    }, 90_000, `all ${total} points to reach InfluxDB`, 250);
    await waitFor(async () => (await spools[0]!.stats()).rows === 0 && (await spools[1]!.stats()).rows === 0, 20_000, 'both spools to drain');

    const per = await pointsPerDevice(store, 'electricity_meter');
    for (const d of devices) {
      // count = every sequence number once (InfluxDB overwrites a redelivered point: same series and time);
      // sum = the right ones.
      assert.deepEqual(per.get(d.id), { count: perDevice, sum: (perDevice * (perDevice - 1)) / 2 }, `device ${d.id}`);
    }
    t.diagnostic(`spooled rows: A ${writers[0]!.stats.rows}, B ${writers[1]!.stats.rows}, total ${total} (any excess over the total: messages spooled but not yet acknowledged at the kill, delivered again)`);
    assert.ok(writers[0]!.stats.rows > 0 && writers[1]!.stats.rows > 0, `both members of the share group took a part (rows ${writers[0]!.stats.rows} / ${writers[1]!.stats.rows})`);
    assert.ok(writers[0]!.stats.rows + writers[1]!.stats.rows >= total, 'every message was spooled at least once');
    assert.equal((await spools[0]!.listDeadLetters({ limit: 10 })).length + (await spools[1]!.listDeadLetters({ limit: 10 })).length, 0);
  } finally {
    await Promise.all(publishers.map((p) => p.endAsync()));
    await a.kill('SIGTERM');
    await b.kill('SIGTERM');
    for (const w of writers) await w.stop();
    await store.close();
    for (const s of spools) await s.close();
  }
});

test('rejected and unroutable messages go to the dead letters and are acknowledged; a resumed session gets what was queued', { timeout: 60_000 }, async () => {
  const firm = testFirm();
  const other = testFirm();
  await registry.createFirm(firm);
  await registry.createFirm(other);
  const { device } = await registry.createDevice({ firmId: firm.id, type: 'electricity_meter', name: 'meter' });
  const spool = new SqliteSpool(path.join(dir, 'spool-dead.db'));
  const topics = [`dh/v1/${firm.id}/+/telemetry`, `dh/v1/${other.id}/+/telemetry`];
  const opts = { url: mosquitto.url, clientId: 'dh-sub-dead', topics, registry, spool, log, limits: { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 }, seenFlushMs: 100 };
  let sub = startSubscriber(opts);
  const pub = promisify(execFile);
  const mosquittoPub = (topic: string, message: string) => pub('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-q', '1', '-t', topic, '-m', message]);
  try {
    await sub.ready;
    assert.equal(sub.stats.resumedSessions, 0);
    const good = (seq: number) => JSON.stringify({ ts: Date.now() - 1000, seq, metrics: { power_kw: 12.5, energy_kwh_total: 100 + seq } });
    await mosquittoPub(topicFor(firm.id, device.id, 'telemetry'), '{"ts": 1, "seq":');
    await mosquittoPub(topicFor(firm.id, device.id, 'telemetry'), JSON.stringify({ ts: Date.now(), seq: 1, metrics: { power_kw: 'high' } }));
    await mosquittoPub(topicFor(firm.id, 'ghost-device-1', 'telemetry'), good(1));
    await mosquittoPub(topicFor(other.id, device.id, 'telemetry'), good(2));
    await mosquittoPub(topicFor(firm.id, device.id, 'telemetry'), good(3));
    await waitFor(async () => sub.stats.acked >= 5, 10_000, 'five messages acknowledged');
    const dead = await spool.listDeadLetters({ limit: 20 });
    assert.deepEqual(dead.map((d) => d.rule).sort(), ['json', 'type', 'topic', 'unknown-device'].sort(), JSON.stringify(dead.map((d) => [d.rule, d.reason])));
    assert.ok(dead.find((d) => d.rule === 'unknown-device')?.reason.includes('ghost-device-1'));
    assert.ok(dead.find((d) => d.rule === 'topic')?.reason.includes(firm.id), 'a topic under another firm names the right one');
    assert.equal((await spool.stats()).rows, 1, 'the valid message is spooled');
    await waitFor(async () => (await registry.getDevice(device.id))?.lastTelemetryAt !== null, 5000, 'last telemetry recorded in the registry');

    // Offline: the broker queues for the persistent session; the restarted subscriber must not re-subscribe.
    await sub.close();
    await mosquittoPub(topicFor(firm.id, device.id, 'telemetry'), good(4));
    sub = startSubscriber(opts);
    await sub.ready;
    assert.equal(sub.stats.resumedSessions, 1);
    await waitFor(async () => (await spool.stats()).rows === 2, 10_000, 'the queued message to arrive after the session resumed');
  } finally {
    await sub.close();
    await spool.close();
  }
});
