// Devices, their telemetry and machine-state history read back from InfluxDB, and their rejected messages.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { deviceType, metricSpec } from '../../common/contract/catalogue.ts';
import { range } from '../time-range.ts';
import { DAY, HOUR } from '../../common/time.ts';
import type { ApiPrincipal, Registry } from '../../common/registry/registry.ts';
import type { Spool } from '../../common/spool/spool.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { assertFirmVisible, visibleDevice } from '../access.ts';
import { HttpError } from '../errors.ts';
import { Device, DeviceParams, ErrorBody, FirmParams, StateHistory, TimeParam } from '../schemas.ts';

const DeadLetter = Type.Object({
  id: Type.Integer(), receivedAt: Type.Integer(), firmId: Type.String(), deviceId: Type.String(), topic: Type.String(),
  field: Type.String(), rule: Type.String(), reason: Type.String(), payload: Type.String(),
});

export const deviceRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; store: TelemetryStore; spool: Spool }> = async (app, { registry, store, spool }) => {
  const readableDevice = (req: { principal: ApiPrincipal }, id: string) => visibleDevice(registry, req.principal, id);

  app.get('/devices', { schema: { tags: ['devices'], summary: 'All devices you may see', response: { 200: Type.Array(Device) } } }, async (req) => {
    return registry.listDevices(req.principal.role === 'engineer' ? (req.principal.firmId ?? '') : undefined);
  });

  app.get('/devices/:id', { schema: { tags: ['devices'], summary: 'One device (engineers: only their firm’s)', params: DeviceParams, response: { 200: Device, 404: ErrorBody } } }, async (req) => readableDevice(req, req.params.id));

  app.get('/devices/:id/telemetry', {
    schema: {
      tags: ['telemetry'], summary: 'One metric of a device over a time range (default: the last hour, at most 31 days)',
      params: DeviceParams,
      querystring: Type.Object({ metric: Type.String({ minLength: 1 }), from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), limit: Type.Integer({ minimum: 1, maximum: 100000, default: 10000 }) }),
      response: {
        200: Type.Object({ deviceId: Type.String(), metric: Type.String(), unit: Type.String(), from: Type.Integer(), to: Type.Integer(), points: Type.Array(Type.Object({ ts: Type.Integer(), value: Type.Number() })) }),
        400: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const device = await readableDevice(req, req.params.id);
    const spec = metricSpec(device.type, req.query.metric);
    const type = deviceType(device.type);
    if (!spec || !type) throw new HttpError(400, `"${req.query.metric}" is not a metric of a ${device.type}; it has: ${type?.metrics.map((m) => m.name).join(', ')}`);
    const { from, to } = range(req.query.from, req.query.to, HOUR, 31 * DAY, { closed: true });
    const points = await store.deviceSeries({ firmId: device.firmId, deviceId: device.id, measurement: type.measurement, metric: spec.name, from, to, limit: req.query.limit });
    return { deviceId: device.id, metric: spec.name, unit: spec.unit, from, to, points };
  });

  app.get('/devices/:id/states', {
    schema: {
      tags: ['telemetry'], summary: 'Machine-state events of a device in [from, to) (default: the last 24 h, at most 31 days) and the state before from',
      params: DeviceParams,
      querystring: Type.Object({ from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), limit: Type.Integer({ minimum: 1, maximum: 10000, default: 1000 }) }),
      response: { 200: StateHistory, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    const device = await readableDevice(req, req.params.id);
    const { from, to } = range(req.query.from, req.query.to, DAY, 31 * DAY);
    const { limit } = req.query;
    // Device and firm: a device id provisioned again under another firm does not show the old firm's history.
    // The state before `from` is looked for a year back: bounded, so not every shard of the history opens.
    const [h] = await store.stateHistory({ firmId: device.firmId, deviceId: device.id, from, to, lookbackMs: 366 * DAY, limit: limit + 1 });
    const rows = h?.events ?? [];
    return { deviceId: device.id, from, to, limit, before: h?.before ?? null, events: rows.slice(0, limit), truncated: rows.length > limit };
  });

  app.get('/firms/:firmId/rejected', {
    schema: {
      tags: ['devices'], summary: 'Rejected messages of a firm, newest first, with the reason',
      params: FirmParams,
      querystring: Type.Object({ deviceId: Type.Optional(Type.String()), beforeId: Type.Optional(Type.Integer()), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      response: { 200: Type.Array(DeadLetter), 404: ErrorBody },
    },
  }, async (req) => {
    assertFirmVisible(req.principal, req.params.firmId);
    return spool.listDeadLetters({ firmId: req.params.firmId, limit: req.query.limit, ...(req.query.deviceId ? { deviceId: req.query.deviceId } : {}), ...(req.query.beforeId ? { beforeId: req.query.beforeId } : {}) });
  });
};
