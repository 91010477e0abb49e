// Firms and their devices: create, list, provision (the device token is shown once, in the 201 response; a device
// id in use or ever used, in any firm, is refused with one message that does not say which).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { usccProblem } from '../../common/ids.ts';
import { PARKS } from '../../common/places.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { ConflictError, NotFoundError, type Registry } from '../../common/registry/registry.ts';
import { assertFirmVisible, audit, requireRole, visibleFirm } from '../access.ts';
import { deviceConnection, type MqttEndpoints } from '../connection.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { expiryOf } from './tokens.ts';
import { Device, ErrorBody, Firm, FirmParams, NewDeviceBody, NewFirmBody, ProvisionedDevice } from '../schemas.ts';

export const firmRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; mqtt?: MqttEndpoints | undefined }> = async (app, { registry, mqtt }) => {
  app.post('/firms', {
    schema: { tags: ['firms'], summary: 'Register a firm (admin, bureau)', body: NewFirmBody, response: { 201: Firm, 400: ErrorBody, 409: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'bureau');
    const b = req.body;
    const problem = usccProblem(b.id);
    if (problem) throw new HttpError(400, `id is not a valid unified social credit code: ${problem}`);
    const park = PARKS.find((p) => p.id === b.park);
    if (park?.county !== b.county) throw new HttpError(400, `park ${b.park} is not in county ${b.county}; its parks: ${PARKS.filter((p) => p.county === b.county).map((p) => p.id).join(', ')}`);
    const firm = await httpErrors(() => registry.createFirm({ ...b, smartFactoryTier: b.smartFactoryTier ?? 'none', demo: b.demo ?? false }), [[ConflictError, 409]]);
    await audit(registry, req.principal, 'firm.create', firm.id, { name: firm.name, county: firm.county, aboveScale: firm.aboveScale });
    return reply.code(201).send(firm);
  });

  app.get('/firms', { schema: { tags: ['firms'], summary: 'List firms (engineers see their own)', response: { 200: Type.Array(Firm) } } }, async (req) => {
    const firms = await registry.listFirms();
    return req.principal.role === 'engineer' ? firms.filter((f) => f.id === req.principal.firmId) : firms;
  });

  app.get('/firms/:firmId', { schema: { tags: ['firms'], summary: 'One firm (engineers: their own only)', params: FirmParams, response: { 200: Firm, 404: ErrorBody } } }, async (req) => {
    return visibleFirm(registry, req.principal, req.params.firmId);
  });

  app.post('/firms/:firmId/devices', {
    schema: {
      tags: ['devices'], summary: 'Provision a device under a firm; the token is returned only here',
      params: FirmParams, body: NewDeviceBody, response: { 201: ProvisionedDevice, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    assertFirmVisible(req.principal, req.params.firmId);
    const { tokenExpiresAt, ...body } = req.body;
    const expiresAt = expiryOf(tokenExpiresAt, 'tokenExpiresAt');
    const { device, token } = await httpErrors(
      () => registry.createDevice({ firmId: req.params.firmId, ...body, ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }) }), [[NotFoundError, 404], [ConflictError, 409]]);
    await audit(registry, req.principal, 'device.provision', device.id, { firmId: device.firmId, type: device.type, name: device.name });
    const topicPrefix = topicFor(device.firmId, device.id, 'telemetry').replace(/\/telemetry$/, '');
    return reply.code(201).send({ ...device, token, mqtt: { username: device.id, clientId: device.id, topicPrefix }, connect: deviceConnection(device, mqtt, req) });
  });

  app.get('/firms/:firmId/devices', { schema: { tags: ['devices'], summary: 'The devices of a firm', params: FirmParams, response: { 200: Type.Array(Device), 404: ErrorBody } } }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return registry.listDevices(req.params.firmId);
  });
};
