// The conformance suites run against every adapter we ship: SQLite registry and spool, InfluxDB (a real influxd).
import path from 'node:path';
import fs from 'node:fs';
import { after, before } from 'node:test';
import { registryConformance } from '../conformance/registry.ts';
import { spoolConformance } from '../conformance/spool.ts';
import { telemetryStoreConformance } from '../conformance/telemetry-store.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../common/influxd.ts';
import { tempDir } from '../helpers/system.ts';

registryConformance('SQLite', async () => {
  const dir = tempDir('reg');
  return { registry: new SqliteRegistry(path.join(dir, 'r.db')), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

spoolConformance('SQLite', async () => {
  const dir = tempDir('spool');
  const file = path.join(dir, 's.db');
  return { spool: new SqliteSpool(file), reopen: async () => new SqliteSpool(file), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

let influxd: PrivateInfluxd;
const influxDir = tempDir('influx');
before(async () => { influxd = await startPrivateInfluxd(influxDir); });
after(async () => { await influxd.stop(); fs.rmSync(influxDir, { recursive: true, force: true }); });
let n = 0;
telemetryStoreConformance('InfluxDB 1.x (Debian influxd)', async () => ({
  store: new InfluxStore({ url: influxd.url, db: `conf${n++}` }),
  cleanup: async () => {},
}));
