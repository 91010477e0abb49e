// Schemas and schema helpers shared by the routes (TypeBox; validated and serialised by Fastify, documented by
// swagger). Shared schemas carry an $id, are added once with addSchema (sharedSchemas) and are used by $ref, so
// the OpenAPI document names them under components.schemas. Route files take their helpers from here only.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type, type SchemaOptions, type TSchema } from '@sinclair/typebox';
import { SMART_FACTORY_TIERS, countyCodes, parkIds, segmentIds } from '../common/places.ts';
import { deviceTypes } from '../common/contract/catalogue.ts';
import { DEVICE_ID_PATTERN } from '../common/contract/topics.ts';
import { SCOPE_KINDS } from '../common/contract/scope.ts';
import { ROLES } from '../common/registry/registry.ts';

/** One of the strings. */
export const lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));
/** For reply schemas: the type provider infers lit's union as never, which no reply satisfies; this one it does not. */
export const litOf = <T extends string>(xs: readonly T[]) => Type.Unsafe<T>(lit(xs));
export const Nullable = <T extends TSchema>(t: T, options?: SchemaOptions) => Type.Union([t, Type.Null()], options);

/**
 * A $ref to a schema with an $id (added with addSchema). Typed as the schema itself: the type provider infers
 * request and reply types from a schema's keywords, and a bare $ref has none, so typing it as what it points
 * at gives handlers the same types as the schema inline. Use it only where a schema goes, never to read keywords.
 */
export function ref<T extends TSchema>(schema: T): T {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Ref(schema.$id) as unknown as T;
}

/** Adds schemas with an $id to a plugin's scope (for those only one area uses). */
export function addSchemas(app: Pick<FastifyInstance, 'addSchema'>, schemas: readonly TSchema[]): void {
  for (const s of schemas) app.addSchema(s);
}

const ErrorBodySchema = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() }, { $id: 'ErrorBody' });
export const ErrorBody = ref(ErrorBodySchema);

const TimeParamSchema = Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'date-time' }), Type.String({ format: 'date' })], {
  $id: 'TimeParam', description: 'ms since the epoch, RFC 3339, or a local date YYYY-MM-DD (Asia/Shanghai; as the end of a range: the end of that day)',
});
export const TimeParam = ref(TimeParamSchema);

const ScopeSchema = Type.Object({ kind: Type.String(), id: Type.String() }, { $id: 'Scope' });
export const ScopeBody = ref(ScopeSchema);
/** Query properties naming a scope (resolved by resolveScope in api/access.ts). */
export const ScopeQuery = {
  scope: Type.Optional(lit(SCOPE_KINDS)),
  id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'county code, park id, segment id, firm id or device id' })),
};

/** The connected share of above-scale firms, as the KPI and the plan tracker report it per row. */
export const ShareFields = { aboveScaleFirms: Type.Integer(), connected: Type.Integer(), share: Type.Number() };

export const FirmParams = Type.Object({ firmId: Type.String({ maxLength: 18 }) });
export const DeviceParams = Type.Object({ id: Type.String({ pattern: DEVICE_ID_PATTERN }) });

/** More people than the largest single textile site employs: a larger figure is a typo. */
export const MAX_FIRM_EMPLOYEES = 100_000;
/** 20,000 mu, about 13 km²: more land than any one plant holds. */
export const MAX_FIRM_LAND_MU = 20_000;

