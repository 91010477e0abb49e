// The telemetry-store conformance suite: every TelemetryStore adapter must pass it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PermanentWriteError, type TelemetryStore } from '../../common/telemetry-store/store.ts';

export function telemetryStoreConformance(name: string, make: () => Promise<{ store: TelemetryStore; cleanup(): Promise<void> }>): void {
  describe(`TelemetryStore conformance: ${name}`, () => {
    test('written lines are read back in time order; a rewrite of the same series and time overwrites', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      await store.ensureDatabase(); // idempotent
      const t = Date.now() - 60_000;
      const a = { firmId: 'f1', deviceId: 'a', measurement: 'loom', metric: 'speed_rpm' };
      await store.write([`loom,firm=f1,device=a speed_rpm=600,seq=1i ${t + 2000}`, `loom,firm=f1,device=a speed_rpm=590,seq=0i ${t}`, `loom,firm=f1,device=b speed_rpm=1,seq=0i ${t}`]);
      await store.write([`loom,firm=f1,device=a speed_rpm=600,seq=1i ${t + 2000}`]); // redelivery
      const pts = await store.deviceSeries({ ...a, from: t - 1, to: t + 5000, limit: 100 });
      assert.deepEqual(pts, [{ ts: t, value: 590 }, { ts: t + 2000, value: 600 }]);
      assert.deepEqual(await store.deviceSeries({ ...a, from: t + 1, to: t + 1999, limit: 100 }), []);
      assert.deepEqual(await store.deviceSeries({ ...a, from: t - 1, to: t + 5000, limit: 1 }), [{ ts: t, value: 590 }], 'limit keeps the oldest');
      assert.equal((await store.deviceSeries({ ...a, deviceId: "a' OR '1'='1", from: 0, to: Date.now(), limit: 100 })).length, 0, 'ids are quoted');
      assert.equal(await store.ping(), true);
      await store.close();
      await cleanup();
    });

    test('a device id used by two firms: each firm reads only its own points', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const t = Date.now() - 30_000;
      await store.write([`loom,firm=f1,device=x speed_rpm=100 ${t}`, `loom,firm=f2,device=x speed_rpm=200 ${t + 1000}`]);
      const q = { deviceId: 'x', measurement: 'loom', metric: 'speed_rpm', from: t - 1, to: t + 5000, limit: 10 };
      assert.deepEqual(await store.deviceSeries({ ...q, firmId: 'f1' }), [{ ts: t, value: 100 }]);
      assert.deepEqual(await store.deviceSeries({ ...q, firmId: 'f2' }), [{ ts: t + 1000, value: 200 }]);
      assert.deepEqual(await store.deviceSeries({ ...q, firmId: 'f3' }), []);
      await store.close();
      await cleanup();
    });

    test('data the store refuses (a field type conflict) is a PermanentWriteError; other lines still write', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const t = Date.now() - 1000;
      await store.write([`meter,firm=f1,device=x v=1 ${t}`]);
      await assert.rejects(store.write([`meter,firm=f1,device=x v="text" ${t + 1}`]), PermanentWriteError);
      await store.write([`meter,firm=f1,device=x v=2 ${t + 2}`]);
      assert.equal((await store.deviceSeries({ firmId: 'f1', deviceId: 'x', measurement: 'meter', metric: 'v', from: t - 1, to: t + 10, limit: 10 })).length, 2);
      await store.close();
      await cleanup();
    });

    test('writes mark the quarters they touched per firm; marks are read back by when they were made', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const Q = 15 * 60_000;
      const now = Date.now();
      const q0 = Math.floor(now / Q) * Q;
      const old = q0 - 3 * 96 * Q; // three days back: store-and-forward
      const before = Date.now();
      await store.write([
        `meter,firm=f1,device=m energy_kwh_total=1 ${old + 1000}\nmeter,firm=f1,device=m energy_kwh_total=2 ${old + Q + 5}`,
        `meter,firm=f2,device=n energy_kwh_total=1 ${now - 1000}`,
        // Escaped tag values are unescaped; states, rollups and lines without a firm mark nothing.
        `meter,device=x,firm=f\\ 3 energy_kwh_total=1 ${now - 2000}`,
        `machine_state,firm=f4,device=s state="running" ${now - 1000}`,
        `rollup_15m,firm=f5,quantity=electricity value=1 ${q0}`,
        `meter,device=y energy_kwh_total=1 ${now - 1000}`,
      ]);
      const after = Date.now();
      const marks = await store.dirtyQuarters({ since: before - 1, until: after + 1 });
      assert.deepEqual(marks.map((m) => `${m.firmId}@${m.quarter}`).sort(), [`f 3@${Math.floor((now - 2000) / Q) * Q}`, `f1@${old}`, `f1@${old + Q}`, `f2@${Math.floor((now - 1000) / Q) * Q}`].sort());
      for (const m of marks) assert.ok(m.markedAt >= before - 1 && m.markedAt <= after, 'a mark carries when its write began');
      assert.deepEqual(await store.dirtyQuarters({ since: after + 1, until: after + 60_000 }), [], 'read by when they were made, not by the quarter');
      assert.ok(store.dirtySlackMs >= 60_000 && store.dirtyRetentionMs >= 24 * 3_600_000);
      await store.close();
      await cleanup();
    });

    test('no write goes unmarked: a later write of a marked quarter is covered within the slack; concurrent marks do not overwrite each other', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const Q = 15 * 60_000;
      const t = Math.floor((Date.now() - 2 * 86_400_000) / Q) * Q;
      await store.write([`meter,firm=f1,device=m energy_kwh_total=1 ${t + 1}`]);
      const w = Date.now();
      await store.write([`meter,firm=f1,device=m energy_kwh_total=2 ${t + 2}`]);
      const covered = await store.dirtyQuarters({ since: w - store.dirtySlackMs, until: Date.now() + 1 });
      assert.ok(covered.some((m) => m.firmId === 'f1' && m.quarter === t), 'a reader re-reading the slack sees the quarter of the second write');
      // Concurrent writes marking the same firm at the same moment: every quarter stays marked.
      const since = Date.now();
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.write([`meter,firm=f9,device=d${i} energy_kwh_total=1 ${t - (i + 1) * Q}`])));
      const marks = await store.dirtyQuarters({ since: since - 1, until: Date.now() + 1 });
      assert.deepEqual(marks.filter((m) => m.firmId === 'f9').map((m) => m.quarter).sort((a, b) => a - b), Array.from({ length: 8 }, (_, i) => t - (8 - i) * Q));
      await store.close();
      await cleanup();
    });

    test('following readings: the next reading after a range of each device with readings in it', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const H = 3_600_000;
      const t = Math.floor(Date.now() / H) * H - 72 * H;
      await store.write([
        `meter,firm=f1,device=a energy_kwh_total=1 ${t + 10}`, `meter,firm=f1,device=a energy_kwh_total=2 ${t + 20}`,
        `meter,firm=f1,device=a energy_kwh_total=9 ${t + 50 * H}`, `meter,firm=f1,device=a energy_kwh_total=10 ${t + 51 * H}`,
        `meter,firm=f1,device=b energy_kwh_total=1 ${t + 30}`,
        `meter,firm=f1,device=c energy_kwh_total=1 ${t + 2 * H}`, // nothing in the range: not asked about
        `loom,firm=f1,device=l energy_kwh_total=1,fabric_m_total=1 ${t + 40}`, `loom,firm=f1,device=l fabric_m_total=3 ${t + H + 7}`,
        `meter,firm=f2,device=a energy_kwh_total=1 ${t + 60}`, `meter,firm=f2,device=a energy_kwh_total=1 ${t + H}`,
      ]);
      const got = await store.followingReadings({
        firmId: 'f1', from: t, to: t + H, horizon: Date.now(),
        selections: [{ metric: 'energy_kwh_total', measurements: ['meter', 'loom'] }, { metric: 'fabric_m_total', measurements: ['loom'] }],
      });
      const byDevice = Object.fromEntries(got.map((r) => [`${r.measurement}/${r.deviceId}`, r.next]));
      assert.deepEqual(byDevice, { 'meter/a': t + 50 * H, 'meter/b': undefined, 'loom/l': t + H + 7 });
      await store.close();
      await cleanup();
    });
  });
}
