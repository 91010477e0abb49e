// The API as a Fastify app: every area a plugin with its own scope, every route with a JSON schema.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Registry } from '../common/registry/registry.ts';
import type { Spool } from '../common/spool/spool.ts';
import type { TelemetryStore } from '../common/telemetry-store/store.ts';
import type { Logger } from '../common/log.ts';
import { HttpProblem, authPlugin } from './auth.ts';
import { attachLive, type LiveSource } from './live.ts';
import { firmRoutes } from './routes/firms.ts';
import { deviceRoutes } from './routes/devices.ts';
import { platformRoutes } from './routes/platform.ts';

export interface AppDeps {
  registry: Registry;
  spool: Spool;
  store: TelemetryStore;
  log: Logger;
  connectedWindowDays: number;
  live?: LiveSource;
}

const publicDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.log as FastifyBaseLogger, ajv: { customOptions: { coerceTypes: true, removeAdditional: false } } }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    const status = err instanceof HttpProblem ? err.statusCode : (err.statusCode ?? 500);
    if (status >= 500) req.log.error({ err }, 'request failed');
    const error = status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : 'Internal Server Error';
    return reply.code(status).send({ statusCode: status, error, message: status >= 500 ? 'internal error; see the server log' : err.message });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Dehong textile telemetry API', version: '1.0.0', description: 'Telemetry core of the Dehong textile and garment industrial internet platform' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
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

  await app.register(async (v1) => {
    await v1.register(authPlugin, { registry: deps.registry });
    await v1.register(firmRoutes, { registry: deps.registry });
    await v1.register(deviceRoutes, { registry: deps.registry, store: deps.store, spool: deps.spool });
    await v1.register(platformRoutes, { registry: deps.registry, connectedWindowDays: deps.connectedWindowDays });
  }, { prefix: '/api/v1' });

  await app.register(fastifyStatic, { root: publicDir, prefix: '/' });

  if (deps.live) {
    const io = attachLive(app.server, deps.registry, deps.live, deps.log);
    app.addHook('onClose', async () => { await io.close(); });
  }
  return app;
}
