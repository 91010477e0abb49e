// The gateway's configuration file (YAML or JSON): the broker, the gateway credential, the local queue, and per
// device its platform id, catalogue type and protocol mapping (and its own token, without a gateway credential).
// Checked in two steps: the shape with JSON Schema (TypeBox, Ajv, as the contract does), then the mapping against
// the catalogue, so every error names the field to fix.
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { CATALOGUE, deviceType, metricSpec } from '../common/contract/catalogue.ts';
import { DEVICE_ID_PATTERN } from '../common/contract/topics.ts';
import { usccProblem } from '../common/ids.ts';
import { ModbusReads, OpcuaSecurity, resolveOpcuaSecurity } from './sources/settings.ts';

export class GatewayConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'GatewayConfigError';
  }
}

const Interval = Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'milliseconds between samples' });

const DeviceBase = {
  id: Type.String({ pattern: DEVICE_ID_PATTERN, description: 'platform device id (also MQTT clientId and username)' }),
  firmId: Type.String({ minLength: 18, maxLength: 18, description: "the firm's unified social credit code" }),
  token: Type.Optional(Type.String({ minLength: 1, description: 'device token; only without a gateway credential (which wins when both are given)' })),
  type: Type.String({ description: 'device type of the catalogue (GET /api/v1/catalogue)' }),
  pollIntervalMs: Type.Optional(Interval),
};

const OpcuaMetric = Type.Object({
  nodeId: Type.String({ minLength: 1 }),
  scale: Type.Optional(Type.Number()),
}, { additionalProperties: false });

