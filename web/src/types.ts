// The parts of the API's responses the dashboard reads (see /openapi.json for the full schemas).
export type Carrier = 'electricity' | 'gas' | 'steam' | 'water';
export const CARRIERS: readonly Carrier[] = ['electricity', 'gas', 'steam', 'water'];
export type Output = 'fabric' | 'yarn' | 'pieces';
export const OUTPUTS: readonly Output[] = ['fabric', 'yarn', 'pieces'];
export type BasisId = 'calorific' | 'primary';
export const STATES = ['running', 'idle', 'setup', 'maintenance', 'fault', 'stopped', 'unknown'] as const;
export type StateKey = (typeof STATES)[number];

export interface Firm {
  id: string; name: string; county: string; park: string; segment: string;
  aboveScale: boolean; employees: number; landMu: number; smartFactoryTier: string; demo: boolean; createdAt: number;
}

export interface Device {
  id: string; firmId: string; type: string; name: string; location: string; createdAt: number;
  lastSeenAt: number | null; lastTelemetryAt: number | null; online: boolean; reportedStatus: string | null;
  seqReceived: number; seqExpected: number; clockSkewMs: number | null;
}

export interface ProvisionedDevice extends Device {
  token: string;
  mqtt: { username: string; clientId: string; topicPrefix: string };
  connect: DeviceConnection;
}

/** GET /devices/{id}/connection: where the device connects, the CA to trust (TLS), its topics. */
export interface DeviceConnection {
  deviceId: string;
  urls: Array<{ transport: 'mqtt' | 'mqtts' | 'ws' | 'wss'; url: string; host: string; port: number }>;
  caUrl: string | null;
  publish: { telemetry: string; state: string; status: string };
  subscribe: { errors: string };
}

export interface DeviceStatus {
  id: string; online: boolean; reportedStatus: string | null; lastSeenAt: number | null; lastTelemetryAt: number | null;
  today: { day: string; accepted: number; rejected: number };
  completeness: { received: number; expected: number; missing: number; ratio: number | null };
  clockSkewMs: number | null;
}

export interface MetricSpec { name: string; unit: string; min: number; max: number; counter: boolean; zh: string; en: string }
export interface DeviceTypeSpec { type: string; zh: string; en: string; measurement: string; metrics: MetricSpec[] }
export interface Catalogue { contractVersion: number; topics: string; states: string[]; deviceTypes: DeviceTypeSpec[] }

export interface Places {
  counties: Array<{ code: string; zh: string; en: string }>;
  parks: Array<{ id: string; county: string; zh: string; en: string; role: string }>;
  segments: Array<{ id: string; zh: string; en: string }>;
}

export interface TelemetrySeries { deviceId: string; metric: string; unit: string; from: number; to: number; points: Array<{ ts: number; value: number }> }
export interface DeviceLatest { deviceId: string; values: Array<{ metric: string; unit: string; ts: number; value: number }> }

export interface DeadLetter { id: number; receivedAt: number; firmId: string; deviceId: string; topic: string; field: string; rule: string; reason: string; payload: string }

interface ShareRow { aboveScaleFirms: number; connected: number; share: number }
export interface ConnectedShare extends ShareRow {
  target: number; targetYear: number; windowDays: number; asOf: number; definition: string;
  byCounty: Array<ShareRow & { id: string; name: string }>;
  byPark?: Array<ShareRow & { id: string; name: string; county: string }>;
  bySegment?: Array<ShareRow & { id: string; name: string }>;
  trend?: Array<{ month: string; share: number; connected: number; aboveScaleFirms: number; current: boolean }>;
  projection?: { method: string; month: string; share: number | null; onTrack: boolean | null; reachesTargetIn: string | null; reason: string | null };
}
/** GET /kpi/platform-connection: the older shape (byCounty rows carry `county`, not `id`). */
export interface KpiPlatformConnection extends ShareRow {
  target: number; targetYear: number; windowDays: number; asOf: number; definition: string;
  byCounty: Array<ShareRow & { county: string; name: string }>;
}

export interface PlanTarget {
  id: string; zh: string; en: string; quote: string; target: number; unit: string; period: string; source: string; enterable: boolean;
  year: number; value: number | null; progress: number | null; met: boolean | null; valueSource: string;
  enteredBy: string | null; enteredAt: number | null; explanation: string;
}
export interface PlanTargets { year: number; asOf: number; targets: PlanTarget[] }

