// The gateway part of the SQLite registry adapter (SqliteRegistry delegates to it), on the registry's own database.
import { hashSecret, newToken, verifySecret } from '../ids.ts';
import type { Db } from '../sqlite.ts';
import { ConflictError, NotFoundError, deviceIdUnavailable } from './registry.ts';
import { deviceFrom, firmFrom, type DeviceRow, type FirmRow } from './rows.ts';
import {
  checkedDeviceIds, deviceIdsByGateway, gatewayCredentialFrom, gatewayFrom, gatewayTokenExpired, generatedGatewayId,
  type Gateway, type GatewayChange, type GatewayContext, type GatewayCredential, type GatewayRegistry, type GatewayRow, type NewGateway, type SparkplugMappings,
} from './gateways.ts';

type Link = { gateway_id: string; device_id: string };

export class SqliteGateways implements GatewayRegistry {
  constructor(private readonly db: Db) {}

  private row(id: string): GatewayRow | undefined {
    return this.db.prepare<[string], GatewayRow>('SELECT * FROM gateways WHERE id = ?').get(id);
  }

  private deviceIds(id: string): string[] {
    return this.db.prepare<[string], { device_id: string }>('SELECT device_id FROM gateway_devices WHERE gateway_id = ? ORDER BY device_id').all(id).map((r) => r.device_id);
  }

  private withDevices(r: GatewayRow): Gateway {
    return gatewayFrom(r, this.deviceIds(r.id));
  }

  /** The sorted distinct ids, once every one is checked to be a device of the firm. */
  private firmDevices(firmId: string, wanted: readonly string[]): string[] {
    const found = wanted.length === 0 ? [] : this.db.prepare<string[], { id: string }>(
      `SELECT id FROM devices WHERE firm_id = ? AND id IN (${wanted.map(() => '?').join(',')})`).all(firmId, ...wanted).map((r) => r.id);
    return checkedDeviceIds(wanted, found, firmId);
  }

  private link(id: string, deviceIds: readonly string[]): void {
    this.db.prepare('DELETE FROM gateway_devices WHERE gateway_id = ?').run(id);
    const insert = this.db.prepare('INSERT INTO gateway_devices (gateway_id, device_id) VALUES (?, ?)');
    for (const d of deviceIds) insert.run(id, d);
  }

  async createGateway(g: NewGateway): Promise<{ gateway: Gateway; token: string }> {
    if (!this.db.prepare('SELECT 1 FROM firms WHERE id = ?').get(g.firmId)) throw new NotFoundError(`firm ${g.firmId} does not exist`);
    const id = g.id ?? generatedGatewayId();
    const token = newToken('gt');
    const row = { id, firm_id: g.firmId, name: g.name, token_hash: hashSecret(token), token_expires_at: g.tokenExpiresAt ?? null, created_at: Date.now() };
    const created = this.db.transaction(() => {
      const deviceIds = this.firmDevices(g.firmId, g.deviceIds);
      // The id is reserved for good first, as a device's: taken or retired, in whichever firm, is the same refusal.
      if (this.db.prepare('INSERT OR IGNORE INTO device_ids (id, firm_id) VALUES (?, ?)').run(id, g.firmId).changes !== 1) return false;
      this.db.prepare(`INSERT INTO gateways (id, firm_id, name, token_hash, token_expires_at, created_at)
        VALUES (@id, @firm_id, @name, @token_hash, @token_expires_at, @created_at)`).run(row);
      this.link(id, deviceIds);
      return true;
    })();
    if (!created) throw new ConflictError(deviceIdUnavailable(id));
    const stored = this.row(id);
    if (!stored) throw new Error(`gateway ${id} vanished after insert`);
    return { gateway: this.withDevices(stored), token };
  }

  async getGateway(id: string): Promise<Gateway | undefined> {
    const r = this.row(id);
    return r ? this.withDevices(r) : undefined;
  }

