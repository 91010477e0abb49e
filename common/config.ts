// The one place that reads the environment: every process loads its configuration here once and passes it
// down; library code takes options. Every variable has a documented default (README "Configuration",
// docs/monitoring.md, ingest/subscriber-main.ts); a bad value stops start-up with a message that names the variable.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dataDirLayout } from './data-dir.ts';
import { MINUTE } from './time.ts';

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  httpPort: number;
  httpHost: string;
  mqttPort: number;
  mqttHost: string;
  dataDir: string;
  /** Unset = start a private influxd under dataDir. */
  influxUrl: string | undefined;
  influxPort: number;
  influxDb: string;
  influxUser: string | undefined;
  influxPassword: string | undefined;
  /** InfluxDB 2.x/3.x token (sent as `Authorization: Token`). */
  influxToken: string | undefined;
  /** The influxd binary for the private InfluxDB (INFLUXD_BIN); unset = Debian's. */
  influxdBin: string | undefined;
  simulate: number;
  /** Scenario `npm start` simulates: a name in simulators/scenarios/ or a file. */
  simulateScenario: string;
  simulateIntervalMs: number;
  adminToken: string | undefined;
  logLevel: string;
  /** Milliseconds a device clock may run ahead of ours before a message is rejected. */
  maxClockAheadMs: number;
  /** Oldest device timestamp accepted (store-and-forward window), in days. */
  maxAgeDays: number;
  /** Window of the "connected to the platform" KPI, in days. */
  connectedWindowDays: number;
  /** Largest number of spool rows the ingest writer sends in one InfluxDB write. */
  writeBatchRows: number;
  /** TLS: certificate and key files (PEM). When set, MQTT over TLS listens on mqttsPort and the API speaks HTTPS. */
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** The CA devices trust, only shown by `npm start` (TLS_CA_FILE). */
  tlsCaFile: string | undefined;
  /** `npm start` creates a development CA and certificate under DATA_DIR/tls (TLS_SELF_SIGNED=1). */
  tlsSelfSigned: boolean;
  mqttsPort: number;
  /** Limits against bad clients. */
  maxPayloadBytes: number;
  /** Largest MQTT packet a logged-in client may announce; larger closes the connection before it is read. */
  maxPacketBytes: number;
  /** Seconds a connection has to send a complete CONNECT. */
  connectTimeoutS: number;
  /** Connections not yet logged in, per source address and in total; more are closed at once. */
  preLoginPerAddress: number;
  preLoginTotal: number;
  /** Addresses whose PROXY protocol line (the API's WebSocket bridge) the broker believes. */
  mqttTrustedProxies: string[];
  maxTopicLevels: number;
  maxInflight: number;
  connectsPerMinute: number;
  authFailuresPerMinute: number;
  apiRequestsPerMinute: number;
  /** Unknown API tokens per client address and minute (REST and socket.io); then 429 for the rest of the minute. */
  apiAuthFailuresPerMinute: number;
  /** Spool rows at which admission stops acknowledging (backpressure). */
  spoolMaxRows: number;
  deadLettersPerMinute: number;
  deadLetterRetentionDays: number;
  /** Cluster mode (docs/scaling.md): Redis shared by every broker and API node; unset = embedded, one node. */
  redisUrl: string | undefined;
  /** This node's name in the cluster (Aedes broker id prefix, service client ids); default hostname-pid. */
  nodeId: string;
  /** Broker processes sharing the MQTT port on this node (node:cluster); more than 1 needs REDIS_URL. */
  brokerProcesses: number;
  /** Shared PostgreSQL registry (postgres://…); unset = SQLite in DATA_DIR. */
  registryUrl: string | undefined;
  /** Host name devices are told to connect to (MQTT_PUBLIC_HOST); undefined: the one the API was reached under. */
  mqttPublicHost: string | undefined;
  /** Where the API reaches the broker (live feed, control, WebSocket bridge). */
  mqttInternalUrl: string;
  /** V8 heap cap of the broker process `npm start` runs, in MB (0 = Node's default; undefined: sized for the fleet). */
  brokerMaxHeapMb: number | undefined;
  monitoring: MonitoringConfig;
}

