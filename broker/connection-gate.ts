// In front of Aedes on every listener: bounds what a connection may cost before and after login, and learns
// the real address of a client behind our MQTT-over-WebSocket bridge.
// - mqtt-packet's parser (inside Aedes) buffers a packet whole until its last byte, with no size limit: one
//   socket announcing a 200 MB CONNECT held about 130 MB. The gate reads each packet's fixed header as the bytes
//   arrive (frames.ts) and closes the socket when a packet announces more than allowed (a small cap before login,
//   MAX_PACKET_BYTES after), so the body is never buffered.
// - Aedes reads a socket with read() on 'readable' and hands every chunk to that parser; wrapping this socket's
//   read() lets the gate look at each chunk first, with no copy and no extra stream on the publish path.
// - Connections not yet logged in are capped per address and in total; Aedes' connectTimeout closes those that
//   send no complete CONNECT in time. A TLS connection counts from its TCP accept (acceptRaw), while its handshake
//   runs: a flood of handshakes that never finish is capped like one of CONNECTs that never come, and the TLS
//   server's handshake deadline (handshakeTimeout, set to the CONNECT deadline) closes them.
// - The bridge (api/mqtt-ws.ts) starts each connection with a PROXY protocol v1 line naming the WebSocket
//   client. It is believed only from the trusted proxy addresses; from anyone else it is skipped and the socket's
//   own address used, so nobody can choose the address their failures are counted against.
import { isIP, type Socket } from 'node:net';
import type { Logger } from '../common/log.ts';
import { WindowCounter } from '../common/rate.ts';
import { FrameScanner, normalAddress, parseProxyLine, startsLikeProxy } from './frames.ts';

export interface GateLimits {
  /** Largest MQTT packet (remaining length) of a logged-in client. */
  maxPacketBytes: number;
  /** Largest packet before login (the CONNECT: client id, credentials, will). */
  maxConnectBytes: number;
  preLoginPerAddress: number;
  preLoginTotal: number;
  /** Addresses whose PROXY line is believed (the WebSocket bridge). */
  trustedProxies: readonly string[];
}

interface Guarded {
  socket: Socket;
  scanner: FrameScanner;
  trusted: boolean;
  /** The address this connection is counted under while not logged in (none for a trusted proxy's own). */
  address: string | undefined;
  waiting: boolean;
  /** Undefined once the connection's first bytes were checked for a PROXY line; a partial line meanwhile. */
  head: Buffer | undefined;
}

const realAddresses = new WeakMap<object, string>();

/** The client's address: as named by a trusted proxy, else the socket's own. */
export function peerAddress(conn: unknown): string {
  if (typeof conn !== 'object' || conn === null) return 'unknown';
  const remote = (conn as { remoteAddress?: string }).remoteAddress;
  return realAddresses.get(conn) ?? (remote ? normalAddress(remote) : 'unknown');
}

/** Aedes sets the client on its socket; a client id may be 64 KB of anything, so only its start is logged. */
function clientIdOf(socket: Socket): string | undefined {
  const id = (socket as { client?: { id?: unknown } }).client?.id;
  return typeof id === 'string' ? clipForLog(id) : undefined;
}

