// The conformance suites run against every adapter we ship: SQLite registry and spool, InfluxDB (a real influxd),
// the latest device values (InfluxDB and memory).
import path from 'node:path';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryConformance } from '../conformance/registry.ts';
import { spoolConformance } from '../conformance/spool.ts';
import { telemetryStoreConformance } from '../conformance/telemetry-store.ts';
import { machineQuestionsConformance } from '../conformance/telemetry-store-machines.ts';
import { energyQuestionsConformance } from '../conformance/telemetry-store-energy.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { tempDir } from '../helpers/system.ts';
import { latestConformance, type Observation } from '../conformance/latest.ts';
import { LiveLatest, StoreLatest } from '../../analytics/live/latest.ts';
import { deviceType } from '../../common/contract/catalogue.ts';
import { stateLine, tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import type { LiveDevice } from '../../common/contract/live.ts';

registryConformance('SQLite', async () => {
  const dir = tempDir('reg');
  const file = path.join(dir, 'r.db');
  const registry = new SqliteRegistry(file);
  const raw = new Database(file);
  const tokenHash = {
    get: async (id: string) => (raw.prepare('SELECT token_hash AS h FROM devices WHERE id = ?').get(id) as { h: string } | undefined)?.h,
    set: async (id: string, hash: string) => { raw.prepare('UPDATE devices SET token_hash = ? WHERE id = ?').run(hash, id); },
  };
  return { registry, tokenHash, cleanup: async () => { raw.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
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
machineQuestionsConformance('InfluxDB 1.x (Debian influxd)', async () => ({ store: new InfluxStore({ url: influxd.url, db: `machines${n++}` }), cleanup: async () => {} }));
energyQuestionsConformance('InfluxDB 1.x (Debian influxd)', async () => ({ store: new InfluxStore({ url: influxd.url, db: `energy${n++}` }), cleanup: async () => {} }));

test('InfluxDB adapter: a query InfluxDB cannot parse fails with its reason', async () => {
  const store = new InfluxStore({ url: influxd.url, db: `conf${n++}` });
  await store.ensureDatabase();
  await assert.rejects(store.query('SELEC nonsense'), /InfluxDB query failed.*error parsing query/);
  await store.close();
});

// The latest values of each device (overviews, live power): InfluxDB each time, memory from the live feed,
// memory warmed from InfluxDB, and warmed then fed by a restarted broker that knows no states yet.
async function storeWith(obs: readonly Observation[]): Promise<InfluxStore> {
  const store = new InfluxStore({ url: influxd.url, db: `latest${n++}` });
  await store.ensureDatabase();
  await store.write(obs.map((o) => {
    const tags = tagSet({ firmId: o.device.firmId, deviceId: o.device.deviceId, type: o.device.type, county: o.device.county, park: o.device.park, segment: o.device.segment });
    return o.state ? stateLine(tags, o.ts, o.state, undefined) : telemetryLine(deviceType(o.device.type)?.measurement ?? o.device.type, tags, o.ts, 0, o.metrics ?? {});
  }));
  return store;
}
/** What admission does: one entry per device, newest timestamp, every metric seen, the newest state event if seen. */
function feed(latest: LiveLatest, obs: readonly Observation[]): void {
  const entries = new Map<string, LiveDevice>();
  for (const o of obs) {
    const e = entries.get(o.device.deviceId) ?? { ...o.device, ts: 0, metrics: {} };
    if (o.metrics && o.ts >= e.ts) { e.ts = o.ts; Object.assign(e.metrics, o.metrics); }
    if (o.state && o.ts >= (e.stateTs ?? -Infinity)) { e.state = o.state; e.stateTs = o.ts; }
    entries.set(o.device.deviceId, e);
    latest.take({ at: o.ts, devices: [{ ...e, metrics: { ...e.metrics } }] });
  }
}
latestConformance('StoreLatest (InfluxDB each time)', async (obs) => new StoreLatest(await storeWith(obs)));
latestConformance('LiveLatest (memory, from the live feed)', async (obs) => {
  const latest = new LiveLatest();
  feed(latest, obs);
  return latest;
});
latestConformance('LiveLatest warmed from InfluxDB', async (obs) => new LiveLatest(new StoreLatest(await storeWith(obs))));
latestConformance('LiveLatest warmed from InfluxDB, then fed by a restarted broker', async (obs) => {
  const latest = new LiveLatest(new StoreLatest(await storeWith(obs)));
  await latest.warmUp();
  feed(latest, obs.slice(Math.floor(obs.length / 2)));
  return latest;
});
