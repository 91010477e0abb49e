// Message schemas of contract v1 (TypeBox → JSON Schema, compiled once with Ajv). One schema per message kind,
// and one telemetry schema per device type, so metric names, types and plausible ranges are checked by the schema.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { CATALOGUE, MACHINE_STATES, metricSpec, type DeviceTypeSpec } from './catalogue.ts';

export const MAX_BATCH_POINTS = 1000;
/** 2020-01-01T00:00:00Z: a smaller number is seconds, not milliseconds, or an unset clock. */
export const MIN_TS_MS = 1_577_836_800_000;

export const Timestamp = Type.Union([
  Type.Integer({ minimum: MIN_TS_MS, description: 'milliseconds since the Unix epoch' }),
  Type.String({ format: 'date-time', description: 'RFC 3339 date-time with offset' }),
]);

function metricsSchema(spec: DeviceTypeSpec): TSchema {
  const props: Record<string, TSchema> = {};
  for (const mm of spec.metrics) props[mm.name] = Type.Optional(Type.Number({ minimum: mm.min, maximum: mm.max, description: `${mm.en} (${mm.unit})` }));
  return Type.Object(props, { additionalProperties: false, minProperties: 1 });
}

export function telemetryPointSchema(spec: DeviceTypeSpec) {
  return Type.Object(
    { ts: Timestamp, seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), metrics: metricsSchema(spec) },
    { additionalProperties: false },
  );
}

export const StateMessage = Type.Object(
  { ts: Timestamp, state: Type.Union(MACHINE_STATES.map((s) => Type.Literal(s))), reason: Type.Optional(Type.String({ maxLength: 200 })) },
  { additionalProperties: false },
);
export type StateMessage = Static<typeof StateMessage>;

export const StatusMessage = Type.Object(
  { status: Type.Union([Type.Literal('online'), Type.Literal('offline')]), ts: Type.Optional(Timestamp) },
  { additionalProperties: false },
);
export type StatusMessage = Static<typeof StatusMessage>;

const ajv = new Ajv({ allErrors: true, strict: true });
(addFormatsImport as unknown as (a: Ajv) => void)(ajv);

const pointValidators = new Map<string, ValidateFunction>(CATALOGUE.map((spec) => [spec.type, ajv.compile(telemetryPointSchema(spec))]));
export const validateState = ajv.compile(StateMessage);
export const validateStatus = ajv.compile(StatusMessage);

export function pointValidator(type: string): ValidateFunction | undefined {
  return pointValidators.get(type);
}

/** A reason a person can act on: which field, which rule, and what was expected. */
export interface Problem {
  field: string;
  rule: string;
  message: string;
}

/** "points[2]." + "/metrics/speed" → "points[2].metrics.speed"; the whole message is "(message)". */
function fieldPath(prefix: string, pointer: string, child?: string): string {
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  const path = parts.join('.');
  if (prefix === '') return path === '' ? '(message)' : path;
  return path === '' ? prefix.replace(/\.$/, '') : prefix + path;
}

export function describeErrors(errors: readonly ErrorObject[] | null | undefined, deviceType?: string, prefix = ''): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    // A union (ts) fails both branches; report it once, in words.
    if (e.instancePath.endsWith('/ts') || (e.keyword === 'anyOf' && e.instancePath.endsWith('ts'))) {
      const field = fieldPath(prefix, e.instancePath);
      if (seen.has(field)) continue;
      seen.add(field);
      out.push({ field, rule: 'timestamp', message: `${field} must be milliseconds since the epoch (≥ ${MIN_TS_MS}, i.e. 2020 or later) or an RFC 3339 date-time such as 2026-11-27T08:00:00+08:00` });
      continue;
    }
    if (e.keyword === 'anyOf') continue;
    if (e.keyword === 'const') {
      // A union of allowed words (a machine state) fails once per word: one problem that names them all.
      const field = fieldPath(prefix, e.instancePath);
      if (seen.has(field)) continue;
      seen.add(field);
      const allowed = (errors ?? []).filter((x) => x.keyword === 'const' && x.instancePath === e.instancePath).map((x) => String((x.params as { allowedValue: unknown }).allowedValue));
      out.push({ field, rule: 'enum', message: `${field} must be one of ${allowed.join(', ')}` });
      continue;
    }
    let field = fieldPath(prefix, e.instancePath);
    let message: string;
    const metric = e.instancePath.match(/\/metrics\/([^/]+)$/)?.[1];
    const spec = metric && deviceType ? metricSpec(deviceType, metric) : undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String((e.params as { additionalProperty: string }).additionalProperty);
        field = fieldPath(prefix, e.instancePath, extra);
        message = e.instancePath.endsWith('/metrics')
          ? `${field} is not a metric of device type "${deviceType}"; see GET /api/v1/catalogue for its metric names`
          : `${field} is not part of the contract; remove it`;
        break;
      }
      case 'required': {
        const missing = String((e.params as { missingProperty: string }).missingProperty);
        field = fieldPath(prefix, e.instancePath, missing);
        message = `${field} is required`;
        break;
      }
      case 'minimum':
      case 'maximum':
        message = spec
          ? `${field} is outside the plausible range ${spec.min}–${spec.max} ${spec.unit} for a ${deviceType}`
          : `${field} ${e.message ?? 'is out of range'}`;
        break;
      case 'type':
        message = `${field} must be a ${String((e.params as { type: string }).type)}`;
        break;
      default:
        message = `${field} ${e.message ?? 'is invalid'}`;
    }
    out.push({ field, rule: e.keyword, message });
  }
  return out;
}
