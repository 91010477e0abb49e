// The ingest writer against a real influxd: one bad row never blocks the spool, and an outage loses nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { createLogger } from '../../common/log.ts';
import { waitFor } from '../../scripts/net.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { IngestWriter } from '../../ingest/writer.ts';
import { tempDir } from '../helpers/system.ts';

let influxd: PrivateInfluxd;
const dir = tempDir('writer');
before(async () => { influxd = await startPrivateInfluxd(path.join(dir, 'influx')); });
after(async () => { await influxd.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

async function count(store: InfluxStore, m: string): Promise<number> {
  const s = await store.query(`SELECT count("v") FROM "${m}"`);
  return (s[0]?.values[0]?.[1] as number | undefined) ?? 0;
}

test('a row InfluxDB refuses (field type conflict) goes to the dead letters; every other row is written', async () => {
  const spool = new SqliteSpool(path.join(dir, 's1.db'));
  const store = new InfluxStore({ url: influxd.url, db: 'w1' });
  await store.ensureDatabase();
  const t = Date.now() - 100_000;
  await store.write([`m,device=a,firm=F v=1 ${t}`]);
  const rows = Array.from({ length: 50 }, (_, i) => ({
    receivedAt: t, deviceId: 'a', points: 1,
    lines: i === 17 ? `m,device=a,firm=F v="oops" ${t + i + 1}` : `m,device=a,firm=F v=${i} ${t + i + 1}`,
  }));
  await spool.append(rows, []);
  const writer = new IngestWriter(spool, store, createLogger('t', 'silent'), { batchRows: 20, idleMs: 10 });
  writer.start();
  await waitFor(async () => (await spool.stats()).rows === 0, 15_000, 'spool drained');
  await writer.stop();
  assert.equal(await count(store, 'm'), 50, '1 earlier point + 49 good rows');
  const dead = await spool.listDeadLetters({ limit: 10 });
  assert.equal(dead.length, 1);
  assert.equal(dead[0]?.rule, 'store-rejected');
  assert.equal(dead[0]?.firmId, 'F');
  assert.match(dead[0]!.reason, /field type conflict/);
  assert.equal(writer.stats.deadLettered, 1);
  await spool.close();
});

test('while InfluxDB is down the spool keeps everything; after it returns the backlog drains by itself', async () => {
  const spool = new SqliteSpool(path.join(dir, 's2.db'));
  const store = new InfluxStore({ url: influxd.url, db: 'w2', timeoutMs: 2000 });
  await store.ensureDatabase();
  const writer = new IngestWriter(spool, store, createLogger('t', 'silent'), { batchRows: 100, idleMs: 10, maxBackoffMs: 500 });
  writer.start();
  const t = Date.now() - 100_000;
  const batch = (from: number) => Array.from({ length: 100 }, (_, i) => ({ receivedAt: Date.now(), deviceId: 'd', points: 1, lines: `o,device=d v=${from + i} ${t + from + i}` }));
  await spool.append(batch(0), []);
  await waitFor(async () => (await spool.stats()).rows === 0, 10_000, 'first batch written');
  await influxd.stop();
  await spool.append(batch(100), []);
  await spool.append(batch(200), []);
  await waitFor(async () => writer.stats.storeDown, 10_000, 'writer notices the outage');
  assert.equal((await spool.stats()).rows, 200, 'nothing acknowledged is dropped while the store is down');
  await influxd.restart();
  await waitFor(async () => (await spool.stats()).rows === 0, 20_000, 'backlog drained');
  await writer.stop();
  assert.equal(await count(store, 'o'), 300);
  await spool.close();
});
