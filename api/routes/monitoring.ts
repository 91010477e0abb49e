// Monitoring that bureau staff and engineers can act on: machine states, OEE, a scope's overview and the monitoring
// settings (shifts, nominal speeds, quality counters). The energy, alarm and plan routes are plugins of their own
// (api/app.ts registers them side by side).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MACHINE_STATES, deviceTypes } from '../../common/contract/catalogue.ts';
import { actorOf, requireRole, resolveScope, visibleDevice, visibleFirm } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { range } from '../time-range.ts';
import type { Monitoring } from '../../analytics/index.ts';
import { PERIODS } from '../../analytics/states/oee.ts';
import { firmInScope, type Scope } from '../../analytics/base/scope.ts';
import { SEMI_E10, TIME_KEYS } from '../../analytics/states/states.ts';
import { DAY, MINUTE } from '../../common/time.ts';
import type { ApiPrincipal, Registry } from '../../common/registry/registry.ts';
import { ErrorBody, Nullable, ScopeBody, ScopeQuery, TimeParam, addSchemas, lit, ref } from '../schemas.ts';

interface MonitoringRouteOptions { registry: Registry; monitoring: Monitoring }

const TimesSchema = Type.Object(Object.fromEntries(TIME_KEYS.map((k) => [k, Type.Number({ description: 'milliseconds' })])), { $id: 'StateTimes' });
const Times = ref(TimesSchema);
const OeeFields = {
  observedMs: Type.Number(), plannedMs: Type.Number(), runningMs: Type.Number(),
  availability: Nullable(Type.Number()), performance: Nullable(Type.Number()), quality: Nullable(Type.Number()), oee: Nullable(Type.Number()),
  oeeFormula: Type.String(),
  speedRatio: Nullable(Type.Number({ description: 'mean speed while running ÷ nominal, before performance is capped at 1' })),
  nominalExceeded: Type.Boolean({ description: 'ran faster than the nominal speed: performance capped at 1; the nominal needs setting' }),
  loomEfficiency: Nullable(Type.Number({ description: 'stop-driven: running ÷ (running + fault), leaves idle and setup out; looms only; not OEE' })),
  loomEfficiencyScheduled: Nullable(Type.Number({ description: 'as mills count it: running ÷ scheduled time (observed − stopped − unknown); looms only; not OEE' })),
};
const DeviceOee = Type.Object({
  deviceId: Type.String(), name: Type.String(), type: Type.String(), times: Times, ...OeeFields,
  meanSpeed: Nullable(Type.Number()), nominalSpeed: Nullable(Type.Number()), nominalFrom: Nullable(Type.String({ description: 'device (set for it) or type' })),
  speedMetric: Nullable(Type.String()), reportedEfficiencyPct: Nullable(Type.Number()),
});
const ShiftCalendarSchema = Type.Object({
  timezone: Type.Literal('Asia/Shanghai'),
  shifts: Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 20 }), start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }) }, { additionalProperties: false }), { minItems: 1, maxItems: 6 }),
}, { additionalProperties: false, $id: 'ShiftCalendar' });
const ShiftCalendar = ref(ShiftCalendarSchema);
const PerformanceSchema = Type.Record(Type.String(), Type.Object({ metric: Type.String(), nominal: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }), { $id: 'NominalSpeeds' });
const Performance = ref(PerformanceSchema);
const QualitySchema = Type.Record(Type.String(), Type.Object({ goodMetric: Type.String(), totalMetric: Type.String() }, { additionalProperties: false }), { $id: 'QualityCounters' });
const Quality = ref(QualitySchema);
const OeeReportSchema = Type.Object({
  target: Type.Object({ firmId: Type.String(), deviceId: Nullable(Type.String()) }), from: Type.Integer(), to: Type.Integer(), by: Type.String(), shifts: ShiftCalendar,
  periods: Type.Array(Type.Object({ id: Type.String(), start: Type.Integer(), end: Type.Integer(), firm: Type.Object({ times: Times, ...OeeFields }), devices: Type.Array(DeviceOee) })),
  notes: Type.Array(Type.String()),
});
const TargetQuery = Type.Object({
  firmId: Type.Optional(Type.String({ maxLength: 18 })), deviceId: Type.Optional(Type.String({ maxLength: 64 })),
  from: Type.Optional(TimeParam), to: Type.Optional(TimeParam), by: Type.Optional(lit(PERIODS)),
});

/** The firm or device an OEE or state report is about; a device of another firm than firmId is not found. */
async function oeeTarget(registry: Registry, p: ApiPrincipal, q: { firmId?: string | undefined; deviceId?: string | undefined }): Promise<{ firmId: string; deviceId?: string }> {
  if (q.deviceId) {
    const d = await visibleDevice(registry, p, q.deviceId);
    if (q.firmId && q.firmId !== d.firmId) throw new HttpError(404, `device ${q.deviceId} not found`);
    return { firmId: d.firmId, deviceId: d.id };
  }
  const firmId = q.firmId ?? (p.role === 'engineer' ? p.firmId ?? '' : '');
  if (!firmId) throw new HttpError(400, 'give firmId or deviceId');
  await visibleFirm(registry, p, firmId);
  return { firmId };
}

