// Registry adapter on embedded SQLite (better-sqlite3 12; 13 crashes on Node 20).
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../sqlite.ts';
import { hashSecret, newToken, sha256, verifySecret } from '../ids.ts';
import {
  ConflictError, NotFoundError,
  type ApiPrincipal, type Device, type DeviceContext, type Firm, type FirmConnectivity, type NewDevice, type NewFirm, type Registry, type Role, type SeenUpdate,
} from './registry.ts';
import type { SmartFactoryTier } from '../places.ts';

const MIGRATIONS = [
  `CREATE TABLE firms (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, county TEXT NOT NULL, park TEXT NOT NULL, segment TEXT NOT NULL,
     above_scale INTEGER NOT NULL, employees INTEGER NOT NULL, land_mu REAL NOT NULL, smart_factory_tier TEXT NOT NULL,
     demo INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY, firm_id TEXT NOT NULL REFERENCES firms(id), type TEXT NOT NULL, name TEXT NOT NULL,
     location TEXT NOT NULL, token_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
     last_seen_at INTEGER, last_telemetry_at INTEGER);
   CREATE INDEX devices_firm ON devices(firm_id);
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, role TEXT NOT NULL, firm_id TEXT REFERENCES firms(id),
     name TEXT NOT NULL, created_at INTEGER NOT NULL);`,
];

interface FirmRow {
  id: string; name: string; county: string; park: string; segment: string; above_scale: number; employees: number;
  land_mu: number; smart_factory_tier: string; demo: number; created_at: number;
}
interface DeviceRow {
  id: string; firm_id: string; type: string; name: string; location: string; token_hash: string; created_at: number;
  last_seen_at: number | null; last_telemetry_at: number | null;
}
interface TokenRow { id: string; role: string; firm_id: string | null; name: string }

function firmFrom(r: FirmRow): Firm {
  return {
    id: r.id, name: r.name, county: r.county, park: r.park, segment: r.segment, aboveScale: r.above_scale === 1,
    employees: r.employees, landMu: r.land_mu, smartFactoryTier: r.smart_factory_tier as SmartFactoryTier, demo: r.demo === 1, createdAt: r.created_at,
  };
}
function deviceFrom(r: DeviceRow): Device {
  return {
    id: r.id, firmId: r.firm_id, type: r.type, name: r.name, location: r.location, createdAt: r.created_at,
    lastSeenAt: r.last_seen_at, lastTelemetryAt: r.last_telemetry_at,
  };
}
function principalFrom(r: TokenRow): ApiPrincipal {
  return { tokenId: r.id, role: r.role as Role, firmId: r.firm_id, name: r.name };
}

export class SqliteRegistry implements Registry {
  private readonly db: Db;
  private readonly stmt;

