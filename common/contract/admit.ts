// Admission of one device message: decode (JSON today; Sparkplug B later, into the same internal form), then
// validate against the contract and the device type's schema, then turn what is valid into line protocol.
// Pure logic: the broker's publish hook calls it before the PUBACK; tests call it directly.
import { MAX_BATCH_POINTS, describeErrors, pointValidator, validateState, validateStatus, type Problem, type StateMessage, type StatusMessage } from './messages.ts';
import { deviceType } from './catalogue.ts';
import { stateLine, telemetryLine } from './line-protocol.ts';
import type { MessageKind } from './topics.ts';

export interface AdmitDevice {
  deviceId: string;
  firmId: string;
  type: string;
  /** Precomputed line-protocol tag set of the device (see tagSet). */
  tags: string;
}

export interface AdmitLimits {
  maxClockAheadMs: number;
  maxAgeMs: number;
}

export interface AdmittedPoint {
  ts: number;
  seq: number;
  metrics: Record<string, number>;
}

export interface AdmitResult {
  /** Line protocol for everything valid in the message (empty when nothing is stored). */
  lines: string[];
  /** Valid telemetry points, for the live view and sequence tracking. */
  points: AdmittedPoint[];
  state?: { ts: number; state: string; reason?: string };
  status?: 'online' | 'offline';
  /** What was rejected and why; a batch may have both valid points and problems. */
  problems: Problem[];
}

/**
 * Judges a valid point against what the device sent before (counter plausibility, the replay window) and remembers
 * it when it passes; a refused point adds its problems. Admission keeps the memory (common/admission/point-history.ts).
 */
export interface PointCheck {
  check(device: AdmitDevice, point: AdmittedPoint, prefix: string, problems: Problem[]): boolean;
}

export type Decoded = { ok: true; value: unknown } | { ok: false; problem: Problem };

export function decodeJson(payload: Buffer): Decoded {
  if (payload.length === 0) return { ok: false, problem: { field: '(message)', rule: 'json', message: 'empty payload: expected a JSON object' } };
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, problem: { field: '(message)', rule: 'json', message: `payload is not valid JSON (${(err as Error).message})` } };
  }
}

export function toMs(ts: number | string): number {
  return typeof ts === 'number' ? ts : Date.parse(ts);
}

function checkTime(tsMs: number, now: number, limits: AdmitLimits, field: string): Problem | undefined {
  if (!Number.isFinite(tsMs)) return { field, rule: 'timestamp', message: `${field} is not a valid date-time` };
  if (tsMs > now + limits.maxClockAheadMs) {
    return { field, rule: 'clock-ahead', message: `${field} is ${Math.round((tsMs - now) / 1000)} s ahead of the platform clock (at most ${Math.round(limits.maxClockAheadMs / 1000)} s allowed): set the device clock (NTP)` };
  }
  if (tsMs < now - limits.maxAgeMs) {
    return { field, rule: 'too-old', message: `${field} is older than the ${Math.round(limits.maxAgeMs / 86_400_000)}-day store-and-forward window` };
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function admitTelemetry(device: AdmitDevice, value: unknown, now: number, limits: AdmitLimits, out: AdmitResult, history?: PointCheck): void {
  const spec = deviceType(device.type);
  const validate = pointValidator(device.type);
  if (!spec || !validate) {
    out.problems.push({ field: '(device)', rule: 'device-type', message: `device type "${device.type}" has no catalogue entry` });
    return;
  }
  let items: unknown[];
  let batch = false;
  if (isObject(value) && 'points' in value) {
    const pts = value.points;
    const extra = Object.keys(value).filter((k) => k !== 'points');
    if (extra.length > 0) {
      out.problems.push({ field: extra[0] as string, rule: 'additionalProperties', message: `a batch has only "points"; remove "${extra.join('", "')}"` });
      return;
    }
    if (!Array.isArray(pts) || pts.length === 0 || pts.length > MAX_BATCH_POINTS) {
      out.problems.push({ field: 'points', rule: 'batch', message: `points must be an array of 1 to ${MAX_BATCH_POINTS} telemetry points` });
      return;
    }
    items = pts;
    batch = true;
  } else {
    items = [value];
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const prefix = batch ? `points[${i}].` : '';
    if (!validate(item)) {
      out.problems.push(...describeErrors(validate.errors, device.type, prefix));
      continue;
    }
    const p = item as { ts: number | string; seq: number; metrics: Record<string, number> };
    const ts = toMs(p.ts);
    const timeProblem = checkTime(ts, now, limits, `${prefix}ts`);
    if (timeProblem) {
      out.problems.push(timeProblem);
      continue;
    }
    const point: AdmittedPoint = { ts, seq: p.seq, metrics: p.metrics };
    if (history && !history.check(device, point, prefix, out.problems)) continue;
    out.points.push(point);
    out.lines.push(telemetryLine(spec.measurement, device.tags, ts, p.seq, p.metrics));
  }
}

/** `history`: the stateful checks of telemetry points (none: the contract alone, as a pure function). */
export function admitMessage(kind: MessageKind, device: AdmitDevice, payload: Buffer, now: number, limits: AdmitLimits, history?: PointCheck): AdmitResult {
  const out: AdmitResult = { lines: [], points: [], problems: [] };
  if (kind === 'errors') {
    out.problems.push({ field: '(topic)', rule: 'topic', message: 'the errors topic is written by the platform only; publish telemetry, state or status' });
    return out;
  }
  const decoded = decodeJson(payload);
  if (!decoded.ok) {
    out.problems.push(decoded.problem);
    return out;
  }
  const value = decoded.value;
  if (kind === 'telemetry') {
    admitTelemetry(device, value, now, limits, out, history);
  } else if (kind === 'state') {
    if (!validateState(value)) {
      out.problems.push(...describeErrors(validateState.errors));
      return out;
    }
    const s = value as StateMessage;
    const ts = toMs(s.ts);
    const timeProblem = checkTime(ts, now, limits, 'ts');
    if (timeProblem) {
      out.problems.push(timeProblem);
      return out;
    }
    out.state = { ts, state: s.state, ...(s.reason ? { reason: s.reason } : {}) };
    out.lines.push(stateLine(device.tags, ts, s.state, s.reason));
  } else {
    if (!validateStatus(value)) {
      out.problems.push(...describeErrors(validateStatus.errors));
      return out;
    }
    out.status = (value as StatusMessage).status;
  }
  return out;
}
