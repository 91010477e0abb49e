// Scenario files (YAML or JSON): which firms take part, their devices (type and count), shifts, publish rates and
// faults. loadScenario() checks a file and says exactly what is wrong where; planScenario() turns a scenario and a
// seed into the device list, the same for the same seed. See simulators/README.md for the format.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { demoFirms } from '../common/demo.ts';
import { usccProblem } from '../common/ids.ts';
import { countyCodes, parkIds, segmentIds } from '../common/places.ts';
import type { NewFirm } from '../common/registry/registry.ts';
import { deviceType } from '../common/contract/catalogue.ts';
import { seededRng, seedFrom, simulatedTypes } from './models.ts';
import { faultPlanFrom, type FaultPlan } from './faults.ts';
import { parseDays, parseHours, parseUtcOffset, type Shift } from './schedule.ts';

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

export interface DeviceGroup {
  type: string;
  /** A number, or [min, max] drawn from the seed. */
  count: number | [number, number];
  location?: string;
  intervalMs?: number;
  /** Shift names; [] = always on. Inherits the firm's shifts when absent. */
  shifts?: string[];
}

/** Where a firm's steam comes from, as the API's energy settings take it (its plant-boundary rule). */
export const STEAM_SOURCES = ['bought', 'own-boiler', 'cogeneration'] as const;
export type SteamSource = (typeof STEAM_SOURCES)[number];

export interface ScenarioFirm {
  firm: NewFirm;
  /** How the file named it: a demo index, a demo id, or "inline". */
  ref: string;
  /** Entered for the firm when it has no steam source yet (an admin's or bureau's choice stays). */
  steamSource?: SteamSource;
  shifts?: string[];
  intervalMs?: number;
  devices: DeviceGroup[];
}

export interface Scenario {
  name: string;
  description: string;
  seed: number;
  idPrefix: string;
  utcOffsetMin: number;
  /** Default telemetry interval and per-type overrides, ms. */
  intervalMs: number;
  typeIntervalsMs: Record<string, number>;
  shifts: Record<string, Shift>;
  /** Shifts of firms that name none ([] = always on). */
  defaultShifts: string[];
  firms: ScenarioFirm[];
  faults: FaultPlan;
  file?: string;
}

export interface PlannedDevice {
  id: string;
  firmId: string;
  type: string;
  name: string;
  location: string;
  intervalMs: number;
  shifts: Shift[];
  /** Seeds of the device's model and of its fault decisions. */
  modelSeed: number;
  faultSeed: number;
  /** Where in its interval the device publishes, so a fleet does not publish all at once. */
  startDelayMs: number;
  /** The device whose topic the foreign-topic fault uses (another device of the same firm when there is one). */
  victimId?: string;
}

export interface Plan {
  scenario: Scenario;
  seed: number;
  firms: NewFirm[];
  /** The steam sources the scenario enters, per firm id. */
  steamSources: Map<string, SteamSource>;
  devices: PlannedDevice[];
}

const TOP_KEYS = ['name', 'description', 'seed', 'idPrefix', 'timezone', 'intervalMs', 'intervals', 'shifts', 'defaultShifts', 'firms', 'faults'];
const FIRM_KEYS = ['firm', 'shifts', 'intervalMs', 'devices', 'steamSource'];
const GROUP_KEYS = ['type', 'count', 'location', 'intervalMs', 'shifts'];
const INLINE_FIRM_KEYS = ['id', 'name', 'county', 'park', 'segment', 'aboveScale', 'employees', 'landMu'];
const MAX_DEVICES = 100_000;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new ScenarioError(`${where}: ${message}`);
}

/** Unknown keys are mistakes (a typo would silently do nothing), except `x-…` keys, free for YAML anchors and notes. */
function checkKeys(o: Obj, known: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k) && !k.startsWith('x-')) fail(`${where}.${k}`, `unknown key; expected one of ${known.join(', ')} (or an x-… key of your own)`);
  }
}

