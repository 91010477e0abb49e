// Registry adapter on PostgreSQL (package `pg`), for deployments where several broker or subscriber nodes share
// one registry (docs/scaling.md). Same semantics as SqliteRegistry, checked by the same conformance suite
// (test/conformance/registry.ts, run from test/integration/ports-postgres.test.ts against a private server).
// The schema is created on open, under an advisory lock so nodes starting together do not race.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openMigratedPool, type PgMigrations } from '../pg-migrate.ts';
import { hashSecret, newToken, sha256, verifySecret } from '../ids.ts';
import {
  ConflictError, NotFoundError,
  deviceIdUnavailable,
  type ApiPrincipal, type ApiTokenCheck, type ApiTokenInfo, type AuditEntry, type Device, type DeviceContext, type DeviceCredential, type DeviceDay, type Firm, type FirmAttributes, type FirmChange, type FirmConnectivity, type FirmVersion, type NewDevice, type NewFirm, type Registry, type Role, type SeenUpdate,
} from './registry.ts';
import { localDate } from '../time.ts';
import {
  SESSION_SELECT, changedUser, hashPassword, newSessionId, newUserId, passwordCheckOf, sessionCheckOf, sessionKey, sessionTouchStale, userFrom,
  type NewUser, type PasswordCheck, type SessionCheck, type SessionRow, type User, type UserChange, type UserRow,
} from './users.ts';
import {
  CREDENTIAL_COLUMNS, credentialFrom, withRateOverride,
  REVOKED_OPERATOR_TOKEN, TOKEN_COLUMNS, attributesOf, connectivityFrom, currentAttributes, deviceFrom, deviceTokenExpired, firmColumns, firmFrom, generatedDeviceId,
  lastUseStale, operatorRevocationAudit, principalFrom, registrationVersion, tokenCheckOf, tokenInfoFrom, versionFrom,
  type DeviceRow, type FirmRow, type FirmVersionRow, type TokenRow,
} from './rows.ts';
import { GATEWAY_TABLES, GatewaysDelegate } from './gateways.ts';
import { PgGateways } from './pg-gateways.ts';

