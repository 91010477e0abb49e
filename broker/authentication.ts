// Who a client is. A device logs in with its id (which must also be its clientId) and its token, checked against
// the registry and then trusted for a while from a cache keyed by a hash of both; a platform service logs in as
// `svc:<name>` with the service secret. The identity found here is what every later hook reads.
import { timingSafeEqual } from 'node:crypto';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { tagSet } from '../common/contract/line-protocol.ts';
import { sha256 } from '../common/ids.ts';
import type { DeviceContext, Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Admission, AdmissionDevice } from '../common/admission/admission.ts';
import type { AddressThrottle } from './limits.ts';
import { clipForLog } from './connection-gate.ts';

// Aedes' AuthErrorCode is an ambient const enum: use the numbers (docs/pitfalls.md).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
/** Usernames of the platform's own services (the API's live feed); their password is the service secret. */
export const SERVICE_USER_PREFIX = 'svc:';

export type Identity = { kind: 'device'; device: AdmissionDevice; fingerprint: string } | { kind: 'service'; name: string };
/** Kept per client object, so it goes with the connection and later hooks never ask the registry again. */
export type Identities = WeakMap<Client, Identity>;
type Done = Parameters<Aedes['authenticate']>[3];

/** Aedes keeps connected clients by id at run time; its types do not say so. */
export function clientsOf(a: Aedes): Record<string, Client | undefined> {
  return (a as unknown as { clients: Record<string, Client | undefined> }).clients;
}

function authError(message: string, code: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

function secretEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface AuthenticatorDeps {
  aedes: Aedes;
  registry: Registry;
  admission: Admission;
  identities: Identities;
  throttle: AddressThrottle;
  serviceSecret: string;
  /** How long a verified device credential is trusted without asking the registry again. */
  cacheMs: number;
  log: Logger;
}

export class Authenticator {
  private readonly cache = new Map<string, { ctx: DeviceContext; expires: number; deviceId: string }>();

  constructor(private readonly deps: AuthenticatorDeps) {}

  /** Aedes' authenticate hook. */
  readonly authenticate: Aedes['authenticate'] = (client, username, password, done) => {
    if (!username || !password) return this.fail(client, username ?? '', 'username (device id) and password (device token) are required', BAD_USERNAME_OR_PASSWORD, done);
    if (username.startsWith(SERVICE_USER_PREFIX)) {
      if (!secretEquals(password.toString('utf8'), this.deps.serviceSecret)) return this.fail(client, username, 'bad service credentials', BAD_USERNAME_OR_PASSWORD, done);
      this.deps.identities.set(client, { kind: 'service', name: username });
      return done(null, true);
    }
    if (client.id !== username) return this.fail(client, username, `clientId "${clipForLog(client.id)}" must equal the device id`, NOT_AUTHORIZED, done);
    const token = password.toString('utf8');
    this.verify(username, token).then((ctx) => {
      if (!ctx) return this.fail(client, username, 'unknown device or wrong token', BAD_USERNAME_OR_PASSWORD, done);
      this.admitDevice(client, ctx, sha256(token), done);
    }, (err: Error) => {
      this.deps.log.error({ err }, 'registry error during authentication');
      done(authError('registry unavailable', SERVER_UNAVAILABLE), false);
    });
  };

  /** Forgets a device's cached credentials (after rotation or deletion). */
  forget(deviceId: string): void {
    for (const [key, entry] of this.cache) if (entry.deviceId === deviceId) this.cache.delete(key);
  }

  private async verify(deviceId: string, token: string): Promise<DeviceContext | undefined> {
    const key = sha256(`${deviceId}\0${token}`);
    const hit = this.cache.get(key);
    const now = Date.now();
    // A cached credential is trusted no longer than the token itself (the registry refuses an expired one).
    if (hit && hit.expires > now && (hit.ctx.device.tokenExpiresAt ?? Infinity) > now) return hit.ctx;
    const ctx = await this.deps.registry.verifyDevice(deviceId, token);
    if (ctx) this.cache.set(key, { ctx, expires: Date.now() + this.deps.cacheMs, deviceId });
    return ctx;
  }

  private admitDevice(client: Client, ctx: DeviceContext, fingerprint: string, done: Done): void {
    const deviceId = client.id;
    const existing = clientsOf(this.deps.aedes)[deviceId];
    const existingId = existing ? this.deps.identities.get(existing) : undefined;
    // A second connection with the same id takes the session over only with the same credential (a device
    // reconnecting over a half-open socket); anything else is refused rather than kicking the device off.
    if (existingId?.kind === 'device' && existingId.fingerprint !== fingerprint) {
      return this.fail(client, deviceId, 'this device is already connected with another credential', IDENTIFIER_REJECTED, done);
    }
    const f = ctx.firm;
    this.deps.identities.set(client, {
      kind: 'device', fingerprint,
      device: { ctx, tags: tagSet({ firmId: f.id, deviceId: ctx.device.id, type: ctx.device.type, county: f.county, park: f.park, segment: f.segment }) },
    });
    this.deps.admission.markSeen(deviceId);
    this.deps.admission.setRateOverrides(deviceId, ctx.device.rateOverrides);
    done(null, true);
  }

  private fail(client: Client, username: string, why: string, code: number, done: Done): void {
    this.deps.throttle.authFailed(client, username, why);
    done(authError(why, code), false);
  }
}