function str(v: unknown, where: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string' || v.trim() === '') fail(where, `must be a non-empty string, got ${JSON.stringify(v)}`);
  if (opts.max && v.length > opts.max) fail(where, `must be at most ${opts.max} characters`);
  return v;
}

function int(v: unknown, where: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(where, `must be a whole number ${lo}–${hi}, got ${JSON.stringify(v)}`);
  return v;
}

function shiftNames(v: unknown, where: string, known: Record<string, Shift>): string[] {
  if (v === 'always') return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) fail(where, `must be a list of shift names (or "always"), got ${JSON.stringify(v)}`);
  return list.map((n, i) => {
    if (typeof n !== 'string') fail(`${where}[${i}]`, `must be a shift name, got ${JSON.stringify(n)}`);
    if (!known[n]) fail(`${where}[${i}]`, `unknown shift "${n}"; shifts defined under "shifts": ${Object.keys(known).join(', ') || '(none)'}`);
    return n;
  });
}

function parseShifts(v: unknown, where: string): Record<string, Shift> {
  if (v === undefined) return {};
  if (!isObj(v)) fail(where, 'must be a mapping of shift name to "HH:MM-HH:MM" or {hours: "HH:MM-HH:MM", days: "mon-sat"}');
  const out: Record<string, Shift> = {};
  for (const [name, s] of Object.entries(v)) {
    const at = `${where}.${name}`;
    if (name === 'always') fail(at, '"always" is reserved (it means no shifts: always on)');
    let hours: unknown = s;
    let days: unknown;
    if (isObj(s)) {
      checkKeys(s, ['hours', 'days'], at);
      hours = s.hours;
      days = s.days;
    }
    if (typeof hours !== 'string') fail(at, `must be "HH:MM-HH:MM" (e.g. "08:00-16:00") or {hours, days}, got ${JSON.stringify(s)}`);
    try {
      const [startMin, endMin] = parseHours(hours);
      const shift: Shift = { name, startMin, endMin: endMin === 0 && startMin === 0 ? 1440 : endMin };
      if (days !== undefined) {
        if (typeof days !== 'string') fail(`${at}.days`, `must be like "mon-sat" or "mon,wed,fri", got ${JSON.stringify(days)}`);
        shift.days = parseDays(days);
      }
      out[name] = shift;
    } catch (err) {
      if (err instanceof ScenarioError) throw err;
      fail(at, (err as Error).message);
    }
  }
  return out;
}

/** A firm described in the file: {id, name, county, park, segment, aboveScale}, optionally employees and landMu. */
function inlineFirm(v: Obj, where: string): NewFirm {
  checkKeys(v, INLINE_FIRM_KEYS, where);
  const id = str(v.id, `${where}.id`) as string;
  const problem = usccProblem(id);
  if (problem) fail(`${where}.id`, `not a valid unified social credit code: ${problem}`);
  const county = str(v.county, `${where}.county`) as string;
  if (!countyCodes.includes(county)) fail(`${where}.county`, `unknown county "${county}"; counties: ${countyCodes.join(', ')}`);
  const park = str(v.park, `${where}.park`) as string;
  if (!parkIds.includes(park)) fail(`${where}.park`, `unknown park "${park}"; parks: ${parkIds.join(', ')}`);
  const segment = str(v.segment, `${where}.segment`) as string;
  if (!segmentIds.includes(segment)) fail(`${where}.segment`, `unknown segment "${segment}"; segments: ${segmentIds.join(', ')}`);
  if (typeof v.aboveScale !== 'boolean') fail(`${where}.aboveScale`, 'must be true or false (规上企业: annual revenue ≥ 20 million yuan)');
  return {
    id, name: str(v.name, `${where}.name`, { max: 200 }) as string, county, park, segment, aboveScale: v.aboveScale,
    employees: v.employees === undefined ? 0 : int(v.employees, `${where}.employees`, 0, 1_000_000),
    landMu: v.landMu === undefined ? 0 : int(v.landMu, `${where}.landMu`, 0, 1_000_000),
    smartFactoryTier: 'none', demo: false,
  };
}

