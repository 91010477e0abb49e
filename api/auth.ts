// Bearer-token authentication and role checks for /api/v1 (admin: everything; bureau: read everything,
// create firms; engineer: only their own firm).
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiPrincipal, Registry, Role } from '../common/registry/registry.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal;
  }
}

export class HttpProblem extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

export const authPlugin = fp<{ registry: Registry }>(async (app, { registry }) => {
  app.decorateRequest('principal', null as unknown as ApiPrincipal);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req.headers.authorization);
    if (!token) return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'send an API token as "Authorization: Bearer <token>"' });
    const principal = await registry.verifyApiToken(token);
    if (!principal) return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'unknown API token' });
    req.principal = principal;
  });
});

export function requireRole(req: FastifyRequest, ...roles: Role[]): void {
  if (!roles.includes(req.principal.role)) throw new HttpProblem(403, `this needs the role ${roles.join(' or ')}; your token has ${req.principal.role}`);
}

/** Engineers see only their own firm; for anyone else's firm they get 404, as if it did not exist. */
export function mayReadFirm(p: ApiPrincipal, firmId: string): boolean {
  return p.role !== 'engineer' || p.firmId === firmId;
}

export function assertFirmReadable(req: FastifyRequest, firmId: string): void {
  if (!mayReadFirm(req.principal, firmId)) throw new HttpProblem(404, `firm ${firmId} not found`);
}

/** Records who did what to which target in the audit trail. */
export function audit(registry: Registry, req: FastifyRequest, action: string, target: string, detail: object): Promise<void> {
  const p = req.principal;
  return registry.recordAudit({ at: Date.now(), actor: `${p.name} (${p.role}, token ${p.tokenId})`, action, target, detail: JSON.stringify(detail) });
}
