// The registry port: firms, devices, credentials and API tokens. One interface, one conformance suite
// (test/conformance/registry.ts), run against every adapter.
import type { SmartFactoryTier } from '../places.ts';
import type { NewUser, PasswordCheck, SessionCheck, User, UserChange } from './users.ts';
import type { GatewayRegistry } from './gateways.ts';

export type { NewUser, PasswordCheck, SessionCheck, User, UserChange } from './users.ts';
export type { Gateway, GatewayChange, GatewayContext, GatewayCredential, NewGateway, SparkplugMappings } from './gateways.ts';

/** What a firm is, as it may change over time (each change is kept dated: FirmVersion). */
export interface FirmAttributes {
  name: string;
  county: string;
  park: string;
  segment: string;
  aboveScale: boolean;
  /** Local date (YYYY-MM-DD) from which the firm is above-scale; null: since its registration (or not above-scale). */
  aboveScaleSince: string | null;
  employees: number;
  landMu: number;
  smartFactoryTier: SmartFactoryTier;
  /** The smart-factory certificate behind the tier (its level is the tier). */
  smartFactoryCertificateId: string | null;
  smartFactoryCertifiedOn: string | null;
}

/** Attributes that may be left out when registering: they default to null. */
type OptionalAtRegistration = 'aboveScaleSince' | 'smartFactoryCertificateId' | 'smartFactoryCertifiedOn';

export interface NewFirm extends Omit<FirmAttributes, OptionalAtRegistration>, Partial<Pick<FirmAttributes, OptionalAtRegistration>> {
  id: string;
  /** Seeded by `npm start` for demonstration: left out of every KPI unless asked for. */
  demo: boolean;
}

export interface Firm extends FirmAttributes {
  id: string;
  demo: boolean;
  createdAt: number;
}

export const FIRM_ATTRIBUTES = [
  'name', 'county', 'park', 'segment', 'aboveScale', 'aboveScaleSince', 'employees', 'landMu', 'smartFactoryTier', 'smartFactoryCertificateId', 'smartFactoryCertifiedOn',
] as const satisfies ReadonlyArray<keyof FirmAttributes>;

/**
 * One dated change of a firm: the attributes it set, in force from validFrom (local date) on. The first version
 * of a firm is its registration with every attribute (validFrom: its registration day). The firm on a date is
 * firmAt: changes entered late for an earlier date do not undo later ones.
 */
export interface FirmVersion {
  id: number;
  firmId: string;
  validFrom: string;
  recordedAt: number;
  recordedBy: string;
  changes: Partial<FirmAttributes>;
}

/** Versions sorted as they apply: by validFrom, then in the order they were recorded. */
export function orderVersions<T extends Pick<FirmVersion, 'validFrom' | 'id'>>(versions: readonly T[]): T[] {
  return [...versions].sort((a, b) => (a.validFrom < b.validFrom ? -1 : a.validFrom > b.validFrom ? 1 : a.id - b.id));
}

/**
 * A firm's attributes on a local date (YYYY-MM-DD), from its versions (one firm's): the registration (the first
 * recorded, with every attribute) is the base, whatever its date, and every later change valid by then is
 * applied in order. So a change dated before the registration (above-scale since June, registered in September)
 * tells what the firm was then. Undefined only without versions.
 */
export function firmAt(versions: readonly FirmVersion[], date: string): FirmAttributes | undefined {
  const base = versions.reduce<FirmVersion | undefined>((m, v) => (m === undefined || v.id < m.id ? v : m), undefined);
  if (!base) return undefined;
  let state = { ...base.changes } as FirmAttributes;
  for (const v of orderVersions(versions)) if (v !== base && v.validFrom <= date) state = { ...state, ...v.changes };
  return state;
}

export interface FirmChange {
  changes: Partial<FirmAttributes>;
  /** Local date (YYYY-MM-DD) from which the change holds. */
  validFrom: string;
  recordedAt: number;
  recordedBy: string;
}

export interface NewDevice {
  firmId: string;
  type: string;
  name: string;
  location?: string;
  /** Chosen by the engineer, or generated when absent. */
  id?: string;
  /** When the device token stops working (ms); none when absent. */
  tokenExpiresAt?: number;
}

