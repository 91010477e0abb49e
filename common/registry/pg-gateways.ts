// The gateway part of the PostgreSQL registry adapter (PgRegistry delegates to it). Same semantics as
// SqliteGateways, checked by the same conformance suite.
import type pg from 'pg';
import { hashSecret, newToken, verifySecret } from '../ids.ts';
import { ConflictError, NotFoundError, deviceIdUnavailable } from './registry.ts';
import { deviceFrom, firmFrom, type DeviceRow, type FirmRow } from './rows.ts';
import {
  checkedDeviceIds, deviceIdsByGateway, gatewayCredentialFrom, gatewayFrom, gatewayTokenExpired, generatedGatewayId,
  type Gateway, type GatewayChange, type GatewayContext, type GatewayCredential, type GatewayRegistry, type GatewayRow, type NewGateway, type SparkplugMappings,
} from './gateways.ts';

type Link = { gateway_id: string; device_id: string };
type Query = pg.Pool | pg.PoolClient;
const UNIQUE_VIOLATION = '23505';

export class PgGateways implements GatewayRegistry {
  constructor(private readonly pool: pg.Pool, private readonly tx: <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>) {}

  private async row(db: Query, id: string, lock = false): Promise<GatewayRow | undefined> {
    return (await db.query<GatewayRow>(`SELECT * FROM gateways WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])).rows[0];
  }

  private async withDevices(db: Query, r: GatewayRow): Promise<Gateway> {
    const links = await db.query<Link>('SELECT gateway_id, device_id FROM gateway_devices WHERE gateway_id = $1 ORDER BY device_id COLLATE "C"', [r.id]);
    return gatewayFrom(r, links.rows.map((l) => l.device_id));
  }

  /** The sorted distinct ids, once every one is checked to be a device of the firm. */
  private async firmDevices(c: pg.PoolClient, firmId: string, wanted: readonly string[]): Promise<string[]> {
    // Locked so a device cannot be deleted between this check and the link (the foreign key would fail instead).
    const found = await c.query<{ id: string }>('SELECT id FROM devices WHERE firm_id = $1 AND id = ANY($2::text[]) FOR SHARE', [firmId, [...wanted]]);
    return checkedDeviceIds(wanted, found.rows.map((r) => r.id), firmId);
  }

  private async link(c: pg.PoolClient, id: string, deviceIds: readonly string[]): Promise<void> {
    await c.query('DELETE FROM gateway_devices WHERE gateway_id = $1', [id]);
    await c.query('INSERT INTO gateway_devices (gateway_id, device_id) SELECT $1, unnest($2::text[])', [id, [...deviceIds]]);
  }

  async createGateway(g: NewGateway): Promise<{ gateway: Gateway; token: string }> {
    const id = g.id ?? generatedGatewayId();
    const token = newToken('gt');
    try {
      const gateway = await this.tx(async (c) => {
        if ((await c.query('SELECT 1 FROM firms WHERE id = $1', [g.firmId])).rowCount === 0) throw new NotFoundError(`firm ${g.firmId} does not exist`);
        const deviceIds = await this.firmDevices(c, g.firmId, g.deviceIds);
        // The id is reserved for good first, as a device's: taken or retired, in whichever firm, is the same refusal.
        const reserved = await c.query('INSERT INTO device_ids (id, firm_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, g.firmId]);
        if (reserved.rowCount !== 1) throw new ConflictError(deviceIdUnavailable(id));
        const r = await c.query<GatewayRow>(
          'INSERT INTO gateways (id, firm_id, name, token_hash, token_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
          [id, g.firmId, g.name, hashSecret(token), g.tokenExpiresAt ?? null, Date.now()]);
        await this.link(c, id, deviceIds);
        return this.withDevices(c, r.rows[0] as GatewayRow);
      });
      return { gateway, token };
    } catch (err) {
      if ((err as { code?: unknown }).code === UNIQUE_VIOLATION) throw new ConflictError(deviceIdUnavailable(id));
      throw err;
    }
  }

  async getGateway(id: string): Promise<Gateway | undefined> {
    const r = await this.row(this.pool, id);
    return r ? this.withDevices(this.pool, r) : undefined;
  }

  async listGateways(firmId?: string): Promise<Gateway[]> {
    const rows = firmId === undefined
      ? await this.pool.query<GatewayRow>('SELECT * FROM gateways ORDER BY firm_id COLLATE "C", id COLLATE "C"')
      : await this.pool.query<GatewayRow>('SELECT * FROM gateways WHERE firm_id = $1 ORDER BY id COLLATE "C"', [firmId]);
    const links = deviceIdsByGateway((await this.pool.query<Link>('SELECT gateway_id, device_id FROM gateway_devices ORDER BY gateway_id, device_id COLLATE "C"')).rows);
    return rows.rows.map((r) => gatewayFrom(r, links.get(r.id) ?? []));
  }

  async updateGateway(id: string, change: GatewayChange): Promise<Gateway> {
    return this.tx(async (c) => {
      const r = await this.row(c, id, true);
      if (!r) throw new NotFoundError(`gateway ${id} not found`);
      if (change.deviceIds !== undefined) await this.link(c, id, await this.firmDevices(c, r.firm_id, change.deviceIds));
      const renamed = change.name === undefined ? r : (await c.query<GatewayRow>('UPDATE gateways SET name = $2 WHERE id = $1 RETURNING *', [id, change.name])).rows[0];
      return this.withDevices(c, renamed as GatewayRow);
    });
  }

  async rotateGatewayToken(id: string, opts: { expiresAt?: number } = {}): Promise<string> {
    const token = newToken('gt');
    const r = await this.pool.query('UPDATE gateways SET token_hash = $2, token_expires_at = $3 WHERE id = $1', [id, hashSecret(token), opts.expiresAt ?? null]);
    if (r.rowCount === 0) throw new NotFoundError(`gateway ${id} not found`);
    return token;
  }

  async deleteGateway(id: string): Promise<void> {
    const gone = await this.tx(async (c) => {
      await c.query('UPDATE device_ids SET retired_at = $2 WHERE id = $1', [id, Date.now()]);
      return (await c.query('DELETE FROM gateways WHERE id = $1', [id])).rowCount ?? 0;
    });
    if (gone === 0) throw new NotFoundError(`gateway ${id} not found`);
  }

  async verifyGateway(id: string, token: string, now = Date.now()): Promise<GatewayContext | undefined> {
    const r = await this.row(this.pool, id);
    if (!r || gatewayTokenExpired(r, now)) return undefined;
    if (!(await verifySecret(token, r.token_hash)).ok) return undefined;
    const f = (await this.pool.query<FirmRow>('SELECT * FROM firms WHERE id = $1', [r.firm_id])).rows[0];
    if (!f) return undefined;
    const d = await this.pool.query<DeviceRow>(
      'SELECT d.* FROM gateway_devices g JOIN devices d ON d.id = g.device_id WHERE g.gateway_id = $1 ORDER BY d.id COLLATE "C"', [id]);
    const devices = d.rows.map(deviceFrom);
    return { gateway: gatewayFrom(r, devices.map((x) => x.id)), firm: firmFrom(f), devices };
  }

  async setGatewayMappings(id: string, mappings: SparkplugMappings): Promise<Gateway> {
    const r = await this.pool.query<GatewayRow>('UPDATE gateways SET sparkplug_mappings = $2 WHERE id = $1 RETURNING *', [id, JSON.stringify(mappings)]);
    if (!r.rows[0]) throw new NotFoundError(`gateway ${id} not found`);
    return this.withDevices(this.pool, r.rows[0]);
  }

  async setGatewayOnline(id: string, online: boolean, at: number): Promise<void> {
    await this.pool.query('UPDATE gateways SET online = $2, last_seen_at = greatest(coalesce(last_seen_at, 0), $3::bigint) WHERE id = $1', [id, online, at]);
  }

  async gatewayCredentials(ids: readonly string[]): Promise<GatewayCredential[]> {
    const rows = await this.pool.query<GatewayRow>('SELECT * FROM gateways WHERE id = ANY($1::text[])', [[...ids]]);
    const links = deviceIdsByGateway((await this.pool.query<Link>(
      'SELECT gateway_id, device_id FROM gateway_devices WHERE gateway_id = ANY($1::text[]) ORDER BY gateway_id, device_id COLLATE "C"', [[...ids]])).rows);
    return rows.rows.map((r) => gatewayCredentialFrom(r, links.get(r.id) ?? []));
  }
}
