// API tokens and their life: created by an admin (the secret is shown only in that response), optionally
// expiring, listed without secrets with their last use, revoked at once. Admin sees and revokes every token;
// bureau staff see every token (read-only, like the audit trail); an engineer sees and revokes their own firm's.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { NotFoundError, ROLES, type ApiTokenInfo, type Registry } from '../../common/registry/registry.ts';
import { assertFirmVisible, audit, requireRole, visibleToken } from '../access.ts';
import { HttpError, httpErrors } from '../errors.ts';
import { toMs } from '../time-range.ts';
import { ErrorBody, Nullable, TimeParam, addSchemas, lit, litOf, ref } from '../schemas.ts';

const TOKEN_STATUSES = ['active', 'expired', 'revoked'] as const;

const ApiTokenSchema = Type.Object({
  tokenId: Type.String(), role: litOf(ROLES), firmId: Nullable(Type.String()), name: Type.String(),
  createdAt: Type.Integer(), expiresAt: Nullable(Type.Integer()), revokedAt: Nullable(Type.Integer()),
  lastUsedAt: Nullable(Type.Integer(), { description: 'last accepted use, to the minute' }),
  operator: Type.Boolean({ description: 'the admin token given at start-up (ADMIN_TOKEN); replaced when that changes' }),
  status: litOf(TOKEN_STATUSES),
}, { $id: 'ApiToken' });
const ApiToken = ref(ApiTokenSchema);

const CreatedToken = Type.Object({
  token: Type.String({ description: 'the secret: shown only in this response' }),
  tokenId: Type.String(), role: Type.String(), firmId: Nullable(Type.String()), name: Type.String(), expiresAt: Nullable(Type.Integer()),
});

const TokenParams = Type.Object({ tokenId: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

/** An expiry from a request: a time still to come, or none. */
export function expiryOf(v: number | string | undefined, name: string, now = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const at = toMs(v, now, name);
  if (at <= now) throw new HttpError(400, `${name} must lie in the future; it is ${new Date(at).toISOString()}`);
  return at;
}

function statusOf(t: ApiTokenInfo, now: number): (typeof TOKEN_STATUSES)[number] {
  if (t.revokedAt !== null) return 'revoked';
  return t.expiresAt !== null && t.expiresAt <= now ? 'expired' : 'active';
}

export const tokenRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  addSchemas(app, [ApiTokenSchema]);

  app.post('/tokens', {
    schema: {
      tags: ['tokens'], summary: 'Create an API token (admin), optionally expiring; the secret is shown only in this response',
      body: Type.Object({
        role: lit(ROLES), firmId: Type.Optional(Type.String()), name: Type.String({ minLength: 1, maxLength: 100 }),
        expiresAt: Type.Optional(TimeParam),
      }, { additionalProperties: false }),
      response: { 201: CreatedToken, 400: ErrorBody, 403: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin');
    if (req.body.role === 'engineer' && !req.body.firmId) throw new HttpError(400, 'an engineer token needs firmId');
    const expiresAt = expiryOf(req.body.expiresAt, 'expiresAt');
    const { token, principal } = await httpErrors(
      () => registry.createApiToken(req.body.role, req.body.firmId ?? null, req.body.name, expiresAt === undefined ? {} : { expiresAt }), [[NotFoundError, 400]]);
    await audit(registry, req.principal, 'token.create', principal.tokenId, { role: principal.role, firmId: principal.firmId, name: principal.name, expiresAt: expiresAt ?? null });
    return reply.code(201).send({ token, ...principal, expiresAt: expiresAt ?? null });
  });

  app.get('/tokens', {
    schema: {
      tags: ['tokens'], summary: 'API tokens without their secrets: status, expiry, last use (admin and bureau: all; engineer: their firm\'s)',
      querystring: Type.Object({ firmId: Type.Optional(Type.String({ maxLength: 18 })) }),
      response: { 200: Type.Array(ApiToken), 404: ErrorBody },
    },
  }, async (req) => {
    const p = req.principal;
    const firmId = p.role === 'engineer' ? (req.query.firmId ?? p.firmId ?? '') : req.query.firmId;
    if (firmId !== undefined) assertFirmVisible(p, firmId);
    const now = Date.now();
    const tokens = await registry.listApiTokens(firmId === undefined ? {} : { firmId });
    return tokens.map((t) => ({ ...t, status: statusOf(t, now) }));
  });

  app.delete('/tokens/:tokenId', {
    schema: {
      tags: ['tokens'], summary: 'Revoke an API token at once (admin: any; engineer: one of their firm\'s)',
      params: TokenParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req, reply) => {
    requireRole(req.principal, 'admin', 'engineer');
    const t = await visibleToken(registry, req.principal, req.params.tokenId);
    const revoked = await httpErrors(() => registry.revokeApiToken(t.tokenId), [[NotFoundError, 404]]);
    if (revoked) await audit(registry, req.principal, 'token.revoke', t.tokenId, { role: t.role, firmId: t.firmId, name: t.name });
    return reply.code(204).send(null);
  });
};
