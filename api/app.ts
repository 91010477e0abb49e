// The API as a Fastify app: every area a plugin with its own scope, every route with a JSON schema.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Registry } from '../common/registry/registry.ts';
import type { Spool } from '../common/spool/spool.ts';
import type { TelemetryStore } from '../common/telemetry-store/store.ts';
import type { Logger } from '../common/log.ts';
import rateLimit from '@fastify/rate-limit';
import { AuthThrottle, DEFAULT_AUTH_FAILURES_PER_MINUTE, authPlugin, bearer } from './auth.ts';
import { answerError } from './errors.ts';
import { sharedSchemas } from './schemas.ts';
import { areaDocsRoute, docsRoute } from './docs.ts';
import { openApi30 } from './openapi.ts';
import { httpLatency, metricsPlugin } from './metrics.ts';
import { attachMqttWebSocket } from './mqtt-ws.ts';
import type { BrokerControl } from '../common/contract/control.ts';
import type { MqttEndpoints } from './connection.ts';
import { attachLive, attachLiveRooms, closeUserSockets, type LiveAdapter, type LiveSource } from './live.ts';
import { onboardingRoutes } from './routes/onboarding.ts';
import { gatewayRoutes } from './routes/gateways.ts';
import { firmRoutes } from './routes/firms.ts';
import { deviceRoutes } from './routes/devices.ts';
import { platformRoutes } from './routes/platform.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { monitoringRoutes } from './routes/monitoring.ts';
import { energyRoutes } from './routes/energy.ts';
import { alarmRoutes } from './routes/alarms.ts';
import { planRoutes } from './routes/plan.ts';
import { sessionRoutes } from './routes/session.ts';
import { userRoutes } from './routes/users.ts';
import { exportRoutes } from './routes/exports.ts';
import { sparkplugRoutes } from './routes/sparkplug.ts';
import { DEFAULT_SESSION_POLICY, LOGIN_FAILURES_PER_WINDOW, LoginLockout, SESSION_COOKIE, cookieValue, type SessionPolicy } from './session.ts';
import { openMonitoring, type Monitoring } from '../analytics/index.ts';

export interface AppDeps {
  registry: Registry;
  spool: Spool;
  store: TelemetryStore;
  log: Logger;
  connectedWindowDays: number;
  live?: LiveSource;
  /** Closes device connections after rotation or deletion. */
  brokerControl?: BrokerControl;
  /** Where MQTT over WebSocket (/mqtt) is bridged to; absent = no WebSocket transport. */
  mqttBroker?: { host: string; port: number };
  /** Where devices connect, as told to engineers (provisioning, GET /devices/{id}/connection). */
  mqttEndpoints?: MqttEndpoints;
  /** Serve HTTPS with this certificate and key. */
  https?: { key: Buffer; cert: Buffer };
  /** Requests per minute per API token (or per address without one). */
  apiRequestsPerMinute?: number;
  /** Unknown tokens per client address and minute (REST and socket.io together); then 429 until the minute ends. */
  apiAuthFailuresPerMinute?: number;
  /** Energy, OEE, alarms, plan tracker; absent = an in-memory one without background work. */
  monitoring?: Monitoring;
  /** socket.io adapter joining several API nodes (@socket.io/redis-adapter when REDIS_URL is set). */
  liveAdapter?: LiveAdapter;
  /** Idle timeout and lifetime of password sign-in sessions (api/session.ts); defaults 8 h and 7 d. */
  session?: Partial<Pick<SessionPolicy, 'idleMs' | 'absoluteMs'>>;
}

/** What signing in needs across plugins: the session rules, the login-name lockout, and who to tell when a user's sessions end. */
interface SignIn {
  policy: SessionPolicy;
  lockout: LoginLockout;
  ended: EventEmitter;
}

const publicDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Fastify's own two lines per request at info drowned everything else in api.log (424 of 426 lines): one line
  // per request at debug instead (LOG_LEVEL=debug shows them), with what a reader needs; failures are logged by
  // the error handler.
  const options = { loggerInstance: deps.log as FastifyBaseLogger, disableRequestLogging: true, ajv: { customOptions: { coerceTypes: true, removeAdditional: false } } };
  // Fastify types an HTTPS server differently; the app is used the same way.
  const app = (deps.https ? (Fastify({ ...options, https: deps.https }) as unknown as FastifyInstance) : Fastify(options)).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(answerError);
  const http = httpLatency();
  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs share one label, so scanners cannot create series.
    http.observe(req.method, req.routeOptions.url ?? '(no route)', reply.statusCode, reply.elapsedTime / 1000);
    req.log.debug({ method: req.method, url: req.routeOptions.url ?? req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  await app.register(sharedSchemas);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Dehong textile telemetry API', version: '1.0.0', description: 'Telemetry core of the Dehong textile and garment industrial internet platform' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Shared schemas appear in components.schemas under their $id (swagger's default names them def-0, def-1, …).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (d) => ('openapiObject' in d ? openApi30(d.openapiObject) : d.swaggerObject),
  });

  app.get('/healthz', {
    schema: {
      tags: ['health'], summary: 'Liveness and the state of InfluxDB and the spool (no token needed)',
      response: { 200: Type.Object({ status: Type.String(), influx: Type.Boolean(), spool: Type.Object({ rows: Type.Integer(), oldestAgeMs: Type.Union([Type.Integer(), Type.Null()]) }) }) },
    },
  }, async () => {
    const [influx, spool] = await Promise.all([deps.store.ping(), deps.spool.stats()]);
    return { status: influx ? 'ok' : 'degraded', influx, spool: { rows: spool.rows, oldestAgeMs: spool.oldestReceivedAt === null ? null : Date.now() - spool.oldestReceivedAt } };
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Public like /openapi.json (outside /api/v1, so neither the token check nor the rate limit applies).
  docsRoute(app);
  // Swagger UI on the same document, to try the API from a browser (a token goes in its Authorize dialog).
  await app.register(swaggerUi, { routePrefix: '/docs/ui', uiConfig: { docExpansion: 'list', persistAuthorization: false } });

  await app.register(metricsPlugin, { spool: deps.spool, http: http.histogram });

  const throttle = new AuthThrottle(deps.apiAuthFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE, deps.log);
  const signIn: SignIn = {
    policy: { ...DEFAULT_SESSION_POLICY, ...deps.session, secure: deps.https !== undefined },
    lockout: new LoginLockout(LOGIN_FAILURES_PER_WINDOW, deps.log),
    ended: new EventEmitter(),
  };
  await app.register(async (v1) => v1Routes(v1, deps, throttle, signIn), { prefix: '/api/v1' });

  await app.register(fastifyStatic, { root: publicDir, prefix: '/' });

  if (deps.mqttBroker) {
    const wss = attachMqttWebSocket(app.server, deps.mqttBroker, deps.log);
    app.addHook('onClose', async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    });
  }

  if (deps.live) {
    const io = attachLive(app.server, deps.registry, deps.live, deps.log, throttle, deps.liveAdapter, signIn.policy);
    signIn.ended.on('ended', (userId: string) => closeUserSockets(io, userId));
    // Every API node evaluates alarms from every broker's summaries (api/live.ts): push to its own sockets only.
    deps.monitoring?.attachSocketServer(io.local);
    // Per-room aggregates on 'subscribe' (api/live.ts, docs/monitoring.md "Live rooms").
    const detachRooms = deps.monitoring ? attachLiveRooms(io, deps.registry, deps.monitoring, deps.log) : undefined;
    app.addHook('onClose', async () => {
      detachRooms?.();
      await io.close();
    });
  }
  return app;
}

/** Everything under /api/v1: rate limit, token check, then the areas, each its own plugin. */
async function v1Routes(v1: FastifyInstance, deps: AppDeps, throttle: AuthThrottle, signIn: SignIn): Promise<void> {
  const { registry, spool, store, connectedWindowDays } = deps;
  await v1.register(rateLimit, {
    max: deps.apiRequestsPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: (req) => bearer(req.headers.authorization) ?? cookieValue(req.headers.cookie, SESSION_COOKIE) ?? req.ip,
    onExceeded: (req, key) => req.log.warn({ key: key.slice(0, 8) }, 'API rate limit reached for a token or address'),
  });
  await v1.register(authPlugin, { registry, throttle, session: signIn.policy });
  await v1.register(sessionRoutes, { registry, throttle, lockout: signIn.lockout, policy: signIn.policy });
  await v1.register(userRoutes, { registry, policy: signIn.policy, sessionsEnded: (userId) => signIn.ended.emit('ended', userId) });
  const monitoring = deps.monitoring ?? inMemoryMonitoring(v1, deps);
  // A firm, device or gateway changed through this API counts in the figures at once, not after the firm index's
  // next refresh (up to a minute): a demo firm just created must already be left out, a new device already counted.
  v1.addHook('onResponse', async (req, reply) => {
    if (req.method !== 'GET' && reply.statusCode < 400 && /^\/api\/v1\/(firms|devices|gateways)(\/|\?|$)/.test(req.url)) monitoring.index.invalidate();
  });
  await v1.register(firmRoutes, { registry, mqtt: deps.mqttEndpoints });
  await v1.register(deviceRoutes, { registry, store, spool });
  await v1.register(platformRoutes, { registry, connectedWindowDays });
  await v1.register(tokenRoutes, { registry });
  await v1.register(onboardingRoutes, { registry, spool, control: deps.brokerControl, mqtt: deps.mqttEndpoints });
  await v1.register(gatewayRoutes, { registry, control: deps.brokerControl });
  await v1.register(sparkplugRoutes, { registry });
  await v1.register(energyRoutes, { registry, monitoring });
  await v1.register(alarmRoutes, { registry, monitoring });
  await v1.register(planRoutes, { registry, monitoring });
  await v1.register(monitoringRoutes, { registry, monitoring });
  await v1.register(exportRoutes);
  await v1.register(areaDocsRoute);
}

/** Without a Monitoring in the deps (tests, tools): an in-memory one with no background work, so the routes exist. */
function inMemoryMonitoring(app: FastifyInstance, deps: AppDeps): Monitoring {
  const own = openMonitoring({ file: ':memory:', registry: deps.registry, store: deps.store, connectedWindowDays: deps.connectedWindowDays });
  app.addHook('onClose', async () => { await own.close(); });
  return own;
}