  constructor(file: string) {
    this.db = openDb(file, MIGRATIONS, { synchronous: 'NORMAL' });
    const db = this.db;
    this.stmt = {
      insertFirm: db.prepare(`INSERT INTO firms VALUES (@id,@name,@county,@park,@segment,@above_scale,@employees,@land_mu,@smart_factory_tier,@demo,@created_at)`),
      getFirm: db.prepare<[string], FirmRow>('SELECT * FROM firms WHERE id = ?'),
      listFirms: db.prepare<[], FirmRow>('SELECT * FROM firms ORDER BY county, name'),
      insertDevice: db.prepare(`INSERT INTO devices (id, firm_id, type, name, location, token_hash, created_at) VALUES (@id,@firm_id,@type,@name,@location,@token_hash,@created_at)`),
      getDevice: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
      listDevices: db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY firm_id, id'),
      listFirmDevices: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE firm_id = ? ORDER BY id'),
      seen: db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, 0), @seenAt) WHERE id = @deviceId'),
      seenTelemetry: db.prepare('UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, 0), @seenAt), last_telemetry_at = max(coalesce(last_telemetry_at, 0), @telemetryAt) WHERE id = @deviceId'),
      insertToken: db.prepare('INSERT INTO api_tokens VALUES (@id,@token_sha256,@role,@firm_id,@name,@created_at)'),
      getToken: db.prepare<[string], TokenRow>('SELECT id, role, firm_id, name FROM api_tokens WHERE token_sha256 = ?'),
      connectivity: db.prepare<[], FirmRow & { last_telemetry_at: number | null }>(
        `SELECT f.*, (SELECT max(d.last_telemetry_at) FROM devices d WHERE d.firm_id = f.id) AS last_telemetry_at FROM firms f`),
    };
  }

  async createFirm(f: NewFirm): Promise<Firm> {
    const createdAt = Date.now();
    try {
      this.stmt.insertFirm.run({
        id: f.id, name: f.name, county: f.county, park: f.park, segment: f.segment, above_scale: f.aboveScale ? 1 : 0,
        employees: f.employees, land_mu: f.landMu, smart_factory_tier: f.smartFactoryTier, demo: f.demo ? 1 : 0, created_at: createdAt,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`firm ${f.id} already exists`);
      throw err;
    }
    return { ...f, createdAt };
  }

  async getFirm(id: string): Promise<Firm | undefined> {
    const r = this.stmt.getFirm.get(id);
    return r ? firmFrom(r) : undefined;
  }

  async listFirms(): Promise<Firm[]> {
    return this.stmt.listFirms.all().map(firmFrom);
  }

  async createDevice(d: NewDevice): Promise<{ device: Device; token: string }> {
    if (!this.stmt.getFirm.get(d.firmId)) throw new NotFoundError(`firm ${d.firmId} does not exist`);
    const id = d.id ?? `${d.type.replace(/_/g, '-').slice(0, 12)}-${randomBytes(5).toString('hex')}`;
    const token = newToken('dt');
    const tokenHash = await hashSecret(token);
    const createdAt = Date.now();
    try {
      this.stmt.insertDevice.run({ id, firm_id: d.firmId, type: d.type, name: d.name, location: d.location ?? '', token_hash: tokenHash, created_at: createdAt });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`device ${id} already exists`);
      throw err;
    }
    return { device: { id, firmId: d.firmId, type: d.type, name: d.name, location: d.location ?? '', createdAt, lastSeenAt: null, lastTelemetryAt: null }, token };
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const r = this.stmt.getDevice.get(id);
    return r ? deviceFrom(r) : undefined;
  }

  async listDevices(firmId?: string): Promise<Device[]> {
    return (firmId === undefined ? this.stmt.listDevices.all() : this.stmt.listFirmDevices.all(firmId)).map(deviceFrom);
  }

  async verifyDevice(id: string, token: string): Promise<DeviceContext | undefined> {
    const r = this.stmt.getDevice.get(id);
    if (!r || !(await verifySecret(token, r.token_hash))) return undefined;
    const f = this.stmt.getFirm.get(r.firm_id);
    if (!f) return undefined;
    return { device: deviceFrom(r), firm: firmFrom(f) };
  }

  async markSeen(updates: readonly SeenUpdate[]): Promise<void> {
    this.db.transaction(() => {
      for (const u of updates) {
        if (u.telemetryAt !== undefined) this.stmt.seenTelemetry.run({ deviceId: u.deviceId, seenAt: u.seenAt, telemetryAt: u.telemetryAt });
        else this.stmt.seen.run({ deviceId: u.deviceId, seenAt: u.seenAt });
      }
    })();
  }

  private insertToken(token: string, role: Role, firmId: string | null, name: string): ApiPrincipal {
    const id = randomBytes(8).toString('hex');
    this.stmt.insertToken.run({ id, token_sha256: sha256(token), role, firm_id: firmId, name, created_at: Date.now() });
    return { tokenId: id, role, firmId, name };
  }

  async createApiToken(role: Role, firmId: string | null, name: string): Promise<{ token: string; principal: ApiPrincipal }> {
    if (role === 'engineer' && (firmId === null || !this.stmt.getFirm.get(firmId))) throw new NotFoundError(`an engineer token needs an existing firm, got ${firmId}`);
    const token = newToken('at', 32);
    return { token, principal: this.insertToken(token, role, role === 'engineer' ? firmId : null, name) };
  }

  async ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal> {
    const r = this.stmt.getToken.get(sha256(token));
    return r ? principalFrom(r) : this.insertToken(token, role, firmId, name);
  }

  // API tokens are 256 random bits, so an unsalted SHA-256 lookup is as safe as a slow hash and O(1).
  async verifyApiToken(token: string): Promise<ApiPrincipal | undefined> {
    const r = this.stmt.getToken.get(sha256(token));
    return r ? principalFrom(r) : undefined;
  }

  async firmConnectivity(): Promise<FirmConnectivity[]> {
    return this.stmt.connectivity.all().map((r) => ({
      firmId: r.id, county: r.county, park: r.park, segment: r.segment, aboveScale: r.above_scale === 1, lastTelemetryAt: r.last_telemetry_at,
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