/** A scope at a glance, for GET /monitoring/overview. */
async function scopeOverview(mon: Monitoring, scope: Scope, onlineMinutes: number, now = Date.now()) {
  const idx = await mon.index.get();
  const devices = scope.kind === 'device'
    ? [idx.devices.get(scope.id)].filter((d) => d !== undefined)
    : [...idx.devices.values()].filter((d) => { const f = idx.firms.get(d.firmId); return f !== undefined && firmInScope(f, scope); });
  const firms = new Set(devices.map((d) => d.firmId));
  const firmCount = scope.kind === 'device' ? 1 : [...idx.firms.values()].filter((f) => firmInScope(f, scope)).length;
  const devicesByType = Object.fromEntries(deviceTypes.map((t) => [t, 0]));
  for (const d of devices) devicesByType[d.type] = (devicesByType[d.type] ?? 0) + 1;
  const onlineSince = now - onlineMinutes * MINUTE;
  const online = devices.filter((d) => (d.lastSeenAt ?? 0) >= onlineSince).length;
  const states: Record<string, number> = Object.fromEntries([...MACHINE_STATES, 'unknown'].map((s) => [s, 0]));
  const [latest, live] = await Promise.all([mon.latest.devices(scope, now), mon.energy.live(scope, 'calorific', now)]);
  const registered = new Set(devices.map((d) => d.id));
  let withState = 0;
  for (const d of latest) {
    const v = d.state;
    if (v !== undefined && v in states && registered.has(d.deviceId)) { states[v] = (states[v] ?? 0) + 1; withState++; }
  }
  states.unknown = Math.max(0, devices.length - withState);
  const alarms = { active: 0, acknowledged: 0, critical: 0 };
  for (const [key, c] of await mon.alarmStore.openCounts(scope.kind === 'device' ? scope.id : undefined)) {
    if (scope.kind !== 'device' && !firms.has(key)) continue;
    alarms.active += c.active;
    alarms.acknowledged += c.acknowledged;
    alarms.critical += c.critical;
  }
  return {
    scope, asOf: now, firms: firmCount, devices: devices.length, devicesByType, online, onlineMinutes, states, alarms,
    powerKw: live.carriers.electricity.measured, kgcePerHour: live.totalKgcePerHour, basis: `${live.basis.zh} (${live.basis.en}), ${live.basis.standard}`,
  };
}

