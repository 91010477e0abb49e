// Live push over socket.io. Admission emits one summary per second (never every message); the API forwards it
// to the rooms a client may see: admin and bureau the whole prefecture, an engineer only their firm.
//
// Several nodes (REDIS_URL, docs/scaling.md): every broker publishes its summaries on LIVE_TOPIC, and through
// mqemitter-redis each API's one subscription receives every broker's summaries exactly once. So each API node
// pushes them only to its own browsers (`io.local`); broadcasting them through the socket.io Redis adapter as
// well would deliver every summary once per API node. The adapter (`adapter` below) still joins the nodes for
// everything else emitted through `io` (room operations, fetchSockets, disconnectSockets across nodes).
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import mqtt from 'mqtt';
import { Server, type ServerOptions } from 'socket.io';
import { CONTROL_TOPIC, LIVE_TOPIC } from '../common/contract/topics.ts';
import type { ControlMessage } from '../broker/broker.ts';
import type { BrokerControl } from './routes/onboarding.ts';
import type { Registry } from '../common/registry/registry.ts';
import type { LiveDevice, LiveSummary } from '../broker/admission.ts';
import type { Logger } from '../common/log.ts';

export type { LiveSummary, LiveDevice };

/** Something that emits 'live' (LiveSummary): the in-process admission, or the broker over MQTT. */
export type LiveSource = EventEmitter;

/**
 * The API's link to a broker in another process, as an internal service user: the broker's live summaries come
 * in on LIVE_TOPIC; requests to close a device's connection go out on CONTROL_TOPIC.
 */
export function brokerLink(url: string, serviceSecret: string, log: Logger, opts: { clientId?: string } = {}): { source: LiveSource; control: BrokerControl; close(): Promise<void> } {
  const source = new EventEmitter();
  // The clientId must be unique in the whole cluster (Aedes closes a same-id client on any other node): pids
  // repeat across machines and containers, so cluster deployments pass one derived from NODE_ID.
  const clientId = opts.clientId ?? `svc-api-${process.pid}`;
  const client = mqtt.connect(url, { username: 'svc:api', password: serviceSecret, clientId, clean: true, reconnectPeriod: 1000 });
  const control: BrokerControl = {
    async disconnect(deviceId, reason) {
      const msg: ControlMessage = { cmd: 'disconnect', deviceId, reason };
      await client.publishAsync(CONTROL_TOPIC, JSON.stringify(msg), { qos: 1 });
    },
  };
  client.on('connect', () => client.subscribe(LIVE_TOPIC, { qos: 0 }));
  client.on('message', (_topic, payload) => {
    try {
      source.emit('live', JSON.parse(payload.toString('utf8')) as LiveSummary);
    } catch (err) {
      log.warn({ err }, 'unreadable live summary');
    }
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'live feed connection problem'));
  return { source, control, close: () => client.endAsync().then(() => undefined) };
}

/** socket.io's adapter option: `createAdapter(pub, sub)` of @socket.io/redis-adapter when several API nodes run. */
export type LiveAdapter = NonNullable<ServerOptions['adapter']>;

export function attachLive(server: http.Server, registry: Registry, source: LiveSource, log: Logger, adapter?: LiveAdapter): Server {
  const io = new Server(server, { serveClient: true, cors: { origin: false }, ...(adapter ? { adapter } : {}) });
  // Every API node receives every broker's summaries itself (see the header): push to this node's sockets only.
  const local = io.local;
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown }).token;
    if (typeof token !== 'string') return next(new Error('send your API token as auth.token'));
    registry.verifyApiToken(token).then((p) => {
      if (!p) return next(new Error('unknown API token'));
      socket.data.principal = p;
      void socket.join(p.role === 'engineer' ? `firm:${p.firmId}` : 'all');
      next();
    }, (err: Error) => next(err));
  });
  source.on('live', (summary: LiveSummary) => {
    local.to('all').emit('live', summary);
    const byFirm = new Map<string, LiveDevice[]>();
    for (const d of summary.devices) {
      const list = byFirm.get(d.firmId) ?? [];
      list.push(d);
      byFirm.set(d.firmId, list);
    }
    for (const [firmId, devices] of byFirm) local.to(`firm:${firmId}`).emit('live', { at: summary.at, devices });
  });
  log.debug('socket.io live feed attached');
  return io;
}