function demoFirmRef(v: unknown, where: string): { firm: NewFirm; ref: string } {
  const demo = demoFirms();
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v >= demo.length) fail(where, `demo firm index must be 0–${demo.length - 1} (common/demo.ts), got ${v}`);
    return { firm: demo[v] as NewFirm, ref: `demo #${v}` };
  }
  if (typeof v === 'string') {
    const f = demo.find((d) => d.id === v);
    if (!f) {
      const problem = usccProblem(v);
      fail(where, problem
        ? `"${v}" is neither a demo firm index nor a unified social credit code (${problem})`
        : `"${v}" is not one of the demo firms in common/demo.ts; describe the firm inline: {id, name, county, park, segment, aboveScale}`);
    }
    return { firm: f, ref: v };
  }
  if (isObj(v)) return { firm: inlineFirm(v, where), ref: 'inline' };
  return fail(where, `must be a demo firm index (0–${demo.length - 1}), a demo firm id, or an inline firm {id, name, county, park, segment, aboveScale}`);
}

function count(v: unknown, where: string): number | [number, number] {
  if (typeof v === 'number') return int(v, where, 0, MAX_DEVICES);
  if (Array.isArray(v) && v.length === 2) {
    const lo = int(v[0], `${where}[0]`, 0, MAX_DEVICES);
    const hi = int(v[1], `${where}[1]`, 0, MAX_DEVICES);
    if (lo > hi) fail(where, `min ${lo} is above max ${hi}`);
    return [lo, hi];
  }
  return fail(where, `must be a whole number or [min, max], got ${JSON.stringify(v)}`);
}

function interval(v: unknown, where: string): number {
  return int(v, where, 50, 86_400_000);
}

function parseTypeIntervals(v: unknown, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (v === undefined) return out;
  if (!isObj(v)) fail(where, 'must map device types to intervals in ms, e.g. {electricity_meter: 5000}');
  for (const [t, ms] of Object.entries(v)) {
    if (!simulatedTypes.includes(t)) fail(`${where}.${t}`, `unknown device type; types: ${simulatedTypes.join(', ')}`);
    out[t] = interval(ms, `${where}.${t}`);
  }
  return out;
}

function parseGroup(g: unknown, where: string, shifts: Record<string, Shift>): DeviceGroup {
  if (!isObj(g)) fail(where, 'must be a mapping {type, count}');
  checkKeys(g, GROUP_KEYS, where);
  const type = str(g.type, `${where}.type`) as string;
  if (!simulatedTypes.includes(type)) {
    const hint = deviceType(type) ? 'it is in the catalogue but has no simulator model' : 'not in the catalogue';
    fail(`${where}.type`, `unknown device type "${type}" (${hint}); types: ${simulatedTypes.join(', ')}`);
  }
  const group: DeviceGroup = { type, count: count(g.count, `${where}.count`) };
  if (g.location !== undefined) group.location = str(g.location, `${where}.location`, { max: 200 }) as string;
  if (g.intervalMs !== undefined) group.intervalMs = interval(g.intervalMs, `${where}.intervalMs`);
  if (g.shifts !== undefined) group.shifts = shiftNames(g.shifts, `${where}.shifts`, shifts);
  return group;
}

/** One entry of `firms`; `seen` (firm id → where it was listed) refuses a firm listed twice. */
function parseFirm(f: unknown, at: string, shifts: Record<string, Shift>, seen: Map<string, string>): ScenarioFirm {
  if (!isObj(f)) fail(at, 'must be a mapping with "firm" and optionally "devices", "shifts", "intervalMs"');
  checkKeys(f, FIRM_KEYS, at);
  if (f.firm === undefined) fail(`${at}.firm`, 'is required: a demo firm index, a demo firm id or an inline firm');
  const { firm, ref } = demoFirmRef(f.firm, `${at}.firm`);
  const dup = seen.get(firm.id);
  if (dup) fail(`${at}.firm`, `firm ${firm.id} is already listed at ${dup}; list each firm once`);
  seen.set(firm.id, at);
  const devices = f.devices === undefined ? [] : f.devices;
  if (!Array.isArray(devices)) fail(`${at}.devices`, 'must be a list of {type, count}');
  const sf: ScenarioFirm = { firm, ref, devices: devices.map((g: unknown, j: number) => parseGroup(g, `${at}.devices[${j}]`, shifts)) };
  if (f.shifts !== undefined) sf.shifts = shiftNames(f.shifts, `${at}.shifts`, shifts);
  if (f.intervalMs !== undefined) sf.intervalMs = interval(f.intervalMs, `${at}.intervalMs`);
  if (f.steamSource !== undefined) {
    if (!(STEAM_SOURCES as readonly unknown[]).includes(f.steamSource)) fail(`${at}.steamSource`, `must be one of ${STEAM_SOURCES.join(', ')}`);
    sf.steamSource = f.steamSource as SteamSource;
  }
  return sf;
}

