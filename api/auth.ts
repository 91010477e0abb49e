// Authentication for /api/v1: a bearer token, or else the session cookie of a signed-in person (api/session.ts),
// becomes the request's principal (role, firm, name), or the request is answered 401. Routes marked
// `config: { public: true }` (signing in and out) skip the check but not the throttle. A person whose password was
// given to them (the first admin's, an admin's reset) may use only the routes marked `beforePasswordChange` until
// they have set their own: everything else answers 403. What a principal may do is decided in api/access.ts.
//
// Guessing is throttled per client address: the per-token rate limit (api/app.ts) never sees a wrong token, and
// socket.io handshakes (api/live.ts) pass no rate limit at all, so both count their unknown tokens here. Past the
// limit the address is refused (429, Retry-After) for the rest of the minute before any token is looked up.
import fp from 'fastify-plugin';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiPrincipal, Registry } from '../common/registry/registry.ts';
import { WindowCounter } from '../common/rate.ts';
import { HttpError } from './errors.ts';
import { DEFAULT_SESSION_POLICY, SESSION_COOKIE, clearedSessionCookie, cookieValue, crossSiteProblem, userPrincipal, type SessionPolicy } from './session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiPrincipal;
    /** Signed in with a password that was given to them: only their own password change is allowed. */
    passwordChangeDue: boolean;
  }
  interface FastifyContextConfig {
    /** Reachable without a token or session (signing in and out). */
    public?: boolean;
    /** Reachable by a session whose user must set a new password first (reading the session, changing the password). */
    beforePasswordChange?: boolean;
  }
}

export function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

/** API_AUTH_FAILURES_PER_MINUTE's default (common/config.ts). */
export const DEFAULT_AUTH_FAILURES_PER_MINUTE = 30;

/** Unknown tokens per client address and minute, shared by the REST API and the socket.io handshake. */
export class AuthThrottle {
  private readonly failures: WindowCounter;

  constructor(private readonly perMinute: number, private readonly log: Pick<FastifyBaseLogger, 'warn'>) {
    this.failures = new WindowCounter(perMinute);
  }

  /** Seconds the address must wait before trying again, or undefined when it may try now. */
  retryAfter(address: string, now = Date.now()): number | undefined {
    return this.failures.isOver(address, now) ? Math.ceil(this.failures.resetInMs(now) / 1000) : undefined;
  }

  /** Counts an unknown token; the attempt that reaches the limit is logged (once per address and minute). */
  failed(address: string, via: 'api' | 'socket.io', now = Date.now()): void {
    const { count } = this.failures.hit(address, now);
    if (count === this.perMinute) {
      this.log.warn({ address, via, limit: this.perMinute, refusedForMs: this.failures.resetInMs(now) }, 'too many unknown API tokens from this address: refused (429) for the rest of the minute');
    }
  }

  /** The message a refused client gets. */
  static refusal(seconds: number): string {
    return `too many failed authentications from this address; retry after ${seconds} s`;
  }
}

/** Without a `throttle` (a plugin tested alone) the plugin keeps its own, at the default limit. */
export const authPlugin = fp<{ registry: Registry; throttle?: AuthThrottle; session?: SessionPolicy }>(async (app, opts) => {
  const { registry } = opts;
  const throttle = opts.throttle ?? new AuthThrottle(DEFAULT_AUTH_FAILURES_PER_MINUTE, app.log);
  const policy = opts.session ?? DEFAULT_SESSION_POLICY;
  app.decorateRequest('principal', null as unknown as ApiPrincipal);
  app.decorateRequest('passwordChangeDue', false);
  app.addHook('onRequest', async (req, reply) => {
    const wait = throttle.retryAfter(req.ip);
    if (wait !== undefined) {
      void reply.header('retry-after', String(wait));
      throw new HttpError(429, AuthThrottle.refusal(wait));
    }
    if (req.routeOptions.config.public === true) return;
    const token = bearer(req.headers.authorization);
    if (token) {
      const check = await registry.checkApiToken(token);
      if (!check.ok) {
        throttle.failed(req.ip, 'api');
        throw new HttpError(401, check.reason === 'unknown' ? 'unknown API token' : `token ${check.reason}`);
      }
      req.principal = check.principal;
      return;
    }
    const sessionId = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!sessionId) throw new HttpError(401, 'sign in, or send an API token as "Authorization: Bearer <token>"');
    // A stale cookie is not a guess (session ids are 256 random bits): it is not counted against the address.
    const check = await registry.checkSession(sessionId, { idleMs: policy.idleMs });
    if (!check.ok) {
      void reply.header('set-cookie', clearedSessionCookie(policy));
      throw new HttpError(401, `your session ${SESSION_ENDED[check.reason]}; sign in again`);
    }
    const problem = crossSiteProblem(req);
    if (problem) throw new HttpError(403, problem);
    if (check.user.mustChangePassword) {
      if (req.routeOptions.config.beforePasswordChange !== true) throw new HttpError(403, MUST_CHANGE_PASSWORD);
      req.passwordChangeDue = true;
    }
    req.principal = userPrincipal(check.user);
  });
}, { name: 'auth' });

/** The answer to a person who must replace the password they were given before doing anything else. */
export const MUST_CHANGE_PASSWORD = 'set a new password first: your password was given to you (PUT /api/v1/session/password with currentPassword and password)';

const SESSION_ENDED = { unknown: 'has ended', expired: 'has expired', idle: 'ended after a long time unused', disabled: 'has ended: the account is disabled' } as const;
