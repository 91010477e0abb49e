// The API asks, through the broker itself, to close a device's connection (token rotated, device deleted), or a
// gateway's (token rotated, removed, new device list; gateway ids share the device id namespace, so the message's
// deviceId names either): a control message on a `$dh/` topic only services may publish on, so every broker of a
// cluster hears it.
import type { Aedes } from 'aedes';
import { CONTROL_TOPIC } from '../common/contract/topics.ts';
import type { ControlMessage } from '../common/contract/control.ts';
import type { Logger } from '../common/log.ts';

/** Subscribes the broker to its control topic; resolves once the subscription is in place. */
export function listenForControl(aedes: Aedes, log: Logger, disconnect: (deviceId: string, reason: string) => void): Promise<void> {
  return new Promise<void>((resolve) => aedes.subscribe(CONTROL_TOPIC, (packet, cb) => {
    try {
      const msg = JSON.parse(packet.payload.toString()) as ControlMessage;
      if (msg.cmd === 'disconnect' && typeof msg.deviceId === 'string') disconnect(msg.deviceId, msg.reason);
    } catch (err) {
      log.warn({ err }, 'unreadable control message');
    }
    cb();
  }, () => resolve()));
}
