// Browser sessions for people who sign in with a password (the REST routes: api/routes/session.ts). The session
// id travels in an httpOnly, SameSite=Strict cookie, so page scripts never hold it and other sites' pages do not
// send it; state-changing requests carried by the cookie must also come from the page itself (same origin, or the
// header only the page's own code sends), so a cross-site form cannot act with it.
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { ApiPrincipal, User } from '../common/registry/registry.ts';
import { WindowCounter } from '../common/rate.ts';

export const SESSION_COOKIE = 'dh_session';
/** Sent by the dashboard's own fetch calls; a form or image on another site cannot send a header. */
export const PAGE_HEADER = 'x-dh-page';

export interface SessionPolicy {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after sign-in, used or not. */
  absoluteMs: number;
  /** The cookie is marked Secure (the API speaks HTTPS). */
  secure: boolean;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 8 * 3_600_000, absoluteMs: 7 * 86_400_000, secure: false };

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 200;
export const LOGIN_PATTERN = '^[a-z0-9][a-z0-9._-]{1,63}$';

/** Why a password may not be used by this person, or undefined when it may. */
export function passwordProblem(password: string, login: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.trim().toLowerCase() === login.toLowerCase()) return 'the password may not be the login name';
  return undefined;
}

/** One cookie's value from a Cookie header, as sent (ours are base64url: nothing to decode, nothing to throw on). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(sessionId: string, policy: SessionPolicy): string {
  return `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(policy.absoluteMs / 1000)}${policy.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(policy: SessionPolicy): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${policy.secure ? '; Secure' : ''}`;
}

/** The principal of a signed-in person: their role and firm, named as they are, with their user id. */
export function userPrincipal(u: User): ApiPrincipal {
  return { tokenId: `session:${u.id}`, role: u.role, firmId: u.firmId, name: u.displayName, userId: u.id };
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether an Origin or Referer names the host the request was sent to. */
export function sameOrigin(source: string | undefined, host: string | undefined): boolean {
  if (!source || !host) return false;
  try {
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

/** Why a cookie-carried request may not change anything, or undefined when it may. */
export function crossSiteProblem(req: Pick<FastifyRequest, 'method' | 'headers'>): string | undefined {
  if (!STATE_CHANGING.has(req.method)) return undefined;
  const h = req.headers;
  if (typeof h[PAGE_HEADER] === 'string' || sameOrigin(h.origin ?? h.referer, h.host)) return undefined;
  return `a signed-in change must come from the dashboard itself (same origin, or the ${PAGE_HEADER} header)`;
}

/** Failed sign-ins per login name: past the limit the name is locked for the rest of the window, logged once. */
export class LoginLockout {
  private readonly failures: WindowCounter;

  constructor(private readonly limit: number, private readonly log: Pick<FastifyBaseLogger, 'warn'>, private readonly windowMs = 15 * 60_000) {
    this.failures = new WindowCounter(limit, windowMs);
  }

  retryAfter(login: string, now = Date.now()): number | undefined {
    return this.failures.isOver(login, now) ? Math.ceil(this.failures.resetInMs(now) / 1000) : undefined;
  }

  failed(login: string, address: string, now = Date.now()): void {
    const { count } = this.failures.hit(login, now);
    if (count === this.limit) {
      this.log.warn({ login, address, limit: this.limit, lockedForMs: this.failures.resetInMs(now) }, 'too many failed sign-ins for this login name: locked (429) for the rest of the window');
    }
  }
}

/** Failed sign-ins per login name and 15 minutes before it is locked. */
export const LOGIN_FAILURES_PER_WINDOW = 10;
