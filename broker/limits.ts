// What one client may do, and the per-address throttles that refuse a flood of connection attempts or of wrong
// credentials before any registry lookup, logging once per address and minute instead of once per attempt.
// The address is the client's own, also behind the WebSocket bridge (connection-gate.ts).
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../common/log.ts';
import { WindowCounter } from '../common/rate.ts';
import { clipForLog, peerAddress, type GateLimits } from './connection-gate.ts';

export interface ClientLimits extends GateLimits {
  maxPayloadBytes: number;
  maxTopicLevels: number;
  /** Publishes of one client waiting for their PUBACK; beyond it the client is disconnected. */
  maxInflight: number;
  connectsPerMinute: number;
  authFailuresPerMinute: number;
  /** A connection that has not sent a complete CONNECT by then is closed. */
  connectTimeoutMs: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  maxPayloadBytes: 256 * 1024, maxTopicLevels: 8, maxInflight: 1000, connectsPerMinute: 600, authFailuresPerMinute: 20,
  maxPacketBytes: 1024 * 1024, maxConnectBytes: 16 * 1024, connectTimeoutMs: 10_000, preLoginPerAddress: 100, preLoginTotal: 1000,
  trustedProxies: ['127.0.0.1', '::1'],
};

export function addressOf(client: Client): string {
  return peerAddress(client.conn);
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

  /**
   * Counts a failed authentication against the client's address and logs it. The failure that reaches the
   * limit locks the address out for the rest of the minute (preConnect refuses it unchecked): logged once then.
   */
  authFailed(client: Client, username: string, why: string): void {
    const addr = addressOf(client);
    const hit = this.authFailures.hit(addr);
    if (hit.count <= this.limits.authFailuresPerMinute) this.log.warn({ deviceId: clipForLog(username), address: addr }, `refused: ${why}`);
    if (hit.count === this.limits.authFailuresPerMinute) {
      this.log.warn({ address: addr, limit: this.limits.authFailuresPerMinute }, 'too many failed authentications from this address: locked out for the rest of this minute');
    }
  }
}
