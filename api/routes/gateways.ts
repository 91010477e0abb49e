// Gateways (edge nodes) of a firm: one MQTT credential that publishes for the firm's devices assigned to it.
// Provisioned, re-assigned, rotated and removed like devices: an admin or an engineer of the firm manages them, the
// bureau reads, another firm's engineer gets 404. Every change is audited; a rotation, removal or new device list
// closes the gateway's live connection (it reconnects with what now holds).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError, type ApiPrincipal, type Gateway as GatewayRecord, type Registry } from '../../common/registry/registry.ts';
import type { BrokerControl } from '../../common/contract/control.ts';
import { DEVICE_ID_PATTERN, topicFor } from '../../common/contract/topics.ts';
import { assertFirmVisible, audit, mayReadFirm, requireRole } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { ErrorBody, FirmParams, Nullable, TimeParam } from '../schemas.ts';
import { expiryOf } from './tokens.ts';

interface GatewayOptions { registry: Registry; control: BrokerControl | undefined }

const GatewayParams = Type.Object({ id: Type.String({ pattern: DEVICE_ID_PATTERN }) });
const DeviceIds = Type.Array(Type.String({ pattern: DEVICE_ID_PATTERN }), { maxItems: 1000, description: 'devices of the same firm the gateway publishes for' });

const GatewayFields = {
  id: Type.String({ description: 'gateway id: its MQTT clientId and username; from the device id namespace' }),
  firmId: Type.String(), name: Type.String(), deviceIds: Type.Array(Type.String()),
  tokenExpiresAt: Nullable(Type.Integer(), { description: 'when the gateway token stops working; null: it does not expire' }),
  createdAt: Type.Integer(), lastSeenAt: Nullable(Type.Integer()),
  online: Type.Boolean({ description: 'connected to the broker now' }),
};
const Gateway = Type.Object(GatewayFields);

const ProvisionedGateway = Type.Object({
  ...GatewayFields,
  token: Type.String({ description: 'MQTT password; shown only in this response' }),
  mqtt: Type.Object({
    username: Type.String(), clientId: Type.String(),
    errorsTopic: Type.String({ description: 'where the platform reports the gateway\'s rejected messages (the one topic it may subscribe to)' }),
    publishTopicPattern: Type.String({ description: 'topics it publishes on, one device at a time' }),
  }),
});

const NewGatewayBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  deviceIds: DeviceIds,
  id: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN, description: 'gateway id (lower case, digits, - and _; not any device\'s); generated when absent' })),
  tokenExpiresAt: Type.Optional(TimeParam),
}, { additionalProperties: false });

const GatewayChangeBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  deviceIds: Type.Optional(DeviceIds),
}, { additionalProperties: false, minProperties: 1 });

const RotationBody = Type.Object({ expiresAt: Type.Optional(TimeParam) }, { additionalProperties: false });

/** The gateway, when it exists and the caller may see its firm; 404 otherwise. */
export async function visibleGateway(registry: Registry, p: ApiPrincipal, id: string): Promise<GatewayRecord> {
  const g = await registry.getGateway(id);
  if (!g || !mayReadFirm(p, g.firmId)) throw new HttpError(404, `gateway ${id} not found`);
  return g;
}

/** The gateways that publish for a device (read before it is deleted: deletion takes it off their lists). */
export async function gatewaysOf(registry: Registry, device: { id: string; firmId: string }): Promise<string[]> {
  return (await registry.listGateways(device.firmId)).filter((g) => g.deviceIds.includes(device.id)).map((g) => g.id);
}

/** The registry's refusals of a gateway's id or device list. */
const REFUSALS = [[ConflictError, 409], [NotFoundError, 400]] as const;

/** The gateway without what only the broker reads (its Sparkplug mappings have their own route). */
const shown = ({ sparkplugMappings: _, ...g }: GatewayRecord) => g;

