// The registry conformance suite's gateway cases (run by registryConformance against every adapter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, deviceIdUnavailable, type Registry } from '../../common/registry/registry.ts';
import { notFirmDevice } from '../../common/registry/gateways.ts';
import { sha256 } from '../../common/ids.ts';
import { testFirm } from '../helpers/system.ts';

type WithRegistry = (fn: (r: Registry) => Promise<void>) => () => Promise<void>;

/** Two firms, two devices of the first and one of the second. */
async function twoFirms(r: Registry) {
  const f = testFirm();
  const g = testFirm();
  await r.createFirm(f);
  await r.createFirm(g);
  const d1 = (await r.createDevice({ firmId: f.id, type: 'loom', name: 'L1', id: 'gw-loom-1' })).device;
  const d2 = (await r.createDevice({ firmId: f.id, type: 'energy_meter', name: 'M1', id: 'gw-meter-1' })).device;
  const other = (await r.createDevice({ firmId: g.id, type: 'loom', name: 'X', id: 'gw-other-1' })).device;
  return { f, g, d1, d2, other };
}

export function gatewayConformance(withRegistry: WithRegistry): void {
  test('gateways: created with a token for the firm\'s devices, verified, listed, renamed, re-assigned', withRegistry(async (r) => {
    const { f, g, d1, d2 } = await twoFirms(r);
    const { gateway, token } = await r.createGateway({ firmId: f.id, name: '织造车间网关', deviceIds: [d2.id, d1.id, d1.id] });
    assert.match(gateway.id, /^gw-[0-9a-f]{10}$/);
    assert.match(token, /^gt_/);
    assert.deepEqual(
      { ...gateway, createdAt: 0 },
      { id: gateway.id, firmId: f.id, name: '织造车间网关', deviceIds: [d1.id, d2.id].sort(), tokenExpiresAt: null, createdAt: 0, lastSeenAt: null, online: false, sparkplugMappings: {} },
    );
    assert.ok(gateway.createdAt > 0);
    assert.deepEqual(await r.getGateway(gateway.id), gateway);
    assert.ok(!JSON.stringify(await r.listGateways()).includes(token), 'the token is not stored in clear');
    const ctx = await r.verifyGateway(gateway.id, token);
    assert.equal(ctx?.firm.id, f.id);
    assert.deepEqual(ctx?.devices.map((d) => [d.id, d.type]), [[d1.id, 'loom'], [d2.id, 'energy_meter']].sort());
    assert.equal(await r.verifyGateway(gateway.id, `${token}x`), undefined);
    assert.equal(await r.verifyGateway('unknown', token), undefined);
    assert.equal(await r.verifyDevice(gateway.id, token), undefined, 'a gateway is no device');
    const chosen = await r.createGateway({ firmId: g.id, name: 'G', deviceIds: [], id: 'edge-node-01' });
    assert.deepEqual(chosen.gateway.deviceIds, []);
    assert.deepEqual((await r.listGateways(f.id)).map((x) => x.id), [gateway.id]);
    assert.deepEqual(new Set((await r.listGateways()).map((x) => x.id)), new Set([gateway.id, 'edge-node-01']));
    const renamed = await r.updateGateway(gateway.id, { name: '一号网关' });
    assert.deepEqual([renamed.name, renamed.deviceIds], ['一号网关', [d1.id, d2.id].sort()]);
    const moved = await r.updateGateway(gateway.id, { deviceIds: [d2.id] });
    assert.deepEqual([moved.name, moved.deviceIds], ['一号网关', [d2.id]]);
    assert.deepEqual((await r.verifyGateway(gateway.id, token))?.devices.map((d) => d.id), [d2.id]);
    await assert.rejects(r.updateGateway('nope', { name: 'x' }), NotFoundError);
    await assert.rejects(r.createGateway({ firmId: 'missing', name: 'x', deviceIds: [] }), NotFoundError);
  }));

  test('gateways: only the firm\'s own devices, refused with one message whether unknown or another firm\'s', withRegistry(async (r) => {
    const { f, d1, other } = await twoFirms(r);
    for (const id of [other.id, 'no-such-device']) {
      await assert.rejects(r.createGateway({ firmId: f.id, name: 'x', deviceIds: [d1.id, id], id: `gw-${id}` }), (err: Error) => {
        assert.ok(err instanceof NotFoundError);
        assert.equal(err.message, notFirmDevice(id, f.id));
        return true;
      });
    }
    assert.deepEqual(await r.listGateways(), [], 'nothing half-created');
    const { gateway } = await r.createGateway({ firmId: f.id, name: 'x', deviceIds: [d1.id] });
    await assert.rejects(r.updateGateway(gateway.id, { deviceIds: [other.id] }), NotFoundError);
    await assert.rejects(r.updateGateway(gateway.id, { deviceIds: [gateway.id] }), NotFoundError, 'a gateway is not a device');
    assert.deepEqual((await r.getGateway(gateway.id))?.deviceIds, [d1.id], 'a refused change changes nothing');
    await r.deleteDevice(d1.id);
    assert.deepEqual((await r.getGateway(gateway.id))?.deviceIds, [], 'a deleted device leaves the gateway');
  }));

  test('gateway ids share the device id namespace, both ways, for good', withRegistry(async (r) => {
    const { f, g, d1 } = await twoFirms(r);
    await assert.rejects(r.createGateway({ firmId: f.id, name: 'x', deviceIds: [], id: d1.id }), (err: Error) => err instanceof ConflictError && err.message === deviceIdUnavailable(d1.id));
    await r.createGateway({ firmId: f.id, name: 'x', deviceIds: [], id: 'edge-1' });
    await assert.rejects(r.createDevice({ firmId: g.id, type: 'loom', name: 'y', id: 'edge-1' }), (err: Error) => err instanceof ConflictError && err.message === deviceIdUnavailable('edge-1'));
    await assert.rejects(r.createGateway({ firmId: g.id, name: 'x', deviceIds: [], id: 'edge-1' }), ConflictError);
    await r.deleteGateway('edge-1');
    assert.equal(await r.getGateway('edge-1'), undefined);
    await assert.rejects(r.deleteGateway('edge-1'), NotFoundError);
    await assert.rejects(r.createGateway({ firmId: f.id, name: 'again', deviceIds: [], id: 'edge-1' }), ConflictError, 'a removed gateway\'s id is retired');
    await assert.rejects(r.createDevice({ firmId: f.id, type: 'loom', name: 'again', id: 'edge-1' }), ConflictError);
    await r.deleteDevice(d1.id);
    await assert.rejects(r.createGateway({ firmId: f.id, name: 'x', deviceIds: [], id: d1.id }), ConflictError, 'a removed device\'s id too');
  }));

  test('gateway tokens: fast hash, rotation stops the old one at once, expiry, credentials for the broker', withRegistry(async (r) => {
    const { f, d1, d2 } = await twoFirms(r);
    const t0 = Date.now();
    const { gateway, token } = await r.createGateway({ firmId: f.id, name: 'x', deviceIds: [d1.id, d2.id], tokenExpiresAt: t0 + 60_000 });
    assert.equal(gateway.tokenExpiresAt, t0 + 60_000);
    assert.equal((await r.verifyGateway(gateway.id, token, t0 + 59_999))?.gateway.id, gateway.id);
    assert.equal(await r.verifyGateway(gateway.id, token, t0 + 60_000), undefined, 'refused once expired');
    assert.deepEqual(await r.gatewayCredentials([gateway.id, 'nope']), [{ gatewayId: gateway.id, tokenSha256: sha256(token), tokenExpiresAt: t0 + 60_000, deviceIds: [d1.id, d2.id].sort() }]);
    const rotated = await r.rotateGatewayToken(gateway.id);
    assert.equal(await r.verifyGateway(gateway.id, token, t0), undefined, 'the old token stops at rotation');
    assert.equal((await r.verifyGateway(gateway.id, rotated, t0 + 10 * 365 * 86_400_000))?.gateway.tokenExpiresAt, null);
    assert.equal((await r.gatewayCredentials([gateway.id]))[0]?.tokenSha256, sha256(rotated));
    await assert.rejects(r.rotateGatewayToken('nope'), NotFoundError);
    await r.deleteGateway(gateway.id);
    assert.equal(await r.verifyGateway(gateway.id, rotated), undefined);
    assert.deepEqual(await r.gatewayCredentials([gateway.id]), [], 'a removed gateway has no credential');
  }));

  test('gateways: Sparkplug mappings stored and returned as given; online and last seen recorded', withRegistry(async (r) => {
    const { f, d1 } = await twoFirms(r);
    const { gateway } = await r.createGateway({ firmId: f.id, name: 'x', deviceIds: [d1.id] });
    const mappings = { loom: { 'Loom/Picks': 'picks', 'Loom/Speed RPM': 'speed_rpm' }, energy_meter: { 'Meter/kWh': 'energy_kwh' } };
    assert.deepEqual((await r.setGatewayMappings(gateway.id, mappings)).sparkplugMappings, mappings);
    assert.deepEqual((await r.getGateway(gateway.id))?.sparkplugMappings, mappings);
    assert.deepEqual((await r.updateGateway(gateway.id, { name: 'y' })).sparkplugMappings, mappings, 'kept across edits');
    await assert.rejects(r.setGatewayMappings('nope', {}), NotFoundError);
    await r.setGatewayOnline(gateway.id, true, 5000);
    await r.setGatewayOnline(gateway.id, false, 4000);
    const seen = await r.getGateway(gateway.id);
    assert.deepEqual([seen?.online, seen?.lastSeenAt], [false, 5000], 'last seen only moves forward');
  }));
}