function parseTimezone(v: unknown, where: string): number {
  if (v === undefined) return 480;
  const text = str(v, where) as string;
  try {
    return parseUtcOffset(text);
  } catch (err) {
    return fail(where, (err as Error).message);
  }
}

/** Checks a parsed scenario document; `where` names the file in messages. */
export function parseScenario(doc: unknown, where = 'scenario'): Scenario {
  if (!isObj(doc)) fail(where, 'must be a mapping with at least "name" and "firms"');
  checkKeys(doc, TOP_KEYS, where);
  const name = str(doc.name, `${where}.name`, { max: 100 }) as string;
  const seed = doc.seed === undefined ? 1 : int(doc.seed, `${where}.seed`, 0, 2 ** 32 - 1);
  const idPrefix = doc.idPrefix === undefined ? 'sim' : (str(doc.idPrefix, `${where}.idPrefix`) as string);
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(idPrefix)) fail(`${where}.idPrefix`, `must be 1–16 lower-case letters, digits or "-" (device ids are lower case), got "${idPrefix}"`);
  const utcOffsetMin = parseTimezone(doc.timezone, `${where}.timezone`);
  const intervalMs = doc.intervalMs === undefined ? 1000 : interval(doc.intervalMs, `${where}.intervalMs`);
  const typeIntervalsMs = parseTypeIntervals(doc.intervals, `${where}.intervals`);
  const shifts = parseShifts(doc.shifts, `${where}.shifts`);
  const defaultShifts = doc.defaultShifts === undefined ? [] : shiftNames(doc.defaultShifts, `${where}.defaultShifts`, shifts);
  if (!Array.isArray(doc.firms) || doc.firms.length === 0) fail(`${where}.firms`, 'must be a non-empty list of firms');
  const seen = new Map<string, string>();
  const firms = doc.firms.map((f: unknown, i: number) => parseFirm(f, `${where}.firms[${i}]`, shifts, seen));
  let faults: FaultPlan;
  try {
    faults = faultPlanFrom(doc.faults, `${where}.faults`);
  } catch (err) {
    throw new ScenarioError((err as Error).message);
  }
  const description = doc.description === undefined ? '' : (str(doc.description, `${where}.description`) as string);
  return { name, description, seed, idPrefix, utcOffsetMin, intervalMs, typeIntervalsMs, shifts, defaultShifts, firms, faults };
}