export interface Basis {
  id: BasisId; zh: string; en: string; standard: string; year: number;
  factors: Record<Carrier, { kgcePerUnit: number; unit: string }>; includesWater: boolean; note: string;
}
export interface CarrierFigure { unit: string; measured: number; counted: number; kgce: number }
export interface Figures {
  carriers: Record<Carrier, CarrierFigure>; totalKgce: number; totalTce: number;
  boundary: { steamSource: string | null; firms: Record<string, number> };
  outputs: Record<Output, { unit: string; value: number }>;
}
export interface EnergySummary extends Figures {
  scope: { kind: string; id: string }; from: number; to: number; source: string; basis: Basis; firms: number; resets: number;
  breakdown: Array<Figures & { key: string; name: string }>; notes: string[];
}
export interface EnergyLive {
  scope: { kind: string; id: string }; asOf: number; windowMs: number; basis: Basis; devices: number;
  carriers: Record<Carrier, { unit: string; measured: number; counted: number; kgcePerHour: number }>; totalKgcePerHour: number;
}
export interface IntensityRow {
  key: string; name: string; segment: string | null;
  kgcePer100m: number | null; waterTPer100m: number | null; ringFrameKwhPerKg: number | null;
  dyeingBenchmark: { applies: boolean; row: string | null; kgcePer100mMax: number | null; waterTPer100mMax: number | null; kgceOk: boolean | null; waterOk: boolean | null };
  spinningReference: { kwhPerKg: number; ratio: number } | null;
}
export interface Intensity {
  from: number; to: number; source: string; basis: Basis;
  benchmarks: { dyeingKgcePer100m: number; dyeingWaterTPer100m: number; silkKgcePer100m: number; silkWaterTPer100m: number; ringSpinningKwhPerKg: number };
  rows: IntensityRow[];
}

export interface MonitoringOverview {
  scope: { kind: string; id: string }; asOf: number; firms: number; devices: number; online: number;
  states: Record<string, number>; alarms: { active: number; acknowledged: number; critical: number };
  powerKw: number; kgcePerHour: number; basis: string;
}

export type Times = Record<StateKey, number>;
interface OeeFields {
  observedMs: number; plannedMs: number; runningMs: number;
  availability: number | null; performance: number | null; quality: number | null; oee: number | null; oeeFormula: string; loomEfficiency: number | null;
  speedRatio: number | null; nominalExceeded: boolean; loomEfficiencyScheduled: number | null;
}
export interface OeeReport {
  from: number; to: number; by: string;
  periods: Array<{ id: string; start: number; end: number; firm: OeeFields & { times: Times }; devices: Array<OeeFields & { deviceId: string; name: string; type: string; times: Times }> }>;
}
export interface StatesReport {
  from: number; to: number; by: string;
  periods: Array<{ id: string; start: number; end: number; firm: Times; devices: Array<{ deviceId: string; times: Times }> }>;
}

export interface Alarm {
  id: number; ruleId: number; ruleName: string; kind: string; severity: string; firmId: string; deviceId: string; deviceType: string;
  metric: string | null; message: string; value: number | null; raisedAt: number; ackedAt: number | null; ackedBy: string | null;
  clearedAt: number | null; status: string;
  /** The text in both languages (the reader's is shown). */
  messages?: { zh: string; en: string };
}
export interface AlarmEvent { event: 'raised' | 'acknowledged' | 'cleared'; alarm: Alarm }

export interface LiveDevice {
  deviceId: string; firmId: string; county: string; park: string; segment: string; type: string; ts: number;
  metrics: Record<string, number>; state?: string;
}
export interface LiveSummary { at: number; devices: LiveDevice[] }

/** socket.io 'aggregate' (analytics/live/live-rooms.ts): one live room's totals, at most once a second. */
export interface RoomAggregate {
  room: string; at: number; devices: number; reporting: number; firms: number;
  states: Record<StateKey, number>;
  /** kW, m³/h, kg/h, m³/h, meters first per firm. */
  rates: Record<Carrier, number>;
  device?: LiveDevice;
}
export type RoomAck = { ok: true; room: string } | { ok: false; error: string };

/** GET /energy/series: a scope's energy per interval (15m, 1h, 1d local days). */
export interface EnergySeries {
  scope: { kind: string; id: string }; from: number; to: number; intervalMs: number; source: string; basis: Basis;
  points: Array<{ time: number; carriers: Record<Carrier, { measured: number; counted: number; kgce: number }>; totalKgce: number }>;
  provisional: { until: number | null; dirtyQuarters: number; firms: number } | null;
}
