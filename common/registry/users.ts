// People who sign in with a password (users) and their browser sessions: the registry's rows, the password hash
// and the session rules both adapters share. Passwords are chosen by people, so unlike tokens they get a slow,
// salted hash (scrypt); a session id is 256 random bits, so its SHA-256 is enough to find it and useless to steal.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { newToken, sha256 } from '../ids.ts';
import type { Role } from './registry.ts';

export interface NewUser {
  /** Unique, compared as given (the API lower-cases it). */
  login: string;
  displayName: string;
  role: Role;
  /** Set for engineers: the one firm they may see. */
  firmId: string | null;
  password: string;
  /** The password was given to them (a generated or admin-set one): they must choose their own at sign-in. */
  mustChangePassword?: boolean;
}

export interface User {
  id: string;
  login: string;
  displayName: string;
  role: Role;
  firmId: string | null;
  disabled: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  passwordChangedAt: number;
  /** Signed in, they may only set a new password (api/auth.ts) until they do. */
  mustChangePassword: boolean;
}

export interface UserChange {
  displayName?: string;
  role?: Role;
  firmId?: string | null;
  disabled?: boolean;
}

export type PasswordCheck = { ok: true; user: User } | { ok: false; reason: 'unknown' | 'wrong' | 'disabled' };
export type SessionCheck = { ok: true; user: User } | { ok: false; reason: 'unknown' | 'expired' | 'idle' | 'disabled' };

/** A session's use is written down to the minute, as an API token's: a write per request would cost more than it tells. */
export const SESSION_TOUCH_MS = 60_000;

export interface UserRow {
  id: string;
  login: string;
  display_name: string;
  role: string;
  firm_id: string | null;
  password_hash: string;
  disabled: number | boolean;
  created_at: number;
  last_login_at: number | null;
  password_changed_at: number;
  must_change_password: number | boolean;
}

export interface SessionRow extends UserRow {
  session_created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** The user columns of a session lookup (sessions s joined with users u). */
export const SESSION_SELECT = 'SELECT u.*, s.created_at AS session_created_at, s.last_seen_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = ';

export function userFrom(r: UserRow): User {
  return {
    id: r.id, login: r.login, displayName: r.display_name, role: r.role as Role, firmId: r.firm_id, disabled: r.disabled === true || r.disabled === 1,
    createdAt: r.created_at, lastLoginAt: r.last_login_at, passwordChangedAt: r.password_changed_at,
    mustChangePassword: r.must_change_password === true || r.must_change_password === 1,
  };
}

export const newUserId = (): string => `u${randomBytes(6).toString('hex')}`;
export const newSessionId = (): string => newToken('ss', 32);
export const sessionKey = (sessionId: string): string => sha256(sessionId);

// N = 2^15 costs about 50 ms and 32 MiB: slow for a guesser, fine for a person signing in now and then.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

function derive(password: string, salt: Buffer, o: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, 32, { ...o, maxmem: SCRYPT.maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The stored form of a password: scrypt with its own random salt and the cost it was made with. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether the password matches the stored hash, compared in constant time. */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const want = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
  return got.length === want.length && timingSafeEqual(got, want);
}

// An unknown login name costs the same scrypt as a known one, so timing does not tell which names exist.
let decoy: Promise<string> | undefined;

/** The answer to a sign-in attempt against the row found by login name (or none). */
export async function passwordCheckOf(r: UserRow | undefined, password: string): Promise<PasswordCheck> {
  if (!r) {
    decoy ??= hashPassword(randomBytes(12).toString('hex'));
    await passwordMatches(password, await decoy);
    return { ok: false, reason: 'unknown' };
  }
  if (!(await passwordMatches(password, r.password_hash))) return { ok: false, reason: 'wrong' };
  return userFrom(r).disabled ? { ok: false, reason: 'disabled' } : { ok: true, user: userFrom(r) };
}

/** Whether a session (found by its key, or not) may be used at `now`, given the idle timeout. */
export function sessionCheckOf(r: SessionRow | undefined, now: number, idleMs: number): SessionCheck {
  if (!r) return { ok: false, reason: 'unknown' };
  if (r.expires_at <= now) return { ok: false, reason: 'expired' };
  if (r.last_seen_at + idleMs <= now) return { ok: false, reason: 'idle' };
  if (userFrom(r).disabled) return { ok: false, reason: 'disabled' };
  return { ok: true, user: userFrom(r) };
}

/** Whether the session's last use should be written down again. */
export const sessionTouchStale = (r: SessionRow, now: number): boolean => r.last_seen_at <= now - SESSION_TOUCH_MS;

/** The user row after a change; engineers keep a firm, everyone else none. Whether their sessions must end. */
export function changedUser(r: UserRow, c: UserChange): { row: UserRow; endSessions: boolean } {
  const role = c.role ?? (r.role as Role);
  const firmId = role === 'engineer' ? (c.firmId !== undefined ? c.firmId : r.firm_id) : null;
  const disabled = c.disabled ?? userFrom(r).disabled;
  const row = { ...r, display_name: c.displayName ?? r.display_name, role, firm_id: firmId, disabled: disabled ? 1 : 0 };
  // A session carries what the user may do: a new role, firm or a disabling takes effect at once, not at next sign-in.
  const endSessions = disabled || role !== r.role || firmId !== r.firm_id;
  return { row, endSessions };
}
