// Where a device connects and what it publishes on, as the API tells engineers: at provisioning
// (POST /firms/{firmId}/devices) and on GET /devices/{id}/connection.
import { topicFor } from '../common/contract/topics.ts';
import type { Device } from '../common/registry/registry.ts';
import { MQTT_WS_PATH } from './mqtt-ws.ts';

/** Where devices reach the broker, as the API tells engineers (GET /devices/{id}/connection). */
export interface MqttEndpoints {
  /** Host name devices use; default: the host name the request reached the API under. */
  host?: string;
  /** MQTT over TCP (MQTT_PORT). */
  port: number;
  /** MQTT over TLS (MQTTS_PORT), only when a certificate is configured. */
  tlsPort?: number;
  /** MQTT over WebSocket on this API (api/mqtt-ws.ts): true when the bridge is attached. */
  webSocket?: boolean;
}

/** How the request reached the API: Fastify's req.hostname (no port), req.host (with port) and req.protocol. */
export interface RequestOrigin {
  hostname: string;
  host: string;
  protocol: string;
}

/** URLs and topics for one device; the URLs only when the endpoints are known. */
export function deviceConnection(device: Pick<Device, 'id' | 'firmId'>, endpoints: MqttEndpoints | undefined, origin: RequestOrigin) {
  const urls: Array<{ transport: 'mqtt' | 'mqtts' | 'ws' | 'wss'; url: string }> = [];
  if (endpoints) {
    const host = endpoints.host ?? origin.hostname;
    urls.push({ transport: 'mqtt', url: `mqtt://${host}:${endpoints.port}` });
    if (endpoints.tlsPort) urls.push({ transport: 'mqtts', url: `mqtts://${host}:${endpoints.tlsPort}` });
    if (endpoints.webSocket) {
      const ws = origin.protocol === 'https' ? 'wss' : 'ws';
      urls.push({ transport: ws, url: `${ws}://${origin.host}${MQTT_WS_PATH}` });
    }
  }
  const topic = (kind: 'telemetry' | 'state' | 'status' | 'errors') => topicFor(device.firmId, device.id, kind);
  return { deviceId: device.id, urls, publish: { telemetry: topic('telemetry'), state: topic('state'), status: topic('status') }, subscribe: { errors: topic('errors') } };
}
