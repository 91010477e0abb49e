// Alarms and alarm rules. Engineers see and acknowledge the alarms of their own firm, read the global rules and
// manage rules for their own firm; admin and bureau see and manage everything. Alarm events are also pushed
// over socket.io ('alarm' in the rooms 'all' and 'firm:<id>').
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { ALARM_KINDS, ALARM_STATUSES, OPS, SEVERITIES, ruleProblem, type AlarmKind, type AlarmQuery, type AlarmRule, type AlarmRuleInput, type Op, type Severity } from '../../analytics/alarms/alarms.ts';
import { actorOf, assertFirmVisible, audit, resolveScope, visibleDevice } from '../access.ts';
import { firmInScope, type ScopeKind } from '../../analytics/base/scope.ts';
import { HttpError } from '../errors.ts';
import type { Monitoring } from '../../analytics/index.ts';
import type { ApiPrincipal, Registry } from '../../common/registry/registry.ts';
import { ErrorBody, Nullable, ScopeQuery, addSchemas, lit, ref } from '../schemas.ts';
import { alarmChannelRoutes } from './alarm-channels.ts';
import { PREVIEW_KINDS, previewRule } from '../../analytics/alarms/preview.ts';

interface AlarmRouteOptions { registry: Registry; monitoring: Monitoring }

const AlarmSchema = Type.Object({
  id: Type.Integer(), ruleId: Type.Integer(), ruleName: Type.String(), kind: Type.String(), severity: Type.String(), firmId: Type.String(), deviceId: Type.String(),
  deviceType: Type.String(), metric: Nullable(Type.String()), message: Type.String({ description: 'English text' }),
  messages: Type.Object({ zh: Type.String(), en: Type.String() }, { description: 'the text in Chinese and English (device and metric by name)' }), value: Nullable(Type.Number()),
  raisedAt: Type.Integer(), ackedAt: Nullable(Type.Integer()), ackedBy: Nullable(Type.String()), clearedAt: Nullable(Type.Integer()), clearValue: Nullable(Type.Number()),
  status: Type.String({ description: 'active, acknowledged (still on), cleared (off, not acknowledged), closed' }),
}, { $id: 'Alarm' });
const Alarm = ref(AlarmSchema);

const RuleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: lit(ALARM_KINDS),
  firmId: Type.Optional(Nullable(Type.String({ maxLength: 18 }))),
  deviceType: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  deviceId: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  metric: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  op: Type.Optional(Nullable(lit(OPS))),
  value: Type.Optional(Nullable(Type.Number({ description: 'threshold: limit; rate: limit per minute; stuck: tolerance; offline: minutes; clock_skew: seconds; quarantine: hours looked back; counter_reset: minutes the alarm stays; rejected: messages within windowS; spool: rows waiting' }))),
  states: Type.Optional(Nullable(Type.Array(Type.String(), { maxItems: 6 }))),
  windowS: Type.Integer({ minimum: 0, maximum: 3600, default: 60, description: 'rate, rejected: window measured over' }),
  durationS: Type.Integer({ minimum: 0, maximum: 2_592_000, default: 0, description: 'how long the condition must hold' }),
  severity: lit(SEVERITIES),
  enabled: Type.Boolean({ default: true }),
};
const RuleBody = Type.Object(RuleFields, { additionalProperties: false });
const RuleSchema = Type.Object({
  id: Type.Integer(), name: Type.String(), kind: Type.String(), firmId: Nullable(Type.String()), deviceType: Nullable(Type.String()), deviceId: Nullable(Type.String()),
  metric: Nullable(Type.String()), op: Nullable(Type.String()), value: Nullable(Type.Number()), states: Nullable(Type.Array(Type.String())),
  windowS: Type.Integer(), durationS: Type.Integer(), severity: Type.String(), enabled: Type.Boolean(), createdBy: Type.String(), createdAt: Type.Integer(), updatedAt: Type.Integer(),
}, { $id: 'AlarmRule' });
const Rule = ref(RuleSchema);
const PreviewBody = Type.Object({ ...RuleFields, days: Type.Integer({ minimum: 1, maximum: 7, default: 7, description: 'days of stored telemetry replayed, up to now' }) }, { additionalProperties: false });
const Texts = Type.Object({ zh: Type.String(), en: Type.String() });
const PreviewSchema = Type.Object({
  from: Type.Integer(), to: Type.Integer(), fired: Type.Integer({ description: 'alarms the rule would have raised, all devices together' }),
  devicesMatched: Type.Integer(), devicesEvaluated: Type.Integer(), pointsRead: Type.Integer(),
  sampled: Type.Boolean({ description: 'true when devices or points were left out to cap the work; notes say which' }), notes: Type.Array(Texts),
  devices: Type.Array(Type.Object({
    deviceId: Type.String(), name: Nullable(Type.String()), fired: Type.Integer(), points: Type.Integer(), coveredUntil: Nullable(Type.Integer()),
    episodes: Type.Array(Type.Object({ start: Type.Integer(), end: Nullable(Type.Integer()), peak: Nullable(Type.Number()) })),
  })),
}, { $id: 'AlarmRulePreview' });
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const SearchFields = {
  ...ScopeQuery,
  firmId: Type.Optional(Type.String({ maxLength: 18 })), deviceId: Type.Optional(Type.String({ maxLength: 64 })),
  severity: Type.Optional(lit(SEVERITIES)), ruleId: Type.Optional(Type.Integer({ minimum: 1 })), kind: Type.Optional(lit(ALARM_KINDS)),
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'raised at or after (ms)' })), to: Type.Optional(Type.Integer({ minimum: 0, description: 'raised before (ms)' })),
};
type Search = Partial<Pick<AlarmQuery, 'firmId' | 'firmIds' | 'deviceId' | 'severity' | 'ruleId' | 'kind' | 'from' | 'to'>>;
interface SearchQuery { scope?: string; id?: string; firmId?: string; deviceId?: string; severity?: string; ruleId?: number; kind?: string; from?: number; to?: number }

