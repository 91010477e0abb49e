// Authentication for /api/v1: a bearer token becomes the request's principal (role, firm, token name), or the
// request is answered 401. What a principal may do is decided in api/access.ts.
import fp from 'fastify-plugin';
import type { ApiPrincipal, Registry } from '../common/registry/registry.ts';
import { HttpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal;
  }
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

export const authPlugin = fp<{ registry: Registry }>(async (app, { registry }) => {
  app.decorateRequest('principal', null as unknown as ApiPrincipal);
  app.addHook('onRequest', async (req) => {
    const token = bearer(req.headers.authorization);
    if (!token) throw new HttpError(401, 'send an API token as "Authorization: Bearer <token>"');
    const principal = await registry.verifyApiToken(token);
    if (!principal) throw new HttpError(401, 'unknown API token');
    req.principal = principal;
  });
}, { name: 'auth' });
