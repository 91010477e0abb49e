// Row shapes shared by the SQL registry adapters, and their mapping to the registry's types. SQLite returns
// flags as 0/1 and PostgreSQL as booleans; everything else has the same column names and types.
import { randomBytes } from 'node:crypto';
import type { SmartFactoryTier } from '../places.ts';
import { localDate } from '../time.ts';
import {
  FIRM_ATTRIBUTES, LAST_USED_RESOLUTION_MS, firmAt,
  type ApiPrincipal, type ApiTokenCheck, type ApiTokenInfo, type AuditEntry, type Device, type DeviceCredential, type Firm, type FirmAttributes, type FirmConnectivity, type FirmVersion, type NewFirm, type Role,
} from './registry.ts';

type Flag = boolean | number;
const flag = (v: Flag): boolean => v === true || v === 1;

export interface FirmRow {
  id: string; name: string; county: string; park: string; segment: string; above_scale: Flag; employees: number;
  land_mu: number; smart_factory_tier: string; demo: Flag; created_at: number;
  above_scale_since: string | null; smart_factory_certificate_id: string | null; smart_factory_certified_on: string | null;
}
export interface FirmVersionRow { id: number; firm_id: string; valid_from: string; recorded_at: number; recorded_by: string; changes: string }
export interface DeviceRow {
  id: string; firm_id: string; type: string; name: string; location: string; token_hash: string; created_at: number;
  last_seen_at: number | null; last_telemetry_at: number | null; online: Flag; reported_status: string | null;
  seq_received: number; seq_expected: number; clock_skew_ms: number | null; token_expires_at: number | null;
  rate_overrides?: string | null;
}
export interface TokenRow {
  id: string; role: string; firm_id: string | null; name: string; created_at: number; expires_at: number | null;
  revoked_at: number | null; last_used_at: number | null; operator: Flag;
}
/** Every column of api_tokens but the hash. */
export const TOKEN_COLUMNS = 'id, role, firm_id, name, created_at, expires_at, revoked_at, last_used_at, operator';

export function firmFrom(r: FirmRow): Firm {
  return {
    id: r.id, name: r.name, county: r.county, park: r.park, segment: r.segment, aboveScale: flag(r.above_scale),
    aboveScaleSince: r.above_scale_since, employees: r.employees, landMu: r.land_mu, smartFactoryTier: r.smart_factory_tier as SmartFactoryTier,
    smartFactoryCertificateId: r.smart_factory_certificate_id, smartFactoryCertifiedOn: r.smart_factory_certified_on, demo: flag(r.demo), createdAt: r.created_at,
  };
}

/** Every attribute of a firm being registered, the optional ones null when absent. */
export function attributesOf(f: NewFirm): FirmAttributes {
  return {
    name: f.name, county: f.county, park: f.park, segment: f.segment, aboveScale: f.aboveScale, aboveScaleSince: f.aboveScaleSince ?? null,
    employees: f.employees, landMu: f.landMu, smartFactoryTier: f.smartFactoryTier,
    smartFactoryCertificateId: f.smartFactoryCertificateId ?? null, smartFactoryCertifiedOn: f.smartFactoryCertifiedOn ?? null,
  };
}

/** The firms table's columns of the attributes (named parameters of both adapters' statements). */
export function firmColumns(a: FirmAttributes): Record<string, string | number | boolean | null> {
  return {
    name: a.name, county: a.county, park: a.park, segment: a.segment, above_scale: a.aboveScale, above_scale_since: a.aboveScaleSince,
    employees: a.employees, land_mu: a.landMu, smart_factory_tier: a.smartFactoryTier,
    smart_factory_certificate_id: a.smartFactoryCertificateId, smart_factory_certified_on: a.smartFactoryCertifiedOn,
  };
}

/** Only the known attributes of a stored change (what JSON gives back is checked, not trusted). */
function changesFrom(json: string): Partial<FirmAttributes> {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of FIRM_ATTRIBUTES) if (k in raw) out[k] = k === 'aboveScale' ? flag(raw[k] as Flag) : raw[k];
  return out as Partial<FirmAttributes>;
}

export function versionFrom(r: FirmVersionRow): FirmVersion {
  return { id: Number(r.id), firmId: r.firm_id, validFrom: r.valid_from, recordedAt: r.recorded_at, recordedBy: r.recorded_by, changes: changesFrom(r.changes) };
}

/** The first version of a firm: its registration, with every attribute, from its registration day. */
export function registrationVersion(f: NewFirm, createdAt: number): Omit<FirmVersionRow, 'id'> {
  return { firm_id: f.id, valid_from: localDate(createdAt), recorded_at: createdAt, recorded_by: 'registration', changes: JSON.stringify(attributesOf(f)) };
}