/** The search a principal may run: engineers only ever their own firm's alarms; a scope narrows it to its firms or device. */
async function searchOf(registry: Registry, m: Monitoring, p: ApiPrincipal, q: SearchQuery): Promise<Search> {
  const out = fieldsOf(p, q);
  if (q.scope === undefined) return out;
  const { scope } = await resolveScope(p, registry, q.scope as ScopeKind, q.id);
  if (scope.kind === 'firm') out.firmIds = [scope.id];
  else if (scope.kind === 'device') out.deviceId = scope.id;
  else if (scope.kind !== 'prefecture') out.firmIds = [...(await m.index.get()).firms.values()].filter((f) => firmInScope(f, scope)).map((f) => f.id);
  return out;
}

function fieldsOf(p: ApiPrincipal, q: SearchQuery): Search {
  if (q.firmId) assertFirmVisible(p, q.firmId);
  const firmId = p.role === 'engineer' ? (p.firmId ?? '') : q.firmId;
  const out: Search = {};
  if (firmId !== undefined) out.firmId = firmId;
  if (q.deviceId) out.deviceId = q.deviceId;
  if (q.severity) out.severity = q.severity as Severity;
  if (q.ruleId) out.ruleId = q.ruleId;
  if (q.kind) out.kind = q.kind as AlarmKind;
  if (q.from !== undefined) out.from = q.from;
  if (q.to !== undefined) out.to = q.to;
  return out;
}

async function visibleAlarm(m: Monitoring, p: ApiPrincipal, id: number) {
  const a = await m.alarmStore.alarm(id);
  if (!a || (p.role === 'engineer' && a.firmId !== p.firmId)) throw new HttpError(404, `alarm ${id} not found`);
  return a;
}

/** Rules an engineer may change: their own firm's; a global rule is read-only for them. */
async function writableRule(m: Monitoring, p: ApiPrincipal, id: number): Promise<AlarmRule> {
  const r = await m.alarmStore.rule(id);
  if (!r || (p.role === 'engineer' && r.firmId !== null && r.firmId !== p.firmId)) throw new HttpError(404, `alarm rule ${id} not found`);
  if (p.role === 'engineer' && r.firmId === null) throw new HttpError(403, 'this rule applies to every firm; only admin and bureau change it');
  return r;
}

