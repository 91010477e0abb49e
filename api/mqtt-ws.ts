// MQTT over WebSocket on the API's HTTP server (path /mqtt): each WebSocket is piped to the broker's TCP port,
// so the broker applies exactly the same authentication, authorisation and admission as on TCP and TLS.
// Each bridged connection starts with a PROXY protocol v1 line naming the WebSocket client's own address (the
// socket's, never X-Forwarded-For, which any client can write): without it every WebSocket client would reach
// the broker as this process, and one client's wrong passwords would lock all of them out. The broker believes
// the line only from its MQTT_TRUSTED_PROXIES.
import net from 'node:net';
import type http from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../common/log.ts';

export const MQTT_WS_PATH = '/mqtt';

function plain(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** `PROXY TCP4|TCP6 client server clientPort serverPort`, or `PROXY UNKNOWN` when the socket cannot say. */
export function proxyLine(socket: net.Socket): string {
  const [src, dst] = [plain(socket.remoteAddress), plain(socket.localAddress)];
  const family = src && dst ? net.isIP(src) : 0;
  if (family === 0 || net.isIP(dst ?? '') !== family || !socket.remotePort || !socket.localPort) return 'PROXY UNKNOWN\r\n';
  return `PROXY TCP${family} ${src} ${dst} ${socket.remotePort} ${socket.localPort}\r\n`;
}

export function attachMqttWebSocket(server: http.Server, broker: { host: string; port: number }, log: Logger): WebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== MQTT_WS_PATH) return; // socket.io handles its own path
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      const tcp = net.connect(broker.port, broker.host);
      const end = () => { stream.destroy(); tcp.destroy(); };
      stream.on('error', end);
      tcp.on('error', (err) => { log.warn({ err: err.message }, 'MQTT-over-WebSocket bridge could not reach the broker'); end(); });
      tcp.write(proxyLine(req.socket));
      stream.pipe(tcp).pipe(stream);
    });
  });
  return wss;
}
