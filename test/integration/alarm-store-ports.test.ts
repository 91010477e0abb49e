// The alarm-store conformance suite against both adapters: SQLite (the node's monitoring database) and
// PostgreSQL on a private server (Debian's packages; if it cannot start, the tests fail with the reason).
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { alarmStoreConformance } from '../conformance/alarm-store.ts';
import { AlarmEngine } from '../../analytics/alarms/engine.ts';
import { SqliteAlarmStore } from '../../analytics/alarms/sqlite-store.ts';
import { SqliteChannelStore } from '../../analytics/alarms/notify/sqlite-channels.ts';
import { PgAlarmStore } from '../../analytics/alarms/pg-store.ts';
import type { AlarmStore } from '../../analytics/alarms/store.ts';
import { openMonitoringDb } from '../../analytics/base/db.ts';
import type { Db } from '../../common/sqlite.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/system.ts';

alarmStoreConformance('SQLite', async () => {
  const dir = tempDir('alarms');
  const file = path.join(dir, 'monitoring.db');
  const dbs: Db[] = [];
  const open = async (): Promise<AlarmStore> => {
    const db = openMonitoringDb(file);
    dbs.push(db);
    return new SqliteAlarmStore(db);
  };
  const store = await open();
  return {
    store, channels: new SqliteChannelStore(dbs[0] as Db), another: open,
    reopen: async () => { dbs[0]?.close(); return open(); },
    cleanup: async () => {
      for (const db of dbs) if (db.open) db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

const server: Promise<PrivatePostgres> = startPrivatePostgres();
server.catch(() => {});
after(async () => { await (await server.catch(() => undefined))?.stop(); });

let n = 0;
alarmStoreConformance('PostgreSQL', async () => {
  const s = await server.catch((err: Error) => { throw new Error(`could not start a private PostgreSQL server (needs Debian's postgresql package): ${err.message}`); });
  const name = `alarms_${process.pid}_${n++}`;
  const url = await s.createDatabase(name);
  const stores: PgAlarmStore[] = [];
  const open = async (): Promise<PgAlarmStore> => {
    const st = await PgAlarmStore.open(url);
    stores.push(st);
    return st;
  };
  // Two nodes creating the schema at once: one set of default rules.
  const [store] = await Promise.all([open(), open()]);
  const closeAll = async () => { for (const st of stores.splice(0)) await st.close().catch(() => {}); };
  return {
    store: store as AlarmStore, channels: (store as PgAlarmStore).channels(), another: open,
    reopen: async () => { await closeAll(); return open(); },
    cleanup: async () => { await closeAll(); await s.dropDatabase(name); },
  };
});

test('two API nodes on one PostgreSQL store evaluating the same summaries raise and clear each alarm once', async () => {
  const s = await server;
  const url = await s.createDatabase(`alarms_${process.pid}_engines`);
  const stores = await Promise.all([PgAlarmStore.open(url), PgAlarmStore.open(url)]);
  try {
    for (const r of await stores[0]!.rules()) await stores[0]!.deleteRule(r.id);
    await stores[0]!.createRule({
      name: 'hot', kind: 'threshold', firmId: null, deviceType: 'dyeing_machine', deviceId: null, metric: 'bath_temp_c', op: '>', value: 140,
      states: null, windowS: 60, durationS: 0, severity: 'critical', enabled: true,
    }, { name: 't', tokenId: '' });
    const events: string[] = [];
    const engines = stores.map((st) => new AlarmEngine(st));
    for (const e of engines) e.subscribe((ev) => events.push(ev.event));
    const summary = (at: number, v: number) => ({ at, devices: [{ deviceId: 'dye-1', firmId: 'F1', type: 'dyeing_machine', ts: at, metrics: { bath_temp_c: v } }] });
    for (const [at, v] of [[1000, 150], [2000, 151], [3000, 120]] as const) await Promise.all(engines.map((e) => e.onLive(summary(at, v))));
    assert.deepEqual(events, ['raised', 'cleared']);
    assert.equal((await stores[1]!.list({ status: 'all', limit: 10 })).length, 1);
  } finally {
    for (const st of stores) await st.close();
    await s.dropDatabase(`alarms_${process.pid}_engines`);
  }
});
