// Registry adapter on embedded SQLite (better-sqlite3 12; 13 crashes on Node 20).
import { randomBytes } from 'node:crypto';
import { openDb, type Db } from '../sqlite.ts';
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
import { SqliteGateways } from './sqlite-gateways.ts';

/** The schema's versions, oldest first (never edit a shipped one; the upgrade test builds older registries from them). */
export const REGISTRY_MIGRATIONS: readonly string[] = [
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
  `ALTER TABLE devices ADD COLUMN online INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN reported_status TEXT;
   ALTER TABLE devices ADD COLUMN seq_received INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN seq_expected INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE devices ADD COLUMN clock_skew_ms INTEGER;
   CREATE TABLE device_days (device_id TEXT NOT NULL, day TEXT NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL, PRIMARY KEY (device_id, day));
   CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
   CREATE INDEX audit_target ON audit(target, id);`,
  // Every device id ever handed out, never removed: a deleted device's id is retired, not free again. Ids of
  // devices deleted before this table existed are taken from the audit trail.
  `CREATE TABLE device_ids (id TEXT PRIMARY KEY, firm_id TEXT NOT NULL, retired_at INTEGER);
   INSERT INTO device_ids (id, firm_id, retired_at) SELECT id, firm_id, NULL FROM devices;
   INSERT OR IGNORE INTO device_ids (id, firm_id, retired_at)
     SELECT target, coalesce(json_extract(detail, '$.firmId'), ''), max(at) FROM audit WHERE action = 'device.delete' GROUP BY target;
   ALTER TABLE devices ADD COLUMN token_expires_at INTEGER;
   ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
   ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER;
   ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER;
   ALTER TABLE api_tokens ADD COLUMN operator INTEGER NOT NULL DEFAULT 0;
   UPDATE api_tokens SET operator = 1 WHERE role = 'admin' AND name = 'admin (ADMIN_TOKEN)';`,
  // Firms change (小升规, a smart-factory certificate, head-count): every change is kept dated. Firms registered
  // before get their registration as the first version, from their registration day (Asia/Shanghai).
  `ALTER TABLE firms ADD COLUMN above_scale_since TEXT;
   ALTER TABLE firms ADD COLUMN smart_factory_certificate_id TEXT;
   ALTER TABLE firms ADD COLUMN smart_factory_certified_on TEXT;
   CREATE TABLE firm_versions (
     id INTEGER PRIMARY KEY AUTOINCREMENT, firm_id TEXT NOT NULL REFERENCES firms(id), valid_from TEXT NOT NULL,
     recorded_at INTEGER NOT NULL, recorded_by TEXT NOT NULL, changes TEXT NOT NULL);
   CREATE INDEX firm_versions_firm ON firm_versions(firm_id, valid_from, id);
   INSERT INTO firm_versions (firm_id, valid_from, recorded_at, recorded_by, changes)
     SELECT id, date(created_at / 1000 + 28800, 'unixepoch'), created_at, 'registration', json_object(
       'name', name, 'county', county, 'park', park, 'segment', segment, 'aboveScale', json(CASE WHEN above_scale THEN 'true' ELSE 'false' END),
       'aboveScaleSince', NULL, 'employees', employees, 'landMu', land_mu, 'smartFactoryTier', smart_factory_tier,
       'smartFactoryCertificateId', NULL, 'smartFactoryCertifiedOn', NULL)
     FROM firms;`,
  // A device's own maximum counter rates (JSON: counter -> per hour), read by the broker's plausibility check.
  `ALTER TABLE devices ADD COLUMN rate_overrides TEXT;`,
  // People who sign in with a password, and their sessions (common/registry/users.ts).
  `CREATE TABLE users (
     id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL, role TEXT NOT NULL, firm_id TEXT REFERENCES firms(id),
     password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, last_login_at INTEGER,
     password_changed_at INTEGER NOT NULL);
   CREATE TABLE sessions (
     id_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX sessions_user ON sessions(user_id);`,
  // A password given to a person (the first admin's, an admin's reset) is replaced by their own at sign-in.
  `ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;`,
  // Gateways: one credential for a list of the firm's devices (common/registry/gateways.ts).
  GATEWAY_TABLES({ time: 'INTEGER', flag: 'INTEGER', falseValue: '0' }),
];

