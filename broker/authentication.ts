// Who a client is. A device logs in with its id (which must also be its clientId) and its token, checked against
// the registry and then trusted for a while from a cache keyed by a hash of both; a gateway the same way with its
// id and gateway token (`gt_…`), and then publishes for the devices the firm assigned to it; a platform service logs
// in as `svc:<name>` with the service secret. The identity found here is what every later hook reads.
import { timingSafeEqual } from 'node:crypto';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { tagSet } from '../common/contract/line-protocol.ts';
import { sha256 } from '../common/ids.ts';
import { DEVICE_PUBLISH_KINDS, topicFor, type ParsedTopic } from '../common/contract/topics.ts';
import type { Device, DeviceContext, Firm, GatewayContext, Registry } from '../common/registry/registry.ts';
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

/** A gateway logged in: its firm's devices it may publish for, by id (the per-message check is one lookup). */
export interface GatewayIdentity {
  ctx: GatewayContext;
  devices: ReadonlyMap<string, AdmissionDevice>;
  /** The gateway as the sender of what it publishes for no device of its own (dead letters, counts). */
  self: DeviceContext;
}

export type Identity =
  | { kind: 'device'; device: AdmissionDevice; fingerprint: string }
  | { kind: 'gateway'; gateway: GatewayIdentity; fingerprint: string }
  | { kind: 'service'; name: string };
/** A client that publishes telemetry: a device or a gateway. */
export type Publisher = Exclude<Identity, { kind: 'service' }>;
/** Kept per client object, so it goes with the connection and later hooks never ask the registry again. */
export type Identities = WeakMap<Client, Identity>;
type Done = Parameters<Aedes['authenticate']>[3];
/** A verified credential: a device's or a gateway's. */
type Found = { kind: 'device'; ctx: DeviceContext } | { kind: 'gateway'; ctx: GatewayContext };
const tokenExpiryOf = (f: Found): number | null => (f.kind === 'device' ? f.ctx.device.tokenExpiresAt : f.ctx.gateway.tokenExpiresAt);
/** Gateway tokens are issued as `gt_…` (device tokens `dt_…`). */
const GATEWAY_TOKEN_PREFIX = 'gt_';

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

/** What admission needs of a device: its context and its series' tags. */
export function admissionDevice(device: Device, firm: Firm): AdmissionDevice {
  return { ctx: { device, firm }, tags: tagSet({ firmId: firm.id, deviceId: device.id, type: device.type, county: firm.county, park: firm.park, segment: firm.segment }) };
}

/** The gateway's identity: its devices by id, and itself in the place of a device where a sender is recorded. */
export function gatewayIdentity(ctx: GatewayContext): GatewayIdentity {
  const g = ctx.gateway;
  const self: Device = {
    id: g.id, firmId: g.firmId, type: 'gateway', name: g.name, location: '', createdAt: g.createdAt, lastSeenAt: g.lastSeenAt, lastTelemetryAt: null,
    online: g.online, reportedStatus: null, seqReceived: 0, seqExpected: 0, clockSkewMs: null, tokenExpiresAt: g.tokenExpiresAt,
  };
  return { ctx, devices: new Map(ctx.devices.map((d) => [d.id, admissionDevice(d, ctx.firm)])), self: { device: self, firm: ctx.firm } };
}

/** The device a publish on this topic is for: the device itself, or one the gateway may publish for; else undefined. */
export function publisherFor(id: Publisher, parsed: ParsedTopic): AdmissionDevice | undefined {
  if (!DEVICE_PUBLISH_KINDS.includes(parsed.kind)) return undefined;
  if (id.kind === 'device') return parsed.firmId === id.device.ctx.firm.id && parsed.deviceId === id.device.ctx.device.id ? id.device : undefined;
  return parsed.firmId === id.gateway.ctx.firm.id ? id.gateway.devices.get(parsed.deviceId) : undefined;
}

/** Who a refused publish is recorded against when it names none of the client's devices. */
export const senderOf = (id: Publisher): DeviceContext => (id.kind === 'device' ? id.device.ctx : id.gateway.self);

/** The one topic a device or gateway hears its problems on (a gateway's: its own, for all its devices). */
export const errorsTopicOf = (id: Publisher): string => {
  const s = senderOf(id);
  return topicFor(s.firm.id, s.device.id, 'errors');
};