export interface Device {
  id: string;
  firmId: string;
  type: string;
  name: string;
  location: string;
  createdAt: number;
  lastSeenAt: number | null;
  lastTelemetryAt: number | null;
  /** Connected to a broker right now (set by the broker on connect and disconnect). */
  online: boolean;
  /** The device's own retained status message: online/offline, or null before its first. */
  reportedStatus: string | null;
  /** Sequence numbers received and expected from the first seq seen (gaps = expected - received). */
  seqReceived: number;
  seqExpected: number;
  /** Newest device clock offset seen: device timestamp minus platform receive time, ms. */
  clockSkewMs: number | null;
  /** When the device token stops working (ms), null when it does not expire. */
  tokenExpiresAt: number | null;
  /** Per counter: the device's own maximum gain per hour (instead of its type's), when an engineer set one. */
  rateOverrides?: Record<string, number>;
}

/** What the broker re-checks of a connected device: its current credential and its own counter rates. */
export interface DeviceCredential {
  deviceId: string;
  /** SHA-256 (hex) of the current token; null for a credential stored otherwise (replaced at its next login). */
  tokenSha256: string | null;
  tokenExpiresAt: number | null;
  rateOverrides: Record<string, number>;
}

export interface DeviceDay {
  day: string;
  accepted: number;
  rejected: number;
}

/** What the broker needs about an authenticated device to admit its messages. */
export interface DeviceContext {
  device: Device;
  firm: Firm;
}