const FIRM_SET = 'name = @name, county = @county, park = @park, segment = @segment, above_scale = @above_scale, above_scale_since = @above_scale_since, '
  + 'employees = @employees, land_mu = @land_mu, smart_factory_tier = @smart_factory_tier, smart_factory_certificate_id = @smart_factory_certificate_id, '
  + 'smart_factory_certified_on = @smart_factory_certified_on';

/** The firms columns of the attributes, as SQLite binds them (flags as 0/1). */
const sqliteFirmColumns = (a: FirmAttributes) => ({ ...firmColumns(a), above_scale: a.aboveScale ? 1 : 0 });


export class SqliteRegistry extends GatewaysDelegate implements Registry {
  private readonly db: Db;
  private readonly stmt;
  protected readonly gateways: SqliteGateways;

  constructor(file: string) {
    super();
    this.db = openDb(file, REGISTRY_MIGRATIONS, { synchronous: 'NORMAL' });
    const db = this.db;
    this.gateways = new SqliteGateways(db);
    this.stmt = {
      insertFirm: db.prepare(`INSERT INTO firms (id, name, county, park, segment, above_scale, above_scale_since, employees, land_mu, smart_factory_tier,
        smart_factory_certificate_id, smart_factory_certified_on, demo, created_at) VALUES (@id,@name,@county,@park,@segment,@above_scale,@above_scale_since,
        @employees,@land_mu,@smart_factory_tier,@smart_factory_certificate_id,@smart_factory_certified_on,@demo,@created_at)`),
      updateFirm: db.prepare(`UPDATE firms SET ${FIRM_SET} WHERE id = @id`),
      insertVersion: db.prepare('INSERT INTO firm_versions (firm_id, valid_from, recorded_at, recorded_by, changes) VALUES (@firm_id, @valid_from, @recorded_at, @recorded_by, @changes)'),
      firmVersions: db.prepare<[string], FirmVersionRow>('SELECT * FROM firm_versions WHERE firm_id = ? ORDER BY id'),
      allVersions: db.prepare<[], FirmVersionRow>('SELECT * FROM firm_versions ORDER BY firm_id, id'),
      getFirm: db.prepare<[string], FirmRow>('SELECT * FROM firms WHERE id = ?'),
      listFirms: db.prepare<[], FirmRow>('SELECT * FROM firms ORDER BY county, name'),
      reserveId: db.prepare('INSERT OR IGNORE INTO device_ids (id, firm_id) VALUES (?, ?)'),
      retireId: db.prepare('UPDATE device_ids SET retired_at = ? WHERE id = ?'),
      insertDevice: db.prepare(`INSERT INTO devices (id, firm_id, type, name, location, token_hash, created_at, token_expires_at)
        VALUES (@id,@firm_id,@type,@name,@location,@token_hash,@created_at,@token_expires_at)`),
      getDevice: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?'),
      listDevices: db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY firm_id, id'),
      listFirmDevices: db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE firm_id = ? ORDER BY id'),
      seen: db.prepare(`UPDATE devices SET last_seen_at = max(coalesce(last_seen_at, 0), @seenAt),
        last_telemetry_at = CASE WHEN @telemetryAt IS NULL THEN last_telemetry_at ELSE max(coalesce(last_telemetry_at, 0), @telemetryAt) END,
        seq_received = seq_received + @seqReceived, seq_expected = seq_expected + @seqExpected,
        clock_skew_ms = coalesce(@clockSkewMs, clock_skew_ms), reported_status = coalesce(@reportedStatus, reported_status)
        WHERE id = @deviceId`),
      day: db.prepare(`INSERT INTO device_days VALUES (@deviceId, @day, @accepted, @rejected)
        ON CONFLICT (device_id, day) DO UPDATE SET accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected`),
      days: db.prepare<[string, number], { day: string; accepted: number; rejected: number }>('SELECT day, accepted, rejected FROM device_days WHERE device_id = ? ORDER BY day DESC LIMIT ?'),
      online: db.prepare('UPDATE devices SET online = @online, last_seen_at = max(coalesce(last_seen_at, 0), @at) WHERE id = @deviceId'),
      rotate: db.prepare('UPDATE devices SET token_hash = ?, token_expires_at = ? WHERE id = ?'),
      // Only while the old hash is still there: a rotation in between wins.
      rehash: db.prepare('UPDATE devices SET token_hash = ? WHERE id = ? AND token_hash = ?'),
      deleteDevice: db.prepare('DELETE FROM devices WHERE id = ?'),
      deleteDays: db.prepare('DELETE FROM device_days WHERE device_id = ?'),
      audit: db.prepare('INSERT INTO audit (at, actor, action, target, detail) VALUES (@at, @actor, @action, @target, @detail)'),
      insertToken: db.prepare(`INSERT INTO api_tokens (id, token_sha256, role, firm_id, name, created_at, expires_at, operator)
        VALUES (@id,@token_sha256,@role,@firm_id,@name,@created_at,@expires_at,@operator)`),
      getToken: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_sha256 = ?`),
      getTokenById: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE id = ?`),
      listTokens: db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at DESC, id`),
      listFirmTokens: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE firm_id = ? ORDER BY created_at DESC, id`),
      tokenUsed: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      revokeToken: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      makeOperator: db.prepare('UPDATE api_tokens SET operator = 1 WHERE id = ?'),
      otherOperators: db.prepare<[string], { id: string }>('SELECT id FROM api_tokens WHERE operator = 1 AND revoked_at IS NULL AND id <> ?'),
      connectivity: db.prepare<[], FirmRow & { last_telemetry_at: number | null }>(
        `SELECT f.*, (SELECT max(d.last_telemetry_at) FROM devices d WHERE d.firm_id = f.id) AS last_telemetry_at FROM firms f`),
    };
  }

  async createFirm(f: NewFirm): Promise<Firm> {
    const createdAt = Date.now();
    const attributes = attributesOf(f);
    try {
      this.db.transaction(() => {
        this.stmt.insertFirm.run({ id: f.id, ...sqliteFirmColumns(attributes), demo: f.demo ? 1 : 0, created_at: createdAt });
        this.stmt.insertVersion.run(registrationVersion(f, createdAt));
      })();
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new ConflictError(`firm ${f.id} already exists`);
      throw err;
    }
    return { id: f.id, ...attributes, demo: f.demo, createdAt };
  }

  async updateFirm(id: string, change: FirmChange): Promise<Firm> {
    const row = this.db.transaction(() => {
      if (!this.stmt.getFirm.get(id)) return undefined;
      this.stmt.insertVersion.run({ firm_id: id, valid_from: change.validFrom, recorded_at: change.recordedAt, recorded_by: change.recordedBy, changes: JSON.stringify(change.changes) });
      const attributes = currentAttributes(this.stmt.firmVersions.all(id).map(versionFrom));
      this.stmt.updateFirm.run({ id, ...sqliteFirmColumns(attributes) });
      return this.stmt.getFirm.get(id);
    })();
    if (!row) throw new NotFoundError(`firm ${id} not found`);
    return firmFrom(row);
  }

  async firmHistory(firmId?: string): Promise<FirmVersion[]> {
    return (firmId === undefined ? this.stmt.allVersions.all() : this.stmt.firmVersions.all(firmId)).map(versionFrom);
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
    const id = d.id ?? generatedDeviceId(d.type);
    const token = newToken('dt');
    const tokenHash = hashSecret(token);
    const row = { id, firm_id: d.firmId, type: d.type, name: d.name, location: d.location ?? '', token_hash: tokenHash, created_at: Date.now(), token_expires_at: d.tokenExpiresAt ?? null };
    // The id is reserved for good first: taken or retired, in whichever firm, is the same refusal.
    const created = this.db.transaction(() => this.stmt.reserveId.run(id, d.firmId).changes === 1 && this.stmt.insertDevice.run(row).changes === 1)();
    if (!created) throw new ConflictError(deviceIdUnavailable(id));
    const device = this.stmt.getDevice.get(id);
    if (!device) throw new Error(`device ${id} vanished after insert`);
    return { device: deviceFrom(device), token };
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const r = this.stmt.getDevice.get(id);
    return r ? deviceFrom(r) : undefined;
  }

  async listDevices(firmId?: string): Promise<Device[]> {
    return (firmId === undefined ? this.stmt.listDevices.all() : this.stmt.listFirmDevices.all(firmId)).map(deviceFrom);
  }

  async verifyDevice(id: string, token: string, now = Date.now()): Promise<DeviceContext | undefined> {
    const r = this.stmt.getDevice.get(id);
    if (!r || deviceTokenExpired(r, now)) return undefined;
    const check = await verifySecret(token, r.token_hash);
    if (!check.ok) return undefined;
    if (check.rehash) this.stmt.rehash.run(check.rehash, id, r.token_hash);
    const f = this.stmt.getFirm.get(r.firm_id);
    if (!f) return undefined;
    return { device: deviceFrom(r), firm: firmFrom(f) };
  }

  async deviceCredentials(ids: readonly string[]): Promise<DeviceCredential[]> {
    const out: DeviceCredential[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const sql = `SELECT ${CREDENTIAL_COLUMNS} FROM devices WHERE id IN (${chunk.map(() => '?').join(',')})`;
      out.push(...this.db.prepare<string[], DeviceRow>(sql).all(...chunk).map(credentialFrom));
    }
    return out;
  }

  async setRateOverride(deviceId: string, counter: string, maxPerHour: number | null): Promise<Record<string, number>> {
    return this.db.transaction(() => {
      const r = this.stmt.getDevice.get(deviceId);
      if (!r) throw new NotFoundError(`device ${deviceId} not found`);
      const o = withRateOverride(r.rate_overrides, counter, maxPerHour);
      this.db.prepare('UPDATE devices SET rate_overrides = ? WHERE id = ?').run(JSON.stringify(o), deviceId);
      return o;
    })();
  }

  async markSeen(updates: readonly SeenUpdate[]): Promise<void> {
    this.db.transaction(() => {
      for (const u of updates) {
        this.stmt.seen.run({
          deviceId: u.deviceId, seenAt: u.seenAt, telemetryAt: u.telemetryAt ?? null, seqReceived: u.seqReceived ?? 0, seqExpected: u.seqExpected ?? 0,
          clockSkewMs: u.clockSkewMs === undefined ? null : Math.round(u.clockSkewMs), reportedStatus: u.reportedStatus ?? null,
        });
        if (u.accepted || u.rejected) this.stmt.day.run({ deviceId: u.deviceId, day: localDate(u.seenAt), accepted: u.accepted ?? 0, rejected: u.rejected ?? 0 });
      }
    })();
  }

  async setOnline(deviceId: string, online: boolean, at: number): Promise<void> {
    this.stmt.online.run({ deviceId, online: online ? 1 : 0, at });
  }

  async deviceDays(deviceId: string, days: number): Promise<DeviceDay[]> {
    return this.stmt.days.all(deviceId, days);
  }

  async rotateDeviceToken(id: string, opts: { expiresAt?: number } = {}): Promise<string> {
    const token = newToken('dt');
    const hash = hashSecret(token);
    if (this.stmt.rotate.run(hash, opts.expiresAt ?? null, id).changes === 0) throw new NotFoundError(`device ${id} not found`);
    return token;
  }

  async deleteDevice(id: string): Promise<void> {
    const gone = this.db.transaction(() => {
      this.stmt.deleteDays.run(id);
      this.stmt.retireId.run(Date.now(), id);
      return this.stmt.deleteDevice.run(id).changes;
    })();
    if (gone === 0) throw new NotFoundError(`device ${id} not found`);
  }

  async recordAudit(e: Omit<AuditEntry, 'id'>): Promise<void> {
    this.stmt.audit.run(e);
  }

  async listAudit(q: { limit: number; beforeId?: number; target?: string }): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.beforeId !== undefined) { where.push('id < ?'); args.push(q.beforeId); }
    if (q.target !== undefined) { where.push('target = ?'); args.push(q.target); }
    return this.db.prepare<Array<string | number>, AuditEntry>(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`).all(...args, q.limit);
  }

  private insertToken(token: string, role: Role, firmId: string | null, name: string, extra: { expiresAt?: number; operator?: boolean } = {}): ApiPrincipal {
    const id = randomBytes(8).toString('hex');
    this.stmt.insertToken.run({
      id, token_sha256: sha256(token), role, firm_id: firmId, name, created_at: Date.now(), expires_at: extra.expiresAt ?? null, operator: extra.operator ? 1 : 0,
    });
    return { tokenId: id, role, firmId, name };
  }

  async createApiToken(role: Role, firmId: string | null, name: string, opts: { expiresAt?: number } = {}): Promise<{ token: string; principal: ApiPrincipal }> {
    if (role === 'engineer' && (firmId === null || !this.stmt.getFirm.get(firmId))) throw new NotFoundError(`an engineer token needs an existing firm, got ${firmId}`);
    const token = newToken('at', 32);
    return { token, principal: this.insertToken(token, role, role === 'engineer' ? firmId : null, name, opts) };
  }

  async ensureApiToken(token: string, role: Role, firmId: string | null, name: string): Promise<ApiPrincipal> {
    const now = Date.now();
    return this.db.transaction(() => {
      const r = this.stmt.getToken.get(sha256(token));
      if (r && r.revoked_at !== null) throw new ConflictError(REVOKED_OPERATOR_TOKEN);
      const principal = r ? principalFrom(r) : this.insertToken(token, role, firmId, name, { operator: true });
      this.stmt.makeOperator.run(principal.tokenId);
      for (const old of this.stmt.otherOperators.all(principal.tokenId)) {
        this.stmt.revokeToken.run(now, old.id);
        this.stmt.audit.run(operatorRevocationAudit(old.id, now));
      }
      return principal;
    })();
  }

  // API tokens are 256 random bits, so an unsalted SHA-256 lookup is as safe as a slow hash and O(1).
  async checkApiToken(token: string, now = Date.now()): Promise<ApiTokenCheck> {
    const r = this.stmt.getToken.get(sha256(token));
    const check = tokenCheckOf(r, now);
    if (check.ok && r && lastUseStale(r, now)) this.stmt.tokenUsed.run(now, r.id);
    return check;
  }

  async verifyApiToken(token: string): Promise<ApiPrincipal | undefined> {
    const check = await this.checkApiToken(token);
    return check.ok ? check.principal : undefined;
  }

  async listApiTokens(q: { firmId?: string } = {}): Promise<ApiTokenInfo[]> {
    return (q.firmId === undefined ? this.stmt.listTokens.all() : this.stmt.listFirmTokens.all(q.firmId)).map(tokenInfoFrom);
  }

  async getApiToken(tokenId: string): Promise<ApiTokenInfo | undefined> {
    const r = this.stmt.getTokenById.get(tokenId);
    return r ? tokenInfoFrom(r) : undefined;
  }

  async revokeApiToken(tokenId: string, at = Date.now()): Promise<boolean> {
    if (!this.stmt.getTokenById.get(tokenId)) throw new NotFoundError(`token ${tokenId} not found`);
    return this.stmt.revokeToken.run(at, tokenId).changes === 1;
  }

  async firmConnectivity(): Promise<FirmConnectivity[]> {
    return this.stmt.connectivity.all().map((r) => connectivityFrom(r, r.last_telemetry_at));
  }

  private userRow(id: string): UserRow | undefined {
    return this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?').get(id);
  }

  async createUser(u: NewUser): Promise<User> {
    if (u.role === 'engineer' && (u.firmId === null || !this.stmt.getFirm.get(u.firmId))) throw new NotFoundError(`an engineer needs an existing firm, got ${u.firmId}`);
    const now = Date.now();
    const row: UserRow = {
      id: newUserId(), login: u.login, display_name: u.displayName, role: u.role, firm_id: u.role === 'engineer' ? u.firmId : null,
      password_hash: await hashPassword(u.password), disabled: 0, created_at: now, last_login_at: null, password_changed_at: now, must_change_password: u.mustChangePassword ? 1 : 0,
    };
    try {
      this.db.prepare(`INSERT INTO users (id, login, display_name, role, firm_id, password_hash, disabled, created_at, last_login_at, password_changed_at, must_change_password)
        VALUES (@id, @login, @display_name, @role, @firm_id, @password_hash, @disabled, @created_at, @last_login_at, @password_changed_at, @must_change_password)`).run(row);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new ConflictError(`login name ${u.login} is taken`);
      throw err;
    }
    return userFrom(row);
  }

  async getUser(id: string): Promise<User | undefined> {
    const r = this.userRow(id);
    return r ? userFrom(r) : undefined;
  }

  async listUsers(): Promise<User[]> {
    return this.db.prepare<[], UserRow>('SELECT * FROM users ORDER BY login').all().map(userFrom);
  }

  async updateUser(id: string, change: UserChange): Promise<User> {
    if (change.firmId && !this.stmt.getFirm.get(change.firmId)) throw new NotFoundError(`firm ${change.firmId} does not exist`);
    return this.db.transaction(() => {
      const r = this.userRow(id);
      if (!r) throw new NotFoundError(`user ${id} not found`);
      const { row, endSessions } = changedUser(r, change);
      if (row.role === 'engineer' && row.firm_id === null) throw new NotFoundError('an engineer needs an existing firm');
      this.db.prepare('UPDATE users SET display_name = @display_name, role = @role, firm_id = @firm_id, disabled = @disabled WHERE id = @id').run(row);
      if (endSessions) this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(id);
      return userFrom(row);
    })();
  }

  async setUserPassword(id: string, password: string, opts: { mustChange?: boolean } = {}): Promise<void> {
    const hash = await hashPassword(password);
    const changed = this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(id);
      return this.db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, must_change_password = ? WHERE id = ?').run(hash, Date.now(), opts.mustChange ? 1 : 0, id).changes;
    })();
    if (changed === 0) throw new NotFoundError(`user ${id} not found`);
  }

  async checkPassword(login: string, password: string): Promise<PasswordCheck> {
    return passwordCheckOf(this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE login = ?').get(login), password);
  }

  async createSession(userId: string, opts: { absoluteMs: number; now?: number }): Promise<string> {
    const now = opts.now ?? Date.now();
    const id = newSessionId();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO sessions (id_sha256, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(sessionKey(id), userId, now, now, now + opts.absoluteMs);
      this.db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?').run(now, userId);
      // Sessions past their lifetime are of no use to anyone: each sign-in sweeps them.
      this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
    })();
    return id;
  }

  async checkSession(sessionId: string, opts: { idleMs: number; now?: number }): Promise<SessionCheck> {
    const now = opts.now ?? Date.now();
    const key = sessionKey(sessionId);
    const r = this.db.prepare<[string], SessionRow>(`${SESSION_SELECT}?`).get(key);
    const check = sessionCheckOf(r, now, opts.idleMs);
    if (check.ok && r && sessionTouchStale(r, now)) this.db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_sha256 = ?').run(now, key);
    return check;
  }

  async endSession(sessionId: string): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE id_sha256 = ?').run(sessionKey(sessionId));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
