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
      await store.write([`loom,device=a speed_rpm=600,seq=1i ${t + 2000}`, `loom,device=a speed_rpm=590,seq=0i ${t}`, `loom,device=b speed_rpm=1,seq=0i ${t}`]);
      await store.write([`loom,device=a speed_rpm=600,seq=1i ${t + 2000}`]); // redelivery
      const pts = await store.deviceSeries('loom', 'a', 'speed_rpm', t - 1, t + 5000, 100);
      assert.deepEqual(pts, [{ ts: t, value: 590 }, { ts: t + 2000, value: 600 }]);
      assert.deepEqual(await store.deviceSeries('loom', 'a', 'speed_rpm', t + 1, t + 1999, 100), []);
      assert.equal((await store.deviceSeries('loom', "a' OR '1'='1", 'speed_rpm', 0, Date.now(), 100)).length, 0, 'ids are quoted');
      assert.equal(await store.ping(), true);
      await store.close();
      await cleanup();
    });

    test('data the store refuses (a field type conflict) is a PermanentWriteError; other lines still write', async () => {
      const { store, cleanup } = await make();
      await store.ensureDatabase();
      const t = Date.now() - 1000;
      await store.write([`meter,device=x v=1 ${t}`]);
      await assert.rejects(store.write([`meter,device=x v="text" ${t + 1}`]), PermanentWriteError);
      await store.write([`meter,device=x v=2 ${t + 2}`]);
      assert.equal((await store.deviceSeries('meter', 'x', 'v', t - 1, t + 10, 10)).length, 2);
      await assert.rejects(store.query('SELEC nonsense'), /InfluxDB query failed/);
      await store.close();
      await cleanup();
    });
  });
}