/** Shift calendar, nominal speeds and quality counters: read by all, set by admin (a device's speed also by its engineers). */
const monitoringSettingsRoutes: FastifyPluginAsyncTypebox<MonitoringRouteOptions> = async (app, { registry, monitoring: mon }) => {
  app.get('/monitoring/config', {
    schema: {
      tags: ['monitoring'], summary: 'Shift calendar, nominal speeds per device type, quality counters and the SEMI E10 state classes',
      response: {
        200: Type.Object({
          shifts: ShiftCalendar, shiftsUpdatedBy: Nullable(Type.String()), shiftsUpdatedAt: Nullable(Type.Integer()),
          performance: Performance, quality: Quality,
          stateClasses: Type.Record(Type.String(), Type.Object({ code: Type.String(), zh: Type.String(), en: Type.String() })),
          definitions: Type.Record(Type.String(), Type.String()),
        }),
      },
    },
  }, async () => {
    const s = mon.monitoringSettings.shifts();
    return {
      shifts: s.value, shiftsUpdatedBy: s.updatedBy, shiftsUpdatedAt: s.updatedAt,
      performance: mon.monitoringSettings.performance().value, quality: mon.monitoringSettings.quality().value, stateClasses: SEMI_E10,
      definitions: {
        availability: 'running ÷ planned production time (observed − stopped − maintenance − unknown)',
        performance: 'mean speed while running ÷ nominal speed of the device (per-device override, else per type), at most 1; nominalExceeded when the device ran faster',
        quality: 'good ÷ total units where the device type reports both counters',
        oee: 'availability × performance × quality (A × P when quality is not reported)',
        loomEfficiency: 'stop-driven loom efficiency: running ÷ (running + fault), leaves idle and setup out; kept apart from OEE',
        loomEfficiencyScheduled: 'loom efficiency as mills count it: running ÷ scheduled time (observed − stopped − unknown: idle, setup, maintenance and fault count against it); kept apart from OEE',
      },
    };
  });

  app.put('/monitoring/shifts', {
    schema: { tags: ['monitoring'], summary: 'Set the shift calendar (admin); each shift lasts until the next starts', body: ShiftCalendar, response: { 200: ShiftCalendar, 400: ErrorBody, 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    await httpErrors(() => mon.monitoringSettings.setShifts(req.body, actorOf(req.principal)), [[RangeError, 400]]);
    return mon.monitoringSettings.shifts().value;
  });

  app.put('/monitoring/performance', {
    schema: { tags: ['monitoring'], summary: 'Set nominal speeds per device type (admin), e.g. {"loom": {"metric": "speed_rpm", "nominal": 800}}', body: Performance, response: { 200: Performance, 400: ErrorBody, 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    await httpErrors(() => mon.monitoringSettings.setPerformance(req.body, actorOf(req.principal)), [[RangeError, 400]]);
    return mon.monitoringSettings.performance().value;
  });

  app.put('/monitoring/quality', {
    schema: { tags: ['monitoring'], summary: 'Set which counters report good and total units per device type (admin)', body: Quality, response: { 200: Quality, 400: ErrorBody, 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    await httpErrors(() => mon.monitoringSettings.setQuality(req.body, actorOf(req.principal)), [[RangeError, 400]]);
    return mon.monitoringSettings.quality().value;
  });

  app.put('/monitoring/devices/:id/nominal', {
    schema: {
      tags: ['monitoring'], summary: 'Set one device\'s nominal speed (admin, or an engineer of its firm)',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), body: Type.Object({ nominal: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }),
      response: { 200: Type.Object({ deviceId: Type.String(), nominal: Type.Number() }), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const d = await visibleDevice(registry, req.principal, req.params.id);
    mon.monitoringSettings.setDeviceNominal(d.id, req.body.nominal, actorOf(req.principal));
    return { deviceId: d.id, nominal: req.body.nominal };
  });
};

/** OEE, time per machine state, and a scope's overview. */
const monitoringReportRoutes: FastifyPluginAsyncTypebox<MonitoringRouteOptions> = async (app, { registry, monitoring: mon }) => {
  app.get('/monitoring/oee', {
    schema: {
      tags: ['monitoring'], summary: 'OEE (availability × performance × quality) and loom efficiency per device and firm, per shift, day or in total',
      querystring: TargetQuery, response: { 200: OeeReportSchema, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    const target = await oeeTarget(registry, req.principal, req.query);
    const { from, to } = range(req.query.from, req.query.to, DAY, 31 * DAY);
    return mon.oee.report(target, from, to, req.query.by ?? 'shift');
  });

  app.get('/monitoring/states', {
    schema: {
      tags: ['monitoring'], summary: 'Time in each machine state (ms) per device and firm, per shift, day or in total',
      querystring: TargetQuery,
      response: {
        200: Type.Object({
          target: Type.Object({ firmId: Type.String(), deviceId: Nullable(Type.String()) }), from: Type.Integer(), to: Type.Integer(), by: Type.String(),
          periods: Type.Array(Type.Object({ id: Type.String(), start: Type.Integer(), end: Type.Integer(), firm: Times, devices: Type.Array(Type.Object({ deviceId: Type.String(), name: Type.String(), type: Type.String(), times: Times })) })),
        }),
        400: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const target = await oeeTarget(registry, req.principal, req.query);
    const { from, to } = range(req.query.from, req.query.to, DAY, 31 * DAY);
    const r = await mon.oee.report(target, from, to, req.query.by ?? 'shift');
    return {
      target: r.target, from: r.from, to: r.to, by: r.by,
      periods: r.periods.map((p) => ({ id: p.id, start: p.start, end: p.end, firm: p.firm.times, devices: p.devices.map((d) => ({ deviceId: d.deviceId, name: d.name, type: d.type, times: d.times })) })),
    };
  });

  app.get('/monitoring/overview', {
    schema: {
      tags: ['monitoring'], summary: 'A scope at a glance: firms, devices online, machine states, open alarms, live power',
      querystring: Type.Object({ ...ScopeQuery, onlineMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 10 }) }),
      response: {
        200: Type.Object({
          scope: ScopeBody, asOf: Type.Integer(), firms: Type.Integer(), devices: Type.Integer(), devicesByType: Type.Record(Type.String(), Type.Integer()),
          online: Type.Integer(), onlineMinutes: Type.Integer(), states: Type.Record(Type.String(), Type.Integer()),
          alarms: Type.Object({ active: Type.Integer(), acknowledged: Type.Integer(), critical: Type.Integer() }),
          powerKw: Type.Number(), kgcePerHour: Type.Number(), basis: Type.String(),
        }),
        400: ErrorBody, 403: ErrorBody, 404: ErrorBody,
      },
    },
  }, async (req) => {
    const { scope } = await resolveScope(req.principal, registry, req.query.scope, req.query.id);
    return scopeOverview(mon, scope, req.query.onlineMinutes);
  });
};

export const monitoringRoutes: FastifyPluginAsyncTypebox<MonitoringRouteOptions> = async (app, opts) => {
  addSchemas(app, [TimesSchema, ShiftCalendarSchema, PerformanceSchema, QualitySchema]);
  await app.register(monitoringSettingsRoutes, opts);
  await app.register(monitoringReportRoutes, opts);
};
