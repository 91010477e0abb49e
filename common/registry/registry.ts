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
  markSeen(updates: readonly SeenUpdate[]): Promise<void>;

  createApiToken(role: Role, firmId: string | null, name: string): Promise<{ token: string; principal: ApiPrincipal }>;
  /** Registers a token chosen by the operator (ADMIN_TOKEN) if it is not known yet. */
  ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal>;
  verifyApiToken(token: string): Promise<ApiPrincipal | undefined>;

  firmConnectivity(): Promise<FirmConnectivity[]>;
  close(): Promise<void>;
}
