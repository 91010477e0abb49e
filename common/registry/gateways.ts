// Gateways (edge nodes): one credential that may publish for a list of its firm's devices, so a gateway in a
// factory needs one MQTT connection, not one per machine. The registry port's gateway part, its rows and the rules
// both adapters share. A gateway id is taken from the device id namespace (and retired with it), so a topic's
// device level and a clientId never mean two things.
import { randomBytes } from 'node:crypto';
import type { Device, Firm } from './registry.ts';
import { NotFoundError } from './registry.ts';

/**
 * Sparkplug B metric names to catalogue metric ids, per device type: opaque to the registry, kept for the broker's
 * Sparkplug edge-node support (group id = firm id, edge node id = gateway id).
 */
export type SparkplugMappings = Record<string, Record<string, string>>;

export interface NewGateway {
  firmId: string;
  name: string;
  /** Devices of the same firm it may publish for. */
  deviceIds: readonly string[];
  /** Chosen by the engineer, or generated when absent. */
  id?: string;
  /** When the gateway token stops working (ms); none when absent. */
  tokenExpiresAt?: number;
}

export interface Gateway {
  id: string;
  firmId: string;
  name: string;
  /** Sorted. */
  deviceIds: string[];
  tokenExpiresAt: number | null;
  createdAt: number;
  lastSeenAt: number | null;
  /** Connected to a broker right now (set by the broker on connect and disconnect). */
  online: boolean;
  sparkplugMappings: SparkplugMappings;
}

export interface GatewayChange {
  name?: string;
  deviceIds?: readonly string[];
}

/** What the broker needs about an authenticated gateway: its firm and the devices it publishes for. */
export interface GatewayContext {
  gateway: Gateway;
  firm: Firm;
  /** The gateway's devices, in deviceIds order. */
  devices: Device[];
}

/** What the broker re-checks of a connected gateway. */
export interface GatewayCredential {
  gatewayId: string;
  /** SHA-256 (hex) of the current token. */
  tokenSha256: string | null;
  tokenExpiresAt: number | null;
  deviceIds: string[];
}

export interface GatewayRegistry {
  /**
   * Registers a gateway and returns its token: the only time the token is visible. Its id comes from the device
   * id namespace: one in use or ever used by a device or gateway is a ConflictError (deviceIdUnavailable). Every
   * device must be one of the firm's (NotFoundError, notFirmDevice).
   */
  createGateway(gateway: NewGateway): Promise<{ gateway: Gateway; token: string }>;
  getGateway(id: string): Promise<Gateway | undefined>;
  listGateways(firmId?: string): Promise<Gateway[]>;
  /** Renames the gateway or replaces its device list (same rule as createGateway); NotFoundError if unknown. */
  updateGateway(id: string, change: GatewayChange): Promise<Gateway>;
  /** Issues a new token (expiring at opts.expiresAt, or never); the old one stops working at once. */
  rotateGatewayToken(id: string, opts?: { expiresAt?: number }): Promise<string>;
  /** Removes the gateway and its credential; its id is retired for good. */
  deleteGateway(id: string): Promise<void>;
  /** The gateway, its firm and its devices when the token matches and has not expired at `now`. */
  verifyGateway(id: string, token: string, now?: number): Promise<GatewayContext | undefined>;
  /** Replaces the gateway's Sparkplug metric mappings; NotFoundError if unknown. */
  setGatewayMappings(id: string, mappings: SparkplugMappings): Promise<Gateway>;
  setGatewayOnline(id: string, online: boolean, at: number): Promise<void>;
  /** The current credential and device list of these gateways; a deleted gateway is absent. */
  gatewayCredentials(ids: readonly string[]): Promise<GatewayCredential[]>;
}

/** Gateways and their device lists. Devices cascade: a deleted device leaves every gateway's list. */
export const GATEWAY_TABLES = (types: { time: string; flag: string; falseValue: string }): string => `
  CREATE TABLE gateways (
    id TEXT PRIMARY KEY, firm_id TEXT NOT NULL REFERENCES firms(id), name TEXT NOT NULL, token_hash TEXT NOT NULL,
    token_expires_at ${types.time}, created_at ${types.time} NOT NULL, last_seen_at ${types.time},
    online ${types.flag} NOT NULL DEFAULT ${types.falseValue}, sparkplug_mappings TEXT NOT NULL DEFAULT '{}');
  CREATE INDEX gateways_firm ON gateways(firm_id);
  CREATE TABLE gateway_devices (
    gateway_id TEXT NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (gateway_id, device_id));
  CREATE INDEX gateway_devices_device ON gateway_devices(device_id);`;

