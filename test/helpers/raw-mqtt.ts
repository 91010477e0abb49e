// MQTT bytes written by hand, for tests that must send what no client library would: a PROXY line, a CONNECT
// that never ends, a packet announcing 200 MB.
import net from 'node:net';

/** An MQTT fixed header: packet type byte and the remaining length as a varint. */
export function fixedHeader(type: number, remainingLength: number): Buffer {
  const bytes = [type];
  let n = remainingLength;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** An MQTT 3.1.1 CONNECT with user name and password (by default clientId = user name), clean session, keepalive 60 s. */
export function connectPacket(id: string, password: string, username = id): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(id), str(username), str(password)]);
  return Buffer.concat([fixedHeader(0x10, body.length), body]);
}

/** A TCP connection to the broker from a chosen loopback address. */
export function rawConnect(port: number, from: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the socket is closed (by either side). */
export function closed(s: net.Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));
}

/** The return code of the CONNACK the broker answers `packets` with, or -1 when it closes without one. */
export async function connackFor(port: number, from: string, ...packets: Array<Buffer | string>): Promise<number> {
  const s = await rawConnect(port, from);
  s.on('error', () => {});
  return new Promise((resolve) => {
    s.once('data', (d) => { s.destroy(); resolve(d[0] === 0x20 ? d[3]! : -1); });
    s.once('close', () => resolve(-1));
    for (const p of packets) s.write(p);
  });
}