export const NewFirmBody = Type.Object({
  id: Type.String({ minLength: 18, maxLength: 18, description: '18-character unified social credit code (统一社会信用代码)' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  county: lit(countyCodes),
  park: Type.Union(parkIds.map((id) => Type.Literal(id)), { description: 'a park in the county (GET /places lists each park with its county)' }),
  segment: lit(segmentIds),
  aboveScale: Type.Boolean({ description: '规上企业: annual main-business revenue ≥ 20 million yuan' }),
  // Plausible maxima, so a typo or a probe cannot put 1e308 into the KPI sums: well above any single textile site.
  employees: Type.Integer({ minimum: 0, maximum: MAX_FIRM_EMPLOYEES, default: 0, description: `people employed, at most ${MAX_FIRM_EMPLOYEES}` }),
  landMu: Type.Number({ minimum: 0, maximum: MAX_FIRM_LAND_MU, default: 0, description: `land area in mu (亩; 15 mu = 1 ha), at most ${MAX_FIRM_LAND_MU} (about 13 km²)` }),
  smartFactoryTier: Type.Optional(lit(SMART_FACTORY_TIERS)),
  aboveScaleSince: Type.Optional(Nullable(Type.String({ format: 'date', description: 'local date from which the firm is above-scale (default: its registration)' }))),
  smartFactoryCertificateId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
  smartFactoryCertifiedOn: Type.Optional(Nullable(Type.String({ format: 'date' }))),
  demo: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const FirmSchema = Type.Object({
  id: Type.String(), name: Type.String(), county: Type.String(), park: Type.String(), segment: Type.String(),
  aboveScale: Type.Boolean(), employees: Type.Integer(), landMu: Type.Number(), smartFactoryTier: Type.String(), demo: Type.Boolean(),
  aboveScaleSince: Nullable(Type.String({ description: 'local date from which the firm is above-scale; null: since registration' })),
  smartFactoryCertificateId: Nullable(Type.String()), smartFactoryCertifiedOn: Nullable(Type.String({ description: 'local date of the smart-factory certificate' })),
  createdAt: Type.Integer(),
}, { $id: 'Firm' });
export const Firm = ref(FirmSchema);

export const NewDeviceBody = Type.Object({
  type: lit(deviceTypes),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  location: Type.Optional(Type.String({ maxLength: 200, description: 'workshop or line' })),
  id: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id (lower case, digits, - and _); generated when absent' })),
  tokenExpiresAt: Type.Optional(TimeParam),
}, { additionalProperties: false });

const DeviceFields = {
  id: Type.String(), firmId: Type.String(), type: Type.String(), name: Type.String(), location: Type.String(),
  createdAt: Type.Integer(), lastSeenAt: Nullable(Type.Integer()), lastTelemetryAt: Nullable(Type.Integer()),
  online: Type.Boolean({ description: 'connected to the broker now' }),
  reportedStatus: Nullable(Type.String(), { description: "the device's own retained status (last will included)" }),
  seqReceived: Type.Integer(), seqExpected: Type.Integer(),
  clockSkewMs: Nullable(Type.Integer(), { description: 'device clock minus platform clock at the newest live message' }),
  tokenExpiresAt: Nullable(Type.Integer(), { description: 'when the device token stops working; null: it does not expire' }),
};
const DeviceSchema = Type.Object(DeviceFields, { $id: 'Device' });
export const Device = ref(DeviceSchema);

const MeSchema = Type.Object({
  role: litOf(ROLES),
  firmId: Nullable(Type.String(), { description: 'the one firm an engineer may see; null for admin and bureau' }),
  name: Type.String({ description: 'the name the token was created with' }),
  tokenId: Type.String(),
}, { $id: 'Me' });
export const Me = ref(MeSchema);

const StateEventSchema = Type.Object({
  ts: Type.Integer({ description: 'ms since the epoch (device time)' }),
  state: Type.String(),
  reason: Nullable(Type.String()),
}, { $id: 'StateEvent' });
const StateEvent = ref(StateEventSchema);

const StateHistorySchema = Type.Object({
  deviceId: Type.String(), from: Type.Integer(), to: Type.Integer(), limit: Type.Integer(),
  before: Nullable(StateEvent, { description: 'the newest state event before from: the state the device was in at from (null if none)' }),
  events: Type.Array(StateEvent, { description: 'state events in [from, to), oldest first, at most limit' }),
  truncated: Type.Boolean({ description: 'the range holds more than limit events; ask again with from = the last ts + 1' }),
}, { $id: 'StateHistory' });
export const StateHistory = ref(StateHistorySchema);

const DeviceConnectionSchema = Type.Object({
  deviceId: Type.String(),
  urls: Type.Array(Type.Object({ transport: litOf(['mqtt', 'mqtts', 'ws', 'wss'] as const), url: Type.String(), host: Type.String(), port: Type.Integer() }), {
    description: 'where the device connects (clientId = username = device id, password = device token); empty when the API was not told the broker ports',
  }),
  caUrl: Nullable(Type.String({ description: 'where to download the CA certificate (PEM) the broker\'s TLS certificate chains to, for mqtts and wss; null when TLS is off or no CA is configured' })),
  publish: Type.Object({ telemetry: Type.String(), state: Type.String(), status: Type.String() }, { description: 'topics the device publishes on' }),
  subscribe: Type.Object({ errors: Type.String() }, { description: 'where the platform reports rejected messages (the only topic a device may subscribe to)' }),
}, { $id: 'DeviceConnection' });
export const DeviceConnection = ref(DeviceConnectionSchema);

const ProvisionedDeviceSchema = Type.Object({
  ...DeviceFields,
  token: Type.String({ description: 'MQTT password; shown only in this response' }),
  mqtt: Type.Object({ username: Type.String(), clientId: Type.String(), topicPrefix: Type.String() }),
  connect: DeviceConnection,
}, { $id: 'ProvisionedDevice' });
export const ProvisionedDevice = ref(ProvisionedDeviceSchema);

const SHARED_SCHEMAS = [
  ErrorBodySchema, TimeParamSchema, ScopeSchema, FirmSchema, DeviceSchema, MeSchema, StateEventSchema, StateHistorySchema,
  DeviceConnectionSchema, ProvisionedDeviceSchema,
];

/** Adds the shared schemas to the app (not encapsulated: every route plugin refers to them). */
export const sharedSchemas = fp(async (app) => addSchemas(app, SHARED_SCHEMAS), { name: 'shared-schemas' });
