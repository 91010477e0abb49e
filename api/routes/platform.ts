// Catalogue, KPI and who the caller is (API tokens themselves: routes/tokens.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { CATALOGUE, MACHINE_STATES } from '../../common/contract/catalogue.ts';
import { platformConnectionKpi } from '../../analytics/plan/kpi.ts';
import { COUNTIES, PARKS, SEGMENTS } from '../../common/places.ts';
import type { Registry } from '../../common/registry/registry.ts';
import { requireRole } from '../access.ts';
import { ErrorBody, Me, ShareFields } from '../schemas.ts';

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
      tags: ['kpi'], summary: 'Share of above-scale firms connected to the platform, against the 50% goal for 2027 (demo firms left out unless includeDemo)',
      querystring: Type.Object({ includeDemo: Type.Optional(Type.Boolean({ description: 'count the demo firms `npm start` seeds' })) }),
      response: {
        200: Type.Object({
          ...ShareFields, includeDemo: Type.Boolean(), demoFirmsLeftOut: Type.Integer(), target: Type.Number(), targetYear: Type.Integer(), windowDays: Type.Integer(), asOf: Type.Integer(), definition: Type.String(),
          byCounty: Type.Array(Type.Object({ county: Type.String(), name: Type.String(), ...ShareFields })),
        }),
        403: ErrorBody,
      },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    return platformConnectionKpi(await registry.firmConnectivity(), Date.now(), connectedWindowDays, req.query.includeDemo ?? false);
  });

};