export interface GatewayRow {
  id: string; firm_id: string; name: string; token_hash: string; token_expires_at: number | null; created_at: number;
  last_seen_at: number | null; online: boolean | number; sparkplug_mappings: string;
}

export function gatewayFrom(r: GatewayRow, deviceIds: readonly string[]): Gateway {
  return {
    id: r.id, firmId: r.firm_id, name: r.name, deviceIds: [...deviceIds], tokenExpiresAt: r.token_expires_at, createdAt: r.created_at,
    lastSeenAt: r.last_seen_at, online: r.online === true || r.online === 1, sparkplugMappings: JSON.parse(r.sparkplug_mappings) as SparkplugMappings,
  };
}

/** Device ids per gateway, from (gateway_id, device_id) rows in device order. */
export function deviceIdsByGateway(rows: ReadonlyArray<{ gateway_id: string; device_id: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) {
    const list = out.get(r.gateway_id);
    if (list) list.push(r.device_id);
    else out.set(r.gateway_id, [r.device_id]);
  }
  return out;
}

export function gatewayCredentialFrom(r: Pick<GatewayRow, 'id' | 'token_hash' | 'token_expires_at'>, deviceIds: readonly string[]): GatewayCredential {
  const [scheme, hex] = r.token_hash.split('$');
  return { gatewayId: r.id, tokenSha256: scheme === 'sha256' && hex ? hex : null, tokenExpiresAt: r.token_expires_at, deviceIds: [...deviceIds] };
}

export const gatewayTokenExpired = (r: GatewayRow, now: number): boolean => r.token_expires_at !== null && r.token_expires_at <= now;

/** A generated gateway id: `gw-` and 40 random bits. */
export const generatedGatewayId = (): string => `gw-${randomBytes(5).toString('hex')}`;

/** The refusal of a device that is not the firm's (unknown or another firm's: one message, it must not tell which). */
export const notFirmDevice = (deviceId: string, firmId: string): string =>
  `device ${deviceId} is not a device of firm ${firmId}; a gateway publishes only for its own firm's devices`;

/** The distinct device ids, sorted; NotFoundError for the first that is not among the firm's (found). */
export function checkedDeviceIds(wanted: readonly string[], found: readonly string[], firmId: string): string[] {
  const known = new Set(found);
  const ids = [...new Set(wanted)].sort();
  const missing = ids.find((id) => !known.has(id));
  if (missing !== undefined) throw new NotFoundError(notFirmDevice(missing, firmId));
  return ids;
}

/** The registry adapters' gateway methods, handed to their gateway part (kept in its own file per adapter). */
export abstract class GatewaysDelegate implements GatewayRegistry {
  protected abstract readonly gateways: GatewayRegistry;
  createGateway(g: NewGateway): Promise<{ gateway: Gateway; token: string }> { return this.gateways.createGateway(g); }
  getGateway(id: string): Promise<Gateway | undefined> { return this.gateways.getGateway(id); }
  listGateways(firmId?: string): Promise<Gateway[]> { return this.gateways.listGateways(firmId); }
  updateGateway(id: string, change: GatewayChange): Promise<Gateway> { return this.gateways.updateGateway(id, change); }
  rotateGatewayToken(id: string, opts?: { expiresAt?: number }): Promise<string> { return this.gateways.rotateGatewayToken(id, opts); }
  deleteGateway(id: string): Promise<void> { return this.gateways.deleteGateway(id); }
  verifyGateway(id: string, token: string, now?: number): Promise<GatewayContext | undefined> { return this.gateways.verifyGateway(id, token, now); }
  setGatewayMappings(id: string, mappings: SparkplugMappings): Promise<Gateway> { return this.gateways.setGatewayMappings(id, mappings); }
  setGatewayOnline(id: string, online: boolean, at: number): Promise<void> { return this.gateways.setGatewayOnline(id, online, at); }
  gatewayCredentials(ids: readonly string[]): Promise<GatewayCredential[]> { return this.gateways.gatewayCredentials(ids); }
}
