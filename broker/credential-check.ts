// Connected devices re-checked against the registry every CREDENTIAL_CHECK_MS: a device whose token expired, was
// rotated or removed while it stayed connected is disconnected (the API's control message does this at once for a
// rotation or removal through the API; this also covers expiry, a lost control message and changes made straight
// in the registry). The same answer carries each device's own counter rates, so an override reaches admission
// within one period without a reconnect. One registry question per period for all connected devices, never per
// message. Gateways likewise, and a gateway whose device list changed reconnects to take up the new one.
import type { Aedes } from 'aedes';
import type { DeviceCredential, GatewayCredential, Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Admission } from '../common/admission/admission.ts';
import { clientsOf, type Identities } from './authentication.ts';

export const CREDENTIAL_CHECK_MS = 30_000;

export interface CredentialCheckDeps {
  aedes: Aedes;
  registry: Registry;
  identities: Identities;
  admission: Admission;
  log: Logger;
  /** Closes the device's (or gateway's) connection and forgets its cached credential. */
  disconnect(deviceId: string, reason: string): void;
}

/** Why a connected device may no longer stay, or undefined while its credential holds. */
export function revocationOf(cred: DeviceCredential | undefined, fingerprint: string, now: number): string | undefined {
  if (!cred) return 'device removed';
  if (cred.tokenExpiresAt !== null && cred.tokenExpiresAt <= now) return 'device token expired';
  if (cred.tokenSha256 !== null && cred.tokenSha256 !== fingerprint) return 'device token rotated';
  return undefined;
}

/** Why a connected gateway may no longer stay (as it is), or undefined while its credential and device list hold. */
export function gatewayRevocationOf(cred: GatewayCredential | undefined, fingerprint: string, deviceIds: readonly string[], now: number): string | undefined {
  if (!cred) return 'gateway removed';
  if (cred.tokenExpiresAt !== null && cred.tokenExpiresAt <= now) return 'gateway token expired';
  if (cred.tokenSha256 !== null && cred.tokenSha256 !== fingerprint) return 'gateway token rotated';
  if (cred.deviceIds.join('\0') !== [...deviceIds].sort().join('\0')) return 'gateway device list changed';
  return undefined;
}

export class CredentialCheck {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly deps: CredentialCheckDeps) {}

  start(intervalMs = CREDENTIAL_CHECK_MS): void {
    this.timer = setInterval(() => {
      this.checkNow().catch((err: Error) => this.deps.log.warn({ err: err.message }, 'credential check of connected devices failed; connections kept, retried next period'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checks every connected device once; resolves with the number of connections closed. */
  async checkNow(now = Date.now()): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const { aedes, identities, registry, admission, log } = this.deps;
      const connected = new Map<string, string>();
      const gateways = new Map<string, { fingerprint: string; deviceIds: readonly string[] }>();
      for (const client of Object.values(clientsOf(aedes))) {
        const id = client ? identities.get(client) : undefined;
        if (client && id?.kind === 'device') connected.set(client.id, id.fingerprint);
        if (client && id?.kind === 'gateway') gateways.set(client.id, { fingerprint: id.fingerprint, deviceIds: id.gateway.ctx.gateway.deviceIds });
      }
      if (connected.size + gateways.size === 0) return 0;
      const behindGateways = [...gateways.values()].flatMap((g) => g.deviceIds);
      const creds = new Map((await registry.deviceCredentials([...connected.keys(), ...behindGateways])).map((c) => [c.deviceId, c]));
      const gatewayCreds = new Map(gateways.size === 0 ? [] : (await registry.gatewayCredentials([...gateways.keys()])).map((c) => [c.gatewayId, c]));
      const revoked = new Map<string, string>();
      for (const [deviceId, fingerprint] of connected) {
        const why = revocationOf(creds.get(deviceId), fingerprint, now);
        if (why !== undefined) revoked.set(deviceId, why);
      }
      for (const [gatewayId, g] of gateways) {
        const why = gatewayRevocationOf(gatewayCreds.get(gatewayId), g.fingerprint, g.deviceIds, now);
        if (why !== undefined) revoked.set(gatewayId, why);
      }
      for (const [id, why] of revoked) this.deps.disconnect(id, why);
      for (const [deviceId, cred] of creds) if (!revoked.has(deviceId)) admission.setRateOverrides(deviceId, cred.rateOverrides);
      if (revoked.size > 0) log.warn({ closed: revoked.size, checked: connected.size + gateways.size }, 'closed device and gateway connections whose credential no longer holds');
      return revoked.size;
    } finally {
      this.running = false;
    }
  }
}
