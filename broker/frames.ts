// What the connection gate (connection-gate.ts) reads off the wire before Aedes does: the size each MQTT packet
// announces in its fixed header, and an optional PROXY protocol v1 line naming the real client behind our
// WebSocket bridge. Pure, so the edge cases are unit-tested.

/**
 * Follows the MQTT packet boundaries of one byte stream by reading only the fixed headers (type byte and the
 * remaining-length varint, MQTT 3.1.1 §2.2.3) and skipping bodies by count: no copy, a few steps per packet.
 * mqtt-packet's parser buffers a packet whole until its last byte arrives; this sees the announced size first.
 */
export class FrameScanner {
  /** Largest remaining length allowed; may change between chunks (smaller before login). */
  limit: number;
  private skip = 0;
  /** 0: expecting a packet's type byte; 1-4: reading the remaining-length varint. */
  private headerByte = 0;
  private length = 0;
  private multiplier = 1;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The remaining length of the first packet in `chunk` over the limit (Infinity if malformed), or -1. */
  scan(chunk: Uint8Array): number {
    const n = chunk.length;
    // Locals in the loop, fields only at the end: this runs on every chunk every client sends.
    let { skip, headerByte, length, multiplier } = this;
    let i = 0;
    let over = -1;
    while (i < n) {
      if (skip > 0) {
        const step = skip < n - i ? skip : n - i;
        skip -= step;
        i += step;
        continue;
      }
      const b = chunk[i++]!;
      if (headerByte === 0) {
        headerByte = 1;
        length = 0;
        multiplier = 1;
        continue;
      }
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if (b & 0x80) {
        if (++headerByte > 4) { over = Infinity; break; } // a fifth length byte: not MQTT
        continue;
      }
      headerByte = 0;
      if (length > this.limit) { over = length; break; }
      skip = length;
    }
    this.skip = skip;
    this.headerByte = headerByte;
    this.length = length;
    this.multiplier = multiplier;
    return over;
  }
}

/** The longest PROXY protocol v1 line, CRLF included. */
export const PROXY_LINE_MAX = 107;
const PROXY_PREFIX = 'PROXY ';

/** Whether a connection's first bytes may be a PROXY line ('P' can never start an MQTT stream: that is PUBREC). */
export function startsLikeProxy(chunk: Uint8Array): boolean {
  return chunk.length > 0 && chunk[0] === 0x50;
}

export type ProxyLine =
  | { kind: 'incomplete' }
  | { kind: 'invalid' }
  /** `address` is undefined for `PROXY UNKNOWN`; `length` is the line's byte length, CRLF included. */
  | { kind: 'line'; address: string | undefined; length: number };

/** Parses a PROXY v1 line at the start of `head` (only TCP4, TCP6 and UNKNOWN exist). */
export function parseProxyLine(head: Buffer, isIp: (s: string) => number): ProxyLine {
  const end = head.indexOf('\r\n');
  if (end < 0) return head.length >= PROXY_LINE_MAX ? { kind: 'invalid' } : { kind: 'incomplete' };
  if (end + 2 > PROXY_LINE_MAX) return { kind: 'invalid' };
  const line = head.toString('latin1', 0, end);
  if (!line.startsWith(PROXY_PREFIX)) return { kind: 'invalid' };
  const parts = line.slice(PROXY_PREFIX.length).split(' ');
  if (parts[0] === 'UNKNOWN') return { kind: 'line', address: undefined, length: end + 2 };
  const [family, src, dst, sport, dport] = parts;
  const version = family === 'TCP4' ? 4 : family === 'TCP6' ? 6 : 0;
  const ports = [sport, dport].every((p) => p !== undefined && /^\d{1,5}$/.test(p) && Number(p) <= 65535);
  if (parts.length !== 5 || version === 0 || !ports || isIp(src ?? '') !== version || isIp(dst ?? '') !== version) return { kind: 'invalid' };
  return { kind: 'line', address: src, length: end + 2 };
}

/** An address as one key: IPv4-mapped IPv6 (::ffff:10.0.0.1, a dual-stack listener) as plain IPv4. */
export function normalAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
