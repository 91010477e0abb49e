// Devices, their telemetry and machine-state history read back from InfluxDB, their rejected messages, and the
// release of quarantined (implausible) counter readings an engineer has checked.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { deviceType, metricSpec } from '../../common/contract/catalogue.ts';
import { range, toMs } from '../time-range.ts';
import { DAY, HOUR, MINUTE } from '../../common/time.ts';
import type { ApiPrincipal, Device as DeviceRow, Registry } from '../../common/registry/registry.ts';
import type { Spool } from '../../common/spool/spool.ts';
import type { TelemetryStore } from '../../common/telemetry-store/store.ts';
import { assertFirmVisible, audit, requireRole, visibleDevice } from '../access.ts';
import { HttpError } from '../errors.ts';
import { Device, DeviceParams, ErrorBody, FirmParams, Nullable, StateHistory, TimeParam } from '../schemas.ts';

const DeadLetter = Type.Object({
  id: Type.Integer(), receivedAt: Type.Integer(), firmId: Type.String(), deviceId: Type.String(), topic: Type.String(),
  field: Type.String(), rule: Type.String(), reason: Type.String(), payload: Type.String(),
  releasable: Type.Boolean({ description: 'a quarantined reading kept whole: POST …/rejected/release stores it' }),
  releasedAt: Nullable(Type.Integer()), releasedBy: Nullable(Type.String()), releaseReason: Nullable(Type.String()),
});

const ReleaseBody = Type.Object({
  ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000, description: 'dead-letter ids from GET …/rejected' })),
  deviceId: Type.Optional(Type.String({ minLength: 1 })),
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  reason: Type.String({ minLength: 3, maxLength: 500, description: 'why the readings are real (kept with them and in the audit trail)' }),
}, { additionalProperties: false });

const ReleaseResult = Type.Object({
  released: Type.Array(Type.Integer()), alreadyReleased: Type.Array(Type.Integer()), points: Type.Integer(),
});

const UNIT_MS: Record<string, number> = { s: 1000, m: MINUTE, h: HOUR, d: DAY };
/** Interval lengths `points` chooses from: round ones, so chart ticks and interval starts read well. */
const INTERVALS = [1, 5, 10, 30].map((n) => n * 1000).concat([1, 5, 15, 30].map((n) => n * MINUTE), [1, 3, 6, 12, 24].map((n) => n * HOUR));

/** "15m" → 900000 (the schema's pattern guarantees the form). */
function durationMs(every: string): number {
  return Number(every.slice(0, -1)) * (UNIT_MS[every.slice(-1)] ?? 1000);
}

/** The shortest round interval that splits a span into at most `points` intervals (a day when none does). */
function intervalFor(spanMs: number, points: number): number {
  return INTERVALS.find((ms) => Math.ceil(spanMs / ms) <= points) ?? DAY;
}

interface DeviceRouteOptions { registry: Registry; store: TelemetryStore; spool: Spool }

/** The newest value of each metric of a device within 30 days (as far back as store-and-forward data may come). */
async function newestValues(store: TelemetryStore, device: Pick<DeviceRow, 'id' | 'firmId' | 'type'>, now: number): Promise<Array<{ metric: string; unit: string; ts: number; value: number }>> {
  const type = deviceType(device.type);
  if (!type) return [];
  // An hour ahead for a device clock that runs fast.
  const fields = type.metrics.map((m) => ({ measurement: type.measurement, field: m.name, after: now - 30 * DAY, until: now + HOUR }));
  const found = await store.latestValues({ kind: 'device', id: device.id }, fields);
  return type.metrics.flatMap((m) => {
    // The device's own firm only: its series under another firm's tags are not its history.
    const newest = found.filter((v) => v.field === m.name && v.owner.firmId === device.firmId && typeof v.value === 'number').sort((a, b) => b.ts - a.ts)[0];
    return newest ? [{ metric: m.name, unit: m.unit, ts: newest.ts, value: newest.value as number }] : [];
  });
}

/** The devices a caller may see. */
const deviceReadRoutes: FastifyPluginAsyncTypebox<DeviceRouteOptions> = async (app, { registry }) => {
  const readableDevice = (req: { principal: ApiPrincipal }, id: string) => visibleDevice(registry, req.principal, id);

  app.get('/devices', { schema: { tags: ['devices'], summary: 'All devices you may see', response: { 200: Type.Array(Device) } } }, async (req) => {
    return registry.listDevices(req.principal.role === 'engineer' ? (req.principal.firmId ?? '') : undefined);
  });

  app.get('/devices/:id', { schema: { tags: ['devices'], summary: 'One device (engineers: only their firm’s)', params: DeviceParams, response: { 200: Device, 404: ErrorBody } } }, async (req) => readableDevice(req, req.params.id));
};

