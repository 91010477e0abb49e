// Row shapes shared by the SQL registry adapters, and their mapping to the registry's types. SQLite returns
// flags as 0/1 and PostgreSQL as booleans; everything else has the same column names and types.
import type { SmartFactoryTier } from '../places.ts';
import type { ApiPrincipal, Device, Firm, FirmConnectivity, Role } from './registry.ts';

type Flag = boolean | number;
const flag = (v: Flag): boolean => v === true || v === 1;

export interface FirmRow {
  id: string; name: string; county: string; park: string; segment: string; above_scale: Flag; employees: number;
  land_mu: number; smart_factory_tier: string; demo: Flag; created_at: number;
}
export interface DeviceRow {
  id: string; firm_id: string; type: string; name: string; location: string; token_hash: string; created_at: number;
  last_seen_at: number | null; last_telemetry_at: number | null; online: Flag; reported_status: string | null;
  seq_received: number; seq_expected: number; clock_skew_ms: number | null;
}
export interface TokenRow { id: string; role: string; firm_id: string | null; name: string }

export function firmFrom(r: FirmRow): Firm {
  return {
    id: r.id, name: r.name, county: r.county, park: r.park, segment: r.segment, aboveScale: flag(r.above_scale),
    employees: r.employees, landMu: r.land_mu, smartFactoryTier: r.smart_factory_tier as SmartFactoryTier, demo: flag(r.demo), createdAt: r.created_at,
  };
}

export function deviceFrom(r: DeviceRow): Device {
  return {
    id: r.id, firmId: r.firm_id, type: r.type, name: r.name, location: r.location, createdAt: r.created_at,
    lastSeenAt: r.last_seen_at, lastTelemetryAt: r.last_telemetry_at, online: flag(r.online), reportedStatus: r.reported_status,
    seqReceived: r.seq_received, seqExpected: r.seq_expected, clockSkewMs: r.clock_skew_ms,
  };
}

export function principalFrom(r: TokenRow): ApiPrincipal {
  return { tokenId: r.id, role: r.role as Role, firmId: r.firm_id, name: r.name };
}

export function connectivityFrom(r: FirmRow, lastTelemetryAt: number | null): FirmConnectivity {
  return { firmId: r.id, county: r.county, park: r.park, segment: r.segment, aboveScale: flag(r.above_scale), lastTelemetryAt };
}
