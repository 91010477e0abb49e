// Who is signed in (GET /me): admin and bureau see the prefecture, an engineer their own firm. A person signs in
// with login name and password (a session cookie the page never sees) or, for the admin token and scripts, with
// an API token kept in localStorage (#token=… in the address does that once).
import { ApiError, del, get } from './api.ts';
import type { Firm } from './types.ts';

export type Role = 'admin' | 'bureau' | 'engineer';

/** A person who signs in with a password, as GET /session and /users answer. */
export interface SessionUser {
  id: string;
  login: string;
  displayName: string;
  role: Role;
  firmId: string | null;
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  passwordChangedAt: number;
  /** Given a password by someone else: the API answers nothing but setting their own until they have. */
  mustChangePassword: boolean;
}

export interface Identity {
  /** prefecture: admin or bureau (sees everything); engineer: one firm. */
  kind: 'prefecture' | 'engineer';
  firmId: string | null;
  role: Role;
  /** The token's name, or the person's display name. */
  name: string;
  /** Set when signed in with a password. */
  user: SessionUser | null;
}

export async function resolveIdentity(): Promise<Identity> {
  const me = await get<{ role: Role; firmId: string | null; name: string; tokenId: string }>('/me');
  const user = me.tokenId.startsWith('session:') ? (await get<{ user: SessionUser }>('/session')).user : null;
  const base = { role: me.role, name: me.name, user };
  if (me.role === 'engineer' && me.firmId) return { kind: 'engineer', firmId: me.firmId, ...base };
  return { kind: 'prefecture', firmId: null, ...base };
}

/** The person of the browser's live session, or null (the cookie is httpOnly, so the page can only ask). */
export async function sessionUser(): Promise<SessionUser | null> {
  const r = await fetch('/api/v1/session', { headers: { 'x-dh-page': '1' } });
  return r.ok ? ((await r.json()) as { user: SessionUser }).user : null;
}

/** Signs in with a password; the API sets the session cookie. Throws ApiError (401 wrong, 429 locked). */
export async function signInWithPassword(login: string, password: string): Promise<SessionUser> {
  // Not through api.ts: a refused sign-in is this form's own message, not "your token is no longer valid".
  let res: Response;
  try {
    res = await fetch('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json', 'x-dh-page': '1' }, body: JSON.stringify({ login, password }) });
  } catch (err) {
    throw new ApiError(0, err instanceof Error ? err.message : String(err));
  }
  const body = await res.json().catch(() => ({})) as { user?: SessionUser; message?: string };
  if (!res.ok || !body.user) throw new ApiError(res.status, body.message ?? `${res.status} ${res.statusText}`);
  return body.user;
}

/** Ends the session (if any) and clears its cookie. */
export async function endSession(): Promise<void> {
  await del<null>('/session').catch((err: unknown) => { if (!(err instanceof ApiError)) throw err; });
}

/** Firms the caller may see, by id (engineers: their own). */
export async function firmMap(): Promise<Map<string, Firm>> {
  const firms = await get<Firm[]>('/firms');
  return new Map(firms.map((f) => [f.id, f]));
}