/** Why a publish on this topic is refused. */
export function wrongTopic(id: Publisher, topic: string): string {
  if (id.kind === 'device') {
    const { ctx } = id.device;
    return `device ${ctx.device.id} may not publish on "${topic}": publish on dh/v1/${ctx.firm.id}/${ctx.device.id}/{telemetry|state|status}`;
  }
  const { gateway, firm } = id.gateway.ctx;
  return `gateway ${gateway.id} may not publish on "${topic}": publish on dh/v1/${firm.id}/<device>/{telemetry|state|status} for its devices (${gateway.deviceIds.join(', ') || 'none assigned'})`;
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
  private readonly cache = new Map<string, { found: Found; expires: number; deviceId: string }>();

  constructor(private readonly deps: AuthenticatorDeps) {}

  /** Aedes' authenticate hook. */
  readonly authenticate: Aedes['authenticate'] = (client, username, password, done) => {
    if (!username || !password) return this.fail(client, username ?? '', 'username (device or gateway id) and password (its token) are required', BAD_USERNAME_OR_PASSWORD, done);
    if (username.startsWith(SERVICE_USER_PREFIX)) {
      if (!secretEquals(password.toString('utf8'), this.deps.serviceSecret)) return this.fail(client, username, 'bad service credentials', BAD_USERNAME_OR_PASSWORD, done);
      this.deps.identities.set(client, { kind: 'service', name: username });
      return done(null, true);
    }
    if (client.id !== username) return this.fail(client, username, `clientId "${clipForLog(client.id)}" must equal the device or gateway id`, NOT_AUTHORIZED, done);
    const token = password.toString('utf8');
    this.verify(username, token).then((found) => {
      if (!found) return this.fail(client, username, 'unknown device or gateway, or wrong token', BAD_USERNAME_OR_PASSWORD, done);
      this.admit(client, found, sha256(token), done);
    }, (err: Error) => {
      this.deps.log.error({ err }, 'registry error during authentication');
      done(authError('registry unavailable', SERVER_UNAVAILABLE), false);
    });
  };

  /** Forgets a device's or gateway's cached credentials (after rotation or deletion). */
  forget(deviceId: string): void {
    for (const [key, entry] of this.cache) if (entry.deviceId === deviceId) this.cache.delete(key);
  }

  private async verify(id: string, token: string): Promise<Found | undefined> {
    const key = sha256(`${id}\0${token}`);
    const hit = this.cache.get(key);
    const now = Date.now();
    // A cached credential is trusted no longer than the token itself (the registry refuses an expired one).
    if (hit && hit.expires > now && (tokenExpiryOf(hit.found) ?? Infinity) > now) return hit.found;
    // The token's prefix tells which registry question to ask; a wrong guess only fails the login.
    const found: Found | undefined = token.startsWith(GATEWAY_TOKEN_PREFIX)
      ? await this.deps.registry.verifyGateway(id, token).then((ctx) => ctx && { kind: 'gateway', ctx })
      : await this.deps.registry.verifyDevice(id, token).then((ctx) => ctx && { kind: 'device', ctx });
    if (found) this.cache.set(key, { found, expires: Date.now() + this.deps.cacheMs, deviceId: id });
    return found;
  }

  private admit(client: Client, found: Found, fingerprint: string, done: Done): void {
    const existing = clientsOf(this.deps.aedes)[client.id];
    const existingId = existing ? this.deps.identities.get(existing) : undefined;
    // A second connection with the same id takes the session over only with the same credential (a device
    // reconnecting over a half-open socket); anything else is refused rather than kicking the device off.
    if (existingId && existingId.kind !== 'service' && existingId.fingerprint !== fingerprint) {
      return this.fail(client, client.id, `this ${found.kind} is already connected with another credential`, IDENTIFIER_REJECTED, done);
    }
    const { admission } = this.deps;
    if (found.kind === 'device') {
      this.deps.identities.set(client, { kind: 'device', fingerprint, device: admissionDevice(found.ctx.device, found.ctx.firm) });
      admission.markSeen(client.id);
      admission.setRateOverrides(client.id, found.ctx.device.rateOverrides);
    } else {
      this.deps.identities.set(client, { kind: 'gateway', fingerprint, gateway: gatewayIdentity(found.ctx) });
      for (const d of found.ctx.devices) {
        admission.markSeen(d.id);
        admission.setRateOverrides(d.id, d.rateOverrides);
      }
    }
    done(null, true);
  }

  private fail(client: Client, username: string, why: string, code: number, done: Done): void {
    this.deps.throttle.authFailed(client, username, why);
    done(authError(why, code), false);
  }
}