async function checkedInput(registry: Registry, p: ApiPrincipal, b: Static<typeof RuleBody>): Promise<AlarmRuleInput> {
  const input: AlarmRuleInput = {
    // The body's coercion turns a JSON null into '' for these strings: both mean none.
    name: b.name, kind: b.kind as AlarmRuleInput['kind'], firmId: b.firmId || null, deviceType: b.deviceType || null, deviceId: b.deviceId || null,
    metric: b.metric ?? null, op: (b.op ?? null) as Op | null, value: b.value ?? null, states: b.states ?? null,
    windowS: b.windowS, durationS: b.durationS, severity: b.severity as AlarmRuleInput['severity'], enabled: b.enabled,
  };
  if (p.role === 'engineer') {
    if (input.firmId !== null && input.firmId !== p.firmId) throw new HttpError(404, `firm ${input.firmId} not found`);
    input.firmId = p.firmId;
  }
  if (input.firmId !== null && !(await registry.getFirm(input.firmId))) throw new HttpError(404, `firm ${input.firmId} not found`);
  if (input.deviceId !== null) {
    const d = await visibleDevice(registry, p, input.deviceId);
    if (input.firmId !== null && d.firmId !== input.firmId) throw new HttpError(400, `device ${d.id} belongs to firm ${d.firmId}, not ${input.firmId}`);
    input.deviceType ??= d.type;
    if (input.deviceType !== d.type) throw new HttpError(400, `device ${d.id} is a ${d.type}, not a ${input.deviceType}`);
  }
  const problem = ruleProblem(input);
  if (problem) throw new HttpError(400, problem);
  return input;
}

