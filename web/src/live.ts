// The socket.io live feed: per-second 'live' summaries of the devices this token may see (for per-device values),
// 'alarm' events, and the 'aggregate' events of the live rooms a view follows ('all', 'county:<code>',
// 'firm:<id>', …; docs/monitoring.md "Live rooms"): totals the server computes, so a page showing a total does
// no per-device work. The server sends only devices that changed, so the latest values are kept here for every
// view. socket.io reconnects by itself after a network loss; after a server-side disconnect it is told to
// reconnect too. Rooms are not restored by socket.io: every (re)connection subscribes again to the rooms
// followed. Views are told when the feed comes back so they can reload what they may have missed.
import { io, type Socket } from 'socket.io-client';
import type { AlarmEvent, LiveDevice, LiveSummary, RoomAck, RoomAggregate } from './types.ts';

interface ServerToClient {
  live: (summary: LiveSummary) => void;
  alarm: (event: AlarmEvent) => void;
  aggregate: (agg: RoomAggregate) => void;
}
interface ClientToServer {
  subscribe: (room: string, ack: (r: RoomAck) => void) => void;
  unsubscribe: (room: string, ack: (r: RoomAck) => void) => void;
}

/** A followed room: its views (one subscription however many follow it) and its newest aggregate. */
interface Followed {
  fns: Set<Listener<RoomAggregate>>;
  last?: RoomAggregate;
}

export type LiveState = 'connecting' | 'online' | 'offline';

type Listener<T> = (value: T) => void;

class Emitter<T> {
  private readonly fns = new Set<Listener<T>>();
  on(fn: Listener<T>): () => void {
    this.fns.add(fn);
    return () => { this.fns.delete(fn); };
  }
  emit(value: T): void {
    for (const fn of [...this.fns]) fn(value);
  }
}

export class LiveFeed {
  readonly latest = new Map<string, LiveDevice>();
  state: LiveState = 'connecting';
  readonly live = new Emitter<LiveSummary>();
  readonly alarm = new Emitter<AlarmEvent>();
  readonly status = new Emitter<LiveState>();
  /** The feed came back after being offline: reload what the view shows. */
  readonly resync = new Emitter<void>();
  readonly authFailed = new Emitter<string>();
  private socket: Socket<ServerToClient, ClientToServer> | undefined;
  private wasOffline = false;
  private readonly rooms = new Map<string, Followed>();

  /**
   * Follows a live room: `fn` gets its 'aggregate' events (at once the newest one if the room is already
   * followed). Subscribes when the first view follows the room and after every reconnection; the returned
   * function unfollows (and unsubscribes when no view follows the room any more). A refused room is only
   * logged: the view keeps what it showed.
   */
  follow(room: string, fn: Listener<RoomAggregate>): () => void {
    let f = this.rooms.get(room);
    if (!f) {
      f = { fns: new Set() };
      this.rooms.set(room, f);
      if (this.socket?.connected) this.subscribe(this.socket, room);
    }
    const followed = f;
    followed.fns.add(fn);
    if (followed.last) fn(followed.last);
    return () => {
      followed.fns.delete(fn);
      if (followed.fns.size > 0 || this.rooms.get(room) !== followed) return;
      this.rooms.delete(room);
      if (this.socket?.connected) this.socket.emit('unsubscribe', room, () => {});
    };
  }

  private subscribe(socket: Socket<ServerToClient, ClientToServer>, room: string): void {
    socket.emit('subscribe', room, (r) => {
      if (!r.ok) console.warn(`live room ${room}: ${r.error}`);
    });
  }

  /** With a token, or null: the browser sends the session cookie of a password sign-in itself. */
  connect(token: string | null): void {
    this.close();
    const socket: Socket<ServerToClient, ClientToServer> = io({
      auth: token ? { token } : {},
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on('connect', () => {
      // A new connection (first or after a reconnect) follows no room yet.
      for (const room of this.rooms.keys()) this.subscribe(socket, room);
      this.setState('online');
      if (this.wasOffline) {
        this.wasOffline = false;
        this.resync.emit();
      }
    });
    socket.on('disconnect', (reason) => {
      this.wasOffline = true;
      this.setState('offline');
      // After a server-side disconnect socket.io does not reconnect on its own.
      if (reason === 'io server disconnect') setTimeout(() => { if (this.socket === socket) socket.connect(); }, 1000);
    });
    socket.on('connect_error', (err) => {
      if (/token|session|sign in/i.test(err.message)) {
        this.authFailed.emit(err.message);
        return;
      }
      this.wasOffline = true;
      this.setState('offline');
    });
    socket.on('live', (summary) => {
      for (const d of summary.devices) {
        const prev = this.latest.get(d.deviceId);
        this.latest.set(d.deviceId, prev && prev.ts > d.ts ? prev : d);
      }
      this.live.emit(summary);
    });
    socket.on('alarm', (ev) => this.alarm.emit(ev));
    socket.on('aggregate', (agg) => {
      const f = this.rooms.get(agg.room);
      if (!f || (f.last && f.last.at > agg.at)) return; // unfollowed meanwhile, or older than what was shown
      f.last = agg;
      for (const fn of [...f.fns]) fn(agg);
    });
  }

  close(): void {
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = undefined;
  }

  private setState(s: LiveState): void {
    if (this.state === s) return;
    this.state = s;
    this.status.emit(s);
  }
}

export const feed = new LiveFeed();