export const ROLES = ['admin', 'bureau', 'engineer'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiPrincipal {
  tokenId: string;
  role: Role;
  /** Set for engineers: the one firm they may see. */
  firmId: string | null;
  name: string;
  /** Set when a person signed in with a password: their user id (tokenId is then `session:<user id>`). */
  userId?: string;
}

/** What is known about an API token; never its secret, which is shown only when it is created. */
export interface ApiTokenInfo extends ApiPrincipal {
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Last accepted use, to the minute (LAST_USED_RESOLUTION_MS): a write per request would cost more than it tells. */
  lastUsedAt: number | null;
  /** Registered at start-up from ADMIN_TOKEN (or the generated admin token); replaced when that changes. */
  operator: boolean;
}

export type ApiTokenCheck = { ok: true; principal: ApiPrincipal } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export const LAST_USED_RESOLUTION_MS = 60_000;

/** The one refusal of a device id that is taken, in any firm, or was ever used: it must not tell which. */
export const deviceIdUnavailable = (id: string): string => `device id ${id} is not available; choose another`;

export interface SeenUpdate {
  deviceId: string;
  seenAt: number;
  /** Time of the newest valid telemetry, when the device sent some. */
  telemetryAt?: number;
  /** Messages accepted and rejected since the last update (added to the day's counts, Asia/Shanghai). */
  accepted?: number;
  rejected?: number;
  /** Sequence numbers received and expected since the last update (added up). */
  seqReceived?: number;
  seqExpected?: number;
  clockSkewMs?: number;
  reportedStatus?: 'online' | 'offline';
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface FirmConnectivity {
  firmId: string;
  county: string;
  park: string;
  segment: string;
  aboveScale: boolean;
  demo: boolean;
  /** Newest valid telemetry of any of the firm's devices (ms), null if none ever. */
  lastTelemetryAt: number | null;
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface Registry extends GatewayRegistry {
  createFirm(firm: NewFirm): Promise<Firm>;
  getFirm(id: string): Promise<Firm | undefined>;
  listFirms(): Promise<Firm[]>;
  /** Records a dated change of a firm and returns the firm as it is now (NotFoundError if unknown). */
  updateFirm(id: string, change: FirmChange): Promise<Firm>;
  /** The dated versions of one firm, or of every firm (by firm), in the order they were recorded (firmAt applies them). */
  firmHistory(firmId?: string): Promise<FirmVersion[]>;

  /**
   * Creates a device and returns its token: the only time the token is visible. An id in use or ever used
   * before (deleted devices' ids are retired, so a new device never inherits another's history) is a
   * ConflictError with the same message whichever firm had it (deviceIdUnavailable).
   */
  createDevice(device: NewDevice): Promise<{ device: Device; token: string }>;
  getDevice(id: string): Promise<Device | undefined>;
  listDevices(firmId?: string): Promise<Device[]>;
  /** The device and its firm when the token matches and has not expired at `now`, otherwise undefined. */
  verifyDevice(id: string, token: string, now?: number): Promise<DeviceContext | undefined>;
  /** Issues a new token (expiring at opts.expiresAt, or never); the old one stops working at once. */
  rotateDeviceToken(id: string, opts?: { expiresAt?: number }): Promise<string>;
  /** Removes the device and its credential (its data in InfluxDB stays); its id is retired for good. */
  deleteDevice(id: string): Promise<void>;
  /** The current credential and own rates of these devices; a deleted device is absent. */
  deviceCredentials(ids: readonly string[]): Promise<DeviceCredential[]>;
  /** Sets (null: removes) a device's own maximum gain per hour of one counter; returns all its own rates. NotFoundError if unknown. */
  setRateOverride(deviceId: string, counter: string, maxPerHour: number | null): Promise<Record<string, number>>;
  markSeen(updates: readonly SeenUpdate[]): Promise<void>;
  setOnline(deviceId: string, online: boolean, at: number): Promise<void>;
  /** Accepted/rejected counts per day, newest first. */
  deviceDays(deviceId: string, days: number): Promise<DeviceDay[]>;

  recordAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  listAudit(q: { limit: number; beforeId?: number; target?: string }): Promise<AuditEntry[]>;

  createApiToken(role: Role, firmId: string | null, name: string, opts?: { expiresAt?: number }): Promise<{ token: string; principal: ApiPrincipal }>;
  /**
   * Registers the operator's token (ADMIN_TOKEN) if it is not known yet and revokes every other operator token,
   * so changing ADMIN_TOKEN retires the previous one (recorded in the audit trail). A revoked token is not
   * brought back: that is a ConflictError telling the operator to choose a new one.
   */
  ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal>;
  /** The principal of an active token, or why there is none; an accepted use is recorded (lastUsedAt). */
  checkApiToken(token: string, now?: number): Promise<ApiTokenCheck>;
  /** The principal of an active token (checkApiToken without the reason). */
  verifyApiToken(token: string): Promise<ApiPrincipal | undefined>;
  /** Tokens, newest first; of one firm's engineers when firmId is given. */
  listApiTokens(q?: { firmId?: string }): Promise<ApiTokenInfo[]>;
  getApiToken(tokenId: string): Promise<ApiTokenInfo | undefined>;
  /** Revokes a token at once: true when it was active, false when already revoked; NotFoundError if unknown. */
  revokeApiToken(tokenId: string, at?: number): Promise<boolean>;

  firmConnectivity(): Promise<FirmConnectivity[]>;

  /** A person who signs in with a password; ConflictError when the login name is taken, NotFoundError for an engineer without an existing firm. */
  createUser(user: NewUser): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  /** Users by login name. */
  listUsers(): Promise<User[]>;
  /** Changes a user (NotFoundError if unknown); disabling them, or a new role or firm, ends their sessions at once. */
  updateUser(id: string, change: UserChange): Promise<User>;
  /** Sets a new password and ends every session of the user (NotFoundError if unknown); `mustChange`: one given to them, to be replaced at sign-in. */
  setUserPassword(id: string, password: string, opts?: { mustChange?: boolean }): Promise<void>;
  /** Checks a sign-in; an unknown login name takes as long as a wrong password. */
  checkPassword(login: string, password: string): Promise<PasswordCheck>;
  /** Opens a session for the user, valid until `now + absoluteMs`, and records the sign-in; returns the session id (stored only as its hash). */
  createSession(userId: string, opts: { absoluteMs: number; now?: number }): Promise<string>;
  /** The user of a session still valid at `now` (not past its lifetime, used within idleMs, user enabled); a use is recorded to the minute. */
  checkSession(sessionId: string, opts: { idleMs: number; now?: number }): Promise<SessionCheck>;
  /** Ends one session (signing out); unknown ids are ignored. */
  endSession(sessionId: string): Promise<void>;

  close(): Promise<void>;
}