/** Reads and checks a scenario file (.yaml, .yml or .json). */
export function loadScenario(file: string): Scenario {
  const label = path.basename(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`${file}: cannot read the scenario file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  if (/\.json$/i.test(file)) {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ScenarioError(`${label}: not valid JSON: ${(err as Error).message}`);
    }
  } else {
    try {
      doc = YAML.parse(text);
    } catch (err) {
      throw new ScenarioError(`${label}: not valid YAML: ${(err as Error).message.trim()}`);
    }
  }
  const s = parseScenario(doc, label);
  s.file = file;
  return s;
}

/** The shipped scenarios, by name: `--scenario dehong-demo` finds simulators/scenarios/dehong-demo.yaml. */
export function resolveScenarioPath(nameOrFile: string): string {
  if (fs.existsSync(nameOrFile)) return nameOrFile;
  const dir = fileURLToPath(new URL('./scenarios/', import.meta.url));
  for (const ext of ['.yaml', '.yml', '.json']) {
    const p = path.join(dir, nameOrFile + ext);
    if (fs.existsSync(p)) return p;
  }
  return nameOrFile;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The device list of a scenario for a seed: deterministic (same scenario + seed → same list, same order). */
export function planScenario(s: Scenario, seed = s.seed): Plan {
  const rng = seededRng(seedFrom(seed, 'plan'));
  const devices: PlannedDevice[] = [];
  const ids = new Set<string>();
  for (const f of s.firms) {
    const firmDevices: PlannedDevice[] = [];
    for (const g of f.devices) {
      const n = typeof g.count === 'number' ? g.count : g.count[0] + Math.floor(rng() * (g.count[1] - g.count[0] + 1));
      const already = firmDevices.filter((d) => d.type === g.type).length;
      const spec = deviceType(g.type);
      const shiftList = (g.shifts ?? f.shifts ?? s.defaultShifts).map((name) => s.shifts[name] as Shift);
      const intervalMs = g.intervalMs ?? f.intervalMs ?? s.typeIntervalsMs[g.type] ?? s.intervalMs;
      for (let k = 1; k <= n; k++) {
        const num = already + k;
        const id = `${s.idPrefix}-${f.firm.id.toLowerCase()}-${g.type.replace(/_/g, '-')}-${pad(num, 3)}`;
        if (ids.has(id)) throw new ScenarioError(`device id ${id} would be used twice; list each device type once per firm or use a different idPrefix`);
        ids.add(id);
        firmDevices.push({
          id, firmId: f.firm.id, type: g.type, name: `模拟 ${spec?.zh ?? g.type} ${pad(num, 3)}`, location: g.location ?? '',
          intervalMs, shifts: shiftList, modelSeed: seedFrom(seed, id, 'model'), faultSeed: seedFrom(seed, id, 'faults'),
          startDelayMs: Math.floor(rng() * intervalMs),
        });
      }
    }
    firmDevices.forEach((d, i) => {
      if (firmDevices.length > 1) d.victimId = (firmDevices[(i + 1) % firmDevices.length] as PlannedDevice).id;
    });
    devices.push(...firmDevices);
  }
  if (devices.length > MAX_DEVICES) throw new ScenarioError(`${s.name}: ${devices.length} devices is more than one process runs (${MAX_DEVICES})`);
  const steamSources = new Map(s.firms.flatMap((f) => (f.steamSource ? [[f.firm.id, f.steamSource] as const] : [])));
  return { scenario: s, seed, firms: s.firms.map((f) => f.firm), steamSources, devices };
}

export interface PlanSummary {
  firms: number;
  firmsWithDevices: number;
  aboveScale: number;
  aboveScaleWithDevices: number;
  devices: number;
  byType: Record<string, number>;
  byCounty: Record<string, number>;
  /** Telemetry messages per second when every device publishes at its interval. */
  messagesPerSecond: number;
}

export function summarisePlan(plan: Plan): PlanSummary {
  const withDevices = new Set(plan.devices.map((d) => d.firmId));
  const county = new Map(plan.firms.map((f) => [f.id, f.county]));
  const byType: Record<string, number> = {};
  const byCounty: Record<string, number> = {};
  let rate = 0;
  for (const d of plan.devices) {
    byType[d.type] = (byType[d.type] ?? 0) + 1;
    const c = county.get(d.firmId) ?? '?';
    byCounty[c] = (byCounty[c] ?? 0) + 1;
    rate += 1000 / d.intervalMs;
  }
  return {
    firms: plan.firms.length,
    firmsWithDevices: withDevices.size,
    aboveScale: plan.firms.filter((f) => f.aboveScale).length,
    aboveScaleWithDevices: plan.firms.filter((f) => f.aboveScale && withDevices.has(f.id)).length,
    devices: plan.devices.length,
    byType,
    byCounty,
    messagesPerSecond: Math.round(rate * 10) / 10,
  };
}
