// A SQLite registry from before retired device ids and token life cycles, opened by this version: the ids of
// devices deleted back then (known from the audit trail) are retired, devices in use keep theirs, and the admin
// token registered from ADMIN_TOKEN back then becomes the operator token that the next ADMIN_TOKEN replaces.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConflictError, type NewFirm } from '../../common/registry/registry.ts';
import { REGISTRY_MIGRATIONS, SqliteRegistry } from '../../common/registry/sqlite-registry.ts';
import { sha256 } from '../../common/ids.ts';
import { openDb } from '../../common/sqlite.ts';
import { tempDir, testFirm } from '../helpers/system.ts';

const dir = tempDir('registry-upgrade');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * A registry file at schema version 2 (before retired ids, token life cycles and firm histories), with a firm, a
 * device in use, one deleted back then (known only from the audit trail) and the operator's admin token. Built from
 * the first two migrations, so every later one runs on it, whatever they become.
 */
function oldRegistry(file: string, firm: NewFirm): void {
  const db = openDb(file, REGISTRY_MIGRATIONS.slice(0, 2));
  db.prepare('INSERT INTO firms (id, name, county, park, segment, above_scale, employees, land_mu, smart_factory_tier, demo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(firm.id, firm.name, firm.county, firm.park, firm.segment, firm.aboveScale ? 1 : 0, firm.employees, firm.landMu, firm.smartFactoryTier, firm.demo ? 1 : 0, Date.now());
  db.prepare('INSERT INTO devices (id, firm_id, type, name, location, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run('loom-kept', firm.id, 'loom', 'kept', '', `sha256$${sha256('dt_kept')}`, Date.now());
  db.prepare('INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(1, 'engineer', 'device.delete', 'loom-gone', JSON.stringify({ firmId: firm.id }));
  db.prepare('INSERT INTO api_tokens (id, token_sha256, role, firm_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run('op-token-1', sha256('at_old_operator_token_000000'), 'admin', null, 'admin (ADMIN_TOKEN)', Date.now());
  db.close();
}

describe('registry upgrade', () => {
  test('ids deleted before the upgrade are retired; the old ADMIN_TOKEN is replaced by the next one', async () => {
    const file = path.join(dir, 'r.db');
    const firm = testFirm();
    oldRegistry(file, firm);

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
