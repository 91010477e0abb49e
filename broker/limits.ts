// What one client may do, and the per-address throttles that refuse a flood of connection attempts or of wrong
// credentials before any registry lookup, logging once per burst instead of once per refused attempt.
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../common/log.ts';
import { WindowCounter } from '../common/rate.ts';

export interface ClientLimits {
  maxPayloadBytes: number;
  maxTopicLevels: number;
  /** Publishes of one client waiting for their PUBACK; beyond it the client is disconnected. */
  maxInflight: number;
  connectsPerMinute: number;
  authFailuresPerMinute: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { maxPayloadBytes: 256 * 1024, maxTopicLevels: 8, maxInflight: 1000, connectsPerMinute: 600, authFailuresPerMinute: 20 };

export function addressOf(client: Client): string {
  const conn = client.conn as { remoteAddress?: string } | undefined;
  return conn?.remoteAddress ?? 'unknown';
}

export class AddressThrottle {
  private readonly connects: WindowCounter;
  private readonly authFailures: WindowCounter;

  constructor(private readonly limits: ClientLimits, private readonly log: Logger) {
    this.connects = new WindowCounter(limits.connectsPerMinute);
    this.authFailures = new WindowCounter(limits.authFailuresPerMinute);
  }

  /** Aedes' preConnect hook: an address over either limit is refused for the rest of the minute. */
  readonly preConnect: Aedes['preConnect'] = (client, _packet, callback) => {
    const addr = addressOf(client);
    if (this.authFailures.isOver(addr)) return callback(new Error('too many failed authentications'), false);
    const hit = this.connects.hit(addr);
    if (hit.over) {
      if (hit.first) this.log.warn({ address: addr, limit: this.limits.connectsPerMinute }, 'too many connection attempts from this address: refusing the rest of this minute');
      return callback(new Error('too many connection attempts'), false);
    }
    callback(null, true);
  };

  /** Counts a failed authentication against the client's address and logs it (once per burst when over). */
  authFailed(client: Client, username: string, why: string): void {
    const addr = addressOf(client);
    const hit = this.authFailures.hit(addr);
    if (!hit.over) this.log.warn({ deviceId: username, address: addr }, `refused: ${why}`);
    else if (hit.first) this.log.warn({ address: addr, limit: this.limits.authFailuresPerMinute }, 'too many failed authentications from this address: further attempts this minute are refused without checking');
  }
}
