// Devices (and gateways) online and last seen, recorded in the registry: online/offline on connect and disconnect, and the
// last-seen times admission gathers flushed every couple of seconds in one registry call.
import type { Aedes } from 'aedes';
import type { GatewayContext, Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import type { Admission } from '../common/admission/admission.ts';
import { clientsOf, type Identities } from './authentication.ts';

export class Presence {
  private devicesOnline = 0;
  private readonly seenTimer: NodeJS.Timeout;

  constructor(aedes: Aedes, identities: Identities, private readonly registry: Registry, private readonly admission: Admission, private readonly log: Logger, seenFlushMs: number) {
    aedes.on('client', (client) => {
      const id = identities.get(client);
      if (id?.kind === 'gateway') return this.gatewayOnline(id.gateway.ctx, true);
      if (id?.kind !== 'device') return;
      this.devicesOnline++;
      registry.setOnline(id.device.ctx.device.id, true, Date.now()).catch((err: Error) => log.error({ err }, 'could not record online'));
    });
    aedes.on('clientDisconnect', (client) => {
      const id = identities.get(client);
      if (id?.kind !== 'device' && id?.kind !== 'gateway') return;
      this.devicesOnline -= id.kind === 'gateway' ? id.gateway.ctx.devices.length : 1;
      // A takeover by the same device fires this for the old socket after the new one connected.
      const current = clientsOf(aedes)[client.id];
      if (current && current !== client) return;
      if (id.kind === 'gateway') return this.gatewayOnline(id.gateway.ctx, false);
      registry.setOnline(id.device.ctx.device.id, false, Date.now()).catch((err: Error) => log.error({ err }, 'could not record offline'));
    });
    this.seenTimer = setInterval(() => {
      const updates = admission.drainSeen();
      if (updates.length > 0) registry.markSeen(updates).catch((err: Error) => log.error({ err }, 'could not record last-seen times'));
    }, seenFlushMs);
    this.seenTimer.unref();
  }

  /** A gateway and the devices it publishes for are online while it is connected. */
  private gatewayOnline(ctx: GatewayContext, online: boolean): void {
    if (online) this.devicesOnline += ctx.devices.length;
    const at = Date.now();
    Promise.all([this.registry.setGatewayOnline(ctx.gateway.id, online, at), ...ctx.devices.map((d) => this.registry.setOnline(d.id, online, at))])
      .catch((err: Error) => this.log.error({ err }, 'could not record a gateway online or offline'));
  }

  get connectedDevices(): number {
    return this.devicesOnline;
  }

  stop(): void {
    clearInterval(this.seenTimer);
  }

  /** Records the last-seen times still gathered (at shutdown, after admission closed). */
  async flushSeen(): Promise<void> {
    const updates = this.admission.drainSeen();
    if (updates.length > 0) await this.registry.markSeen(updates);
  }
}
