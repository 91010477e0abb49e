// A gateway's Sparkplug B metric mappings: which catalogue metric each Sparkplug metric name of a device type
// becomes (docs/connecting-machines.md, "Sparkplug B edge node"). Read by whoever may see the gateway's firm,
// replaced by its engineer or an admin after a check against the catalogue that names every bad entry. The broker
// reads them at the edge node's next birth, or within seconds.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, type Gateway, type Registry } from '../../common/registry/registry.ts';
import { checkMappings, IGNORE_TARGET, MAX_SPARKPLUG_NAME, STATE_TARGET } from '../../common/contract/sparkplug-mapping.ts';
import type { ApiPrincipal } from '../../common/registry/registry.ts';
import { audit, mayReadFirm, requireRole } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { ErrorBody } from '../schemas.ts';

interface SparkplugOptions { registry: Registry }

const GatewayParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const Mappings = Type.Record(
  Type.String({ description: 'device type (catalogue)' }),
  Type.Record(Type.String({ maxLength: MAX_SPARKPLUG_NAME }), Type.String({ maxLength: 64 }), {
    maxProperties: 1000,
    description: `Sparkplug metric name → catalogue metric id of the type, "${STATE_TARGET}" (the machine state) or "${IGNORE_TARGET}" (not kept)`,
  }),
  { maxProperties: 100 },
);

const MappingsBody = Type.Object({
  gatewayId: Type.String(),
  firmId: Type.String(),
  mappings: Mappings,
});

/** The gateway, when it exists and the caller may see its firm; 404 otherwise. */
async function visibleGateway(registry: Registry, p: ApiPrincipal, id: string): Promise<Gateway> {
  const g = await registry.getGateway(id);
  if (!g || !mayReadFirm(p, g.firmId)) throw new HttpError(404, `gateway ${id} not found`);
  return g;
}

const answer = (g: Gateway) => ({ gatewayId: g.id, firmId: g.firmId, mappings: g.sparkplugMappings });

export const sparkplugRoutes: FastifyPluginAsyncTypebox<SparkplugOptions> = async (app, { registry }) => {
  app.get('/gateways/:id/sparkplug-mappings', {
    schema: {
      tags: ['gateways'], summary: 'The Sparkplug B metric mappings of a gateway (edge node), per device type',
      params: GatewayParams, response: { 200: MappingsBody, 404: ErrorBody },
    },
  }, async (req) => answer(await visibleGateway(registry, req.principal, req.params.id)));

  app.put('/gateways/:id/sparkplug-mappings', {
    schema: {
      tags: ['gateways'],
      summary: 'Replace the Sparkplug B metric mappings of a gateway (engineer of its firm or admin); checked against the catalogue; audited; the broker uses them within seconds',
      params: GatewayParams, body: Mappings,
      response: { 200: MappingsBody, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req.principal, 'admin', 'engineer');
    const g = await visibleGateway(registry, req.principal, req.params.id);
    const problems = checkMappings(req.body);
    if (problems.length > 0) throw new HttpError(400, problems.map((p) => p.message).join('; '));
    const saved = await httpErrors(() => registry.setGatewayMappings(g.id, req.body), [[NotFoundError, 404]]);
    await audit(registry, req.principal, 'gateway.sparkplug-mappings', g.id, { firmId: g.firmId, mappings: req.body });
    return answer(saved);
  });
};
