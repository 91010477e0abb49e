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
  });
}
