// Connected devices re-checked against the registry every CREDENTIAL_CHECK_MS: a device whose token expired, was
// rotated or removed while it stayed connected is disconnected (the API's control message does this at once for a
// rotation or removal through the API; this also covers expiry, a lost control message and changes made straight
// in the registry). The same answer carries each device's own counter rates, so an override reaches admission
// within one period without a reconnect. One registry question per period for all connected devices, never per
// message.
import type { Aedes } from 'aedes';
import type { DeviceCredential, Registry } from '../common/registry/registry.ts';
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
  /** Closes the device's connection and forgets its cached credential. */
  disconnect(deviceId: string, reason: string): void;
}

/** Why a connected device may no longer stay, or undefined while its credential holds. */
export function revocationOf(cred: DeviceCredential | undefined, fingerprint: string, now: number): string | undefined {
  if (!cred) return 'device removed';
  if (cred.tokenExpiresAt !== null && cred.tokenExpiresAt <= now) return 'device token expired';
  if (cred.tokenSha256 !== null && cred.tokenSha256 !== fingerprint) return 'device token rotated';
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
      for (const client of Object.values(clientsOf(aedes))) {
        const id = client ? identities.get(client) : undefined;
        if (client && id?.kind === 'device') connected.set(client.id, id.fingerprint);
      }
      if (connected.size === 0) return 0;
      const creds = new Map((await registry.deviceCredentials([...connected.keys()])).map((c) => [c.deviceId, c]));
      let closed = 0;
      for (const [deviceId, fingerprint] of connected) {
        const cred = creds.get(deviceId);
        const why = revocationOf(cred, fingerprint, now);
        if (why !== undefined) {
          closed++;
          this.deps.disconnect(deviceId, why);
        } else {
          admission.setRateOverrides(deviceId, cred?.rateOverrides);
        }
      }
      if (closed > 0) log.warn({ closed, checked: connected.size }, 'closed device connections whose credential no longer holds');
      return closed;
    } finally {
      this.running = false;
    }
  }
}