const alarmListRoutes: FastifyPluginAsyncTypebox<AlarmRouteOptions> = async (app, { registry, monitoring: m }) => {
  app.get('/alarms', {
    schema: {
      tags: ['alarms'], summary: 'Alarms, newest first (engineers: their firm\'s). status=open (default: not yet closed), active, acknowledged, cleared, closed, all; by scope (county, park, segment, firm, device), firm, device, severity, rule, kind and time raised',
      querystring: Type.Object({
        status: Type.Optional(lit([...ALARM_STATUSES, 'open', 'all'])), ...SearchFields,
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), beforeId: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
      response: { 200: Type.Array(Alarm), 404: ErrorBody },
    },
  }, async (req) => m.alarmStore.list({
    ...(await searchOf(registry, m, req.principal, req.query)), status: req.query.status ?? 'open', limit: req.query.limit, ...(req.query.beforeId ? { beforeId: req.query.beforeId } : {}),
  }));

  app.get('/alarms/counts', {
    schema: {
      tags: ['alarms'], summary: 'Alarms raised per firm and day (Asia/Shanghai), by severity; the same filters as /alarms (engineers: their firm\'s)',
      querystring: Type.Object({ status: Type.Optional(lit([...ALARM_STATUSES, 'open', 'all'])), ...SearchFields }),
      response: {
        200: Type.Array(Type.Object({ firmId: Type.String(), day: Type.String(), total: Type.Integer(), critical: Type.Integer(), warning: Type.Integer(), info: Type.Integer() })),
        404: ErrorBody,
      },
    },
  }, async (req) => m.alarmStore.countsByDay({ ...(await searchOf(registry, m, req.principal, req.query)), status: req.query.status ?? 'all' }));

  app.get('/alarms/:id', {
    schema: { tags: ['alarms'], summary: 'One alarm', params: IdParams, response: { 200: Alarm, 404: ErrorBody } },
  }, async (req) => visibleAlarm(m, req.principal, req.params.id));

  app.post('/alarms/:id/ack', {
    schema: { tags: ['alarms'], summary: 'Acknowledge an alarm (records who and when)', params: IdParams, response: { 200: Alarm, 404: ErrorBody, 409: ErrorBody } },
  }, async (req) => {
    const a = await visibleAlarm(m, req.principal, req.params.id);
    const acked = await m.alarms.ack(a.id, actorOf(req.principal));
    if (!acked) throw new HttpError(409, `alarm ${a.id} was already acknowledged by ${a.ackedBy ?? 'someone'}`);
    return acked;
  });
};

const alarmRuleRoutes: FastifyPluginAsyncTypebox<AlarmRouteOptions> = async (app, { registry, monitoring: m }) => {
  app.get('/alarm-rules', {
    schema: { tags: ['alarms'], summary: 'Alarm rules (engineers: the global rules and their firm\'s)', response: { 200: Type.Array(Rule) } },
  }, async (req) => {
    const p = req.principal;
    const rules = await m.alarmStore.rules();
    return p.role === 'engineer' ? rules.filter((r) => r.firmId === null || r.firmId === p.firmId) : rules;
  });

  app.post('/alarm-rules', {
    schema: {
      tags: ['alarms'], summary: 'Create an alarm rule (engineers: for their own firm)',
      description: 'Kinds: threshold (metric op value for durationS), rate (metric change per minute op value over windowS, e.g. a dyeing ramp above 3 °C/min), state (states for durationS), stuck (metric unchanged within value for durationS), offline (no message for value minutes), clock_skew (device clock off by more than value seconds for durationS), quarantine (implausible counter readings received within the last value hours wait for release), counter_reset (a counter fell: shown for value minutes), rejected (value rejected messages from one device within windowS), spool (more than value rows waiting in the spool for durationS), store_down (InfluxDB unreachable for durationS).',
      body: RuleBody, response: { 201: Rule, 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    const input = await checkedInput(registry, req.principal, req.body);
    const rule = await m.alarmStore.createRule(input, actorOf(req.principal));
    await audit(registry, req.principal, 'alarm-rule.create', `alarm-rule:${rule.id}`, input);
    await m.alarms.reloadRules();
    return reply.code(201).send(rule);
  });

  app.post('/alarm-rules/preview', {
    schema: {
      tags: ['alarms'], summary: 'How often a rule (as for create) would have fired over the last days of stored telemetry, per device with its first episodes; nothing is saved',
      description: `Kinds: ${PREVIEW_KINDS.join(', ')}. The stored points of the devices the rule applies to are replayed through the live alarm engine. At most 50 devices (the most recently seen) and 300,000 points are read; sampled and notes say when the preview was cut.`,
      body: PreviewBody, response: { 200: ref(PreviewSchema), 400: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    const input = await checkedInput(registry, req.principal, req.body);
    if (!PREVIEW_KINDS.includes(input.kind)) throw new HttpError(400, `a ${input.kind} rule cannot be previewed from stored telemetry; kinds with a preview: ${PREVIEW_KINDS.join(', ')}`);
    const p = req.principal;
    const devices = (await registry.listDevices()).filter((d) => p.role !== 'engineer' || d.firmId === p.firmId);
    const to = Date.now();
    return previewRule(input, devices, m.opts.store, { from: to - req.body.days * 86_400_000, to });
  });

  app.put('/alarm-rules/:id', {
    schema: { tags: ['alarms'], summary: 'Replace an alarm rule', params: IdParams, body: RuleBody, response: { 200: Rule, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
  }, async (req) => {
    const before = await writableRule(m, req.principal, req.params.id);
    const input = await checkedInput(registry, req.principal, req.body);
    const rule = await m.alarmStore.updateRule(req.params.id, input);
    if (!rule) throw new HttpError(404, `alarm rule ${req.params.id} not found`);
    await audit(registry, req.principal, before.enabled === input.enabled ? 'alarm-rule.update' : input.enabled ? 'alarm-rule.enable' : 'alarm-rule.disable', `alarm-rule:${rule.id}`, input);
    await m.alarms.reloadRules();
    return rule;
  });

  app.delete('/alarm-rules/:id', {
    schema: { tags: ['alarms'], summary: 'Delete an alarm rule; its open alarms are cleared', params: IdParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    const before = await writableRule(m, req.principal, req.params.id);
    await m.alarmStore.deleteRule(req.params.id);
    await audit(registry, req.principal, 'alarm-rule.delete', `alarm-rule:${before.id}`, { name: before.name, kind: before.kind });
    await m.alarms.reloadRules();
    return reply.code(204).send(null);
  });
};

export const alarmRoutes: FastifyPluginAsyncTypebox<AlarmRouteOptions> = async (app, opts) => {
  addSchemas(app, [AlarmSchema, RuleSchema, PreviewSchema]);
  await app.register(alarmListRoutes, opts);
  await app.register(alarmRuleRoutes, opts);
  await app.register(alarmChannelRoutes, opts);
};