/** What InfluxDB holds of one device: a metric over a range, its newest values, its machine states. */
const deviceTelemetryRoutes: FastifyPluginAsyncTypebox<DeviceRouteOptions> = async (app, { registry, store }) => {
  const readableDevice = (req: { principal: ApiPrincipal }, id: string) => visibleDevice(registry, req.principal, id);

  app.get('/devices/:id/telemetry', {
    schema: {
      tags: ['telemetry'], summary: 'One metric of a device over a time range (default: the last hour, at most 31 days)',
      description: 'Raw points by default. With `every` (or `points`) one point per interval [from + k·every, from + (k+1)·every) instead: '
        + '`value` is the mean of the raw points in it, `min`, `max` and `count` come with it, `ts` is the interval start; '
        + 'intervals without points are left out and `limit` counts intervals.',
      params: DeviceParams,
      querystring: Type.Object({
        metric: Type.String({ minLength: 1 }), from: Type.Optional(TimeParam), to: Type.Optional(TimeParam),
        limit: Type.Integer({ minimum: 1, maximum: 100000, default: 10000 }),
        every: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,5}(s|m|h|d)$', description: 'interval length, e.g. 60s, 15m, 1h, 1d' })),
        points: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'at most about this many intervals: the shortest of 1s, 5s, 10s, 30s, 1m, 5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d that fits (ignored with every)' })),
      }),
      response: {
        200: Type.Object({
          deviceId: Type.String(), metric: Type.String(), unit: Type.String(), from: Type.Integer(), to: Type.Integer(),
          everyMs: Nullable(Type.Integer({ description: 'interval length; null for raw points' })),
          points: Type.Array(Type.Object({ ts: Type.Integer(), value: Type.Number(), min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()), count: Type.Optional(Type.Integer()) })),
        }),
        400: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const device = await readableDevice(req, req.params.id);
    const spec = metricSpec(device.type, req.query.metric);
    const type = deviceType(device.type);
    if (!spec || !type) throw new HttpError(400, `"${req.query.metric}" is not a metric of a ${device.type}; it has: ${type?.metrics.map((m) => m.name).join(', ')}`);
    const { from, to } = range(req.query.from, req.query.to, HOUR, 31 * DAY, { closed: true });
    const q = { firmId: device.firmId, deviceId: device.id, measurement: type.measurement, metric: spec.name, from, to, limit: req.query.limit };
    const everyMs = req.query.every !== undefined ? durationMs(req.query.every) : req.query.points !== undefined ? intervalFor(to - from, req.query.points) : null;
    const head = { deviceId: device.id, metric: spec.name, unit: spec.unit, from, to, everyMs };
    if (everyMs === null) return { ...head, points: await store.deviceSeries(q) };
    const intervals = await store.seriesIntervals({ ...q, everyMs });
    return { ...head, points: intervals.map((i) => ({ ts: i.ts, value: i.mean, min: i.min, max: i.max, count: i.count })) };
  });

  app.get('/devices/:id/latest', {
    schema: {
      tags: ['telemetry'], summary: 'The newest stored value of each metric of a device within the last 30 days (what the device page shows before live values arrive)',
      params: DeviceParams,
      response: {
        200: Type.Object({ deviceId: Type.String(), values: Type.Array(Type.Object({ metric: Type.String(), unit: Type.String(), ts: Type.Integer(), value: Type.Number() })) }),
        404: ErrorBody,
      },
    },
  }, async (req) => {
    const device = await readableDevice(req, req.params.id);
    return { deviceId: device.id, values: await newestValues(store, device, Date.now()) };
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

};

/** A firm's rejected messages, and the release of its quarantined readings. */
const rejectedRoutes: FastifyPluginAsyncTypebox<DeviceRouteOptions> = async (app, { registry, spool }) => {
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

  app.post('/firms/:firmId/rejected/release', {
    schema: {
      tags: ['devices'],
      summary: 'Release quarantined counter readings (by id, or by device and time received) into the store, with a reason; audited, idempotent',
      description: 'Admin, or an engineer of the firm. The readings go through the spool and the ingest writer like any admitted point; '
        + 'when this answers they are durable. A reading released before is not stored again. Other rejections cannot be released.',
      params: FirmParams, body: ReleaseBody,
      response: { 200: ReleaseResult, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    // Another firm's engineer learns nothing (404 whatever exists); the bureau reads but does not change data.
    assertFirmVisible(req.principal, req.params.firmId);
    requireRole(req.principal, 'admin', 'engineer');
    const { ids, deviceId, reason } = req.body;
    if (ids === undefined && deviceId === undefined) throw new HttpError(400, 'name the readings: ids, or deviceId (with from and to received times, optional)');
    const from = req.body.from === undefined ? undefined : toMs(req.body.from, 0, 'from');
    const to = req.body.to === undefined ? undefined : toMs(req.body.to, 0, 'to', true);
    if (from !== undefined && to !== undefined && from > to) throw new HttpError(400, 'from must not be after to');
    const by = `${req.principal.name} (${req.principal.role}, token ${req.principal.tokenId})`;
    const result = await spool.releaseQuarantined({
      firmId: req.params.firmId, by, reason, at: Date.now(),
      ...(ids ? { ids } : {}), ...(deviceId ? { deviceId } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}),
    });
    for (const d of result.devices) {
      await audit(registry, req.principal, 'reading.release', d.deviceId, { firmId: req.params.firmId, ids: d.ids, points: d.points, reason });
    }
    return { released: result.released, alreadyReleased: result.alreadyReleased, points: result.points };
  });
};

export const deviceRoutes: FastifyPluginAsyncTypebox<DeviceRouteOptions> = async (app, opts) => {
  await app.register(deviceReadRoutes, opts);
  await app.register(deviceTelemetryRoutes, opts);
  await app.register(rejectedRoutes, opts);
};