/** Each entry is one schema version; never edit a shipped one, append a new one. */
const MIGRATIONS = [
  `CREATE TABLE firms (
     id TEXT PRIMARY KEY, name TEXT NOT NULL, county TEXT NOT NULL, park TEXT NOT NULL, segment TEXT NOT NULL,
     above_scale BOOLEAN NOT NULL, employees INTEGER NOT NULL, land_mu DOUBLE PRECISION NOT NULL, smart_factory_tier TEXT NOT NULL,
     demo BOOLEAN NOT NULL, created_at BIGINT NOT NULL);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY, firm_id TEXT NOT NULL REFERENCES firms(id), type TEXT NOT NULL, name TEXT NOT NULL,
     location TEXT NOT NULL, token_hash TEXT NOT NULL, created_at BIGINT NOT NULL,
     last_seen_at BIGINT, last_telemetry_at BIGINT,
     online BOOLEAN NOT NULL DEFAULT false, reported_status TEXT,
     seq_received BIGINT NOT NULL DEFAULT 0, seq_expected BIGINT NOT NULL DEFAULT 0, clock_skew_ms BIGINT);
   CREATE INDEX devices_firm ON devices(firm_id);
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, role TEXT NOT NULL, firm_id TEXT REFERENCES firms(id),
     name TEXT NOT NULL, created_at BIGINT NOT NULL);
   CREATE TABLE device_days (device_id TEXT NOT NULL, day TEXT NOT NULL, accepted BIGINT NOT NULL, rejected BIGINT NOT NULL, PRIMARY KEY (device_id, day));
   CREATE TABLE audit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
   CREATE INDEX audit_target ON audit(target, id);`,
  // Every device id ever handed out, never removed: a deleted device's id is retired, not free again. Ids of
  // devices deleted before this table existed are taken from the audit trail.
  `CREATE TABLE device_ids (id TEXT PRIMARY KEY, firm_id TEXT NOT NULL, retired_at BIGINT);
   INSERT INTO device_ids (id, firm_id, retired_at) SELECT id, firm_id, NULL FROM devices;
   INSERT INTO device_ids (id, firm_id, retired_at)
     SELECT target, coalesce(max(detail::json->>'firmId'), ''), max(at) FROM audit WHERE action = 'device.delete' GROUP BY target
     ON CONFLICT (id) DO NOTHING;
   ALTER TABLE devices ADD COLUMN token_expires_at BIGINT;
   ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
   ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
   ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
   ALTER TABLE api_tokens ADD COLUMN operator BOOLEAN NOT NULL DEFAULT false;
   UPDATE api_tokens SET operator = true WHERE role = 'admin' AND name = 'admin (ADMIN_TOKEN)';`,
  // Firms change (小升规, a smart-factory certificate, head-count): every change is kept dated. Firms registered
  // before get their registration as the first version, from their registration day (Asia/Shanghai).
  `ALTER TABLE firms ADD COLUMN above_scale_since TEXT;
   ALTER TABLE firms ADD COLUMN smart_factory_certificate_id TEXT;
   ALTER TABLE firms ADD COLUMN smart_factory_certified_on TEXT;
   CREATE TABLE firm_versions (
     id BIGSERIAL PRIMARY KEY, firm_id TEXT NOT NULL REFERENCES firms(id), valid_from TEXT NOT NULL,
     recorded_at BIGINT NOT NULL, recorded_by TEXT NOT NULL, changes TEXT NOT NULL);
   CREATE INDEX firm_versions_firm ON firm_versions(firm_id, valid_from, id);
   INSERT INTO firm_versions (firm_id, valid_from, recorded_at, recorded_by, changes)
     SELECT id, to_char(to_timestamp(created_at / 1000.0) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), created_at, 'registration', json_build_object(
       'name', name, 'county', county, 'park', park, 'segment', segment, 'aboveScale', above_scale, 'aboveScaleSince', NULL,
       'employees', employees, 'landMu', land_mu, 'smartFactoryTier', smart_factory_tier, 'smartFactoryCertificateId', NULL, 'smartFactoryCertifiedOn', NULL)::text
     FROM firms;`,
  // A device's own maximum counter rates (JSON: counter -> per hour), read by the broker's plausibility check.
  `ALTER TABLE devices ADD COLUMN rate_overrides TEXT;`,
  // People who sign in with a password, and their sessions (common/registry/users.ts).
  `CREATE TABLE users (
     id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, role TEXT NOT NULL, firm_id TEXT REFERENCES firms(id),
     password_hash TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT false, created_at BIGINT NOT NULL, last_login_at BIGINT,
     password_changed_at BIGINT NOT NULL);
   CREATE TABLE sessions (
     id_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), created_at BIGINT NOT NULL,
     last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
   CREATE INDEX sessions_user ON sessions(user_id);`,
  // A password given to a person (the first admin's, an admin's reset) is replaced by their own at sign-in.
  `ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT false;`,
  // Gateways: one credential for a list of the firm's devices (common/registry/gateways.ts).
  GATEWAY_TABLES({ time: 'BIGINT', flag: 'BOOLEAN', falseValue: 'false' }),
];

/** Columns of the firms table an edit rewrites, in the order of firmValues. */
const FIRM_EDIT_COLUMNS = [
  'name', 'county', 'park', 'segment', 'above_scale', 'above_scale_since', 'employees', 'land_mu', 'smart_factory_tier',
  'smart_factory_certificate_id', 'smart_factory_certified_on',
] as const;
const firmValues = (a: FirmAttributes) => { const c = firmColumns(a); return FIRM_EDIT_COLUMNS.map((k) => c[k] ?? null); };
const VERSION_INSERT = 'INSERT INTO firm_versions (firm_id, valid_from, recorded_at, recorded_by, changes) VALUES ($1, $2, $3, $4, $5)';

/** Arbitrary constant: the advisory lock that serialises schema migrations across nodes. */
const MIGRATION_LOCK = 0x64686567; // "dheg"
/** The advisory lock under which a node registers ADMIN_TOKEN and retires the operator's earlier tokens. */
const OPERATOR_TOKEN_LOCK = 0x64686574; // "dhet"

