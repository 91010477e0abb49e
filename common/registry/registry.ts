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

  /** Creates a device and returns its token: the only time the token is visible. */
  createDevice(device: NewDevice): Promise<{ device: Device; token: string }>;
  getDevice(id: string): Promise<Device | undefined>;
  listDevices(firmId?: string): Promise<Device[]>;
  /** The device and its firm when the token matches, otherwise undefined. */
  verifyDevice(id: string, token: string): Promise<DeviceContext | undefined>;
  /** Issues a new token; the old one stops working at once. */
  rotateDeviceToken(id: string): Promise<string>;
  /** Removes the device and its credential (its data in InfluxDB stays). */
  deleteDevice(id: string): Promise<void>;
  markSeen(updates: readonly SeenUpdate[]): Promise<void>;
  setOnline(deviceId: string, online: boolean, at: number): Promise<void>;
  /** Accepted/rejected counts per day, newest first. */
  deviceDays(deviceId: string, days: number): Promise<DeviceDay[]>;

  recordAudit(entry: Omit<AuditEntry, 'id'>): Promise<void>;
  listAudit(q: { limit: number; beforeId?: number; target?: string }): Promise<AuditEntry[]>;

  createApiToken(role: Role, firmId: string | null, name: string): Promise<{ token: string; principal: ApiPrincipal }>;
  /** Registers a token chosen by the operator (ADMIN_TOKEN) if it is not known yet. */
  ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal>;
  verifyApiToken(token: string): Promise<ApiPrincipal | undefined>;

  firmConnectivity(): Promise<FirmConnectivity[]>;
  close(): Promise<void>;
}
