// A broker cluster on Redis where every node and every process admits. Real processes only: a private
// Redis (Debian's redis-server), a private PostgreSQL (the shared registry), a private influxd, and two nodes,
// each with its own DATA_DIR (spool), broker, ingest writer and API. Node 2's broker runs BROKER_PROCESSES=2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { serviceSecret } from '../../common/secrets.ts';
import { ROOT, SERVICES, startService, waitForHttp, waitForPort, type ServiceName, type ServiceProcess } from '../../scripts/launch.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { provisionFleet, storedPoints } from '../helpers/processes.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.ts';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.ts';
import { api, tempDir } from '../helpers/system.ts';

interface Node {
  name: string;
  dataDir: string;
  mqttPort: number;
  apiUrl: string;
  env: NodeJS.ProcessEnv;
  services: Partial<Record<ServiceName, ServiceProcess>>;
}

const ADMIN = 'at_cluster_test_admin_0123456789';

describe('broker cluster on Redis (two nodes, shared PostgreSQL registry)', { concurrency: false }, () => {
  let dir: string;
  let redis: PrivateRedis;
  let pg: PrivatePostgres;
  let influxd: PrivateInfluxd;
  let store: InfluxStore;
  const nodes: Node[] = [];

  before(async () => {
    dir = tempDir('cluster');
    [redis, pg, influxd] = await Promise.all([startPrivateRedis(), startPrivatePostgres(), startPrivateInfluxd(path.join(dir, 'influxdb'))]);
    const registryUrl = await pg.createDatabase('cluster');
    store = new InfluxStore({ url: influxd.url, db: 'cluster' });
    for (const [i, processes] of [[1, '1'], [2, '2']] as const) {
      const dataDir = path.join(dir, `node${i}`);
      const logDir = path.join(dataDir, 'logs');
      fs.mkdirSync(logDir, { recursive: true });
      const [mqttPort, httpPort] = [await freePort(), await freePort()];
      const env: NodeJS.ProcessEnv = {
        ...process.env, DATA_DIR: dataDir, NODE_ID: `n${i}`, REDIS_URL: redis.url, REGISTRY_URL: registryUrl, BROKER_PROCESSES: processes,
        INFLUX_URL: influxd.url, INFLUX_DB: 'cluster', MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort), MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1',
        ADMIN_TOKEN: ADMIN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      };
      nodes.push({ name: `node${i}`, dataDir, mqttPort, apiUrl: `http://127.0.0.1:${httpPort}`, env, services: {} });
    }
    // Brokers first (the first one creates the PostgreSQL schema; the other waits on its advisory lock).
    await Promise.all(nodes.map(async (n) => {
      n.services.broker = startService('broker', { env: n.env, logDir: path.join(n.dataDir, 'logs') });
      await waitForPort(n.mqttPort, n.services.broker);
    }));
    await Promise.all(nodes.map(async (n) => {
      n.services.ingest = startService('ingest', { env: n.env, logDir: path.join(n.dataDir, 'logs') });
      n.services.api = startService('api', { env: n.env, logDir: path.join(n.dataDir, 'logs') });
      await waitForHttp(`${n.apiUrl}/healthz`, n.services.api);
    }));
  });

  after(async () => {
    for (const n of nodes) for (const s of Object.values(n.services)) await s?.stop();
    await store?.close();
    await Promise.allSettled([influxd?.stop(), pg?.stop(), redis?.stop()]);
    if (!process.env.KEEP_TEST_DIRS && dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const spoolRows = async (n: Node) => ((await (await fetch(`${n.apiUrl}/healthz`)).json()) as { spool: { rows: number } }).spool.rows;

  test('BROKER_PROCESSES > 1 without REDIS_URL is a configuration error naming the variable', () => {
    const env = { ...process.env, BROKER_PROCESSES: '2', REDIS_URL: '', DATA_DIR: path.join(dir, 'unused'), MQTT_PORT: '0' };
    const r = spawnSync(process.execPath, ['--import', 'tsx', SERVICES.broker], { cwd: ROOT, env, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /BROKER_PROCESSES: 2 processes need REDIS_URL/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', SERVICES.broker], { cwd: ROOT, env: { ...env, BROKER_PROCESSES: '1', REDIS_URL: 'http://x' }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /REDIS_URL: must start with redis:\/\//);
  });

  test('devices on both nodes: live values cross nodes, a broker node SIGKILLed mid-stream loses nothing, its devices carry on through the other node with their sessions', async () => {
    const [n1, n2] = nodes as [Node, Node];
    const devices = await provisionFleet({ apiUrl: n1.apiUrl, adminToken: ADMIN }, 8);
    const home = (i: number) => (i % 2 === 0 ? n1 : n2);
    const servers = (i: number) => (i % 2 === 0 ? [n1, n2] : [n2, n1]).map((n) => ({ host: '127.0.0.1', port: n.mqttPort }));

    // A browser on API node 1 must see live values of a device whose broker is node 2.
    const onNode2 = devices.filter((_d, i) => home(i) === n2).map((d) => d.id);
    const seenLive = new Set<string>();
    const socket: Socket = ioClient(n1.apiUrl, { auth: { token: ADMIN }, transports: ['websocket'] });
    socket.on('live', (s: { devices: Array<{ deviceId: string }> }) => { for (const d of s.devices) seenLive.add(d.deviceId); });

    // Devices with persistent sessions; MQTT.js must not re-subscribe, so the errors subscription a moved device
    // gets on the other node comes from the session in Redis.
    const errors = new Map<string, number>();
    const clients = await Promise.all(devices.map(async (d: DeviceCredentials, i) => {
      const c = mqtt.connect({
        servers: servers(i), clientId: d.id, username: d.id, password: d.token, clean: false, resubscribe: false, reconnectPeriod: 250, connectTimeout: 5000, protocolVersion: 4,
      });
      // A refused CONNACK fails the test; a refused TCP connect (a broker process still starting) is retried by MQTT.js.
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.on('error', (err: Error & { code?: unknown }) => { if (typeof err.code === 'number') reject(err); });
      });
      c.on('message', (topic) => { if (topic.endsWith('/errors')) errors.set(d.id, (errors.get(d.id) ?? 0) + 1); });
      await c.subscribeAsync(topicFor(d.firmId, d.id, 'errors'), { qos: 1 });
      return c;
    }));

    // Retained status published on node 2 is seen by a subscriber on node 1.
    const d1 = devices[1]!;
    await clients[1]!.publishAsync(topicFor(d1.firmId, d1.id, 'status'), JSON.stringify({ status: 'online', ts: Date.now() }), { qos: 1, retain: true });
    const svc = await mqtt.connectAsync(`mqtt://127.0.0.1:${n1.mqttPort}`, { username: 'svc:cluster-test', password: serviceSecret(n1.dataDir), clientId: 'svc-cluster-test', clean: true });
    const retained = new Promise<string>((resolve) => svc.on('message', (topic, payload, packet) => { if (packet.retain && topic === topicFor(d1.firmId, d1.id, 'status')) resolve(payload.toString()); }));
    await svc.subscribeAsync(topicFor(d1.firmId, d1.id, 'status'), { qos: 1 });
    assert.match(await Promise.race([retained, new Promise<string>((_r, rej) => setTimeout(() => rej(new Error('retained status not seen across nodes')), 5000))]), /online/);
    await svc.endAsync();

    // A known stream: 8 devices × 150 messages at QoS1, about 400 msg/s; broker 1 is SIGKILLed after 400.
    const perDevice = 150;
    const baseTs = Date.now() - 3_600_000;
    const acked = new Set<string>();
    const pending: Array<Promise<void>> = [];
    let published = 0;
    let killedAt = -1;
    for (let seq = 0; seq < perDevice; seq++) {
      for (let i = 0; i < devices.length; i++) {
        const d = devices[i]!;
        const payload = JSON.stringify({ ts: baseTs + seq * 1000, seq, metrics: { power_kw: 100 + (seq % 50), energy_kwh_total: seq } });
        pending.push(new Promise<void>((resolve) => clients[i]!.publish(topicFor(d.firmId, d.id, 'telemetry'), payload, { qos: 1 }, (err) => {
          if (!err) acked.add(`${d.id}:${seq}`);
          resolve();
        })));
        published++;
      }
      if (killedAt < 0 && published >= 400) {
        // Before the kill: node 2's live values reached API node 1.
        await waitFor(async () => onNode2.every((id) => seenLive.has(id)), 15_000, 'live values of node-2 devices on API node 1');
        killedAt = published;
        await n1.services.broker!.stop('SIGKILL');
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(pending);
    assert.ok(killedAt > 0, 'broker 1 was killed mid-stream');
    assert.equal(acked.size, published, 'every message was eventually acknowledged (the moved devices resent through node 2)');
    for (let i = 0; i < devices.length; i += 2) assert.equal((clients[i]!.stream as unknown as { remotePort?: number }).remotePort, n2.mqttPort, `device ${i} moved to node 2`);

    // Node 1's ingest writer drains what broker 1 acknowledged before it died; node 2's drains the rest.
    await waitFor(async () => (await spoolRows(n1)) === 0 && (await spoolRows(n2)) === 0, 60_000, 'both spools to drain');
    await waitFor(async () => (await storedPoints(store)) >= published, 30_000, 'all points in InfluxDB');
    assert.equal(await storedPoints(store), published, 'stored = published = acknowledged, each once');
    const perDev = await store.query('SELECT count("seq"), sum("seq") FROM "electricity_meter" GROUP BY "device"');
    assert.equal(perDev.length, devices.length);
    for (const s of perDev) assert.deepEqual(s.values[0]!.slice(1), [perDevice, (perDevice * (perDevice - 1)) / 2], `device ${JSON.stringify(s.tags)}`);

    // An errors report reaches each device whichever node it is on now, including the moved ones whose
    // subscription was restored from the session in Redis (MQTT.js did not re-subscribe).
    errors.clear();
    for (const [i, d] of devices.entries()) await clients[i]!.publishAsync(topicFor(d.firmId, d.id, 'telemetry'), '{"not":"valid"', { qos: 1 });
    await waitFor(async () => devices.every((d) => (errors.get(d.id) ?? 0) >= 1), 10_000, 'an errors report on every device');

    // Broker 1 comes back; API node 1's link to it reconnects.
    n1.services.broker = startService('broker', { env: n1.env, logDir: path.join(n1.dataDir, 'logs') });
    await waitForPort(n1.mqttPort, n1.services.broker);

    // Control across nodes: rotating a token through API node 1 closes that device's connection on node 2.
    const target = devices[1]!;
    const closed = new Promise<void>((resolve) => clients[1]!.once('close', () => { clients[1]!.end(true); resolve(); }));
    const r = await api({ apiUrl: n1.apiUrl }, ADMIN, 'POST', `/api/v1/devices/${target.id}/token`);
    assert.equal(r.status, 200);
    await Promise.race([closed, new Promise((_r, rej) => setTimeout(() => rej(new Error('device on node 2 not disconnected by API node 1')), 10_000))]);

    // Each summary reaches a browser on API node 1 once, not once per API node (the rooms are fed locally).
    const probe = devices[3]!;
    let probeSeq = 1000;
    const sendProbe = () => clients[3]!.publishAsync(topicFor(probe.firmId, probe.id, 'telemetry'), JSON.stringify({ ts: Date.now(), seq: probeSeq++, metrics: { power_kw: 1, energy_kwh_total: probeSeq } }), { qos: 1 });
    seenLive.clear();
    await waitFor(async () => { if (!seenLive.has(probe.id)) await sendProbe(); return seenLive.has(probe.id); }, 20_000, 'live values on API node 1 after broker 1 restarted', 1000);
    await new Promise((r) => setTimeout(r, 1500));
    let events = 0;
    socket.on('live', (s: { devices: Array<{ deviceId: string }> }) => { if (s.devices.some((d) => d.deviceId === probe.id)) events++; });
    await sendProbe();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(events, 1, 'one live event for one message');

    socket.close();
    await Promise.all(clients.map((c) => c.endAsync(true)));
  });
});