/** The monitoring features' variables (docs/monitoring.md); run-time settings live in the monitoring database. */
export interface MonitoringConfig {
  /** SQLite file: MONITORING_DB, else DATA_DIR/monitoring.db. */
  file: string;
  liveWindowMs: number;
  rollupIntervalMs: number;
  offlineCheckMs: number;
  offlineAfterMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function num(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(name, `expected a number, got "${raw}"`);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function flag(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').trim();
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(|0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected 1, true or yes (or 0, false, no), got "${raw}"`);
}

function text(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function port(env: Env, name: string, def: number): number {
  return int(env, name, def, 0, 65535);
}

function url(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}" (expected e.g. http://127.0.0.1:8086)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(name, `must be http:// or https://, got "${u.protocol}"`);
  return raw.replace(/\/+$/, '');
}

function schemeUrl(env: Env, name: string, schemes: readonly string[], example: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: "${raw}" (expected e.g. ${example})`);
  }
  if (!schemes.includes(u.protocol)) throw new ConfigError(name, `must start with ${schemes.map((x) => `${x}//`).join(' or ')}, got "${u.protocol}" (e.g. ${example})`);
  return raw;
}

function word(env: Env, name: string, def: string, pattern: RegExp, what: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!pattern.test(raw)) throw new ConfigError(name, `${what}, got "${raw}"`);
  return raw;
}

function addressList(env: Env, name: string, def: string[]): string[] {
  const raw = text(env, name);
  if (raw === undefined) return def;
  const list = raw.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const bad = list.find((a) => net.isIP(a) === 0);
  if (bad !== undefined) throw new ConfigError(name, `expected IP addresses separated by commas, got "${bad}"`);
  return list;
}

const MQTT_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'] as const;

export function loadConfig(env: Env = process.env): Config {
  const adminToken = env.ADMIN_TOKEN === '' ? undefined : env.ADMIN_TOKEN;
  if ((env.TLS_CERT_FILE || '') !== '' && (env.TLS_KEY_FILE || '') === '') throw new ConfigError('TLS_KEY_FILE', 'is needed when TLS_CERT_FILE is set');
  if ((env.TLS_KEY_FILE || '') !== '' && (env.TLS_CERT_FILE || '') === '') throw new ConfigError('TLS_CERT_FILE', 'is needed when TLS_KEY_FILE is set');
  if (adminToken !== undefined && adminToken.length < 16) throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  const redisUrl = schemeUrl(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://127.0.0.1:6379');
  const brokerProcesses = int(env, 'BROKER_PROCESSES', 1, 1, 256);
  // Without Redis, a message for a device on another process (errors report, control) would never reach it.
  if (brokerProcesses > 1 && !redisUrl) throw new ConfigError('BROKER_PROCESSES', `${brokerProcesses} processes need REDIS_URL (a shared emitter and session store); set REDIS_URL or use 1`);
  const mqttPort = port(env, 'MQTT_PORT', 1883);
  const dataDir = path.resolve(text(env, 'DATA_DIR') ?? './data');
  // A packet must have room for the largest payload and its topic, or the payload-size rule could never report.
  const maxPayloadBytes = int(env, 'MAX_PAYLOAD_BYTES', 256 * 1024, 64, 64 * 1024 * 1024);
  return {
    httpPort: port(env, 'HTTP_PORT', 8080),
    httpHost: word(env, 'HTTP_HOST', '0.0.0.0', /^[\w.:-]+$/, 'expected a host name or address'),
    mqttPort,
    mqttHost: word(env, 'MQTT_HOST', '0.0.0.0', /^[\w.:-]+$/, 'expected a host name or address'),
    dataDir,
    influxUrl: url(env, 'INFLUX_URL'),
    influxPort: port(env, 'INFLUX_PORT', 8086),
    influxDb: word(env, 'INFLUX_DB', 'dehong', /^[A-Za-z_][\w-]{0,63}$/, 'expected a database name of letters, digits, _ and -'),
    influxUser: text(env, 'INFLUX_USER'),
    influxPassword: text(env, 'INFLUX_PASSWORD'),
    influxToken: text(env, 'INFLUX_TOKEN'),
    influxdBin: text(env, 'INFLUXD_BIN'),
    simulate: int(env, 'SIMULATE', 12, 0, 100000),
    simulateScenario: text(env, 'SIMULATE_SCENARIO') ?? 'dehong-demo',
    simulateIntervalMs: int(env, 'SIMULATE_INTERVAL_MS', 1000, 10, 3600000),
    adminToken,
    logLevel: word(env, 'LOG_LEVEL', 'info', /^(fatal|error|warn|info|debug|trace|silent)$/, 'expected fatal, error, warn, info, debug, trace or silent'),
    maxClockAheadMs: int(env, 'MAX_CLOCK_AHEAD_MS', 5 * 60_000, 0, 86_400_000),
    maxAgeDays: int(env, 'MAX_AGE_DAYS', 30, 1, 3650),
    connectedWindowDays: int(env, 'CONNECTED_WINDOW_DAYS', 30, 1, 3650),
    writeBatchRows: int(env, 'WRITE_BATCH_ROWS', 2000, 1, 100000),
    tlsCertFile: file(env, 'TLS_CERT_FILE'),
    tlsKeyFile: file(env, 'TLS_KEY_FILE'),
    tlsCaFile: text(env, 'TLS_CA_FILE'),
    tlsSelfSigned: flag(env, 'TLS_SELF_SIGNED'),
    mqttsPort: port(env, 'MQTTS_PORT', 8883),
    maxPayloadBytes,
    maxPacketBytes: int(env, 'MAX_PACKET_BYTES', Math.max(1024 * 1024, maxPayloadBytes + 64 * 1024), maxPayloadBytes + 1024, 256 * 1024 * 1024),
    connectTimeoutS: int(env, 'CONNECT_TIMEOUT_S', 10, 1, 300),
    preLoginPerAddress: int(env, 'PRELOGIN_CONNECTIONS_PER_ADDRESS', 100, 1, 1_000_000),
    preLoginTotal: int(env, 'PRELOGIN_CONNECTIONS', 1000, 1, 10_000_000),
    mqttTrustedProxies: addressList(env, 'MQTT_TRUSTED_PROXIES', ['127.0.0.1', '::1']),
    maxTopicLevels: int(env, 'MAX_TOPIC_LEVELS', 8, 5, 100),
    maxInflight: int(env, 'MAX_INFLIGHT', 1000, 1, 1_000_000),
    connectsPerMinute: int(env, 'CONNECTS_PER_MINUTE', 600, 1, 10_000_000),
    authFailuresPerMinute: int(env, 'AUTH_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
    apiRequestsPerMinute: int(env, 'API_REQUESTS_PER_MINUTE', 1200, 1, 10_000_000),
    apiAuthFailuresPerMinute: int(env, 'API_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    spoolMaxRows: int(env, 'SPOOL_MAX_ROWS', 5_000_000, 0, 1_000_000_000),
    deadLettersPerMinute: int(env, 'DEAD_LETTERS_PER_MINUTE', 60, 1, 1_000_000),
    deadLetterRetentionDays: int(env, 'DEAD_LETTER_RETENTION_DAYS', 30, 1, 3650),
    redisUrl,
    nodeId: word(env, 'NODE_ID', `${os.hostname()}-${process.pid}`.replace(/[^\w.-]/g, '_').slice(0, 48), /^[\w.-]{1,48}$/, 'expected 1-48 letters, digits, _, . or -'),
    brokerProcesses,
    registryUrl: schemeUrl(env, 'REGISTRY_URL', ['postgres:', 'postgresql:'], 'postgres://user:password@127.0.0.1:5432/dehong'),
    mqttPublicHost: word(env, 'MQTT_PUBLIC_HOST', '', /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/, 'expected a host name or IPv4 address without scheme or port, e.g. iot.example.cn') || undefined,
    mqttInternalUrl: schemeUrl(env, 'MQTT_INTERNAL_URL', MQTT_SCHEMES, 'mqtt://127.0.0.1:1883') ?? `mqtt://127.0.0.1:${mqttPort}`,
    brokerMaxHeapMb: brokerMaxHeapMb(env),
    monitoring: monitoringConfig(env, dataDir),
  };
}

/**
 * BROKER_MAX_HEAP_MB of the environment a broker process is started with (scripts/launch.ts); undefined when not
 * set: the launcher then sizes the heap for the registry's fleet (brokerHeapForFleet).
 */
export function brokerMaxHeapMb(env: Env): number | undefined {
  const v = int(env, 'BROKER_MAX_HEAP_MB', -1, 0, 1_048_576);
  return v === -1 ? undefined : v;
}

function monitoringConfig(env: Env, dataDir: string): MonitoringConfig {
  const file = text(env, 'MONITORING_DB');
  return {
    file: file ? path.resolve(file) : dataDirLayout(dataDir).monitoring,
    liveWindowMs: num(env, 'ENERGY_LIVE_WINDOW_S', 300, 5, 86_400) * 1000,
    rollupIntervalMs: num(env, 'ROLLUP_INTERVAL_S', 120, 5, 3600) * 1000,
    offlineCheckMs: num(env, 'OFFLINE_CHECK_S', 60, 5, 3600) * 1000,
    offlineAfterMs: num(env, 'STATE_UNKNOWN_AFTER_MIN', 10, 1, 1440) * MINUTE,
  };
}

function file(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const p = path.resolve(raw);
  if (!fs.existsSync(p)) throw new ConfigError(name, `file not found: ${p}`);
  return p;
}

/** The standalone MQTT-subscriber front-end's own variables (documented in ingest/subscriber-main.ts). */
export interface SubscriberConfig {
  url: string;
  clientId: string;
  /** Topic filters; undefined = the subscriber's defaults. */
  filters: string[] | undefined;
  /** $share group every filter is put under; undefined = plain subscriptions. */
  shareGroup: string | undefined;
  connections: number;
  username: string | undefined;
  password: string | undefined;
  /** Spool file; undefined = DATA_DIR/spool.db. */
  spoolFile: string | undefined;
}

export function loadSubscriberConfig(env: Env = process.env): SubscriberConfig {
  const url = schemeUrl(env, 'SUBSCRIBER_MQTT_URL', MQTT_SCHEMES, 'mqtt://broker.example:1883') ?? 'mqtt://127.0.0.1:1883';
  const clientId = text(env, 'SUBSCRIBER_CLIENT_ID') ?? `dh-ingest-${os.hostname()}`;
  if (clientId.length > 64) throw new ConfigError('SUBSCRIBER_CLIENT_ID', 'at most 64 characters');
  const rawTopics = text(env, 'SUBSCRIBER_TOPICS');
  const filters = rawTopics === undefined ? undefined : rawTopics.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (filters?.length === 0) throw new ConfigError('SUBSCRIBER_TOPICS', 'no topic filter given');
  const shareGroup = text(env, 'SUBSCRIBER_SHARE_GROUP');
  // A $share group name is one topic level without wildcards.
  if (shareGroup !== undefined && !/^[^/+#$]+$/.test(shareGroup)) throw new ConfigError('SUBSCRIBER_SHARE_GROUP', `share group "${shareGroup}" must not contain "/", "+", "#" or "$"`);
  const connections = int(env, 'SUBSCRIBER_CONNECTIONS', 1, 1, 64);
  // Two plain subscriptions of one filter would each get every message: only a share group splits them.
  const shared = shareGroup !== undefined || (filters !== undefined && filters.every((t) => t.startsWith('$share/')));
  if (connections > 1 && !shared) throw new ConfigError('SUBSCRIBER_CONNECTIONS', 'more than one connection needs SUBSCRIBER_SHARE_GROUP (or $share/ filters)');
  return {
    url, clientId, filters, shareGroup, connections,
    username: text(env, 'SUBSCRIBER_USERNAME'), password: text(env, 'SUBSCRIBER_PASSWORD'), spoolFile: text(env, 'SUBSCRIBER_SPOOL_FILE'),
  };
}

/** `load()`'s configuration, or the error printed and exit 2: used by every process' main. */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

export function configOrExit(env: Env = process.env): Config {
  return orExit(() => loadConfig(env));
}