/** A value from the wire as it may appear in a log line. */
export function clipForLog(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

const PENDING = Buffer.alloc(0);

/** A TCP connection's remote end; a TLS socket reports its underlying socket's. */
const socketKey = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? ''}`;

export class ConnectionGate {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly guarded = new WeakMap<object, Guarded>();
  private readonly trusted: Set<string>;
  /** TLS connections counted at their TCP accept whose handshake has not finished, by remote address and port. */
  private readonly handshaking = new Map<string, Guarded>();
  /** Limit 0: every event is "over", the first per address and minute is logged. */
  private readonly logged = { refused: new WindowCounter(0), oversized: new WindowCounter(0), proxy: new WindowCounter(0) };

  constructor(private readonly limits: GateLimits, private readonly log: Logger, private readonly handle: (socket: Socket) => void) {
    this.trusted = new Set(limits.trustedProxies.map(normalAddress));
  }

  /** Connections not yet logged in, for tests and figures. */
  get waiting(): number {
    return this.total;
  }

  /**
   * A TLS listener's TCP accept ('connection'), before the handshake: counted toward the pre-login caps (closed
   * over them) until the handshake ends; then accept() takes the count over for the TLS socket.
   */
  readonly acceptRaw = (raw: Socket): void => {
    const g = this.guard(raw);
    if (!this.admit(g, g.trusted ? undefined : peerAddress(raw))) return;
    const key = socketKey(raw);
    this.handshaking.set(key, g);
    raw.once('close', () => {
      if (this.handshaking.get(key) === g) this.handshaking.delete(key);
      this.release(g);
    });
  };

  /** The listeners' connection handler, instead of Aedes' own `handle`. */
  readonly accept = (socket: Socket): void => {
    const g = this.guard(socket);
    const key = socketKey(socket);
    const handshake = this.handshaking.get(key);
    if (handshake) {
      // Counted since the TCP accept: the TLS socket takes the count over, nothing is counted twice.
      this.handshaking.delete(key);
      g.waiting = handshake.waiting;
      g.address = handshake.address;
      handshake.waiting = false;
    } else if (!this.admit(g, g.trusted ? undefined : peerAddress(socket))) {
      return;
    }
    this.guarded.set(socket, g);
    socket.once('close', () => this.release(g));
    const read = socket.read;
    socket.read = (size?: number): unknown => {
      const chunk: unknown = read.call(socket, size);
      return chunk instanceof Buffer ? this.inspect(g, chunk) : chunk;
    };
    this.handle(socket);
  };

  private guard(socket: Socket): Guarded {
    const trusted = this.trusted.has(peerAddress(socket));
    return { socket, scanner: new FrameScanner(this.limits.maxConnectBytes), trusted, address: undefined, waiting: false, head: PENDING };
  }

  /** Aedes' 'client' event: logged in, so no longer counted as waiting and allowed full-size packets. */
  loggedIn(conn: unknown): void {
    const g = typeof conn === 'object' && conn !== null ? this.guarded.get(conn) : undefined;
    if (!g) return;
    g.scanner.limit = this.limits.maxPacketBytes;
    this.release(g);
  }

  /** Counts a connection as waiting for login (under `address` when known); refuses it over either cap. */
  private admit(g: Guarded, address: string | undefined): boolean {
    const key = address ?? peerAddress(g.socket);
    const overTotal = !g.waiting && this.total >= this.limits.preLoginTotal;
    const overAddress = address !== undefined && (this.perAddress.get(address) ?? 0) >= this.limits.preLoginPerAddress;
    if (overTotal || overAddress) {
      if (this.logged.refused.hit(key).first) {
        const limit = overTotal ? `${this.limits.preLoginTotal} in total` : `${this.limits.preLoginPerAddress} from this address`;
        this.log.warn({ address: key }, `too many connections waiting to log in (${limit}): refusing new ones`);
      }
      g.socket.destroy();
      return false;
    }
    if (!g.waiting) this.total++;
    g.waiting = true;
    if (address !== undefined) {
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
      g.address = address;
    }
    return true;
  }

  private release(g: Guarded): void {
    if (!g.waiting) return;
    g.waiting = false;
    this.total--;
    if (g.address === undefined) return;
    const n = (this.perAddress.get(g.address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(g.address, n);
    else this.perAddress.delete(g.address);
  }

  /** What Aedes' read() returns: the chunk, or null when it is (part of) a PROXY line or the socket was cut. */
  private inspect(g: Guarded, chunk: Buffer): Buffer | null {
    let data: Buffer | null = chunk;
    if (g.head) data = this.proxyLine(g, chunk);
    if (data === null || data.length === 0) return null;
    const over = g.scanner.scan(data);
    if (over < 0) return data;
    if (this.logged.oversized.hit(peerAddress(g.socket)).first) {
      this.log.warn({ address: peerAddress(g.socket), clientId: clientIdOf(g.socket), announced: over, limit: g.scanner.limit },
        'MQTT packet larger than allowed: connection closed before reading it');
    }
    g.socket.destroy();
    return null;
  }

  /** The connection's first bytes: an optional PROXY line, believed from a trusted proxy only. */
  private proxyLine(g: Guarded, chunk: Buffer): Buffer | null {
    const head = g.head!.length > 0 ? Buffer.concat([g.head!, chunk]) : chunk;
    if (g.head!.length === 0 && !startsLikeProxy(head)) {
      g.head = undefined;
      return chunk;
    }
    const p = parseProxyLine(head, isIP);
    if (p.kind === 'incomplete') {
      g.head = head;
      return null;
    }
    g.head = undefined;
    if (p.kind === 'invalid') {
      g.socket.destroy();
      return null;
    }
    if (!g.trusted) {
      const own = peerAddress(g.socket);
      if (this.logged.proxy.hit(own).first) this.log.warn({ address: own }, 'PROXY line from an address not in MQTT_TRUSTED_PROXIES: ignored, the socket address is used');
    } else if (p.address !== undefined) {
      const real = normalAddress(p.address);
      realAddresses.set(g.socket, real);
      if (!this.admit(g, real)) return null;
    }
    return head.subarray(p.length);
  }
}
