// Response and request schemas shared by the routes (TypeBox; serialised by Fastify, documented by swagger).
import { Type } from '@sinclair/typebox';
import { SMART_FACTORY_TIERS, countyCodes, parkIds, segmentIds } from '../common/places.ts';
import { deviceTypes } from '../common/contract/catalogue.ts';
import { DEVICE_ID_PATTERN } from '../common/contract/topics.ts';
import { ROLES } from '../common/registry/registry.ts';

const lit = (xs: readonly string[]) => Type.Union(xs.map((x) => Type.Literal(x)));
/** Like lit, but keeps the literal type for the handler's return type. */
const litOf = <T extends string>(xs: readonly T[]) => Type.Unsafe<T>(lit(xs));

export const ErrorBody = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() });

export const NewFirmBody = Type.Object({
  id: Type.String({ minLength: 18, maxLength: 18, description: '18-character unified social credit code (统一社会信用代码)' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  county: lit(countyCodes),
  park: lit(parkIds),
  segment: lit(segmentIds),
  aboveScale: Type.Boolean({ description: '规上企业: annual main-business revenue ≥ 20 million yuan' }),
  employees: Type.Integer({ minimum: 0, default: 0 }),
  landMu: Type.Number({ minimum: 0, default: 0, description: 'land area in mu (亩)' }),
  smartFactoryTier: Type.Optional(lit(SMART_FACTORY_TIERS)),
  demo: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const Firm = Type.Object({
  id: Type.String(), name: Type.String(), county: Type.String(), park: Type.String(), segment: Type.String(),
  aboveScale: Type.Boolean(), employees: Type.Integer(), landMu: Type.Number(), smartFactoryTier: Type.String(), demo: Type.Boolean(),
  createdAt: Type.Integer(),
});

export const NewDeviceBody = Type.Object({
  type: lit(deviceTypes),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  location: Type.Optional(Type.String({ maxLength: 200, description: 'workshop or line' })),
  id: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN, description: 'device id (lower case, digits, - and _); generated when absent' })),
}, { additionalProperties: false });

const NullableInt = Type.Union([Type.Integer(), Type.Null()]);

export const Device = Type.Object({
  id: Type.String(), firmId: Type.String(), type: Type.String(), name: Type.String(), location: Type.String(),
  createdAt: Type.Integer(), lastSeenAt: NullableInt, lastTelemetryAt: NullableInt,
  online: Type.Boolean({ description: 'connected to the broker now' }),
  reportedStatus: Type.Union([Type.String(), Type.Null()], { description: "the device's own retained status (last will included)" }),
  seqReceived: Type.Integer(), seqExpected: Type.Integer(),
  clockSkewMs: Type.Union([Type.Integer(), Type.Null()], { description: 'device clock minus platform clock at the newest live message' }),
});


export const FirmParams = Type.Object({ firmId: Type.String({ maxLength: 18 }) });
export const DeviceParams = Type.Object({ id: Type.String({ pattern: DEVICE_ID_PATTERN }) });

export const Me = Type.Object({
  role: litOf(ROLES),
  firmId: Type.Union([Type.String(), Type.Null()], { description: 'the one firm an engineer may see; null for admin and bureau' }),
  name: Type.String({ description: 'the name the token was created with' }),
  tokenId: Type.String(),
});

export const StateEvent = Type.Object({
  ts: Type.Integer({ description: 'ms since the epoch (device time)' }),
  state: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
});

export const StateHistory = Type.Object({
  deviceId: Type.String(), from: Type.Integer(), to: Type.Integer(), limit: Type.Integer(),
  before: Type.Union([StateEvent, Type.Null()], { description: 'the newest state event before from: the state the device was in at from (null if none)' }),
  events: Type.Array(StateEvent, { description: 'state events in [from, to), oldest first, at most limit' }),
  truncated: Type.Boolean({ description: 'the range holds more than limit events; ask again with from = the last ts + 1' }),
});

export const DeviceConnection = Type.Object({
  deviceId: Type.String(),
  urls: Type.Array(Type.Object({ transport: litOf(['mqtt', 'mqtts', 'ws', 'wss'] as const), url: Type.String() }), {
    description: 'where the device connects (clientId = username = device id, password = device token); empty when the API was not told the broker ports',
  }),
  publish: Type.Object({ telemetry: Type.String(), state: Type.String(), status: Type.String() }, { description: 'topics the device publishes on' }),
  subscribe: Type.Object({ errors: Type.String() }, { description: 'where the platform reports rejected messages (the only topic a device may subscribe to)' }),
});

export const ProvisionedDevice = Type.Intersect([Device, Type.Object({
  token: Type.String({ description: 'MQTT password; shown only in this response' }),
  mqtt: Type.Object({ username: Type.String(), clientId: Type.String(), topicPrefix: Type.String() }),
  connect: DeviceConnection,
})]);
