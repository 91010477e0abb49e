// The socket.io live feed: per-second 'live' summaries of the devices this token may see, and 'alarm' events.
// The server sends only devices that changed, so the latest values are kept here for every view. socket.io
// reconnects by itself after a network loss; after a server-side disconnect it is told to reconnect too. Views
// are told when the feed comes back so they can reload what they may have missed.
import { io, type Socket } from 'socket.io-client';
import type { AlarmEvent, LiveDevice, LiveSummary } from './types.ts';

interface ServerToClient {
  live: (summary: LiveSummary) => void;
  alarm: (event: AlarmEvent) => void;
}
type ClientToServer = Record<string, never>;

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

  connect(token: string): void {
    this.close();
    const socket: Socket<ServerToClient, ClientToServer> = io({
      auth: { token },
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on('connect', () => {
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
      if (/token/i.test(err.message)) {
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

const METERS = new Set(['electricity_meter']);

/**
 * Total electric power (kW) of the given latest values, meters first per firm: a firm with a main electricity
 * meter reporting counts its meters, otherwise its machines add up (the API's rule, common/energy/carriers.ts).
 * Values older than windowMs are left out, like the API's live window.
 */
export function livePower(devices: Iterable<LiveDevice>, now = Date.now(), windowMs = 300_000): { kw: number; reporting: number; byFirm: Map<string, number> } {
  const perFirm = new Map<string, { meters: number; machines: number; hasMeter: boolean }>();
  let reporting = 0;
  for (const d of devices) {
    if (now - d.ts > windowMs) continue;
    const p = d.metrics.power_kw;
    if (p === undefined) continue;
    reporting++;
    const f = perFirm.get(d.firmId) ?? { meters: 0, machines: 0, hasMeter: false };
    if (METERS.has(d.type)) {
      f.meters += p;
      f.hasMeter = true;
    } else f.machines += p;
    perFirm.set(d.firmId, f);
  }
  const byFirm = new Map<string, number>();
  let kw = 0;
  for (const [firm, f] of perFirm) {
    const v = f.hasMeter ? f.meters : f.machines;
    byFirm.set(firm, v);
    kw += v;
  }
  return { kw, reporting, byFirm };
}
