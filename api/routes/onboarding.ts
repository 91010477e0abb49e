// Device lifecycle for a firm's engineers: where to connect (and the CA certificate to trust), status, token
// rotation, removal, a device's own counter rates; rejected messages counted; the audit trail of who did what.
import fs from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, type Registry } from '../../common/registry/registry.ts';
import type { Spool } from '../../common/spool/spool.ts';
import type { BrokerControl } from '../../common/contract/control.ts';
import { localDate } from '../../common/time.ts';
import { MAX_OVERRIDE_FACTOR, counterRules, overrideProblem } from '../../common/admission/plausibility.ts';
import { assertFirmVisible, audit, requireRole, visibleDevice } from '../access.ts';
import { CA_PATH, certificatesOf, deviceConnection, type MqttEndpoints } from '../connection.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { DeviceConnection, DeviceParams, ErrorBody, FirmParams, Nullable, TimeParam } from '../schemas.ts';
import { expiryOf } from './tokens.ts';
import { gatewaysOf } from './gateways.ts';

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

const CounterRate = Type.Object({
  counter: Type.String(), unit: Type.String(),
  typeMaxPerHour: Type.Number({ description: 'the bound of the device type (catalogue)' }),
  maxPerHour: Nullable(Type.Number({ description: 'the device\'s own bound, when set (replaces the type\'s)' })),
  mostPerHour: Type.Number({ description: `the largest own bound allowed: ${MAX_OVERRIDE_FACTOR} × the type's` }),
});
const CounterParams = Type.Object({ id: Type.String(), counter: Type.String() });

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

/**
 * The CA certificate devices trust for MQTT over TLS and WSS. Open without a token: it is public by nature, and
 * engineers fetch it with curl onto devices or from a plain link on the device page.
 */
const caRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, { mqtt }) => {
  app.get(CA_PATH.replace('/api/v1', ''), {
    config: { public: true },
    schema: {
      tags: ['devices'], summary: 'The CA certificate (PEM) the broker\'s TLS certificate chains to; 404 when TLS is off or no CA is configured', security: [],
      response: { 200: { description: 'PEM', content: { 'application/x-pem-file': { schema: Type.String() } } }, 404: ErrorBody, 500: ErrorBody },
    },
  }, async (_req, reply) => {
    if (!mqtt?.tlsPort) throw new HttpError(404, 'MQTT over TLS is off on this platform (no TLS_CERT_FILE): devices connect with plain MQTT');
    if (!mqtt.caFile) throw new HttpError(404, 'MQTT over TLS is on, but no CA certificate is configured (TLS_CA_FILE): the broker\'s certificate should come from a CA devices already trust; ask the platform admin');
    // Read on each request: a renewed CA file is served without a restart.
    const pem = certificatesOf(await fs.readFile(mqtt.caFile, 'utf8'));
    if (pem === '') throw new HttpError(500, 'TLS_CA_FILE holds no PEM certificate');
    return reply.type('application/x-pem-file').header('content-disposition', 'attachment; filename="ca.pem"').send(`${pem}\n`);
  });
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
    const gateways = await gatewaysOf(registry, d);
    await httpErrors(() => registry.deleteDevice(d.id), [[NotFoundError, 404]]);
    await control?.disconnect(d.id, 'device deleted');
    // A gateway that published for it reconnects with its shorter list.
    for (const g of gateways) await control?.disconnect(g, 'gateway device list changed');
    await audit(registry, req.principal, 'device.delete', d.id, { firmId: d.firmId, type: d.type, name: d.name });
    return reply.code(204).send(null);
  });
};

/** The counters of a device with their bounds: the type's and its own. */
function ratesOf(type: string, own: Record<string, number> | undefined) {
  return counterRules(type).map((r) => ({
    counter: r.name, unit: r.unit, typeMaxPerHour: r.maxPerHour, maxPerHour: own?.[r.name] ?? null, mostPerHour: r.maxPerHour * MAX_OVERRIDE_FACTOR,
  }));
}

/**
 * A device's own maximum counter rates (a meter on a bigger machine than its type's rating): read by whoever sees
 * the device, set by an admin or an engineer of its firm, audited; the broker applies them within 30 s.
 */
const rateRoutes: FastifyPluginAsyncTypebox<OnboardingOptions> = async (app, { registry }) => {
  app.get('/devices/:id/rates', {
    schema: { tags: ['devices'], summary: 'The counters of a device with their plausible maximum rate: the type\'s and the device\'s own', params: DeviceParams, response: { 200: Type.Array(CounterRate), 404: ErrorBody } },
  }, async (req) => {
    const d = await visibleDevice(registry, req.principal, req.params.id);
    return ratesOf(d.type, d.rateOverrides);
  });

  app.put('/devices/:id/rates/:counter', {
    schema: {
      tags: ['devices'], summary: `Set the device's own maximum rate of one counter (per hour, at most ${MAX_OVERRIDE_FACTOR} × its type's); audited`,
      params: CounterParams, body: Type.Object({ maxPerHour: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
      response: { 200: Type.Array(CounterRate), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const d = await visibleDevice(registry, req.principal, req.params.id);
    const problem = overrideProblem(d.type, req.params.counter, req.body.maxPerHour);
    if (problem) throw new HttpError(400, problem);
    const own = await httpErrors(() => registry.setRateOverride(d.id, req.params.counter, req.body.maxPerHour), [[NotFoundError, 404]]);
    const typeMax = counterRules(d.type).find((r) => r.name === req.params.counter)?.maxPerHour;
    await audit(registry, req.principal, 'device.rate-override', d.id, { firmId: d.firmId, counter: req.params.counter, maxPerHour: req.body.maxPerHour, typeMaxPerHour: typeMax });
    return ratesOf(d.type, own);
  });

  app.delete('/devices/:id/rates/:counter', {
    schema: {
      tags: ['devices'], summary: 'Remove the device\'s own maximum rate of one counter (its type\'s applies again); audited',
      params: CounterParams, response: { 200: Type.Array(CounterRate), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const d = await visibleDevice(registry, req.principal, req.params.id);
    if (!counterRules(d.type).some((r) => r.name === req.params.counter)) throw new HttpError(404, `"${req.params.counter}" is not a counter of device ${d.id}`);
    const own = await httpErrors(() => registry.setRateOverride(d.id, req.params.counter, null), [[NotFoundError, 404]]);
    await audit(registry, req.principal, 'device.rate-override', d.id, { firmId: d.firmId, counter: req.params.counter, maxPerHour: null });
    return ratesOf(d.type, own);
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
  await app.register(caRoutes, opts);
  await app.register(deviceLifecycleRoutes, opts);
  await app.register(rateRoutes, opts);
  await app.register(recordRoutes, opts);
};