const OpcuaDevice = Type.Object({
  ...DeviceBase,
  protocol: Type.Literal('opcua'),
  endpoint: Type.String({ pattern: '^opc\\.tcp://' }),
  ...OpcuaSecurity,
  /** subscribe: monitored items, falling back to reads if the server refuses; poll: always read. */
  sampling: Type.Optional(Type.Union([Type.Literal('subscribe'), Type.Literal('poll')])),
  metrics: Type.Record(Type.String(), Type.Union([Type.String({ minLength: 1 }), OpcuaMetric])),
  state: Type.Optional(Type.Object({
    itemState: Type.String({ minLength: 1, description: 'MachineryItemState CurrentState (text) or its Number' }),
    operationMode: Type.Optional(Type.String({ minLength: 1, description: 'MachineryOperationMode CurrentState or its Number' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export const REGISTER_TYPES = ['uint16', 'int16', 'uint32', 'int32', 'float32'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

const ModbusMetric = Type.Object({
  address: Type.Integer({ minimum: 0, maximum: 65535, description: 'register address, 0-based' }),
  function: Type.Union([Type.Literal('holding'), Type.Literal('input')]),
  type: Type.Union(REGISTER_TYPES.map((t) => Type.Literal(t))),
  /** 32-bit values: big = high word first (Modicon), little = low word first. */
  wordOrder: Type.Optional(Type.Union([Type.Literal('big'), Type.Literal('little')])),
  scale: Type.Optional(Type.Number()),
}, { additionalProperties: false });

const ModbusDevice = Type.Object({
  ...DeviceBase,
  protocol: Type.Literal('modbus-tcp'),
  host: Type.String({ minLength: 1 }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  unitId: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
  ...ModbusReads,
  metrics: Type.Record(Type.String(), ModbusMetric),
}, { additionalProperties: false });

const GatewayFile = Type.Object({
  broker: Type.String({ pattern: '^(mqtt|mqtts)://', description: 'the platform broker, mqtt:// or mqtts://' }),
  /** PEM file of the CA to trust for mqtts://. */
  ca: Type.Optional(Type.String({ minLength: 1 })),
  dataDir: Type.Optional(Type.String({ minLength: 1 })),
  /** One credential for every device: the gateway registered for the firm (POST /api/v1/firms/{firmId}/gateways). */
  gateway: Type.Optional(Type.Object({
    id: Type.String({ pattern: DEVICE_ID_PATTERN, description: 'gateway id (MQTT clientId and username)' }),
    token: Type.String({ minLength: 1, description: 'gateway token' }),
  }, { additionalProperties: false })),
  maxQueuedMessages: Type.Optional(Type.Integer({ minimum: 1 })),
  statusIntervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
  pollIntervalMs: Type.Optional(Interval),
  logLevel: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
  devices: Type.Array(Type.Object({ protocol: Type.Union([Type.Literal('opcua'), Type.Literal('modbus-tcp')]) }), { minItems: 1 }),
}, { additionalProperties: false });

export type OpcuaDeviceConfig = Static<typeof OpcuaDevice> & { pollIntervalMs: number };
export type ModbusDeviceConfig = Static<typeof ModbusDevice> & { pollIntervalMs: number };
export type DeviceConfig = OpcuaDeviceConfig | ModbusDeviceConfig;

export interface GatewayConfig {
  broker: string;
  ca: string | undefined;
  /** Where the queue database lives (default `data/gateway`, relative to the config file). */
  dataDir: string;
  /** The gateway credential, used for every device when given; else each device's own token. */
  gateway: { id: string; token: string } | undefined;
  /** Queued messages (all devices together) above which the oldest telemetry is dropped, counted. */
  maxQueuedMessages: number;
  /** How often the status line (queued, dropped, sent) is logged. */
  statusIntervalMs: number;
  logLevel: string;
  devices: DeviceConfig[];
}

export const DEFAULTS = { pollIntervalMs: 1000, maxQueuedMessages: 1_000_000, statusIntervalMs: 60_000, modbusPort: 502, unitId: 1, timeoutMs: 2000 } as const;

const ajv = new Ajv({ allErrors: true, strict: true });
const validateFile = ajv.compile(GatewayFile);
const validateOpcua = ajv.compile(OpcuaDevice);
const validateModbus = ajv.compile(ModbusDevice);

function fieldOf(prefix: string, e: ErrorObject): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`));
  const extra = (e.params as { additionalProperty?: string; missingProperty?: string });
  const child = extra.additionalProperty ?? extra.missingProperty;
  if (child !== undefined) parts.push(`.${child}`);
  const joined = prefix + parts.join('');
  return joined.replace(/^\./, '') || '(file)';
}

function firstError(prefix: string, errors: readonly ErrorObject[] | null | undefined): GatewayConfigError {
  // A union (string or object, one of several literals) fails every branch: report the most specific error.
  const list = [...(errors ?? [])].filter((e) => e.keyword !== 'anyOf');
  const e = list.find((x) => x.keyword === 'additionalProperties' || x.keyword === 'required') ?? list[0] ?? errors?.[0];
  if (!e) return new GatewayConfigError(prefix || '(file)', 'is invalid');
  const field = fieldOf(prefix, e);
  if (e.keyword === 'additionalProperties') return new GatewayConfigError(field, 'is not a known setting; see docs/gateway.md');
  if (e.keyword === 'required') return new GatewayConfigError(field, 'is required');
  const allowed = (errors ?? []).filter((x) => x.instancePath === e.instancePath && x.keyword === 'const').map((x) => JSON.stringify((x.params as { allowedValue: unknown }).allowedValue));
  if (allowed.length > 0) return new GatewayConfigError(field, `must be one of ${allowed.join(', ')}`);
  return new GatewayConfigError(field, e.message ?? 'is invalid');
}

const fail = (field: string, message: string): never => {
  throw new GatewayConfigError(field, message);
};

function check<T>(validate: ((v: unknown) => boolean) & { errors?: ErrorObject[] | null }, value: unknown, prefix: string): T {
  if (!validate(value)) throw firstError(prefix, validate.errors);
  return value as T;
}

/** The device's mapping against the catalogue: a known type, and only metrics of that type. */
function checkCatalogue(d: DeviceConfig, at: string): void {
  if (!deviceType(d.type)) {
    throw new GatewayConfigError(`${at}.type`, `"${d.type}" is not a device type of the catalogue; one of ${CATALOGUE.map((t) => t.type).join(', ')}`);
  }
  const names = Object.keys(d.metrics);
  if (names.length === 0) throw new GatewayConfigError(`${at}.metrics`, 'maps no metric');
  for (const name of names) {
    if (!metricSpec(d.type, name)) {
      const known = deviceType(d.type)!.metrics.map((m) => m.name).join(', ');
      throw new GatewayConfigError(`${at}.metrics.${name}`, `is not a metric of device type "${d.type}"; its metrics are ${known}`);
    }
  }
  const firmProblem = usccProblem(d.firmId);
  if (firmProblem) throw new GatewayConfigError(`${at}.firmId`, firmProblem);
}

/**
 * A gateway credential serves devices of its own firm (the broker enforces it; this says so at start-up); without
 * one, every device needs its own token.
 */
function checkCredential(d: DeviceConfig, gateway: { id: string; token: string } | undefined, at: string): void {
  if (!gateway) {
    if (d.token === undefined) throw new GatewayConfigError(`${at}.token`, 'is required without a gateway credential ("gateway: { id, token }")');
    return;
  }
  if (d.id === gateway.id) throw new GatewayConfigError(`${at}.id`, `"${d.id}" is the gateway's own id, not a device's`);
}

/** Checks a parsed configuration; relative paths are resolved against `baseDir`. */
export function parseGatewayConfig(raw: unknown, baseDir = process.cwd()): GatewayConfig {
  const file = check<Static<typeof GatewayFile>>(validateFile, raw, '');
  const rawDevices = (raw as { devices: unknown[] }).devices;
  const seen = new Set<string>();
  const devices = file.devices.map((d, i): DeviceConfig => {
    const at = `devices[${i}]`;
    const parsed = d.protocol === 'opcua'
      ? check<Static<typeof OpcuaDevice>>(validateOpcua, rawDevices[i], at)
      : check<Static<typeof ModbusDevice>>(validateModbus, rawDevices[i], at);
    const device = { ...parsed, pollIntervalMs: parsed.pollIntervalMs ?? file.pollIntervalMs ?? DEFAULTS.pollIntervalMs } as DeviceConfig;
    checkCatalogue(device, at);
    checkCredential(device, file.gateway, at);
    if (seen.has(device.id)) throw new GatewayConfigError(`${at}.id`, `"${device.id}" appears twice`);
    seen.add(device.id);
    return device.protocol === 'opcua' ? resolveOpcuaSecurity(device, at, (p) => path.resolve(baseDir, p), fail) : device;
  });
  const firms = new Set(devices.map((d) => d.firmId));
  if (file.gateway && firms.size > 1) throw new GatewayConfigError('devices', `a gateway belongs to one firm; these devices name ${firms.size}: ${[...firms].join(', ')}`);
  const resolve = (p: string) => path.resolve(baseDir, p);
  return {
    broker: file.broker,
    ca: file.ca === undefined ? undefined : resolve(file.ca),
    dataDir: resolve(file.dataDir ?? path.join('data', 'gateway')),
    gateway: file.gateway,
    maxQueuedMessages: file.maxQueuedMessages ?? DEFAULTS.maxQueuedMessages,
    statusIntervalMs: file.statusIntervalMs ?? DEFAULTS.statusIntervalMs,
    logLevel: file.logLevel ?? 'info',
    devices,
  };
}

/** Reads a YAML or JSON file (JSON is YAML); relative paths in it are relative to the file. */
export function loadGatewayConfig(file: string): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayConfigError('--config', `cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new GatewayConfigError('(file)', `${file} is not YAML or JSON: ${(err as Error).message}`);
  }
  return parseGatewayConfig(raw, path.dirname(path.resolve(file)));
}

/** The node id and scale of an OPC UA metric mapping (a bare string is a node id with scale 1). */
export function opcuaMetric(m: string | { nodeId: string; scale?: number }): { nodeId: string; scale: number } {
  return typeof m === 'string' ? { nodeId: m, scale: 1 } : { nodeId: m.nodeId, scale: m.scale ?? 1 };
}
