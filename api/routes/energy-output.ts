// A firm's reported fabric output per local month: the fabric output of a firm without looms (its stenters count
// every pass, so telemetry cannot give it), used by the intensity figures for ranges of whole months.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Monitoring } from '../../analytics/index.ts';
import type { Registry } from '../../common/registry/registry.ts';
import { actorOf, requireRole, visibleFirm } from '../access.ts';
import { httpErrors } from '../errors.ts';
import { ErrorBody, FirmParams } from '../schemas.ts';

const MonthlyOutputs = Type.Object({
  firmId: Type.String(),
  months: Type.Array(Type.Object({ month: Type.String(), fabricM: Type.Number(), note: Type.String(), enteredBy: Type.String(), enteredAt: Type.Integer() })),
});

export const energyOutputRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; monitoring: Monitoring }> = async (app, { registry, monitoring: m }) => {
  app.get('/energy/firms/:firmId/output', {
    schema: { tags: ['energy'], summary: 'A firm\'s reported fabric output per local month (engineers: their own firm)', params: FirmParams, response: { 200: MonthlyOutputs, 404: ErrorBody } },
  }, async (req) => {
    await visibleFirm(registry, req.principal, req.params.firmId);
    return { firmId: req.params.firmId, months: m.energySettings.outputs(req.params.firmId) };
  });

  app.put('/energy/firms/:firmId/output/:month', {
    schema: {
      tags: ['energy'], summary: 'Enter a firm\'s fabric output for a local month in metres (admin, bureau): the output of a firm without looms',
      params: Type.Object({ firmId: Type.String({ maxLength: 18 }), month: Type.String({ pattern: '^\\d{4}-\\d{2}$', description: 'YYYY-MM (local)' }) }),
      body: Type.Object({ fabricM: Type.Number({ minimum: 0 }), note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      response: { 200: MonthlyOutputs, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'bureau');
    await visibleFirm(registry, req.principal, req.params.firmId);
    const months = await httpErrors(() => m.energySettings.setOutput(req.params.firmId, req.params.month, req.body.fabricM, req.body.note ?? '', actorOf(req.principal)), [[RangeError, 400]]);
    return { firmId: req.params.firmId, months };
  });
};
