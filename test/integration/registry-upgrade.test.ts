// A SQLite registry from before retired device ids and token life cycles, opened by this version: the ids of
// devices deleted back then (known from the audit trail) are retired, devices in use keep theirs, and the admin
// token registered from ADMIN_TOKEN back then becomes the operator token that the next ADMIN_TOKEN replaces.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConflictError } from '../../common/registry/registry.ts';
import { SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const dir = tempDir('registry-upgrade');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Takes a registry file back to schema version 2: no device_ids table, none of the token life-cycle columns. */
function downgrade(file: string): void {
  const db = new Database(file);
  db.exec(`DROP TABLE device_ids;
    ALTER TABLE devices DROP COLUMN token_expires_at;
    ALTER TABLE api_tokens DROP COLUMN expires_at; ALTER TABLE api_tokens DROP COLUMN revoked_at;
    ALTER TABLE api_tokens DROP COLUMN last_used_at; ALTER TABLE api_tokens DROP COLUMN operator;
    DROP TABLE firm_versions; ALTER TABLE firms DROP COLUMN above_scale_since;
    ALTER TABLE firms DROP COLUMN smart_factory_certificate_id; ALTER TABLE firms DROP COLUMN smart_factory_certified_on;
    ALTER TABLE devices DROP COLUMN rate_overrides;
    PRAGMA user_version = 2;`);
  db.close();
}

describe('registry upgrade', () => {
  test('ids deleted before the upgrade are retired; the old ADMIN_TOKEN is replaced by the next one', async () => {
    const file = path.join(dir, 'r.db');
    const firm = testFirm();
    const old = new SqliteRegistry(file);
    await old.createFirm(firm);
    await old.createDevice({ firmId: firm.id, type: 'loom', name: 'gone', id: 'loom-gone' });
    await old.createDevice({ firmId: firm.id, type: 'loom', name: 'kept', id: 'loom-kept' });
    await old.deleteDevice('loom-gone');
    await old.recordAudit({ at: 1, actor: 'engineer', action: 'device.delete', target: 'loom-gone', detail: JSON.stringify({ firmId: firm.id }) });
    await old.ensureApiToken('at_old_operator_token_000000', 'admin', null, 'admin (ADMIN_TOKEN)');
    await old.close();
    downgrade(file);

    const r = new SqliteRegistry(file);
    try {
      await assert.rejects(r.createDevice({ firmId: firm.id, type: 'loom', name: 'again', id: 'loom-gone' }), ConflictError);
      await assert.rejects(r.createDevice({ firmId: firm.id, type: 'loom', name: 'twin', id: 'loom-kept' }), ConflictError);
      assert.equal((await r.getDevice('loom-kept'))?.tokenExpiresAt, null);
      assert.equal((await r.verifyApiToken('at_old_operator_token_000000'))?.role, 'admin', 'still admin until a new ADMIN_TOKEN is given');
      await r.ensureApiToken('at_new_operator_token_000000', 'admin', null, 'admin (ADMIN_TOKEN)');
      assert.deepEqual(await r.checkApiToken('at_old_operator_token_000000'), { ok: false, reason: 'revoked' });
      const [registration] = await r.firmHistory(firm.id);
      const { id: _id, demo: _demo, ...attributes } = firm;
      assert.deepEqual(registration?.changes, { ...attributes, aboveScaleSince: null, smartFactoryCertificateId: null, smartFactoryCertifiedOn: null }, 'a firm from before gets its registration as first version');
    } finally {
      await r.close();
    }
  });
});
