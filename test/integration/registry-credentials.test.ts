// What the broker's credential check and the per-device counter rates ask of the registry, on both adapters
// (SQLite, and PostgreSQL on a private server from Debian's packages): the current credential of connected devices
// (absent once removed, its SHA-256 changing with a rotation, its expiry) and a device's own counter rates.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../../common/ids.ts';
import { NotFoundError, type Registry } from '../../common/registry/registry.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { PgRegistry } from '../../common/registry/pg-registry.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

let pgServer: Promise<PrivatePostgres> | undefined;
const dir = tempDir('registry-credentials');
after(async () => {
  const s = await pgServer?.catch(() => undefined);
  await s?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function suite(name: string, open: () => Promise<Registry>): void {
  describe(`registry credentials and counter rates: ${name}`, () => {
    test('deviceCredentials: the current token\'s SHA-256 and expiry; a rotation changes it; a removed device is absent', async () => {
      const r = await open();
      const firm = testFirm();
      await r.createFirm(firm);
      const a = await r.createDevice({ firmId: firm.id, type: 'loom', name: 'a', tokenExpiresAt: 9_000_000_000_000 });
      const b = await r.createDevice({ firmId: firm.id, type: 'loom', name: 'b' });
      const creds = async () => new Map((await r.deviceCredentials([a.device.id, b.device.id, 'nobody'])).map((c) => [c.deviceId, c]));
      let now = await creds();
      assert.deepEqual(now.get(a.device.id), { deviceId: a.device.id, tokenSha256: sha256(a.token), tokenExpiresAt: 9_000_000_000_000, rateOverrides: {} });
      assert.equal(now.get(b.device.id)?.tokenSha256, sha256(b.token));
      assert.equal(now.has('nobody'), false);
      const rotated = await r.rotateDeviceToken(a.device.id);
      await r.deleteDevice(b.device.id);
      now = await creds();
      assert.equal(now.get(a.device.id)?.tokenSha256, sha256(rotated));
      assert.equal(now.get(a.device.id)?.tokenExpiresAt, null);
      assert.equal(now.has(b.device.id), false);
      assert.deepEqual(await r.deviceCredentials([]), []);
      await r.close();
    });

    test('setRateOverride: set per counter, read with the device and its credential, removed with null; unknown device NotFound', async () => {
      const r = await open();
      const firm = testFirm();
      await r.createFirm(firm);
      const { device } = await r.createDevice({ firmId: firm.id, type: 'loom', name: 'a' });
      assert.equal((await r.getDevice(device.id))?.rateOverrides, undefined, 'none by default');
      assert.deepEqual(await r.setRateOverride(device.id, 'energy_kwh_total', 2000), { energy_kwh_total: 2000 });
      assert.deepEqual(await r.setRateOverride(device.id, 'picks_total', 5e6), { energy_kwh_total: 2000, picks_total: 5e6 });
      assert.deepEqual((await r.getDevice(device.id))?.rateOverrides, { energy_kwh_total: 2000, picks_total: 5e6 });
      assert.deepEqual((await r.deviceCredentials([device.id]))[0]?.rateOverrides, { energy_kwh_total: 2000, picks_total: 5e6 });
      assert.deepEqual(await r.setRateOverride(device.id, 'energy_kwh_total', null), { picks_total: 5e6 });
      await assert.rejects(r.setRateOverride('nobody', 'energy_kwh_total', 1), NotFoundError);
      await r.close();
    });
  });
}

let n = 0;
suite('SQLite', async () => new SqliteRegistry(path.join(dir, `r${n++}.db`)));
suite('PostgreSQL', async () => {
  pgServer ??= startPrivatePostgres();
  const s = await pgServer;
  return PgRegistry.open(await s.createDatabase(`cred_${process.pid}_${n++}`));
});
