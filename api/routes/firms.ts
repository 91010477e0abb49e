// Firms and their devices: create, list, provision (the device token is shown once, in the 201 response).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { usccProblem } from '../../common/ids.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { ConflictError, NotFoundError, type Registry } from '../../common/registry/registry.ts';
import { HttpProblem, assertFirmReadable, audit, requireRole } from '../auth.ts';
import { deviceConnection, type MqttEndpoints } from './onboarding.ts';
import { Device, ErrorBody, Firm, FirmParams, NewDeviceBody, NewFirmBody, ProvisionedDevice } from '../schemas.ts';

export const firmRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; mqtt?: MqttEndpoints | undefined }> = async (app, { registry, mqtt }) => {
  app.post('/firms', {
    schema: { tags: ['firms'], summary: 'Register a firm (admin, bureau)', body: NewFirmBody, response: { 201: Firm, 400: ErrorBody, 409: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req, 'admin', 'bureau');
    const b = req.body;
    const problem = usccProblem(b.id);
    if (problem) throw new HttpProblem(400, `id is not a valid unified social credit code: ${problem}`);
    try {
      const firm = await registry.createFirm({ ...b, smartFactoryTier: b.smartFactoryTier ?? 'none', demo: b.demo ?? false });
      await audit(registry, req, 'firm.create', firm.id, { name: firm.name, county: firm.county, aboveScale: firm.aboveScale });
      return reply.code(201).send(firm);
    } catch (err) {
      if (err instanceof ConflictError) throw new HttpProblem(409, err.message);
      throw err;
    }
  });

  app.get('/firms', { schema: { tags: ['firms'], summary: 'List firms (engineers see their own)', response: { 200: Type.Array(Firm) } } }, async (req) => {
    const firms = await registry.listFirms();
    return req.principal.role === 'engineer' ? firms.filter((f) => f.id === req.principal.firmId) : firms;
  });

  app.get('/firms/:firmId', { schema: { tags: ['firms'], params: FirmParams, response: { 200: Firm, 404: ErrorBody } } }, async (req) => {
    assertFirmReadable(req, req.params.firmId);
    const firm = await registry.getFirm(req.params.firmId);
    if (!firm) throw new HttpProblem(404, `firm ${req.params.firmId} not found`);
    return firm;
  });

  app.post('/firms/:firmId/devices', {
    schema: {
      tags: ['devices'], summary: 'Provision a device under a firm; the token is returned only here',
      params: FirmParams, body: NewDeviceBody, response: { 201: ProvisionedDevice, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req, 'admin', 'engineer');
    assertFirmReadable(req, req.params.firmId);
    try {
      const { device, token } = await registry.createDevice({ firmId: req.params.firmId, ...req.body });
      await audit(registry, req, 'device.provision', device.id, { firmId: device.firmId, type: device.type, name: device.name });
      return reply.code(201).send({ ...device, token, mqtt: { username: device.id, clientId: device.id, topicPrefix: topicFor(device.firmId, device.id, 'telemetry').replace(/\/telemetry$/, '') }, connect: deviceConnection(device, mqtt, req) });
    } catch (err) {
      if (err instanceof NotFoundError) throw new HttpProblem(404, err.message);
      if (err instanceof ConflictError) throw new HttpProblem(409, err.message);
      throw err;
    }
  });

  app.get('/firms/:firmId/devices', { schema: { tags: ['devices'], params: FirmParams, response: { 200: Type.Array(Device), 404: ErrorBody } } }, async (req) => {
    assertFirmReadable(req, req.params.firmId);
    if (!(await registry.getFirm(req.params.firmId))) throw new HttpProblem(404, `firm ${req.params.firmId} not found`);
    return registry.listDevices(req.params.firmId);
  });
};
