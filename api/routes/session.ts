// Signing in and out with a login name and password (api/session.ts has the cookie and its rules). Failed
// sign-ins count against the client address (the same throttle as unknown API tokens) and the login name
// (locked for a while, logged once); every attempt is in the audit trail, never the password.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Registry } from '../../common/registry/registry.ts';
import { audit } from '../access.ts';
import { AuthThrottle } from '../auth.ts';
import { HttpError } from '../errors.ts';
import { ErrorBody } from '../schemas.ts';
import {
  SESSION_COOKIE, clearedSessionCookie, cookieValue, crossSiteProblem, sessionCookie, userPrincipal, type LoginLockout, type SessionPolicy,
} from '../session.ts';
import { UserBody } from './users.ts';

export interface SessionRouteOptions {
  registry: Registry;
  throttle: AuthThrottle;
  lockout: LoginLockout;
  policy: SessionPolicy;
}

const SignedIn = Type.Object({ user: UserBody, idleMs: Type.Integer(), expiresAt: Type.Integer({ description: 'the session ends then at the latest' }) });

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRouteOptions> = async (app, { registry, throttle, lockout, policy }) => {
  app.post('/session', {
    config: { public: true },
    schema: {
      tags: ['session'], summary: 'Sign in with login name and password: sets the session cookie (httpOnly, SameSite=Strict)', security: [],
      body: Type.Object({ login: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 200: SignedIn, 401: ErrorBody, 429: ErrorBody },
    },
  }, async (req, reply) => {
    const login = req.body.login.trim().toLowerCase();
    const wait = lockout.retryAfter(login);
    if (wait !== undefined) {
      void reply.header('retry-after', String(wait));
      throw new HttpError(429, `too many failed sign-ins for ${login}; retry after ${wait} s`);
    }
    const check = await registry.checkPassword(login, req.body.password);
    if (!check.ok) {
      throttle.failed(req.ip, 'api');
      lockout.failed(login, req.ip);
      await registry.recordAudit({ at: Date.now(), actor: `address ${req.ip}`, action: 'session.refuse', target: `login:${login}`, detail: JSON.stringify({ reason: check.reason }) });
      throw new HttpError(401, check.reason === 'disabled' ? 'this account is disabled; ask an administrator' : 'wrong login name or password');
    }
    const now = Date.now();
    const sessionId = await registry.createSession(check.user.id, { absoluteMs: policy.absoluteMs, now });
    await audit(registry, userPrincipal(check.user), 'session.start', check.user.id, { address: req.ip });
    void reply.header('set-cookie', sessionCookie(sessionId, policy));
    return { user: { ...check.user, lastLoginAt: now }, idleMs: policy.idleMs, expiresAt: now + policy.absoluteMs };
  });

  app.delete('/session', {
    config: { public: true },
    schema: { tags: ['session'], summary: 'Sign out: ends the session and clears its cookie', security: [], response: { 204: Type.Null(), 403: ErrorBody } },
  }, async (req, reply) => {
    const sessionId = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (sessionId) {
      const problem = crossSiteProblem(req);
      if (problem) throw new HttpError(403, problem);
      const check = await registry.checkSession(sessionId, { idleMs: policy.idleMs });
      await registry.endSession(sessionId);
      if (check.ok) await audit(registry, userPrincipal(check.user), 'session.end', check.user.id, {});
    }
    void reply.header('set-cookie', clearedSessionCookie(policy));
    return reply.code(204).send(null);
  });

  app.get('/session', {
    config: { beforePasswordChange: true },
    schema: {
      tags: ['session'], summary: 'The signed-in person (401 without a session; an API token has none)',
      response: { 200: Type.Object({ user: UserBody, idleMs: Type.Integer() }), 401: ErrorBody },
    },
  }, async (req) => {
    const userId = req.principal.userId;
    const user = userId === undefined ? undefined : await registry.getUser(userId);
    if (!user) throw new HttpError(401, 'not signed in with a password (an API token has no session)');
    return { user, idleMs: policy.idleMs };
  });
};
