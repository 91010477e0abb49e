// Device lifecycle for a firm's engineers: where to connect, status, token rotation, removal; the audit trail of who did what.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { topicFor } from '../../common/contract/topics.ts';
import { NotFoundError, type Device, type Registry } from '../../common/registry/registry.ts';
import type { Spool } from '../../common/spool/spool.ts';
import type { BrokerControl } from '../../common/contract/control.ts';
import { localDate } from '../../common/time.ts';
import { HttpProblem, assertFirmReadable, audit, mayReadFirm, requireRole } from '../auth.ts';
import { DeviceConnection, DeviceParams, ErrorBody, FirmParams } from '../schemas.ts';
import { MQTT_WS_PATH } from '../mqtt-ws.ts';

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

const AuditEntry = Type.Object({ id: Type.Integer(), at: Type.Integer(), actor: Type.String(), action: Type.String(), target: Type.String(), detail: Type.String() });

export const onboardingRoutes: FastifyPluginAsyncTypebox<{ registry: Registry; spool: Spool; control: BrokerControl | undefined; mqtt?: MqttEndpoints | undefined }> = async (app, { registry, spool, control, mqtt }) => {
  async function ownDevice(req: Parameters<typeof requireRole>[0], id: string) {
    const device = await registry.getDevice(id);
    if (!device || !mayReadFirm(req.principal, device.firmId)) throw new HttpProblem(404, `device ${id} not found`);
    return device;
  }

  app.get('/devices/:id/status', {
    schema: {
      tags: ['devices'], summary: 'Online state, last seen, messages accepted and rejected today, completeness from seq',
      params: DeviceParams,
      response: {
        200: Type.Object({
          id: Type.String(), online: Type.Boolean(), reportedStatus: Type.Union([Type.String(), Type.Null()]),
          lastSeenAt: Type.Union([Type.Integer(), Type.Null()]), lastTelemetryAt: Type.Union([Type.Integer(), Type.Null()]),
          today: Type.Object({ day: Type.String(), accepted: Type.Integer(), rejected: Type.Integer() }),
          completeness: Type.Object({ received: Type.Integer(), expected: Type.Integer(), missing: Type.Integer(), ratio: Type.Union([Type.Number(), Type.Null()]) }),
          clockSkewMs: Type.Union([Type.Integer(), Type.Null()]),
        }),
        404: ErrorBody,
      },
    },
  }, async (req) => {
    const d = await ownDevice(req, req.params.id);
    const day = localDate(Date.now());
    const today = (await registry.deviceDays(d.id, 1)).find((x) => x.day === day) ?? { day, accepted: 0, rejected: 0 };
    const received = Math.min(d.seqReceived, d.seqExpected);
    return {
      id: d.id, online: d.online, reportedStatus: d.reportedStatus, lastSeenAt: d.lastSeenAt, lastTelemetryAt: d.lastTelemetryAt, today,
      completeness: { received, expected: d.seqExpected, missing: d.seqExpected - received, ratio: d.seqExpected === 0 ? null : received / d.seqExpected },
      clockSkewMs: d.clockSkewMs,
    };
  });

  app.get('/devices/:id/connection', {
    schema: {
      tags: ['devices'], summary: 'Where the device connects (MQTT, MQTT over TLS, MQTT over WebSocket) and the topics it publishes and subscribes on',
      params: DeviceParams, response: { 200: DeviceConnection, 404: ErrorBody },
    },
  }, async (req) => deviceConnection(await ownDevice(req, req.params.id), mqtt, req));

  app.post('/devices/:id/token', {
    schema: {
      tags: ['devices'], summary: 'Rotate the device token: the old one stops working at once and the live connection is closed',
      params: DeviceParams, response: { 200: Type.Object({ id: Type.String(), token: Type.String() }), 403: ErrorBody, 404: ErrorBody },
    },
  }, async (req) => {
    requireRole(req, 'admin', 'engineer');
    const d = await ownDevice(req, req.params.id);
    const token = await registry.rotateDeviceToken(d.id);
    await control?.disconnect(d.id, 'token rotated');
    await audit(registry, req, 'device.rotate-token', d.id, { firmId: d.firmId });
    return { id: d.id, token };
  });

  app.delete('/devices/:id', {
    schema: { tags: ['devices'], summary: 'Revoke and remove a device (its stored telemetry stays)', params: DeviceParams, response: { 204: Type.Null(), 403: ErrorBody, 404: ErrorBody } },
  }, async (req, reply) => {
    requireRole(req, 'admin', 'engineer');
    const d = await ownDevice(req, req.params.id);
    try {
      await registry.deleteDevice(d.id);
    } catch (err) {
      if (err instanceof NotFoundError) throw new HttpProblem(404, err.message);
      throw err;
    }
    await control?.disconnect(d.id, 'device deleted');
    await audit(registry, req, 'device.delete', d.id, { firmId: d.firmId, type: d.type, name: d.name });
    return reply.code(204).send(null);
  });

  app.get('/firms/:firmId/rejected/summary', {
    schema: {
      tags: ['devices'], summary: 'Rejected messages counted per device, rule and day (every rejection, also those not kept in full)',
      params: FirmParams, querystring: Type.Object({ deviceId: Type.Optional(Type.String()), sinceDay: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) }),
      response: { 200: Type.Array(Type.Object({ day: Type.String(), deviceId: Type.String(), rule: Type.String(), count: Type.Integer() })), 404: ErrorBody },
    },
  }, async (req) => {
    assertFirmReadable(req, req.params.firmId);
    const rows = await spool.rejectionCounts({ firmId: req.params.firmId, ...(req.query.deviceId ? { deviceId: req.query.deviceId } : {}), ...(req.query.sinceDay ? { sinceDay: req.query.sinceDay } : {}) });
    return rows.map(({ day, deviceId, rule, count }) => ({ day, deviceId, rule, count }));
  });

  app.get('/audit', {
    schema: {
      tags: ['audit'], summary: 'Who provisioned, rotated or revoked what, and when (admin, bureau)',
      querystring: Type.Object({ target: Type.Optional(Type.String()), beforeId: Type.Optional(Type.Integer()), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
      response: { 200: Type.Array(AuditEntry), 403: ErrorBody },
    },
  }, async (req) => {
    requireRole(req, 'admin', 'bureau');
    return registry.listAudit({ limit: req.query.limit, ...(req.query.target ? { target: req.query.target } : {}), ...(req.query.beforeId ? { beforeId: req.query.beforeId } : {}) });
  });
};
