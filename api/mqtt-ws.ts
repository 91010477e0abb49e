// MQTT over WebSocket on the API's HTTP server (path /mqtt): each WebSocket is piped to the broker's TCP port,
// so the broker applies exactly the same authentication, authorisation and admission as on TCP and TLS.
import net from 'node:net';
import type http from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../common/log.ts';

export const MQTT_WS_PATH = '/mqtt';

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
      stream.pipe(tcp).pipe(stream);
    });
  });
  return wss;
}
