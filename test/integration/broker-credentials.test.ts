// What the broker keeps checking after a device logged in, and what a TLS connection costs before it: real sockets,
// MQTT.js and mosquitto_pub against a broker with a short credential-check period.
// - A device connected past its token's expiry, or whose token was rotated or whose device was removed straight in
//   the registry (no control message from the API), is disconnected by the periodic check.
// - TLS connections count toward the pre-login caps from their TCP accept and are closed at the handshake deadline.
// - The counter memory survives a broker restart: the first reading after it is still bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { createBroker, type DehongBroker } from '../../broker/broker.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { createLogger } from '../../common/log.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ensureSelfSigned, type TlsFiles } from '../../scripts/tls.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const run = promisify(execFile);
const CHECK_MS = 300;
const HANDSHAKE_MS = 1000;
let dir: string;
let registry: SqliteRegistry;
let spool: SqliteSpool;
let broker: DehongBroker;
let port: number;
let tlsPort: number;
let tlsFiles: TlsFiles;
const firm = testFirm();
const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

async function startBroker(): Promise<DehongBroker> {
  const b = await createBroker({
    registry, spool, serviceSecret: 'svc_test_secret_0123456789', log, limits: { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 },
    credentialCheckMs: CHECK_MS, admission: { counterMemory: await spool.loadCounterMemory() },
    // No trusted proxy: these connections from 127.0.0.1 are counted under their own address.
    clientLimits: { preLoginPerAddress: 3, preLoginTotal: 5, connectTimeoutMs: HANDSHAKE_MS, trustedProxies: [] },
  });
  await b.listen(port, '127.0.0.1');
  await b.listenTls(tlsPort, '127.0.0.1', fs.readFileSync(tlsFiles.key), fs.readFileSync(tlsFiles.cert));
  return b;
}

before(async () => {
  dir = tempDir('credentials');
  const files = dataDirLayout(dir);
  registry = new SqliteRegistry(files.registry);
  spool = new SqliteSpool(files.spool);
  await registry.createFirm(firm);
  tlsFiles = ensureSelfSigned(files.tls);
  [port, tlsPort] = [await freePort(), await freePort()];
  broker = await startBroker();
});
after(async () => {
  await broker.close();
  await spool.close();
  await registry.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function device(opts: { expiresAt?: number; type?: string } = {}) {
  const { device: d, token } = await registry.createDevice({ firmId: firm.id, type: opts.type ?? 'loom', name: 'd', ...(opts.expiresAt ? { tokenExpiresAt: opts.expiresAt } : {}) });
  return { id: d.id, token };
}
const connect = (c: { id: string; token: string }) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: c.id, username: c.id, password: c.token, reconnectPeriod: 0 });
const closedWithin = (client: mqtt.MqttClient, ms: number) => new Promise<boolean>((resolve) => {
  const t = setTimeout(() => resolve(false), ms);
  client.once('close', () => { clearTimeout(t); resolve(true); });
});

describe('connected devices whose credential no longer holds', () => {
  test('a token expiring while connected: the connection is closed by the next check, and the token is refused', async () => {
    const c = await device({ expiresAt: Date.now() + 1200 });
    const client = await connect(c);
    const other = await connect(await device());
    assert.equal(await closedWithin(client, 1200 + 3 * CHECK_MS), true, 'closed soon after the expiry');
    await assert.rejects(connect(c), /Bad username or password/);
    assert.equal(other.connected, true, 'a device whose credential holds stays');
    await other.endAsync();
  });

  test('rotated or removed straight in the registry (no control message): closed by the next check', async () => {
    const rotated = await device();
    const removed = await device();
    const a = await connect(rotated);
    const b = await connect(removed);
    const newToken = await registry.rotateDeviceToken(rotated.id);
    await registry.deleteDevice(removed.id);
    const [closedA, closedB] = await Promise.all([closedWithin(a, 3 * CHECK_MS), closedWithin(b, 3 * CHECK_MS)]);
    assert.deepEqual([closedA, closedB], [true, true]);
    const again = await connect({ id: rotated.id, token: newToken });
    assert.equal(await closedWithin(again, 3 * CHECK_MS), false, 'the new token keeps its connection');
    await again.endAsync();
  });
});

describe('TLS before login', () => {
  test('handshakes count toward the pre-login caps from the TCP accept and end at the deadline; a device then connects over TLS', async () => {
    const sockets: net.Socket[] = [];
    const closedAt: number[] = [];
    const start = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => new Promise<void>((resolve) => {
      const s = net.connect(tlsPort, '127.0.0.1', () => resolve());
      s.on('error', () => {});
      s.on('close', () => closedAt.push(Date.now() - start));
      sockets.push(s);
    })));
    // 3 per address: two are closed at once, the other three at the handshake deadline (Node's default is 120 s).
    await waitFor(async () => closedAt.length >= 2, 1000, 'the connections over the per-address cap closed');
    assert.ok(closedAt.length === 2 && closedAt.every((t) => t < HANDSHAKE_MS / 2), JSON.stringify(closedAt));
    await waitFor(async () => closedAt.length === 5, HANDSHAKE_MS + 2000, 'the handshakes that never came closed');
    assert.ok(closedAt.slice(2).every((t) => t >= HANDSHAKE_MS * 0.9), JSON.stringify(closedAt));

    const c = await device();
    const { stderr } = await run('mosquitto_pub', [
      '-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', tlsFiles.ca, '-i', c.id, '-u', c.id, '-P', c.token, '-q', '1',
      '-t', topicFor(firm.id, c.id, 'telemetry'), '-m', JSON.stringify({ ts: Date.now(), seq: 1, metrics: { speed_rpm: 600 } }),
    ]);
    assert.equal(stderr, '');
    await broker.admission.flushNow();
    assert.equal((await spool.peek(1000)).filter((r) => r.deviceId === c.id).length, 1, 'stored once logged in over TLS');
  });
});

describe('after a broker restart', () => {
  test('the first counter reading is judged against the checkpointed memory, not accepted as it is', async () => {
    const meter = await device({ type: 'electricity_meter' });
    const send = async (seq: number, kwh: number) => {
      const client = await connect(meter);
      await client.publishAsync(topicFor(firm.id, meter.id, 'telemetry'), JSON.stringify({ ts: Date.now() - 60_000 + seq * 1000, seq, metrics: { energy_kwh_total: kwh } }), { qos: 1 });
      await client.endAsync();
    };
    await send(1, 100);
    await broker.close(); // checkpoints the counter memory
    broker = await startBroker();
    await send(2, 1e13);
    await broker.admission.flushNow();
    const dead = await spool.listDeadLetters({ deviceId: meter.id, limit: 10 });
    assert.deepEqual(dead.map((d) => [d.rule, d.releasable]), [['implausible', true]]);
  });
});