export const gatewayRoutes: FastifyPluginAsyncTypebox<GatewayOptions> = async (app, { registry, control }) => {
  app.post('/firms/:firmId/gateways', {
    schema: {
      tags: ['gateways'], summary: 'Provision a gateway for some of the firm\'s devices; the token is returned only here',
      params: FirmParams, body: NewGatewayBody, response: { 201: ProvisionedGateway, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    assertFirmVisible(req.principal, req.params.firmId);
    if (!(await registry.getFirm(req.params.firmId))) throw new HttpError(404, `firm ${req.params.firmId} not found`);
    const { tokenExpiresAt, ...body } = req.body;
    const expiresAt = expiryOf(tokenExpiresAt, 'tokenExpiresAt');
    const { gateway, token } = await httpErrors(
      () => registry.createGateway({ firmId: req.params.firmId, ...body, ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }) }), REFUSALS);
    await audit(registry, req.principal, 'gateway.provision', gateway.id, { firmId: gateway.firmId, name: gateway.name, deviceIds: gateway.deviceIds });
    const mqtt = {
      username: gateway.id, clientId: gateway.id, errorsTopic: topicFor(gateway.firmId, gateway.id, 'errors'),
      publishTopicPattern: topicFor(gateway.firmId, '<device id>', 'telemetry').replace(/telemetry$/, '{telemetry|state|status}'),
    };
    return reply.code(201).send({ ...shown(gateway), token, mqtt });
  });

  app.get('/firms/:firmId/gateways', {
    schema: { tags: ['gateways'], summary: 'The gateways of a firm', params: FirmParams, response: { 200: Type.Array(Gateway), 404: ErrorBody } },
  }, async (req) => {
    assertFirmVisible(req.principal, req.params.firmId);
    if (!(await registry.getFirm(req.params.firmId))) throw new HttpError(404, `firm ${req.params.firmId} not found`);
    return (await registry.listGateways(req.params.firmId)).map(shown);
  });

  app.get('/gateways/:id', {
    schema: { tags: ['gateways'], summary: 'One gateway (engineers: only their firm\'s)', params: GatewayParams, response: { 200: Gateway, 404: ErrorBody } },
  }, async (req) => shown(await visibleGateway(registry, req.principal, req.params.id)));

  app.patch('/gateways/:id', {
    schema: {
      tags: ['gateways'], summary: 'Rename a gateway or replace its device list (the firm\'s devices only); a new list closes its connection',
      params: GatewayParams, body: GatewayChangeBody, response: { 200: Gateway, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const before = await visibleGateway(registry, req.principal, req.params.id);
    const after = await httpErrors(() => registry.updateGateway(before.id, req.body), REFUSALS);
    const devicesChanged = after.deviceIds.join() !== before.deviceIds.join();
    // It reconnects and is admitted with the list that now holds.
    if (devicesChanged) await control?.disconnect(after.id, 'gateway device list changed');
    await audit(registry, req.principal, 'gateway.update', after.id, {
      firmId: after.firmId, ...(req.body.name === undefined ? {} : { name: after.name }), ...(devicesChanged ? { deviceIds: after.deviceIds, before: before.deviceIds } : {}),
    });
    return shown(after);
  });

  app.post('/gateways/:id/token', {
    schema: {
      tags: ['gateways'], summary: 'Rotate the gateway token: the old one stops working at once and the live connection is closed',
      params: GatewayParams, body: RotationBody,
      response: { 200: Type.Object({ id: Type.String(), token: Type.String(), tokenExpiresAt: Nullable(Type.Integer()) }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
    // The body is optional: a POST without one is a rotation without expiry.
    preValidation: async (req) => { req.body ??= {}; },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const g = await visibleGateway(registry, req.principal, req.params.id);
    const expiresAt = expiryOf(req.body.expiresAt, 'expiresAt');
    const token = await httpErrors(() => registry.rotateGatewayToken(g.id, expiresAt === undefined ? {} : { expiresAt }), [[NotFoundError, 404]]);
    await control?.disconnect(g.id, 'gateway token rotated');
    await audit(registry, req.principal, 'gateway.rotate-token', g.id, { firmId: g.firmId, expiresAt: expiresAt ?? null });
    return { id: g.id, token, tokenExpiresAt: expiresAt ?? null };
  });

  app.delete('/gateways/:id', {
    schema: { tags: ['gateways'], summary: 'Revoke and remove a gateway (its devices and their data stay); its id is retired', params: GatewayParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    const g = await visibleGateway(registry, req.principal, req.params.id);
    await httpErrors(() => registry.deleteGateway(g.id), [[NotFoundError, 404]]);
    await control?.disconnect(g.id, 'gateway deleted');
    await audit(registry, req.principal, 'gateway.delete', g.id, { firmId: g.firmId, name: g.name, deviceIds: g.deviceIds });
    return reply.code(204).send(null);
  });
};