// BIGINT (int8, oid 20) arrives as a string by default; every BIGINT here is a millisecond time or a count that
// fits a double exactly, so parse to number. Per pool, not pg's global type table.
const types = new pg.TypeOverrides();
types.setTypeParser(20, (v: string) => Number(v));


/** SQLSTATE of a PostgreSQL error, if it is one. */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

export interface PgRegistryOptions {
  /** postgres://user:password@host:port/db, or the individual pg settings. */
  connectionString?: string;
  pool?: pg.PoolConfig;
}

export class PgRegistry extends GatewaysDelegate implements Registry {
  protected readonly gateways: PgGateways;

  private constructor(private readonly pool: pg.Pool) {
    super();
    this.gateways = new PgGateways(pool, (fn) => this.tx(fn));
  }

  /** Connects and creates or upgrades the schema. */
  static async open(opts: PgRegistryOptions | string): Promise<PgRegistry> {
    const o = typeof opts === 'string' ? { connectionString: opts } : opts;
    return new PgRegistry(await openMigratedPool({ max: 10, ...o.pool, ...(o.connectionString ? { connectionString: o.connectionString } : {}), types }, SCHEMA));
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.release();
    }
  }

  async createFirm(f: NewFirm): Promise<Firm> {
    const createdAt = Date.now();
    const attributes = attributesOf(f);
    const v = registrationVersion(f, createdAt);
    try {
      await this.tx(async (c) => {
        const values = [f.id, ...firmValues(attributes), f.demo, createdAt];
        await c.query(`INSERT INTO firms (id, ${FIRM_EDIT_COLUMNS.join(', ')}, demo, created_at) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values);
        await c.query(VERSION_INSERT, [v.firm_id, v.valid_from, v.recorded_at, v.recorded_by, v.changes]);
      });
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new ConflictError(`firm ${f.id} already exists`);
      throw err;
    }
    return { id: f.id, ...attributes, demo: f.demo, createdAt };
  }

  async updateFirm(id: string, change: FirmChange): Promise<Firm> {
    const row = await this.tx(async (c) => {
      // Edits of one firm queue here, so each recomputes from every version before it.
      const locked = await c.query('SELECT id FROM firms WHERE id = $1 FOR UPDATE', [id]);
      if (locked.rowCount === 0) return undefined;
      await c.query(VERSION_INSERT, [id, change.validFrom, change.recordedAt, change.recordedBy, JSON.stringify(change.changes)]);
      const versions = await c.query<FirmVersionRow>('SELECT * FROM firm_versions WHERE firm_id = $1 ORDER BY id', [id]);
      const set = FIRM_EDIT_COLUMNS.map((k, i) => `${k} = $${i + 2}`).join(', ');
      const r = await c.query<FirmRow>(`UPDATE firms SET ${set} WHERE id = $1 RETURNING *`, [id, ...firmValues(currentAttributes(versions.rows.map(versionFrom)))]);
      return r.rows[0];
    });
    if (!row) throw new NotFoundError(`firm ${id} not found`);
    return firmFrom(row);
  }

  async firmHistory(firmId?: string): Promise<FirmVersion[]> {
    const r = firmId === undefined
      ? await this.pool.query<FirmVersionRow>('SELECT * FROM firm_versions ORDER BY firm_id COLLATE "C", id')
      : await this.pool.query<FirmVersionRow>('SELECT * FROM firm_versions WHERE firm_id = $1 ORDER BY id', [firmId]);
    return r.rows.map(versionFrom);
  }

  async getFirm(id: string): Promise<Firm | undefined> {
    const r = await this.pool.query<FirmRow>('SELECT * FROM firms WHERE id = $1', [id]);
    return r.rows[0] ? firmFrom(r.rows[0]) : undefined;
  }

  // COLLATE "C": byte order, as SQLite sorts, whatever locale the database was created with.
  async listFirms(): Promise<Firm[]> {
    const r = await this.pool.query<FirmRow>('SELECT * FROM firms ORDER BY county COLLATE "C", name COLLATE "C"');
    return r.rows.map(firmFrom);
  }

  async createDevice(d: NewDevice): Promise<{ device: Device; token: string }> {
    if (!(await this.getFirm(d.firmId))) throw new NotFoundError(`firm ${d.firmId} does not exist`);
    const id = d.id ?? generatedDeviceId(d.type);
    const token = newToken('dt');
    const tokenHash = hashSecret(token);
    let row: DeviceRow | undefined;
    try {
      // The id is reserved for good first: taken or retired, in whichever firm, is the same refusal.
      row = await this.tx(async (c) => {
        const reserved = await c.query('INSERT INTO device_ids (id, firm_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [id, d.firmId]);
        if (reserved.rowCount !== 1) throw new ConflictError(deviceIdUnavailable(id));
        const r = await c.query<DeviceRow>(
          'INSERT INTO devices (id, firm_id, type, name, location, token_hash, created_at, token_expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING *',
          [id, d.firmId, d.type, d.name, d.location ?? '', tokenHash, Date.now(), d.tokenExpiresAt ?? null],
        );
        return r.rows[0];
      });
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new ConflictError(deviceIdUnavailable(id));
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new NotFoundError(`firm ${d.firmId} does not exist`);
      throw err;
    }
    if (!row) throw new Error(`device ${id} vanished after insert`);
    return { device: deviceFrom(row), token };
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const r = await this.pool.query<DeviceRow>('SELECT * FROM devices WHERE id = $1', [id]);
    return r.rows[0] ? deviceFrom(r.rows[0]) : undefined;
  }

  async listDevices(firmId?: string): Promise<Device[]> {
    const r = firmId === undefined
      ? await this.pool.query<DeviceRow>('SELECT * FROM devices ORDER BY firm_id COLLATE "C", id COLLATE "C"')
      : await this.pool.query<DeviceRow>('SELECT * FROM devices WHERE firm_id = $1 ORDER BY id COLLATE "C"', [firmId]);
    return r.rows.map(deviceFrom);
  }

  async verifyDevice(id: string, token: string, now = Date.now()): Promise<DeviceContext | undefined> {
    const d = await this.pool.query<DeviceRow>('SELECT * FROM devices WHERE id = $1', [id]);
    const row = d.rows[0];
    if (!row || deviceTokenExpired(row, now)) return undefined;
    const check = await verifySecret(token, row.token_hash);
    if (!check.ok) return undefined;
    // Only while the old hash is still there: a rotation in between wins.
    if (check.rehash) await this.pool.query('UPDATE devices SET token_hash = $1 WHERE id = $2 AND token_hash = $3', [check.rehash, id, row.token_hash]);
    const f = await this.getFirm(row.firm_id);
    if (!f) return undefined;
    return { device: deviceFrom(row), firm: f };
  }

  async markSeen(updates: readonly SeenUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.tx(async (c) => {
      for (const u of updates) {
        await c.query(
          `UPDATE devices SET last_seen_at = greatest(coalesce(last_seen_at, 0), $2::bigint),
             last_telemetry_at = CASE WHEN $3::bigint IS NULL THEN last_telemetry_at ELSE greatest(coalesce(last_telemetry_at, 0), $3::bigint) END,
             seq_received = seq_received + $4::bigint, seq_expected = seq_expected + $5::bigint,
             clock_skew_ms = coalesce($6::bigint, clock_skew_ms), reported_status = coalesce($7::text, reported_status)
           WHERE id = $1`,
          [u.deviceId, u.seenAt, u.telemetryAt ?? null, u.seqReceived ?? 0, u.seqExpected ?? 0,
            u.clockSkewMs === undefined ? null : Math.round(u.clockSkewMs), u.reportedStatus ?? null],
        );
        if (u.accepted || u.rejected) {
          await c.query(
            `INSERT INTO device_days (device_id, day, accepted, rejected) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, day) DO UPDATE SET accepted = device_days.accepted + excluded.accepted, rejected = device_days.rejected + excluded.rejected`,
            [u.deviceId, localDate(u.seenAt), u.accepted ?? 0, u.rejected ?? 0],
          );
        }
      }
    });
  }

  async setOnline(deviceId: string, online: boolean, at: number): Promise<void> {
    await this.pool.query('UPDATE devices SET online = $2, last_seen_at = greatest(coalesce(last_seen_at, 0), $3::bigint) WHERE id = $1', [deviceId, online, at]);
  }

  async deviceDays(deviceId: string, days: number): Promise<DeviceDay[]> {
    const r = await this.pool.query<DeviceDay>('SELECT day, accepted, rejected FROM device_days WHERE device_id = $1 ORDER BY day COLLATE "C" DESC LIMIT $2', [deviceId, days]);
    return r.rows;
  }

  async deviceCredentials(ids: readonly string[]): Promise<DeviceCredential[]> {
    const r = await this.pool.query<DeviceRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM devices WHERE id = ANY($1::text[])`, [[...ids]]);
    return r.rows.map(credentialFrom);
  }

  async setRateOverride(deviceId: string, counter: string, maxPerHour: number | null): Promise<Record<string, number>> {
    return this.tx(async (c) => {
      const r = await c.query<DeviceRow>('SELECT rate_overrides FROM devices WHERE id = $1 FOR UPDATE', [deviceId]);
      if (!r.rows[0]) throw new NotFoundError(`device ${deviceId} not found`);
      const o = withRateOverride(r.rows[0].rate_overrides, counter, maxPerHour);
      await c.query('UPDATE devices SET rate_overrides = $1 WHERE id = $2', [JSON.stringify(o), deviceId]);
      return o;
    });
  }

  async rotateDeviceToken(id: string, opts: { expiresAt?: number } = {}): Promise<string> {
    const token = newToken('dt');
    const hash = hashSecret(token);
    const r = await this.pool.query('UPDATE devices SET token_hash = $1, token_expires_at = $3 WHERE id = $2', [hash, id, opts.expiresAt ?? null]);
    if (r.rowCount === 0) throw new NotFoundError(`device ${id} not found`);
    return token;
  }

  async deleteDevice(id: string): Promise<void> {
    const gone = await this.tx(async (c) => {
      await c.query('DELETE FROM device_days WHERE device_id = $1', [id]);
      await c.query('UPDATE device_ids SET retired_at = $2 WHERE id = $1', [id, Date.now()]);
      return (await c.query('DELETE FROM devices WHERE id = $1', [id])).rowCount ?? 0;
    });
    if (gone === 0) throw new NotFoundError(`device ${id} not found`);
  }

  async recordAudit(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.pool.query('INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [e.at, e.actor, e.action, e.target, e.detail]);
  }

  async listAudit(q: { limit: number; beforeId?: number; target?: string }): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.beforeId !== undefined) { args.push(q.beforeId); where.push(`id < $${args.length}`); }
    if (q.target !== undefined) { args.push(q.target); where.push(`target = $${args.length}`); }
    args.push(q.limit);
    const r = await this.pool.query<AuditEntry>(
      `SELECT id, at, actor, action, target, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${args.length}`, args);
    return r.rows;
  }

  async createApiToken(role: Role, firmId: string | null, name: string, opts: { expiresAt?: number } = {}): Promise<{ token: string; principal: ApiPrincipal }> {
    if (role === 'engineer' && (firmId === null || !(await this.getFirm(firmId)))) throw new NotFoundError(`an engineer token needs an existing firm, got ${firmId}`);
    const token = newToken('at', 32);
    const principal = await this.insertToken(this.pool, token, role, role === 'engineer' ? firmId : null, name, opts);
    if (!principal) throw new Error('a fresh random API token collided with an existing one');
    return { token, principal };
  }

  async ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal> {
    const now = Date.now();
    return this.tx(async (c) => {
      // Nodes starting together serialise here; the first registers the token, the others find it.
      await c.query('SELECT pg_advisory_xact_lock($1)', [OPERATOR_TOKEN_LOCK]);
      const known = (await c.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_sha256 = $1`, [sha256(token)])).rows[0];
      if (known && known.revoked_at !== null) throw new ConflictError(REVOKED_OPERATOR_TOKEN);
      const principal = known ? principalFrom(known) : await this.insertToken(c, token, role, firmId, name, { operator: true });
      if (!principal) throw new Error('API token vanished while being registered');
      await c.query('UPDATE api_tokens SET operator = true WHERE id = $1', [principal.tokenId]);
      const old = await c.query<{ id: string }>(
        'UPDATE api_tokens SET revoked_at = $2 WHERE operator AND revoked_at IS NULL AND id <> $1 RETURNING id', [principal.tokenId, now]);
      for (const { id } of old.rows) {
        const e = operatorRevocationAudit(id, now);
        await c.query('INSERT INTO audit (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)', [e.at, e.actor, e.action, e.target, e.detail]);
      }
      return principal;
    });
  }

  // API tokens are 256 random bits, so an unsalted SHA-256 lookup is as safe as a slow hash and O(1).
  async checkApiToken(token: string, now = Date.now()): Promise<ApiTokenCheck> {
    const r = (await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_sha256 = $1`, [sha256(token)])).rows[0];
    const check = tokenCheckOf(r, now);
    if (check.ok && r && lastUseStale(r, now)) await this.pool.query('UPDATE api_tokens SET last_used_at = greatest(coalesce(last_used_at, 0), $2::bigint) WHERE id = $1', [r.id, now]);
    return check;
  }

  async verifyApiToken(token: string): Promise<ApiPrincipal | undefined> {
    const check = await this.checkApiToken(token);
    return check.ok ? check.principal : undefined;
  }

  async listApiTokens(q: { firmId?: string } = {}): Promise<ApiTokenInfo[]> {
    const r = q.firmId === undefined
      ? await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id COLLATE "C"`)
      : await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE firm_id = $1 ORDER BY created_at DESC, id COLLATE "C"`, [q.firmId]);
    return r.rows.map(tokenInfoFrom);
  }

  async getApiToken(tokenId: string): Promise<ApiTokenInfo | undefined> {
    const r = await this.pool.query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = $1`, [tokenId]);
    return r.rows[0] ? tokenInfoFrom(r.rows[0]) : undefined;
  }

  async revokeApiToken(tokenId: string, at = Date.now()): Promise<boolean> {
    if (!(await this.getApiToken(tokenId))) throw new NotFoundError(`token ${tokenId} not found`);
    const r = await this.pool.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [tokenId, at]);
    return r.rowCount === 1;
  }

  async firmConnectivity(): Promise<FirmConnectivity[]> {
    const r = await this.pool.query<FirmRow & { last_telemetry: number | null }>(
      'SELECT f.*, (SELECT max(d.last_telemetry_at) FROM devices d WHERE d.firm_id = f.id) AS last_telemetry FROM firms f');
    return r.rows.map((x) => connectivityFrom(x, x.last_telemetry));
  }

  async createUser(u: NewUser): Promise<User> {
    if (u.role === 'engineer' && (u.firmId === null || !(await this.getFirm(u.firmId)))) throw new NotFoundError(`an engineer needs an existing firm, got ${u.firmId}`);
    const now = Date.now();
    const hash = await hashPassword(u.password);
    try {
      const r = await this.pool.query<UserRow>(
        `INSERT INTO users (id, login, display_name, role, firm_id, password_hash, created_at, password_changed_at, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING *`,
        [newUserId(), u.login, u.displayName, u.role, u.role === 'engineer' ? u.firmId : null, hash, now, u.mustChangePassword === true],
      );
      return userFrom(r.rows[0] as UserRow);
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) throw new ConflictError(`login name ${u.login} is taken`);
      if (sqlState(err) === FOREIGN_KEY_VIOLATION) throw new NotFoundError(`firm ${u.firmId} does not exist`);
      throw err;
    }
  }

  async getUser(id: string): Promise<User | undefined> {
    const r = await this.pool.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return r.rows[0] ? userFrom(r.rows[0]) : undefined;
  }

  async listUsers(): Promise<User[]> {
    const r = await this.pool.query<UserRow>('SELECT * FROM users ORDER BY login COLLATE "C"');
    return r.rows.map(userFrom);
  }

  async updateUser(id: string, change: UserChange): Promise<User> {
    if (change.firmId && !(await this.getFirm(change.firmId))) throw new NotFoundError(`firm ${change.firmId} does not exist`);
    return this.tx(async (c) => {
      const found = await c.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id]);
      if (!found.rows[0]) throw new NotFoundError(`user ${id} not found`);
      const { row, endSessions } = changedUser(found.rows[0], change);
      if (row.role === 'engineer' && row.firm_id === null) throw new NotFoundError('an engineer needs an existing firm');
      await c.query('UPDATE users SET display_name = $2, role = $3, firm_id = $4, disabled = $5 WHERE id = $1', [id, row.display_name, row.role, row.firm_id, row.disabled === 1]);
      if (endSessions) await c.query('DELETE FROM sessions WHERE user_id = $1', [id]);
      return userFrom(row);
    });
  }

  async setUserPassword(id: string, password: string, opts: { mustChange?: boolean } = {}): Promise<void> {
    const hash = await hashPassword(password);
    const changed = await this.tx(async (c) => {
      await c.query('DELETE FROM sessions WHERE user_id = $1', [id]);
      return (await c.query('UPDATE users SET password_hash = $2, password_changed_at = $3, must_change_password = $4 WHERE id = $1', [id, hash, Date.now(), opts.mustChange === true])).rowCount ?? 0;
    });
    if (changed === 0) throw new NotFoundError(`user ${id} not found`);
  }

  async checkPassword(login: string, password: string): Promise<PasswordCheck> {
    const r = await this.pool.query<UserRow>('SELECT * FROM users WHERE login = $1', [login]);
    return passwordCheckOf(r.rows[0], password);
  }

  async createSession(userId: string, opts: { absoluteMs: number; now?: number }): Promise<string> {
    const now = opts.now ?? Date.now();
    const id = newSessionId();
    await this.tx(async (c) => {
      await c.query('INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)', [sessionKey(id), userId, now, now + opts.absoluteMs]);
      await c.query('UPDATE users SET last_login_at = $2 WHERE id = $1', [userId, now]);
      // Sessions past their lifetime are of no use to anyone: each sign-in sweeps them.
      await c.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
    });
    return id;
  }

  async checkSession(sessionId: string, opts: { idleMs: number; now?: number }): Promise<SessionCheck> {
    const now = opts.now ?? Date.now();
    const key = sessionKey(sessionId);
    const r = await this.pool.query<SessionRow>(`${SESSION_SELECT}$1`, [key]);
    const check = sessionCheckOf(r.rows[0], now, opts.idleMs);
    if (check.ok && r.rows[0] && sessionTouchStale(r.rows[0], now)) await this.pool.query('UPDATE sessions SET last_seen_at = $2 WHERE id_sha256 = $1', [key, now]);
    return check;
  }

  async endSession(sessionId: string): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE id_sha256 = $1', [sessionKey(sessionId)]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Inserts a token unless its hash is already known; undefined when it was. */
  private async insertToken(
    db: pg.Pool | pg.PoolClient, token: string, role: Role, firmId: string | null, name: string, extra: { expiresAt?: number; operator?: boolean } = {},
  ): Promise<ApiPrincipal | undefined> {
    const id = randomBytes(8).toString('hex');
    const r = await db.query(
      `INSERT INTO api_tokens (id, token_sha256, role, firm_id, name, created_at, expires_at, operator) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
       ON CONFLICT (token_sha256) DO NOTHING`,
      [id, sha256(token), role, firmId, name, Date.now(), extra.expiresAt ?? null, extra.operator ?? false],
    );
    return r.rowCount === 1 ? { tokenId: id, role, firmId, name } : undefined;
  }
}

const SCHEMA: PgMigrations = { versionTable: 'schema_version', lock: MIGRATION_LOCK, what: 'registry', migrations: MIGRATIONS };
