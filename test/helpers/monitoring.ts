// An in-process API with a Monitoring for the monitoring tests: a private influxd, SQLite registry and spool, the
// Monitoring (started on a live feed the test drives, when given one) and the Fastify app, with one close().
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { createLogger } from '../../common/log.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { Monitoring } from '../../analytics/index.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { tempDir } from './system.ts';

export interface MonitoringTestSystem {
  dir: string;
  influxd: PrivateInfluxd;
  /** InfluxDB database of this system (also in store). */
  db: string;
  store: InfluxStore;
  registry: SqliteRegistry;
  spool: SqliteSpool;
  monitoring: Monitoring;
  app: FastifyInstance;
  /** http://127.0.0.1:<port> when started with listen (socket.io clients), else undefined. */
  apiUrl: string | undefined;
  close(): Promise<void>;
}

export async function startMonitoringSystem(name: string, opts: {
  adminToken: string;
  /** Firms, devices and tokens to register before the Monitoring starts (its registry index is cached). */
  prepare?: (registry: SqliteRegistry) => Promise<void>;
  /** Start the Monitoring on this live feed (alarms, rooms, latest values) and give it to the app. */
  live?: EventEmitter;
  listen?: boolean;
}): Promise<MonitoringTestSystem> {
  const dir = tempDir(name);
  const files = dataDirLayout(dir);
  const db = name.replace(/\W/g, '_');
  const influxd = await startPrivateInfluxd(files.influxdb);
  const store = new InfluxStore({ url: influxd.url, db });
  await store.ensureDatabase();
  const registry = new SqliteRegistry(files.registry);
  const spool = new SqliteSpool(files.spool);
  await registry.ensureApiToken(opts.adminToken, 'admin', null, 'admin');
  await opts.prepare?.(registry);
  const monitoring = new Monitoring({ file: files.monitoring, registry, store, connectedWindowDays: 30, offlineCheckMs: 3_600_000 });
  if (opts.live) monitoring.start({ live: opts.live });
  const app = await buildApp({
    registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30, monitoring, apiRequestsPerMinute: 100_000,
    ...(opts.live ? { live: opts.live } : {}),
  });
  let apiUrl: string | undefined;
  if (opts.listen) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    apiUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }
  return {
    dir, influxd, db, store, registry, spool, monitoring, app, apiUrl,
    async close() {
      await app.close();
      await monitoring.close();
      await registry.close();
      await spool.close();
      await store.close();
      await influxd.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
