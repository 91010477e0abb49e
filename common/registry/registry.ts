// The registry port: firms, devices, credentials and API tokens. One interface, one conformance suite
// (test/conformance/registry.ts), run against every adapter.
import type { SmartFactoryTier } from '../places.ts';

export interface NewFirm {
  id: string;
  name: string;
  county: string;
  park: string;
  segment: string;
  aboveScale: boolean;
  employees: number;
  landMu: number;
  smartFactoryTier: SmartFactoryTier;
  demo: boolean;
}

export interface Firm extends NewFirm {
  createdAt: number;
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
  /** Newest valid telemetry of any of the firm's devices (ms), null if none ever. */
  lastTelemetryAt: number | null;
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export interface Registry {
  createFirm(firm: NewFirm): Promise<Firm>;
  getFirm(id: string): Promise<Firm | undefined>;
  listFirms(): Promise<Firm[]>;

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
  close(): Promise<void>;
}
