// An in-process system for integration tests: a real private influxd, the real broker on a real socket with its
// admission hook, the ingest writer and the API on real ports, registry and spool in a temporary directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { createLogger } from '../../common/log.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { makeUscc } from '../../common/ids.ts';
import { ensureSelfSigned, type TlsFiles } from '../../scripts/tls.ts';
import type { NewFirm } from '../../common/registry/registry.ts';
import { createBroker, type ClientLimits, type DehongBroker } from '../../broker/broker.ts';
import type { AdmissionOptions } from '../../common/admission/admission.ts';
import { IngestWriter } from '../../ingest/writer.ts';
import { buildApp } from '../../api/app.ts';
import type { FastifyInstance } from 'fastify';
import mqtt from 'mqtt';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dh-${prefix}-`));
}

let firmSerial = 1;
export function testFirm(over: Partial<NewFirm> = {}): NewFirm {
  const county = over.county ?? '533102';
  return {
    id: makeUscc(county, 5_000_000 + process.pid * 100 + firmSerial++), name: 'Test firm', county, park: 'ruili-coop', segment: 'weaving',
    aboveScale: true, employees: 100, landMu: 10, smartFactoryTier: 'none', demo: false, ...over,
  };
}

export interface TestSystem {
  dir: string;
  influxd: PrivateInfluxd;
  registry: SqliteRegistry;
  spool: SqliteSpool;
  store: InfluxStore;
  broker: DehongBroker;
  writer: IngestWriter;
  app: FastifyInstance;
  mqttPort: number;
  mqttUrl: string;
  /** MQTT over TLS (0 unless started with tls: true) and the development CA/cert/key it uses. */
  mqttsPort: number;
  tlsFiles: TlsFiles | undefined;
  apiUrl: string;
  adminToken: string;
  serviceSecret: string;
  /** Waits until the spool is empty (everything admitted reached InfluxDB). */
  drained(timeoutMs?: number): Promise<void>;
  /** Points of one measurement (counted on a field every point has), optionally for one device. */
  countPoints(measurement: string, deviceId?: string, field?: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTestSystem(opts: { influxd?: PrivateInfluxd; db?: string; admission?: AdmissionOptions; clientLimits?: Partial<ClientLimits>; tls?: boolean; apiRequestsPerMinute?: number } = {}): Promise<TestSystem> {
  const dir = tempDir('sys');
  const files = dataDirLayout(dir);
  const log = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const influxd = opts.influxd ?? (await startPrivateInfluxd(files.influxdb));
  const db = opts.db ?? `t${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const registry = new SqliteRegistry(files.registry);
  const spool = new SqliteSpool(files.spool);
  const store = new InfluxStore({ url: influxd.url, db });
  await store.ensureDatabase();
  const serviceSecret = 'svc_test_secret_0123456789';
  const broker = await createBroker({
    registry, spool, serviceSecret, log, limits: { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 }, admission: { liveIntervalMs: 200, ...opts.admission }, clientLimits: opts.clientLimits ?? {}, seenFlushMs: 200,
  });
  const mqttPort = await freePort();
  await broker.listen(mqttPort, '127.0.0.1');
  const writer = new IngestWriter(spool, store, log, { batchRows: 500, idleMs: 20 });
  writer.start();
  const adminToken = 'at_test_admin_token_0123456789';
  await registry.ensureApiToken(adminToken, 'admin', null, 'test admin');
  let mqttsPort = 0;
  let tlsFiles: TlsFiles | undefined;
  if (opts.tls) {
    tlsFiles = ensureSelfSigned(files.tls);
    mqttsPort = await freePort();
    await broker.listenTls(mqttsPort, '127.0.0.1', fs.readFileSync(tlsFiles.key), fs.readFileSync(tlsFiles.cert));
  }
  const app = await buildApp({
    registry, spool, store, log, connectedWindowDays: 30, live: broker.admission,
    brokerControl: { disconnect: async (id, reason) => broker.disconnectDevice(id, reason) },
    mqttBroker: { host: '127.0.0.1', port: mqttPort },
    mqttEndpoints: { port: mqttPort, ...(mqttsPort && tlsFiles ? { tlsPort: mqttsPort, caFile: tlsFiles.ca } : {}), webSocket: true },
    ...(opts.apiRequestsPerMinute ? { apiRequestsPerMinute: opts.apiRequestsPerMinute } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const apiUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  const sys: TestSystem = {
    dir, influxd, registry, spool, store, broker, writer, app, mqttPort, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, apiUrl, adminToken, serviceSecret, mqttsPort, tlsFiles,
    async drained(timeoutMs = 20_000) {
      await broker.admission.flushNow();
      await waitFor(async () => (await spool.stats()).rows === 0, timeoutMs, 'the spool to drain');
    },
    async countPoints(measurement, deviceId, field = 'seq') {
      const where = deviceId ? ` WHERE "device" = '${deviceId}'` : '';
      const series = await store.query(`SELECT count("${field}") FROM "${measurement}"${where}`);
      const v = series[0]?.values[0]?.[1];
      return typeof v === 'number' ? v : 0;
    },
    async close() {
      await app.close();
      await writer.stop();
      await broker.close();
      await store.close();
      await spool.close();
      await registry.close();
      if (!opts.influxd) await influxd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return sys;
}

export async function api<T = unknown>(sys: { apiUrl: string }, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${sys.apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Connects once; rejects on a refused CONNACK and also when the broker closes the socket without one. */
export function mqttConnectOnce(url: string, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { ...opts, reconnectPeriod: 0 });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
    c.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}
