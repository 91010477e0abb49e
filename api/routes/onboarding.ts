// Device lifecycle for a firm's engineers: where to connect, status, token rotation, removal; rejected messages
// counted; the audit trail of who did what.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, type Registry } from '../../common/registry/registry.ts';
import type { Spool } from '../../common/spool/spool.ts';
import type { BrokerControl } from '../../common/contract/control.ts';
import { localDate } from '../../common/time.ts';
import { assertFirmVisible, audit, requireRole, visibleDevice } from '../access.ts';
import { deviceConnection, type MqttEndpoints } from '../connection.ts';
import { httpErrors } from '../errors.ts';
import { DeviceConnection, DeviceParams, ErrorBody, FirmParams, Nullable, TimeParam } from '../schemas.ts';
import { expiryOf } from './tokens.ts';

interface OnboardingOptions { registry: Registry; spool: Spool; control: BrokerControl | undefined; mqtt?: MqttEndpoints | undefined }

const DeviceStatus = Type.Object({
  id: Type.String(), online: Type.Boolean(), reportedStatus: Nullable(Type.String()),
  lastSeenAt: Nullable(Type.Integer()), lastTelemetryAt: Nullable(Type.Integer()),
  today: Type.Object({ day: Type.String(), accepted: Type.Integer(), rejected: Type.Integer() }),
  completeness: Type.Object({ received: Type.Integer(), expected: Type.Integer(), missing: Type.Integer(), ratio: Nullable(Type.Number()) }),
  clockSkewMs: Nullable(Type.Integer()),
});

/** Rotation takes an optional body: the new token's expiry. */
const RotationBody = Type.Object({ expiresAt: Type.Optional(TimeParam) }, { additionalProperties: false });

const AuditEntry = Type.Object({ id: Type.Integer(), at: Type.Integer(), actor: Type.String(), action: Type.String(), target: Type.String(), detail: Type.String() });

/** Status and where to connect: anyone who may see the device. */
const deviceInfoRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, { registry, mqtt }) => {
  app.get('/devices/:id/status', {
    schema: {
      tags: ['devices'], summary: 'Online state, last seen, messages accepted and rejected today, completeness from seq',
      params: DeviceParams, response: { 200: DeviceStatus, 404: ErrorBody },
    },
  }, async (req) => {
    const d = await visibleDevice(registry, req.principal, req.params.id);
    const day = localDate(Date.now());
    const today = (await registry.deviceDays(d.id, 1)).find((x) => x.day === day) ?? { day, accepted: 0, rejected: 0 };
    const received = Math.min(d.seqReceived, d.seqExpected);
    return {
      id: d.id, online: d.online, reportedStatus: d.reportedStatus, lastSeenAt: d.lastSeenAt, lastTelemetryAt: d.lastTelemetryAt, today,
      completeness: { received, expected: d.seqExpected, missing: d.seqExpected - received, ratio: d.seqExpected === 0 ? null : received / d.seqExpected },
      clockSkewMs: d.clockSkewMs,
    };
  });

  app.get('/devices/:id/connection', {
    schema: {
      tags: ['devices'], summary: 'Where the device connects (MQTT, MQTT over TLS, MQTT over WebSocket) and the topics it publishes and subscribes on',
      params: DeviceParams, response: { 200: DeviceConnection, 404: ErrorBody },
    },
  }, async (req) => deviceConnection(await visibleDevice(registry, req.principal, req.params.id), mqtt, req));
};

/** Token rotation and removal (admin, or an engineer of the device's firm); the live connection is closed. */
const deviceLifecycleRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, { registry, control }) => {
  app.post('/devices/:id/token', {
    schema: {
      tags: ['devices'], summary: 'Rotate the device token: the old one stops working at once and the live connection is closed',
      params: DeviceParams, body: RotationBody,
      response: { 200: Type.Object({ id: Type.String(), token: Type.String(), tokenExpiresAt: Nullable(Type.Integer()) }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
    // The body is optional: a POST without one is a rotation without expiry, not a body that fails its schema.
    preValidation: async (req) => { req.body ??= {}; },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const d = await visibleDevice(registry, req.principal, req.params.id);
    const expiresAt = expiryOf(req.body.expiresAt, 'expiresAt');
    const token = await registry.rotateDeviceToken(d.id, expiresAt === undefined ? {} : { expiresAt });
    await control?.disconnect(d.id, 'token rotated');
    await audit(registry, req.principal, 'device.rotate-token', d.id, { firmId: d.firmId, expiresAt: expiresAt ?? null });
    return { id: d.id, token, tokenExpiresAt: expiresAt ?? null };
  });

  app.delete('/devices/:id', {
    schema: { tags: ['devices'], summary: 'Revoke and remove a device (its stored telemetry stays)', params: DeviceParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    const d = await visibleDevice(registry, req.principal, req.params.id);
    await httpErrors(() => registry.deleteDevice(d.id), [[NotFoundError, 404]]);
    await control?.disconnect(d.id, 'device deleted');
    await audit(registry, req.principal, 'device.delete', d.id, { firmId: d.firmId, type: d.type, name: d.name });
    return reply.code(204).send(null);
  });
};

/** Rejections counted per device, rule and day, and the audit trail. */
const recordRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, { registry, spool }) => {
  app.get('/firms/:firmId/rejected/summary', {
    schema: {
      tags: ['devices'], summary: 'Rejected messages counted per device, rule and day (every rejection, also those not kept in full)',
      params: FirmParams, querystring: Type.Object({ deviceId: Type.Optional(Type.String()), sinceDay: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) }),
      response: { 200: Type.Array(Type.Object({ day: Type.String(), deviceId: Type.String(), rule: Type.String(), count: Type.Integer() })), 404: ErrorBody },
    },
  }, async (req) => {
    assertFirmVisible(req.principal, req.params.firmId);
    const rows = await spool.rejectionCounts({ firmId: req.params.firmId, ...(req.query.deviceId ? { deviceId: req.query.deviceId } : {}), ...(req.query.sinceDay ? { sinceDay: req.query.sinceDay } : {}) });
    return rows.map(({ day, deviceId, rule, count }) => ({ day, deviceId, rule, count }));
  });

  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Who provisioned, rotated or revoked what, and when (admin, bureau)',
      querystring: Type.Object({ target: Type.Optional(Type.String()), beforeId: Type.Optional(Type.Integer()), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      response: { 200: Type.Array(AuditEntry), 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return registry.listAudit({ limit: req.query.limit, ...(req.query.target ? { target: req.query.target } : {}), ...(req.query.beforeId ? { beforeId: req.query.beforeId } : {}) });
  });
};

export const onboardingRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, opts) => {
  await app.register(deviceInfoRoutes, opts);
  await app.register(deviceLifecycleRoutes, opts);
  await app.register(recordRoutes, opts);
};
