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
import type { BrokerControl, ControlMessage } from '../common/contract/control.ts';
import type { ApiPrincipal, Registry } from '../common/registry/registry.ts';
import type { LiveDevice, LiveSummary } from '../common/contract/live.ts';
import type { Logger } from '../common/log.ts';
import type { Monitoring } from '../analytics/index.ts';
import { authorizeRoom, type RoomAggregate } from '../analytics/live/live-rooms.ts';
import { parseRoom, roomOf, scopeProblem } from '../analytics/base/scope.ts';
import { AuthThrottle } from './auth.ts';
import { DEFAULT_SESSION_POLICY, SESSION_COOKIE, cookieValue, sameOrigin, userPrincipal, type SessionPolicy } from './session.ts';

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

export function attachLive(server: http.Server, registry: Registry, source: LiveSource, log: Logger, throttle: AuthThrottle, adapter?: LiveAdapter, sessions: Pick<SessionPolicy, 'idleMs'> = DEFAULT_SESSION_POLICY): Server {
  const io = new Server(server, { serveClient: true, cors: { origin: false }, ...(adapter ? { adapter } : {}) });
  // Every API node receives every broker's summaries itself (see the header): push to this node's sockets only.
  const local = io.local;
  io.use((socket, next) => {
    // Unknown tokens count against the address as on the REST API (api/auth.ts); a refused address is told when to retry.
    const address = socket.handshake.address;
    const wait = throttle.retryAfter(address);
    if (wait !== undefined) return next(new Error(AuthThrottle.refusal(wait)));
    const token = (socket.handshake.auth as { token?: unknown }).token;
    if (typeof token !== 'string') return sessionHandshake(socket, registry, sessions.idleMs, next);
    registry.verifyApiToken(token).then((p) => {
      if (!p) {
        throttle.failed(address, 'socket.io');
        return next(new Error('unknown API token'));
      }
      socket.data.principal = p;
      socket.data.token = token;
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
  const recheck = setInterval(() => void closeRevoked(io, registry, log, sessions.idleMs), TOKEN_RECHECK_MS);
  recheck.unref();
  server.once('close', () => clearInterval(recheck));
  log.debug('socket.io live feed attached');
  return io;
}

/** How often open connections are checked against their token: a revoked or expired token loses its feed within this. */
export const TOKEN_RECHECK_MS = 30_000;

type HandshakeSocket = Parameters<Parameters<Server['use']>[0]>[0];

/**
 * A browser signed in with a password: its session cookie (sent by the browser itself, never by another site's
 * page with SameSite=Strict) instead of a token; a handshake from another origin is refused all the same.
 */
function sessionHandshake(socket: HandshakeSocket, registry: Registry, idleMs: number, next: (err?: Error) => void): void {
  const { headers } = socket.handshake;
  const sessionId = cookieValue(headers.cookie, SESSION_COOKIE);
  if (sessionId === undefined) return next(new Error('send your API token as auth.token, or sign in'));
  if (headers.origin !== undefined && !sameOrigin(headers.origin, headers.host)) return next(new Error('a signed-in live connection must come from the dashboard itself'));
  registry.checkSession(sessionId, { idleMs }).then((check) => {
    if (!check.ok) return next(new Error('your session has ended; sign in again'));
    if (check.user.mustChangePassword) return next(new Error('set a new password first'));
    const p = userPrincipal(check.user);
    socket.data.principal = p;
    socket.data.session = sessionId;
    void socket.join([p.role === 'engineer' ? `firm:${p.firmId}` : 'all', `user:${check.user.id}`]);
    next();
  }, (err: Error) => next(err));
}

/** Closes every live connection of a user at once (disabled, new password, new role), on every node. */
export function closeUserSockets(io: Server, userId: string): void {
  io.to(`user:${userId}`).emit('revoked', { message: 'your session has ended; sign in again' });
  io.in(`user:${userId}`).disconnectSockets(true);
}

/** Disconnects this node's sockets whose token was revoked or has expired, or whose session ended, since the handshake. */
export async function closeRevoked(io: Server, registry: Pick<Registry, 'verifyApiToken' | 'checkSession'>, log: Logger, idleMs = DEFAULT_SESSION_POLICY.idleMs): Promise<number> {
  let closed = 0;
  for (const socket of io.of('/').sockets.values()) {
    const token = socket.data.token as string | undefined;
    const session = socket.data.session as string | undefined;
    if (token === undefined && session === undefined) continue;
    const still = await (token !== undefined
      ? registry.verifyApiToken(token)
      : registry.checkSession(session as string, { idleMs }).then((c) => (c.ok ? c : undefined))).catch(() => 'unknown' as const);
    if (still !== undefined) continue; // valid, or the registry could not answer: keep it until the next check
    closed++;
    socket.emit('revoked', { message: 'your API token was revoked or has expired; sign in again' });
    socket.disconnect(true);
  }
  if (closed > 0) log.info({ closed }, 'closed live connections whose API token was revoked or expired');
  return closed;
}

// Per-room live aggregates (docs/monitoring.md, "Live rooms"): a client asks for rooms, gets their aggregates.
//
//   socket.emit('subscribe', 'county:533102', (r) => ...)   r = { ok: true, room } or { ok: false, error }
//   socket.on('aggregate', (a: RoomAggregate) => ...)         once right after an accepted subscribe (when the
//                                                              room has data), then at most once per second
//   socket.emit('unsubscribe', 'county:533102', (r) => ...)
//
// A subscription joins the socket.io room `agg:<room>`, never `<room>` itself: 'all' and 'firm:<id>' are also the
// rooms of the 'live' and 'alarm' events every client is put in at connection, so sharing them would push
// aggregates nobody asked for (and compute them every second for every connected client), and a bureau user
// following 'firm:<id>' would get that firm's 'live' summaries twice. Rooms are checked with the REST role rule
// (authorizeRoom): an engineer may follow only their firm and its devices.

/** The part of Monitoring the live rooms use. */
export type LiveRoomsSource = Pick<Monitoring, 'rooms' | 'setRoomFilter' | 'subscribeRooms'>;

export type RoomAck = { ok: true; room: string } | { ok: false; error: string };

/** socket.io room holding the subscribers of an aggregate room. */
export const AGGREGATE_ROOM_PREFIX = 'agg:';
export const MAX_ROOMS_PER_SOCKET = 200;
export const MAX_ROOM_NAME_LENGTH = 128;

const ROOM_FORMS = '"all", "county:<code>", "park:<id>", "segment:<id>", "firm:<id>" or "device:<id>"';

/** The canonical room name, or why the name is not a room. */
function checkRoomName(room: unknown): { room: string } | { error: string } {
  if (typeof room !== 'string') return { error: `send the room name as a string: ${ROOM_FORMS}` };
  if (room.length > MAX_ROOM_NAME_LENGTH) return { error: `room name is ${room.length} characters long; at most ${MAX_ROOM_NAME_LENGTH}` };
  const scope = parseRoom(room);
  if (!scope) return { error: `unknown room "${room}"; rooms are ${ROOM_FORMS}` };
  const problem = scopeProblem(scope);
  if (problem) return { error: problem };
  return { room: roomOf(scope) };
}

/**
 * Handles 'subscribe' / 'unsubscribe' on every socket of `io` and pushes the aggregates of `monitoring` to the
 * rooms this node's sockets follow. Returns the function that stops the push (call it when the server closes).
 */
export function attachLiveRooms(io: Server, registry: Registry, monitoring: LiveRoomsSource, log: Logger): () => void {
  const adapterRooms = io.of('/').adapter.rooms; // this node's sockets only, with or without the Redis adapter
  monitoring.setRoomFilter((room) => adapterRooms.has(AGGREGATE_ROOM_PREFIX + room));
  const unsubscribe = monitoring.subscribeRooms((updates: RoomAggregate[]) => {
    // Every API node computes the aggregates from every broker's summaries (see the header): local sockets only.
    for (const u of updates) io.local.to(AGGREGATE_ROOM_PREFIX + u.room).emit('aggregate', u);
  });

  io.on('connection', (socket) => {
    const principal = socket.data.principal as ApiPrincipal;
    // One request at a time per socket, so a subscribe still checking access cannot overtake a later unsubscribe.
    let queue = Promise.resolve();
    const serially = (fn: () => Promise<void>) => { queue = queue.then(fn).catch((err: Error) => log.warn({ err: err.message }, 'live room request failed')); };
    const reply = (ack: unknown, r: RoomAck) => { if (typeof ack === 'function') ack(r); };
    const followed = () => [...socket.rooms].filter((r) => r.startsWith(AGGREGATE_ROOM_PREFIX)).length;

    socket.on('subscribe', (name: unknown, ack?: unknown) => serially(async () => {
      const checked = checkRoomName(name);
      if ('error' in checked) return reply(ack, { ok: false, error: checked.error });
      const { room } = checked;
      const target = AGGREGATE_ROOM_PREFIX + room;
      if (!socket.rooms.has(target) && followed() >= MAX_ROOMS_PER_SOCKET) {
        return reply(ack, { ok: false, error: `this connection already follows ${MAX_ROOMS_PER_SOCKET} rooms, the limit; unsubscribe from some first` });
      }
      let allowed: boolean;
      try {
        allowed = await authorizeRoom(principal, room, registry);
      } catch (err) {
        log.warn({ err: (err as Error).message, room }, 'live room access check failed');
        return reply(ack, { ok: false, error: 'could not check access to the room; try again' });
      }
      if (!allowed) return reply(ack, { ok: false, error: refusal(principal, room) });
      if (!socket.connected) return; // gone while checking: joining now would leave a room nobody empties
      await socket.join(target);
      reply(ack, { ok: true, room });
      const now = monitoring.rooms.aggregate(room);
      if (now) socket.emit('aggregate', now);
    }));

    socket.on('unsubscribe', (name: unknown, ack?: unknown) => serially(async () => {
      const checked = checkRoomName(name);
      if ('error' in checked) return reply(ack, { ok: false, error: checked.error });
      await socket.leave(AGGREGATE_ROOM_PREFIX + checked.room);
      reply(ack, { ok: true, room: checked.room });
    }));
  });
  return unsubscribe;
}

function refusal(p: ApiPrincipal, room: string): string {
  const own = `engineers may follow only their firm ("firm:${p.firmId ?? ''}") and its devices ("device:<id>")`;
  if (room.startsWith('device:')) return `device ${room.slice('device:'.length)} is not a device of your firm; ${own}`;
  if (room.startsWith('firm:')) return `firm ${room.slice('firm:'.length)} is not your firm; ${own}`;
  return `room "${room}" spans more than one firm; ${own}`;
}
