// What a client may subscribe to: a service to the platform's topics (`$dh/…` and `dh/…`), a device only to its own
// errors topic (a gateway to its own). Anything else is refused with SUBACK 0x80 and the connection stays, so a misconfigured device
// still delivers its data.
import type { Aedes } from 'aedes';
import type { Logger } from '../common/log.ts';
import { errorsTopicOf, type Identities } from './authentication.ts';
import { edgeNodeMaySubscribe } from './sparkplug/topic.ts';

export function subscribeAuthorizer(identities: Identities, log: Logger, sparkplugHostId?: string): Aedes['authorizeSubscribe'] {
  return (client, sub, callback) => {
    const id = identities.get(client);
    if (id?.kind === 'service') return callback(null, sub.topic.startsWith('$dh/') || sub.topic.startsWith('dh/') ? sub : null);
    // A device or gateway hears its own errors topic (a gateway's carries the problems of all its devices).
    if (id && sub.topic === errorsTopicOf(id)) return callback(null, sub);
    // A gateway as Sparkplug edge node: its NCMD/DCMD and the host's STATE.
    if (id?.kind === 'gateway' && sparkplugHostId !== undefined && edgeNodeMaySubscribe(sub.topic, id.gateway.ctx.firm.id, id.gateway.ctx.gateway.id, sparkplugHostId)) return callback(null, sub);
    log.info({ clientId: client.id, topic: sub.topic }, 'subscription refused');
    callback(null, null);
  };
}
