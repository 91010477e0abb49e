// The registry conformance suite: every Registry adapter must pass it (see test/integration/registry-*.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, type Registry } from '../../common/registry/registry.ts';
import { testFirm } from '../helpers/system.ts';

export function registryConformance(name: string, make: () => Promise<{ registry: Registry; cleanup(): Promise<void> }>): void {
  describe(`Registry conformance: ${name}`, () => {
    const withRegistry = (fn: (r: Registry) => Promise<void>) => async () => {
      const { registry, cleanup } = await make();
      try { await fn(registry); } finally { await registry.close(); await cleanup(); }
    };

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
  });
}