  async listGateways(firmId?: string): Promise<Gateway[]> {
    const rows = firmId === undefined
      ? this.db.prepare<[], GatewayRow>('SELECT * FROM gateways ORDER BY firm_id, id').all()
      : this.db.prepare<[string], GatewayRow>('SELECT * FROM gateways WHERE firm_id = ? ORDER BY id').all(firmId);
    const links = deviceIdsByGateway(this.db.prepare<[], Link>('SELECT gateway_id, device_id FROM gateway_devices ORDER BY gateway_id, device_id').all());
    return rows.map((r) => gatewayFrom(r, links.get(r.id) ?? []));
  }

  async updateGateway(id: string, change: GatewayChange): Promise<Gateway> {
    return this.db.transaction(() => {
      const r = this.row(id);
      if (!r) throw new NotFoundError(`gateway ${id} not found`);
      if (change.deviceIds !== undefined) this.link(id, this.firmDevices(r.firm_id, change.deviceIds));
      if (change.name !== undefined) this.db.prepare('UPDATE gateways SET name = ? WHERE id = ?').run(change.name, id);
      return this.withDevices(this.row(id) as GatewayRow);
    })();
  }

  async rotateGatewayToken(id: string, opts: { expiresAt?: number } = {}): Promise<string> {
    const token = newToken('gt');
    const changed = this.db.prepare('UPDATE gateways SET token_hash = ?, token_expires_at = ? WHERE id = ?').run(hashSecret(token), opts.expiresAt ?? null, id).changes;
    if (changed === 0) throw new NotFoundError(`gateway ${id} not found`);
    return token;
  }

  async deleteGateway(id: string): Promise<void> {
    const gone = this.db.transaction(() => {
      this.db.prepare('UPDATE device_ids SET retired_at = ? WHERE id = ?').run(Date.now(), id);
      return this.db.prepare('DELETE FROM gateways WHERE id = ?').run(id).changes;
    })();
    if (gone === 0) throw new NotFoundError(`gateway ${id} not found`);
  }

  async verifyGateway(id: string, token: string, now = Date.now()): Promise<GatewayContext | undefined> {
    const r = this.row(id);
    if (!r || gatewayTokenExpired(r, now)) return undefined;
    if (!(await verifySecret(token, r.token_hash)).ok) return undefined;
    const f = this.db.prepare<[string], FirmRow>('SELECT * FROM firms WHERE id = ?').get(r.firm_id);
    if (!f) return undefined;
    const devices = this.db.prepare<[string], DeviceRow>(
      'SELECT d.* FROM gateway_devices g JOIN devices d ON d.id = g.device_id WHERE g.gateway_id = ? ORDER BY d.id').all(id).map(deviceFrom);
    return { gateway: gatewayFrom(r, devices.map((d) => d.id)), firm: firmFrom(f), devices };
  }

  async setGatewayMappings(id: string, mappings: SparkplugMappings): Promise<Gateway> {
    if (this.db.prepare('UPDATE gateways SET sparkplug_mappings = ? WHERE id = ?').run(JSON.stringify(mappings), id).changes === 0) {
      throw new NotFoundError(`gateway ${id} not found`);
    }
    return this.withDevices(this.row(id) as GatewayRow);
  }

  async setGatewayOnline(id: string, online: boolean, at: number): Promise<void> {
    this.db.prepare('UPDATE gateways SET online = ?, last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?').run(online ? 1 : 0, at, id);
  }

  async gatewayCredentials(ids: readonly string[]): Promise<GatewayCredential[]> {
    const out: GatewayCredential[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const marks = chunk.map(() => '?').join(',');
      const rows = this.db.prepare<string[], GatewayRow>(`SELECT * FROM gateways WHERE id IN (${marks})`).all(...chunk);
      const links = deviceIdsByGateway(this.db.prepare<string[], Link>(
        `SELECT gateway_id, device_id FROM gateway_devices WHERE gateway_id IN (${marks}) ORDER BY gateway_id, device_id`).all(...chunk));
      out.push(...rows.map((r) => gatewayCredentialFrom(r, links.get(r.id) ?? [])));
    }
    return out;
  }
}
