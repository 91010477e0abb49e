// Authentication for /api/v1: a bearer token becomes the request's principal (role, firm, token name), or the
// request is answered 401. What a principal may do is decided in api/access.ts.
//
// Guessing is throttled per client address: the per-token rate limit (api/app.ts) never sees a wrong token, and
// socket.io handshakes (api/live.ts) pass no rate limit at all, so both count their unknown tokens here. Past the
// limit the address is refused (429, Retry-After) for the rest of the minute before any token is looked up.
import fp from 'fastify-plugin';
import type { FastifyBaseLogger } from 'fastify';
import type { ApiPrincipal, Registry } from '../common/registry/registry.ts';
import { WindowCounter } from '../common/rate.ts';
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
export const authPlugin = fp<{ registry: Registry; throttle?: AuthThrottle }>(async (app, opts) => {
  const { registry } = opts;
  const throttle = opts.throttle ?? new AuthThrottle(DEFAULT_AUTH_FAILURES_PER_MINUTE, app.log);
  app.decorateRequest('principal', null as unknown as ApiPrincipal);
  app.addHook('onRequest', async (req, reply) => {
    const wait = throttle.retryAfter(req.ip);
    if (wait !== undefined) {
      void reply.header('retry-after', String(wait));
      throw new HttpError(429, AuthThrottle.refusal(wait));
    }
    const token = bearer(req.headers.authorization);
    if (!token) throw new HttpError(401, 'send an API token as "Authorization: Bearer <token>"');
    const check = await registry.checkApiToken(token);
    if (!check.ok) {
      throttle.failed(req.ip, 'api');
      throw new HttpError(401, check.reason === 'unknown' ? 'unknown API token' : `token ${check.reason}`);
    }
    req.principal = check.principal;
  });
}, { name: 'auth' });