/** The firm's attributes with every version applied (changes dated in the future are refused before they get here). */
export function currentAttributes(versions: readonly FirmVersion[]): FirmAttributes {
  const a = firmAt(versions, '9999-12-31');
  if (!a) throw new Error('a firm without versions');
  return a;
}
export function deviceFrom(r: DeviceRow): Device {
  return {
    id: r.id, firmId: r.firm_id, type: r.type, name: r.name, location: r.location, createdAt: r.created_at,
    lastSeenAt: r.last_seen_at, lastTelemetryAt: r.last_telemetry_at, online: flag(r.online), reportedStatus: r.reported_status,
    seqReceived: r.seq_received, seqExpected: r.seq_expected, clockSkewMs: r.clock_skew_ms, tokenExpiresAt: r.token_expires_at,
    ...rateOverridesOf(r),
  };
}

/** A device's own counter rates, stored as JSON; only present when it has some. */
function rateOverridesOf(r: Pick<DeviceRow, 'rate_overrides'>): { rateOverrides?: Record<string, number> } {
  const o = r.rate_overrides ? (JSON.parse(r.rate_overrides) as Record<string, number>) : {};
  return Object.keys(o).length > 0 ? { rateOverrides: o } : {};
}

/** The columns deviceCredentials reads. */
export const CREDENTIAL_COLUMNS = 'id, token_hash, token_expires_at, rate_overrides';

export function credentialFrom(r: Pick<DeviceRow, 'id' | 'token_hash' | 'token_expires_at' | 'rate_overrides'>): DeviceCredential {
  const [scheme, hex] = r.token_hash.split('$');
  return { deviceId: r.id, tokenSha256: scheme === 'sha256' && hex ? hex : null, tokenExpiresAt: r.token_expires_at, rateOverrides: rateOverridesOf(r).rateOverrides ?? {} };
}

/** The device's own rates with one counter set to maxPerHour, or removed (null), as stored. */
export function withRateOverride(stored: string | null | undefined, counter: string, maxPerHour: number | null): Record<string, number> {
  const o = { ...(rateOverridesOf({ rate_overrides: stored ?? null }).rateOverrides ?? {}) };
  if (maxPerHour === null) delete o[counter];
  else o[counter] = maxPerHour;
  return o;
}

/** A device token past its expiry no longer opens a connection. */
export const deviceTokenExpired = (r: DeviceRow, now: number): boolean => r.token_expires_at !== null && r.token_expires_at <= now;

export function principalFrom(r: TokenRow): ApiPrincipal {
  return { tokenId: r.id, role: r.role as Role, firmId: r.firm_id, name: r.name };
}

export function tokenInfoFrom(r: TokenRow): ApiTokenInfo {
  return {
    ...principalFrom(r), createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at, operator: flag(r.operator),
  };
}

/** Whether the token row (found by its hash, or not) may be used at `now`. */
export function tokenCheckOf(r: TokenRow | undefined, now: number): ApiTokenCheck {
  if (!r) return { ok: false, reason: 'unknown' };
  if (r.revoked_at !== null) return { ok: false, reason: 'revoked' };
  if (r.expires_at !== null && r.expires_at <= now) return { ok: false, reason: 'expired' };
  return { ok: true, principal: principalFrom(r) };
}

/** Whether an accepted use should be written down (lastUsedAt is kept to the minute). */
export const lastUseStale = (r: TokenRow, now: number): boolean => r.last_used_at === null || r.last_used_at <= now - LAST_USED_RESOLUTION_MS;

/** The audit entry of operator tokens retired because ADMIN_TOKEN changed. */
export function operatorRevocationAudit(tokenId: string, at: number): Omit<AuditEntry, 'id'> {
  return { at, actor: 'start-up (ADMIN_TOKEN changed)', action: 'token.revoke', target: tokenId, detail: JSON.stringify({ reason: 'replaced by a new ADMIN_TOKEN' }) };
}

export const REVOKED_OPERATOR_TOKEN = 'the admin token given at start-up (ADMIN_TOKEN, or the generated admin-token file) was revoked; set ADMIN_TOKEN to a new value and start again';

/** A generated device id: the type, shortened, and 40 random bits. */
export function generatedDeviceId(type: string): string {
  return `${type.replace(/_/g, '-').slice(0, 12)}-${randomBytes(5).toString('hex')}`;
}

export function connectivityFrom(r: FirmRow, lastTelemetryAt: number | null): FirmConnectivity {
  return { firmId: r.id, county: r.county, park: r.park, segment: r.segment, aboveScale: flag(r.above_scale), demo: flag(r.demo), lastTelemetryAt };
}
