// Where alarms are sent: 企业微信 and 钉钉 group robots, generic webhooks and e-mail, per firm and severity, with quiet
// hours and a rate limit. Admin manages them, the bureau reads them; secrets and robot keys are never returned.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { SEVERITIES, type Severity } from '../../analytics/alarms/rules.ts';
import { CHANNEL_KINDS, CHANNEL_LANGS, DELIVERY_STATUSES, channelProblem, publicChannel, type Channel, type ChannelInput, type ChannelKind, type ChannelLang } from '../../analytics/alarms/notify/channels.ts';
import { actorOf, audit, requireRole } from '../access.ts';
import { HttpError } from '../errors.ts';
import type { Monitoring } from '../../analytics/index.ts';
import type { Registry } from '../../common/registry/registry.ts';
import { ErrorBody, Nullable, addSchemas, lit, litOf, ref } from '../schemas.ts';

interface ChannelRouteOptions { registry: Registry; monitoring: Monitoring }

const Minute = Type.Integer({ minimum: 0, maximum: 1439 });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  kind: lit(CHANNEL_KINDS),
  firmId: Type.Optional(Nullable(Type.String({ maxLength: 18, description: 'null: every firm and the platform' }))),
  minSeverity: lit(SEVERITIES),
  quietFrom: Type.Optional(Nullable(Minute)),
  quietTo: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1439, description: 'quiet hours: minutes after midnight, Asia/Shanghai; only critical alarms are sent then' }))),
  maxPerHour: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  dedupMinutes: Type.Integer({ minimum: 0, maximum: 1440, default: 10 }),
  notifyCleared: Type.Boolean({ default: true }),
  lang: Type.Optional(lit(CHANNEL_LANGS)),
  enabled: Type.Boolean({ default: true }),
};
const CreateBody = Type.Object({
  ...Fields,
  url: Type.String({ minLength: 8, maxLength: 2000, description: 'the robot\'s webhook URL (企业微信 …/webhook/send?key=…, 钉钉 …/robot/send?access_token=…) or the receiver\'s, https; email: smtps://user@host:465?from=…&to=a@…,b@…' }),
  secret: Type.Optional(Nullable(Type.String({ maxLength: 500, description: '钉钉: the signing secret (加签, SEC…); webhook: the key of the x-dehong-signature HMAC; email: the SMTP password' }))),
}, { additionalProperties: false });
const UpdateBody = Type.Object({
  ...Fields,
  url: Type.Optional(Type.String({ minLength: 8, maxLength: 2000, description: 'omitted: unchanged' })),
  secret: Type.Optional(Nullable(Type.String({ maxLength: 500, description: 'omitted: unchanged; null: removed' }))),
}, { additionalProperties: false });
const ChannelSchema = Type.Object({
  id: Type.Integer(), name: Type.String(), kind: Type.String(), url: Type.String({ description: 'query values masked' }), hasSecret: Type.Boolean(), firmId: Nullable(Type.String()),
  minSeverity: Type.String(), quietFrom: Nullable(Type.Integer()), quietTo: Nullable(Type.Integer()), maxPerHour: Type.Integer(), dedupMinutes: Type.Integer(),
  notifyCleared: Type.Boolean(), lang: Type.String(), enabled: Type.Boolean(), createdBy: Type.String(), createdAt: Type.Integer(), updatedAt: Type.Integer(),
}, { $id: 'AlarmChannel' });
const ChannelOut = ref(ChannelSchema);
const DeliverySchema = Type.Object({
  id: Type.Integer(), channelId: Type.Integer(), alarmId: Type.Integer(), event: Type.String(), status: litOf(DELIVERY_STATUSES), attempts: Type.Integer(),
  why: Nullable(Type.String()), createdAt: Type.Integer(), finishedAt: Nullable(Type.Integer()),
}, { $id: 'AlarmDelivery' });
const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

