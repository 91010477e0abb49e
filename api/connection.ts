// Where a device connects and what it publishes on, as the API tells engineers: at provisioning
// (POST /firms/{firmId}/devices) and on GET /devices/{id}/connection.
import { topicFor } from '../common/contract/topics.ts';
import type { Device } from '../common/registry/registry.ts';
import { MQTT_WS_PATH } from './mqtt-ws.ts';

/** Where the CA certificate devices trust is served (api/routes/onboarding.ts); open, like any public certificate. */
export const CA_PATH = '/api/v1/tls/ca.pem';

/** Where devices reach the broker, as the API tells engineers (GET /devices/{id}/connection). */
export interface MqttEndpoints {
  /** Host name devices use; default: the host name the request reached the API under. */
  host?: string;
  /** MQTT over TCP (MQTT_PORT). */
  port: number;
  /** MQTT over TLS (MQTTS_PORT), only when a certificate is configured. */
  tlsPort?: number;
  /** The CA certificate (PEM) the broker's certificate chains to (TLS_CA_FILE), served at CA_PATH. */
  caFile?: string;
  /** MQTT over WebSocket on this API (api/mqtt-ws.ts): true when the bridge is attached. */
  webSocket?: boolean;
}

/** How the request reached the API: Fastify's req.hostname (no port), req.host (with port) and req.protocol. */
export interface RequestOrigin {
  hostname: string;
  host: string;
  protocol: string;
}

type Transport = 'mqtt' | 'mqtts' | 'ws' | 'wss';

/** URLs and topics for one device; the URLs only when the endpoints are known. */
export function deviceConnection(device: Pick<Device, 'id' | 'firmId'>, endpoints: MqttEndpoints | undefined, origin: RequestOrigin) {
  const urls: Array<{ transport: Transport; url: string; host: string; port: number }> = [];
  if (endpoints) {
    const host = bare(endpoints.host ?? origin.hostname);
    const add = (transport: Transport, port: number) => urls.push({ transport, url: `${transport}://${hostInUrl(host)}:${port}`, host, port });
    add('mqtt', endpoints.port);
    if (endpoints.tlsPort) add('mqtts', endpoints.tlsPort);
    if (endpoints.webSocket) {
      // The bridge is this API itself, so WebSocket clients use the address the engineer reached it under.
      const ws = origin.protocol === 'https' ? 'wss' : 'ws';
      urls.push({ transport: ws, url: `${ws}://${origin.host}${MQTT_WS_PATH}`, host: bare(origin.hostname), port: Number(/:(\d+)$/.exec(origin.host)?.[1] ?? (ws === 'wss' ? 443 : 80)) });
    }
  }
  const topic = (kind: 'telemetry' | 'state' | 'status' | 'errors') => topicFor(device.firmId, device.id, kind);
  return {
    deviceId: device.id, urls,
    caUrl: endpoints?.tlsPort && endpoints.caFile ? CA_PATH : null,
    publish: { telemetry: topic('telemetry'), state: topic('state'), status: topic('status') }, subscribe: { errors: topic('errors') },
  };
}

/** An IPv6 address goes in brackets inside a URL, and without them to a client's host option. */
function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
function bare(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** The certificate blocks of a PEM file, nothing else: a bundle that also holds a private key never leaks it. */
export function certificatesOf(pem: string): string {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).join('\n');
}
