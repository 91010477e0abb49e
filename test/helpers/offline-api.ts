// The API on its own, through app.inject(): real SQLite registry and spool in a temporary directory, and a
// telemetry store address nothing listens on (routes that reach it fail honestly; these tests need routes that don't).
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../api/app.ts';
import { createLogger } from '../../common/log.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { tempDir } from './system.ts';

export interface OfflineApi {
  app: FastifyInstance;
  registry: SqliteRegistry;
  spool: SqliteSpool;
  close(): Promise<void>;
}

export async function offlineApi(name: string, deps: Partial<AppDeps> = {}, setup?: (registry: SqliteRegistry) => Promise<void>): Promise<OfflineApi> {
  const dir = tempDir(name);
  const registry = new SqliteRegistry(path.join(dir, 'r.db'));
  const spool = new SqliteSpool(path.join(dir, 's.db'));
  const store = new InfluxStore({ url: 'http://127.0.0.1:9', db: 'x', timeoutMs: 500 });
  await setup?.(registry);
  const app = await buildApp({ registry, spool, store, log: createLogger('t', 'silent'), connectedWindowDays: 30, ...deps });
  return {
    app, registry, spool,
    async close() {
      await app.close();
      await registry.close();
      await spool.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
