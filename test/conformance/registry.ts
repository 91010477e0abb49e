// The registry conformance suite: every Registry adapter must pass it (see test/integration/registry-*.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, deviceIdUnavailable, firmAt, type Registry } from '../../common/registry/registry.ts';
import { localDate } from '../../common/time.ts';
import { legacyScryptHash, sha256 } from '../../common/ids.ts';
import { testFirm } from '../helpers/system.ts';
import { gatewayConformance } from './registry-gateways.ts';

/** Reads and writes a device's stored token hash behind the port, to test the migration of old hashes. */
export interface StoredTokenHash {
  get(deviceId: string): Promise<string | undefined>;
  set(deviceId: string, hash: string): Promise<void>;
}

export function registryConformance(name: string, make: () => Promise<{ registry: Registry; tokenHash: StoredTokenHash; cleanup(): Promise<void> }>): void {
  describe(`Registry conformance: ${name}`, () => {
    const withRegistry = (fn: (r: Registry, tokenHash: StoredTokenHash) => Promise<void>) => async () => {
      const { registry, tokenHash, cleanup } = await make();
      try { await fn(registry, tokenHash); } finally { await registry.close(); await cleanup(); }
    };

    gatewayConformance(withRegistry);

    test('device tokens: stored as a fast hash; an old scrypt hash still logs in and is replaced by it', withRegistry(async (r, stored) => {
      const f = testFirm();
      await r.createFirm(f);
      const { device, token } = await r.createDevice({ firmId: f.id, type: 'loom', name: 'L1' });
      assert.equal(await stored.get(device.id), `sha256$${sha256(token)}`);
      const old = await legacyScryptHash(token);
      await stored.set(device.id, old);
      assert.equal(await r.verifyDevice(device.id, `${token}x`), undefined, 'a wrong token against an old hash');
      assert.equal(await stored.get(device.id), old, 'a failed login changes nothing');
      assert.equal((await r.verifyDevice(device.id, token))?.device.id, device.id, 'the old hash still logs in');
      assert.equal(await stored.get(device.id), `sha256$${sha256(token)}`, 'and is replaced on that login');
      assert.equal((await r.verifyDevice(device.id, token))?.device.id, device.id);
      const rotated = await r.rotateDeviceToken(device.id);
      assert.equal(await r.verifyDevice(device.id, token), undefined, 'the old token stops at rotation');
      assert.equal((await r.verifyDevice(device.id, rotated))?.device.id, device.id);
    }));

    test('firms: create, get, list, and a duplicate id is a conflict', withRegistry(async (r) => {
      const f = testFirm({ name: '测试纺织' });
      const created = await r.createFirm(f);
      assert.equal(created.name, '测试纺织');
      assert.ok(created.createdAt > 0);
      assert.deepEqual(await r.getFirm(f.id), created);
      assert.deepEqual((await r.listFirms()).map((x) => x.id), [f.id]);
      await assert.rejects(r.createFirm(f), ConflictError);
      assert.equal(await r.getFirm('nope'), undefined);
    }));

    test('firm history: edits are kept dated, a late edit for an earlier date does not undo a later one', withRegistry(async (r) => {
      const f = testFirm({ aboveScale: false, employees: 80 });
      const g = testFirm();
      const created = await r.createFirm(f);
      await r.createFirm(g);
      assert.deepEqual([created.aboveScaleSince, created.smartFactoryCertificateId, created.smartFactoryCertifiedOn], [null, null, null]);
      const registered = localDate(created.createdAt);
      const by = 'bureau staff (bureau, token t1)';
      const up = await r.updateFirm(f.id, { changes: { aboveScale: true, aboveScaleSince: '2026-06-01' }, validFrom: '2026-06-01', recordedAt: 1000, recordedBy: by });
      assert.deepEqual([up.aboveScale, up.aboveScaleSince, up.employees], [true, '2026-06-01', 80]);
      await r.updateFirm(f.id, { changes: { employees: 120, smartFactoryTier: 'basic', smartFactoryCertificateId: 'YN-ZNGC-2026-007', smartFactoryCertifiedOn: '2026-09-10' }, validFrom: '2026-09-10', recordedAt: 2000, recordedBy: by });
      // Entered last, dated earlier: holds from July to September, when the later change takes over.
      const late = await r.updateFirm(f.id, { changes: { employees: 95, name: '新名称纺织' }, validFrom: '2026-07-01', recordedAt: 3000, recordedBy: by });
      assert.deepEqual([late.employees, late.name, late.smartFactoryTier, late.smartFactoryCertificateId], [120, '新名称纺织', 'basic', 'YN-ZNGC-2026-007']);
      assert.deepEqual(await r.getFirm(f.id), late, 'the stored firm is the one returned');
      const history = await r.firmHistory(f.id);
      assert.deepEqual(history.map((v) => [v.validFrom, v.recordedBy, v.recordedAt]), [[registered, 'registration', created.createdAt], ['2026-06-01', by, 1000], ['2026-09-10', by, 2000], ['2026-07-01', by, 3000]]);
      assert.deepEqual(history[2]?.changes, { employees: 120, smartFactoryTier: 'basic', smartFactoryCertificateId: 'YN-ZNGC-2026-007', smartFactoryCertifiedOn: '2026-09-10' }, 'a version keeps only what it changed');
      assert.deepEqual(history[0]?.changes, { name: f.name, county: f.county, park: f.park, segment: f.segment, aboveScale: false, aboveScaleSince: null, employees: 80, landMu: f.landMu, smartFactoryTier: 'none', smartFactoryCertificateId: null, smartFactoryCertifiedOn: null });
      // On a date: the registration is the base whatever its date, with the changes valid by then.
      const at = (date: string) => firmAt(history, date);
      assert.deepEqual([at('2026-05-31')?.aboveScale, at('2026-06-15')?.aboveScale, at('2026-08-01')?.employees, at('2026-10-01')?.employees], [false, true, 95, 120]);
      assert.deepEqual([at('2026-06-15')?.name, at('2026-07-01')?.name], [f.name, '新名称纺织']);
      assert.deepEqual((await r.firmHistory()).filter((v) => v.firmId === g.id).map((v) => v.recordedBy), ['registration']);
      assert.equal((await r.firmHistory()).filter((v) => v.firmId === f.id).length, 4);
      await assert.rejects(r.updateFirm('nope', { changes: { employees: 1 }, validFrom: '2026-01-01', recordedAt: 1, recordedBy: by }), NotFoundError);
      assert.equal((await r.firmConnectivity()).find((c) => c.firmId === f.id)?.aboveScale, true);
    }));

    test('devices: the token works once issued, is not stored in clear, and a wrong one fails', withRegistry(async (r) => {
      const f = testFirm();
      await r.createFirm(f);
      const { device, token } = await r.createDevice({ firmId: f.id, type: 'loom', name: 'L1', location: '织造一车间' });
      assert.match(device.id, /^loom-[0-9a-f]{10}$/);
      assert.match(token, /^dt_/);
      const ctx = await r.verifyDevice(device.id, token);
      assert.equal(ctx?.firm.id, f.id);
      assert.equal(ctx?.device.location, '织造一车间');
      assert.equal(await r.verifyDevice(device.id, `${token}x`), undefined);
      assert.equal(await r.verifyDevice('unknown', token), undefined);
      assert.ok(!JSON.stringify(await r.getDevice(device.id)).includes(token));
      const chosen = await r.createDevice({ firmId: f.id, type: 'loom', name: 'L2', id: 'loom-002' });
      assert.equal(chosen.device.id, 'loom-002');
      await assert.rejects(r.createDevice({ firmId: f.id, type: 'loom', name: 'L2', id: 'loom-002' }), ConflictError);
      await assert.rejects(r.createDevice({ firmId: 'missing', type: 'loom', name: 'x' }), NotFoundError);
      assert.equal((await r.listDevices(f.id)).length, 2);
      assert.equal((await r.listDevices()).length, 2);
    }));

    test('last seen and last telemetry only move forward and feed firm connectivity', withRegistry(async (r) => {
      const f = testFirm();
      const g = testFirm({ aboveScale: false });
      await r.createFirm(f);
      await r.createFirm(g);
      const { device } = await r.createDevice({ firmId: f.id, type: 'loom', name: 'L1' });
      await r.markSeen([{ deviceId: device.id, seenAt: 2000, telemetryAt: 1500 }]);
      await r.markSeen([{ deviceId: device.id, seenAt: 1000, telemetryAt: 900 }, { deviceId: 'ghost', seenAt: 5 }]);
      await r.markSeen([{ deviceId: device.id, seenAt: 3000 }]);
      const d = await r.getDevice(device.id);
      assert.equal(d?.lastSeenAt, 3000);
      assert.equal(d?.lastTelemetryAt, 1500);
      const conn = await r.firmConnectivity();
      assert.deepEqual(conn.map((c) => [c.firmId, c.aboveScale, c.lastTelemetryAt]).sort(), [[f.id, true, 1500], [g.id, false, null]].sort());
    }));

    test('API tokens: roles, engineer scoped to an existing firm, operator-chosen token registered once', withRegistry(async (r) => {
      const f = testFirm();
      await r.createFirm(f);
      const eng = await r.createApiToken('engineer', f.id, 'eng');
      assert.deepEqual(await r.verifyApiToken(eng.token), eng.principal);
      assert.equal(eng.principal.firmId, f.id);
      await assert.rejects(r.createApiToken('engineer', 'missing', 'x'), NotFoundError);
      const bureau = await r.createApiToken('bureau', f.id, 'b');
      assert.equal(bureau.principal.firmId, null, 'only engineers carry a firm');
      const a1 = await r.ensureApiToken('at_operator_chosen_token_1234', 'admin', null, 'admin');
      const a2 = await r.ensureApiToken('at_operator_chosen_token_1234', 'admin', null, 'admin');
      assert.equal(a1.tokenId, a2.tokenId);
      assert.equal(await r.verifyApiToken('at_unknown'), undefined);
    }));

    test('a deleted device\'s id is retired: never handed out again, in any firm, and refused with one message', withRegistry(async (r) => {
      const a = testFirm();
      const b = testFirm();
      await r.createFirm(a);
      await r.createFirm(b);
      await r.createDevice({ firmId: b.id, type: 'loom', name: 'B1', id: 'reused-x' });
      await r.createDevice({ firmId: a.id, type: 'loom', name: 'A1', id: 'own-y' });
      await r.deleteDevice('reused-x');
      assert.equal(await r.getDevice('reused-x'), undefined);
      const refusals: string[] = [];
      for (const [firmId, id] of [[a.id, 'reused-x'], [b.id, 'reused-x'], [a.id, 'own-y'], [b.id, 'own-y']] as const) {
        await assert.rejects(r.createDevice({ firmId, type: 'loom', name: 'again', id }), (err: Error) => {
          assert.ok(err instanceof ConflictError);
          refusals.push(err.message.replace(id, '<id>'));
          return true;
        });
      }
      assert.deepEqual(new Set(refusals), new Set([deviceIdUnavailable('<id>')]), 'the same refusal whether the id is retired, another firm\'s or one\'s own');
      await assert.rejects(r.deleteDevice('reused-x'), NotFoundError);
      assert.deepEqual((await r.listDevices()).map((d) => d.id), ['own-y']);
    }));

    test('device tokens may expire: refused after expiry, a rotation sets the new expiry', withRegistry(async (r) => {
      const f = testFirm();
      await r.createFirm(f);
      const t0 = Date.now();
      const { device, token } = await r.createDevice({ firmId: f.id, type: 'loom', name: 'L', tokenExpiresAt: t0 + 60_000 });
      assert.equal(device.tokenExpiresAt, t0 + 60_000);
      assert.equal((await r.verifyDevice(device.id, token, t0 + 59_999))?.device.id, device.id);
      assert.equal(await r.verifyDevice(device.id, token, t0 + 60_000), undefined);
      const rotated = await r.rotateDeviceToken(device.id, { expiresAt: t0 + 120_000 });
      assert.equal(await r.verifyDevice(device.id, token, t0), undefined, 'the old token stops at once');
      assert.equal((await r.verifyDevice(device.id, rotated, t0 + 90_000))?.device.tokenExpiresAt, t0 + 120_000);
      const forever = await r.rotateDeviceToken(device.id);
      assert.equal((await r.verifyDevice(device.id, forever, t0 + 10 * 365 * 86_400_000))?.device.tokenExpiresAt, null);
    }));

    test('API tokens: listed without secrets, revoked at once, refused after expiry, last use recorded', withRegistry(async (r) => {
      const f = testFirm();
      const g = testFirm();
      await r.createFirm(f);
      await r.createFirm(g);
      const t0 = Date.now();
      const eng = await r.createApiToken('engineer', f.id, 'eng f', { expiresAt: t0 + 60_000 });
      const other = await r.createApiToken('engineer', g.id, 'eng g');
      const bureau = await r.createApiToken('bureau', null, 'bureau');
      assert.deepEqual(await r.checkApiToken(eng.token, t0 + 60_000), { ok: false, reason: 'expired' });
      assert.deepEqual(await r.checkApiToken(eng.token, t0 + 1000), { ok: true, principal: eng.principal });
      assert.deepEqual(await r.checkApiToken('at_nobody', t0), { ok: false, reason: 'unknown' });
      const info = await r.getApiToken(eng.principal.tokenId);
      assert.equal(info?.lastUsedAt, t0 + 1000);
      assert.equal(info?.expiresAt, t0 + 60_000);
      assert.equal(info?.revokedAt, null);
      assert.equal(info?.operator, false);
      assert.deepEqual((await r.listApiTokens({ firmId: f.id })).map((t) => t.tokenId), [eng.principal.tokenId]);
      const all = await r.listApiTokens();
      assert.deepEqual(new Set(all.map((t) => t.tokenId)), new Set([eng, other, bureau].map((t) => t.principal.tokenId)));
      for (const t of [eng, other, bureau]) assert.ok(!JSON.stringify(all).includes(t.token), 'no secret is listed');
      assert.equal(await r.revokeApiToken(bureau.principal.tokenId, t0 + 5), true);
      assert.equal(await r.revokeApiToken(bureau.principal.tokenId, t0 + 9), false, 'revoking twice changes nothing');
      assert.equal((await r.getApiToken(bureau.principal.tokenId))?.revokedAt, t0 + 5);
      assert.deepEqual(await r.checkApiToken(bureau.token), { ok: false, reason: 'revoked' });
      assert.equal(await r.verifyApiToken(bureau.token), undefined);
      await assert.rejects(r.revokeApiToken('nope'), NotFoundError);
    }));

    test('users: password hashed with its own salt, sign-in checked, login name unique, engineer needs a firm', withRegistry(async (r) => {
      const f = testFirm();
      await r.createFirm(f);
      const eng = await r.createUser({ login: 'zhang.wei', displayName: '张伟', role: 'engineer', firmId: f.id, password: 'loom-room-2026' });
      const bur = await r.createUser({ login: 'li.na', displayName: '李娜', role: 'bureau', firmId: f.id, password: 'loom-room-2026' });
      assert.deepEqual([eng.role, eng.firmId, eng.disabled, eng.lastLoginAt], ['engineer', f.id, false, null]);
      assert.equal(bur.firmId, null, 'only engineers carry a firm');
      assert.ok(!JSON.stringify(await r.listUsers()).includes('loom-room-2026'), 'no password or hash is listed');
      assert.deepEqual((await r.listUsers()).map((u) => u.login), ['li.na', 'zhang.wei']);
      await assert.rejects(r.createUser({ login: 'zhang.wei', displayName: 'x', role: 'bureau', firmId: null, password: 'another-password' }), ConflictError);
      await assert.rejects(r.createUser({ login: 'x.y', displayName: 'x', role: 'engineer', firmId: 'missing', password: 'another-password' }), NotFoundError);
      assert.deepEqual(await r.checkPassword('zhang.wei', 'loom-room-2026'), { ok: true, user: eng });
      assert.deepEqual(await r.checkPassword('zhang.wei', 'loom-room-2027'), { ok: false, reason: 'wrong' });
      assert.deepEqual(await r.checkPassword('nobody', 'loom-room-2026'), { ok: false, reason: 'unknown' });
      const moved = await r.updateUser(eng.id, { displayName: '张伟 (织造)' });
      assert.deepEqual([moved.displayName, moved.firmId], ['张伟 (织造)', f.id]);
      assert.equal((await r.updateUser(bur.id, { role: 'admin' })).role, 'admin');
      await assert.rejects(r.updateUser(bur.id, { role: 'engineer' }), NotFoundError, 'an engineer without a firm');
      await r.updateUser(eng.id, { disabled: true });
      assert.deepEqual(await r.checkPassword('zhang.wei', 'loom-room-2026'), { ok: false, reason: 'disabled' });
      await r.setUserPassword(eng.id, 'a-new-password');
      await r.updateUser(eng.id, { disabled: false });
      assert.equal((await r.checkPassword('zhang.wei', 'a-new-password')).ok, true);
      assert.deepEqual(await r.checkPassword('zhang.wei', 'loom-room-2026'), { ok: false, reason: 'wrong' });
      await assert.rejects(r.updateUser('nope', { disabled: true }), NotFoundError);
      await assert.rejects(r.setUserPassword('nope', 'a-new-password'), NotFoundError);
    }));

    test('users: a given password must be changed; the flag persists, an admin-set one sets it, one\'s own clears it', withRegistry(async (r) => {
      const u = await r.createUser({ login: 'admin', displayName: 'admin', role: 'admin', firmId: null, password: 'generated-pw-01', mustChangePassword: true });
      assert.equal(u.mustChangePassword, true);
      assert.equal((await r.getUser(u.id))?.mustChangePassword, true);
      const signedIn = await r.checkPassword('admin', 'generated-pw-01');
      assert.equal(signedIn.ok && signedIn.user.mustChangePassword, true, 'sign-in tells');
      const s = await r.createSession(u.id, { absoluteMs: 60_000 });
      const check = await r.checkSession(s, { idleMs: 60_000 });
      assert.equal(check.ok && check.user.mustChangePassword, true, 'the session tells');
      await r.setUserPassword(u.id, 'my-own-password');
      assert.equal((await r.getUser(u.id))?.mustChangePassword, false, 'their own password clears it');
      await r.setUserPassword(u.id, 'reset-by-admin-1', { mustChange: true });
      assert.equal((await r.listUsers()).find((x) => x.id === u.id)?.mustChangePassword, true, 'a reset sets it again');
      await r.updateUser(u.id, { displayName: '管理员' });
      assert.equal((await r.getUser(u.id))?.mustChangePassword, true, 'other changes keep it');
      const plain = await r.createUser({ login: 'li.na', displayName: '李娜', role: 'bureau', firmId: null, password: 'chosen-by-admin' });
      assert.equal(plain.mustChangePassword, false, 'unset by default');
    }));

    test('sessions: idle timeout, absolute lifetime, sign-out, and disabling or a new password ends them', withRegistry(async (r) => {
      const u = await r.createUser({ login: 'wang.fang', displayName: '王芳', role: 'bureau', firmId: null, password: 'bureau-password' });
      const t0 = Date.now();
      const idleMs = 60 * 60_000;
      const s = await r.createSession(u.id, { absoluteMs: 3 * idleMs, now: t0 });
      assert.equal((await r.getUser(u.id))?.lastLoginAt, t0, 'the sign-in is recorded');
      const check = await r.checkSession(s, { idleMs, now: t0 + idleMs - 1 });
      assert.equal(check.ok && check.user.id, u.id);
      assert.deepEqual(await r.checkSession(s, { idleMs, now: t0 + idleMs - 1 + idleMs }), { ok: false, reason: 'idle' }, 'idle since its last use');
      assert.equal((await r.checkSession(s, { idleMs, now: t0 + 2 * idleMs - 2 })).ok, true, 'each use (to the minute) restarts the idle time');
      assert.deepEqual(await r.checkSession(s, { idleMs, now: t0 + 3 * idleMs }), { ok: false, reason: 'expired' }, 'never past its lifetime');
      assert.deepEqual(await r.checkSession('ss_unknown', { idleMs }), { ok: false, reason: 'unknown' });
      const out = await r.createSession(u.id, { absoluteMs: idleMs });
      await r.endSession(out);
      assert.deepEqual(await r.checkSession(out, { idleMs }), { ok: false, reason: 'unknown' }, 'signed out');
      const a = await r.createSession(u.id, { absoluteMs: idleMs });
      await r.updateUser(u.id, { disabled: true });
      await r.updateUser(u.id, { disabled: false });
      assert.equal((await r.checkSession(a, { idleMs })).ok, false, 'disabling ends the session for good');
      const b = await r.createSession(u.id, { absoluteMs: idleMs });
      await r.setUserPassword(u.id, 'bureau-password-2');
      assert.equal((await r.checkSession(b, { idleMs })).ok, false, 'a new password ends the session');
      const c = await r.createSession(u.id, { absoluteMs: idleMs });
      await r.updateUser(u.id, { displayName: '王芳芳' });
      assert.equal((await r.checkSession(c, { idleMs })).ok, true, 'a new display name keeps it');
    }));

    test('ADMIN_TOKEN changed: the previous operator token is revoked and audited, and is not brought back', withRegistry(async (r) => {
      const first = await r.ensureApiToken('at_operator_token_first_0123456', 'admin', null, 'admin (ADMIN_TOKEN)');
      const minted = await r.createApiToken('admin', null, 'minted by an admin');
      const second = await r.ensureApiToken('at_operator_token_second_012345', 'admin', null, 'admin (ADMIN_TOKEN)');
      assert.notEqual(first.tokenId, second.tokenId);
      assert.deepEqual(await r.checkApiToken('at_operator_token_first_0123456'), { ok: false, reason: 'revoked' });
      assert.equal((await r.verifyApiToken('at_operator_token_second_012345'))?.role, 'admin');
      assert.equal((await r.verifyApiToken(minted.token))?.role, 'admin', 'tokens an admin created stay until revoked one by one');
      assert.equal((await r.getApiToken(second.tokenId))?.operator, true);
      const log = await r.listAudit({ limit: 10, target: first.tokenId });
      assert.deepEqual(log.map((e) => e.action), ['token.revoke']);
      await assert.rejects(r.ensureApiToken('at_operator_token_first_0123456', 'admin', null, 'admin (ADMIN_TOKEN)'), ConflictError);
      assert.equal((await r.ensureApiToken('at_operator_token_second_012345', 'admin', null, 'admin (ADMIN_TOKEN)')).tokenId, second.tokenId);
    }));
  });
}
