// Catalogue, KPI, API tokens and who the caller is.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CATALOGUE, MACHINE_STATES } from '../../common/contract/catalogue.ts';
import { platformConnectionKpi } from '../../analytics/plan/kpi.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import { NotFoundError, ROLES, type Registry } from '../../common/registry/registry.ts';
import { audit, requireRole } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { ErrorBody, Me, Nullable, ShareFields, lit } from '../schemas.ts';

export const platformRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; connectedWindowDays: number }> = async (app, { registry, connectedWindowDays }) => {
  app.get('/me', {
    schema: { tags: ['tokens'], summary: 'Who the caller is: role, firm (engineers), token name and id', response: { 200: Me } },
  }, async (req) => {
    const { role, firmId, name, tokenId } = req.principal;
    return { role, firmId: role === 'engineer' ? firmId : null, name, tokenId };
  });

  app.get('/catalogue', {
    schema: {
      tags: ['contract'], summary: 'Device types and their metrics: name, unit, plausible range, counter flag',
      response: {
        200: Type.Object({
          contractVersion: Type.Integer(), topics: Type.String(), states: Type.Array(Type.String()),
          deviceTypes: Type.Array(Type.Object({
            type: Type.String(), zh: Type.String(), en: Type.String(), measurement: Type.String(),
            metrics: Type.Array(Type.Object({ name: Type.String(), unit: Type.String(), min: Type.Number(), max: Type.Number(), counter: Type.Boolean(), zh: Type.String(), en: Type.String() })),
          })),
        }),
      },
    },
  }, async () => ({ contractVersion: 1, topics: 'dh/v1/{firmId}/{deviceId}/telemetry|state|status|errors', states: [...MACHINE_STATES], deviceTypes: CATALOGUE.map((t) => ({ ...t, metrics: [...t.metrics] })) }));

  app.get('/places', {
    schema: {
      tags: ['contract'], summary: 'Counties, parks and segments of the cluster',
      response: { 200: Type.Object({ counties: Type.Array(Type.Object({ code: Type.String(), zh: Type.String(), en: Type.String() })), parks: Type.Array(Type.Object({ id: Type.String(), county: Type.String(), zh: Type.String(), en: Type.String(), role: Type.String() })), segments: Type.Array(Type.Object({ id: Type.String(), zh: Type.String(), en: Type.String() })) }) },
    },
  }, async () => ({ counties: [...COUNTIES], parks: [...PARKS], segments: [...SEGMENTS] }));

  app.get('/kpi/platform-connection', {
    schema: {
      tags: ['kpi'], summary: 'Share of above-scale firms connected to the platform, against the 50% goal for 2027',
      response: {
        200: Type.Object({
          ...ShareFields, target: Type.Number(), targetYear: Type.Integer(), windowDays: Type.Integer(), asOf: Type.Integer(), definition: Type.String(),
          byCounty: Type.Array(Type.Object({ county: Type.String(), name: Type.String(), ...ShareFields })),
        }),
        403: ErrorBody,
      },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return platformConnectionKpi(await registry.firmConnectivity(), Date.now(), connectedWindowDays);
  });

  app.post('/tokens', {
    schema: {
      tags: ['tokens'], summary: 'Create an API token (admin); shown only in this response',
      body: Type.Object({ role: lit(ROLES), firmId: Type.Optional(Type.String()), name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ token: Type.String(), tokenId: Type.String(), role: Type.String(), firmId: Nullable(Type.String()), name: Type.String() }), 400: ErrorBody, 403: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    if (req.body.role === 'engineer' && !req.body.firmId) throw new HttpError(400, 'an engineer token needs firmId');
    const { token, principal } = await httpErrors(() => registry.createApiToken(req.body.role, req.body.firmId ?? null, req.body.name), [[NotFoundError, 400]]);
    await audit(registry, req.principal, 'token.create', principal.tokenId, { role: principal.role, firmId: principal.firmId, name: principal.name });
    return reply.code(201).send({ token, ...principal });
  });
};
