// The Primary Host Application's STATE (Sparkplug B 3.0): spBv1.0/STATE/{host id}, retained, QoS 1, JSON
// {"online": bool, "timestamp": ms}. The host here is the broker itself, so it has no MQTT will of its own: it
// publishes online when it starts and offline, with the birth's timestamp as the specification asks of the will,
// when it closes. After a crash the retained message is gone with the in-memory broker, and the restarted broker
// publishes a new online STATE, which tells edge nodes (their sessions ended with the connection) to rebirth.
import type { Aedes } from 'aedes';
import { stateTopic } from './topic.ts';

/** The host id when the broker is not given one. */
export const DEFAULT_HOST_ID = 'dehong';

export interface HostStatePayload {
  online: boolean;
  timestamp: number;
}

export class HostState {
  private birthTs = 0;

  constructor(private readonly aedes: Aedes, readonly hostId: string) {}

  /** Publishes the online STATE (retained); resolves once Aedes has it. */
  online(now = Date.now()): Promise<void> {
    this.birthTs = now;
    return this.publish({ online: true, timestamp: now });
  }

  /** Publishes the offline STATE with the birth's timestamp, as the will would. */
  offline(): Promise<void> {
    return this.publish({ online: false, timestamp: this.birthTs });
  }

  private publish(state: HostStatePayload): Promise<void> {
    const payload = Buffer.from(JSON.stringify(state));
    return new Promise((resolve) => {
      this.aedes.publish({ cmd: 'publish', topic: stateTopic(this.hostId), payload, qos: 1, retain: true, dup: false }, () => resolve());
    });
  }
}