async function checked(registry: Registry, b: Static<typeof UpdateBody>, old: Channel | undefined): Promise<ChannelInput> {
  const url = b.url ?? old?.url;
  if (url === undefined) throw new HttpError(400, 'url is required');
  const input: ChannelInput = {
    // The body's coercion turns a JSON null into '' for these strings: both mean none.
    name: b.name, kind: b.kind as ChannelKind, url, secret: b.secret === undefined ? (old?.secret ?? null) : (b.secret || null), firmId: b.firmId || null,
    minSeverity: b.minSeverity as Severity, quietFrom: b.quietFrom ?? null, quietTo: b.quietTo ?? null, maxPerHour: b.maxPerHour, dedupMinutes: b.dedupMinutes,
    notifyCleared: b.notifyCleared, lang: (b.lang ?? 'zh') as ChannelLang, enabled: b.enabled,
  };
  if (input.firmId !== null && !(await registry.getFirm(input.firmId))) throw new HttpError(404, `firm ${input.firmId} not found`);
  const problem = channelProblem(input);
  if (problem) throw new HttpError(400, problem);
  return input;
}

async function existing(m: Monitoring, id: number): Promise<Channel> {
  const c = await m.alarmChannels.get(id);
  if (!c) throw new HttpError(404, `alarm channel ${id} not found`);
  return c;
}

export const alarmChannelRoutes: FastifyPluginAsyncTypebox<ChannelRouteOptions> = async (app, { registry, monitoring: m }) => {
  addSchemas(app, [ChannelSchema, DeliverySchema]);

  app.get('/alarm-channels', {
    schema: { tags: ['alarms'], summary: 'Where alarms are sent (admin, bureau); no secrets', response: { 200: Type.Array(ChannelOut), 403: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return (await m.alarmChannels.list()).map(publicChannel);
  });

  app.post('/alarm-channels', {
    schema: {
      tags: ['alarms'], summary: 'Add a channel: a 企业微信 or 钉钉 group robot, a webhook or e-mail (admin)',
      description: 'Alarms of the firm (or every firm) at or above minSeverity are sent when raised and, with notifyCleared, when cleared. In quiet hours only critical ones. At most maxPerHour messages an hour; the same rule and device raised again within dedupMinutes is not sent again. Failed sends are retried with backoff; every outcome is listed under deliveries.',
      body: CreateBody, response: { 201: ChannelOut, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    const c = await m.alarmChannels.create(await checked(registry, req.body, undefined), actorOf(req.principal));
    await audit(registry, req.principal, 'alarm-channel.create', `alarm-channel:${c.id}`, { name: c.name, kind: c.kind, firmId: c.firmId });
    return reply.code(201).send(publicChannel(c));
  });

  app.put('/alarm-channels/:id', {
    schema: { tags: ['alarms'], summary: 'Replace a channel (admin); url and secret omitted: unchanged', params: IdParams, body: UpdateBody, response: { 200: ChannelOut, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody } },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    const old = await existing(m, req.params.id);
    const c = await m.alarmChannels.update(old.id, await checked(registry, req.body, old)) as Channel;
    await audit(registry, req.principal, 'alarm-channel.update', `alarm-channel:${c.id}`, { name: c.name, kind: c.kind, firmId: c.firmId, enabled: c.enabled });
    return publicChannel(c);
  });

  app.delete('/alarm-channels/:id', {
    schema: { tags: ['alarms'], summary: 'Remove a channel (admin)', params: IdParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    const old = await existing(m, req.params.id);
    await m.alarmChannels.remove(req.params.id);
    await audit(registry, req.principal, 'alarm-channel.delete', `alarm-channel:${old.id}`, { name: old.name, kind: old.kind });
    return reply.code(204).send(null);
  });

  app.post('/alarm-channels/:id/test', {
    schema: {
      tags: ['alarms'], summary: 'Send a test message on a channel now, once, without retries (admin); not recorded as a delivery',
      params: IdParams, response: { 200: Type.Object({ sent: Type.Boolean(), why: Nullable(Type.String({ description: 'why it was not delivered' })) }), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin');
    const why = await m.notifier.sendTest(await existing(m, req.params.id), req.principal.name);
    await audit(registry, req.principal, 'alarm-channel.test', `alarm-channel:${req.params.id}`, { sent: why === undefined });
    return { sent: why === undefined, why: why ?? null };
  });

  app.get('/alarm-channels/:id/deliveries', {
    schema: {
      tags: ['alarms'], summary: 'What was sent on a channel, newest first: sent, failed (and why), skipped (quiet hours, duplicate, rate limit), pending (admin, bureau)',
      params: IdParams, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      response: { 200: Type.Array(ref(DeliverySchema)), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    await existing(m, req.params.id);
    return m.alarmChannels.deliveries(req.params.id, req.query.limit);
  });
};
