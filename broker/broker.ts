// The MQTT broker: Aedes with our hooks, one module each. authenticate (authentication.ts) = device id + token
// against the registry (clientId must be the device id); authorizePublish (publish.ts) = topic check + admission
// (validate, group-commit into the spool) before the PUBACK; authorizeSubscribe (subscribe.ts); per-address
// throttles in preConnect (limits.ts); packet sizes, connections waiting to log in and the real address behind
// the WebSocket bridge at the socket, before Aedes (connection-gate.ts). Why the hooks are shaped as they are:
// - Rejected publishes are acked and dropped and reported on the device's errors topic, because refusing a QoS1
//   publish makes MQTT.js resend it forever (docs/pitfalls.md); only a spool failure withholds the PUBACK.
// - authenticate stores the client's identity in a WeakMap keyed by the client object; the other hooks only read
//   it, so the registry is asked once per connection (and its answer cached across reconnects).
// - The hooks need the Aedes instance (its clients, its publish for error reports), so the broker is constructed
//   first, the hooks installed on it, and only then does it start (listen()).
// - The hooks are arrow-function properties of long-lived objects: Aedes calls them unbound, and the publish path
//   allocates no closure beyond admission's completion callback.
// The same hooks serve every transport (TCP, TLS, and WebSocket through the API's bridge).
import net from 'node:net';
import tls from 'node:tls';
import { Aedes } from 'aedes';
import { LIVE_TOPIC } from '../common/contract/topics.ts';
import type { Registry } from '../common/registry/registry.ts';
import type { Logger } from '../common/log.ts';
import { Admission, type AdmissionOptions, type SyncSpool } from '../common/admission/admission.ts';
import { Authenticator, clientsOf, type Identities } from './authentication.ts';
import { listenForControl } from './control.ts';
import { ConnectionGate, clipForLog } from './connection-gate.ts';
import { CREDENTIAL_CHECK_MS, CredentialCheck } from './credential-check.ts';
import { AddressThrottle, DEFAULT_CLIENT_LIMITS, type ClientLimits } from './limits.ts';
import { Presence } from './presence.ts';
import { PublishGate, skipUnrelayed } from './publish.ts';
import { subscribeAuthorizer } from './subscribe.ts';
import { DEFAULT_HOST_ID, SparkplugHost, type SparkplugHostOptions } from './sparkplug/host.ts';

export type { ClientLimits } from './limits.ts';

export interface BrokerOptions {
  registry: Registry;
  spool: SyncSpool;
  serviceSecret: string;
  limits: { maxClockAheadMs: number; maxAgeMs: number };
  clientLimits?: Partial<ClientLimits>;
  admission?: AdmissionOptions;
  log: Logger;
  /** How long a verified device credential is trusted without asking the registry again. */
  authCacheMs?: number;
  seenFlushMs?: number;
  /** How often connected devices' credentials and own counter rates are re-read from the registry. */
  credentialCheckMs?: number;
  /**
   * Cluster mode (broker/cluster.ts): a shared emitter (mqemitter-redis), a shared persistence
   * (aedes-persistence-redis), this broker's unique id, and a heartbeat short enough that another node
   * publishes the wills of a dead node's devices soon. Absent = embedded, in memory, one process.
   */
  cluster?: { mq: unknown; persistence: unknown; id: string; heartbeatIntervalMs?: number };
  /** Sparkplug B host: its id (STATE topic spBv1.0/STATE/{id}, default DEFAULT_HOST_ID) and timings. */
  sparkplug?: Partial<Pick<SparkplugHostOptions, 'hostId' | 'rebirthIntervalMs' | 'mappingsTtlMs'>>;
}

export interface DehongBroker {
  aedes: Aedes;
  admission: Admission;
  listen(port: number, host?: string): Promise<net.Server>;
  listenTls(port: number, host: string, key: Buffer, cert: Buffer): Promise<tls.Server>;
  connectedDevices(): number;
  /** Closes a device's connection and forgets its cached credential (after rotation or deletion). */
  disconnectDevice(deviceId: string, reason: string): void;
  /** Re-checks every connected device's credential now (the periodic check); resolves with the connections closed. */
  checkCredentials(): Promise<number>;
  close(): Promise<void>;
}

/** Aedes with the cluster engines when given and our limits, not yet started. */
function newAedes(opts: BrokerOptions, limits: ClientLimits): Aedes {
  const c = opts.cluster;
  return new Aedes({
    ...(c ? { mq: c.mq, persistence: c.persistence, id: c.id, heartbeatInterval: c.heartbeatIntervalMs ?? 60_000 } : {}),
    maxClientsIdLength: 64,
    maxTopicLevels: limits.maxTopicLevels,
    connectTimeout: limits.connectTimeoutMs,
  });
}

/** Live summaries to the API, spool alarms to the log. */
function relayAdmission(aedes: Aedes, admission: Admission, log: Logger): void {
  admission.on('live', (summary) => {
    aedes.publish({ cmd: 'publish', topic: LIVE_TOPIC, payload: Buffer.from(JSON.stringify(summary)), qos: 0, retain: false, dup: false }, () => {});
  });
  admission.on('spoolFull', (rows: number) => log.error({ rows }, 'ALARM: spool at its cap; publishes are no longer acknowledged until the ingest writer catches up (is InfluxDB down?)'));
  admission.on('spoolRoom', (rows: number) => log.warn({ rows }, 'spool has room again; acknowledging publishes'));
  admission.on('checkpointError', (err: Error) => log.warn({ err: err.message }, 'could not checkpoint the counter memory; retried next period'));
}

export async function createBroker(opts: BrokerOptions): Promise<DehongBroker> {
  const { registry, log } = opts;
  const limits = { ...DEFAULT_CLIENT_LIMITS, ...opts.clientLimits };
  const identities: Identities = new WeakMap();
  const admission = new Admission(opts.spool, opts.limits, opts.admission);
  const aedes = newAedes(opts, limits);
  const throttle = new AddressThrottle(limits, log);
  const auth = new Authenticator({ aedes, registry, admission, identities, throttle, serviceSecret: opts.serviceSecret, cacheMs: opts.authCacheMs ?? 5 * 60_000, log });
  aedes.preConnect = throttle.preConnect;
  aedes.authenticate = auth.authenticate;
  const sparkplug = new SparkplugHost({ aedes, admission, registry, log, hostId: DEFAULT_HOST_ID, maxPayloadBytes: limits.maxPayloadBytes, sharedState: opts.cluster !== undefined, ...opts.sparkplug });
  aedes.authorizePublish = new PublishGate(aedes, admission, identities, limits, log, sparkplug).authorizePublish;
  skipUnrelayed(aedes);
  aedes.authorizeSubscribe = subscribeAuthorizer(identities, log, sparkplug.state.hostId);
  await aedes.listen();
  await sparkplug.start();

  const presence = new Presence(aedes, identities, registry, admission, log, opts.seenFlushMs ?? 2000);
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error before CONNECT'));
  aedes.on('clientError', (client, err) => log.debug({ clientId: clipForLog(client.id), err: err.message }, 'client error'));
  const gate = new ConnectionGate(limits, log, aedes.handle);
  aedes.on('client', (client) => gate.loggedIn(client.conn));
  relayAdmission(aedes, admission, log);

  function disconnectDevice(deviceId: string, reason: string): void {
    auth.forget(deviceId);
    admission.forget(deviceId);
    const client = clientsOf(aedes)[deviceId];
    if (client) {
      log.info({ deviceId, reason }, 'closing device connection');
      client.close();
    }
  }
  await listenForControl(aedes, log, disconnectDevice);
  const credentials = new CredentialCheck({ aedes, registry, identities, admission, log, disconnect: disconnectDevice });
  credentials.start(opts.credentialCheckMs ?? CREDENTIAL_CHECK_MS);

  const servers: net.Server[] = [];
  async function listenOn<S extends net.Server>(server: S, port: number, host: string): Promise<S> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
    return server;
  }

  return {
    aedes,
    admission,
    connectedDevices: () => presence.connectedDevices,
    disconnectDevice,
    checkCredentials: () => credentials.checkNow(),
    listen: (port, host = '0.0.0.0') => listenOn(net.createServer(gate.accept), port, host),
    listenTls: (port, host, key, cert) => {
      // The handshake has the CONNECT's deadline (Node's default is 120 s) and counts before login from the TCP accept.
      const server = tls.createServer({ key, cert, handshakeTimeout: limits.connectTimeoutMs }, gate.accept);
      server.on('connection', gate.acceptRaw);
      // With a listener here Node leaves the socket open: close it (a failed or timed-out handshake).
      server.on('tlsClientError', (err, socket) => {
        log.debug({ err: err.message }, 'TLS handshake failed');
        socket.destroy();
      });
      return listenOn(server, port, host);
    },
    async close() {
      await sparkplug.close();
      presence.stop();
      credentials.stop();
      await admission.close();
      await presence.flushSeen();
      for (const s of servers) s.close();
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

/** The broker's own figures, for /metrics (published on the spool's status board). */
export function brokerStatus(broker: DehongBroker): { name: string; at: number; values: Record<string, number> } {
  const s = broker.admission.stats;
  const values: Record<string, number> = {
    received: s.received, accepted: s.accepted, rejected: s.rejected, points: s.points, commits: s.commits, commit_errors: s.commitErrors,
    spool_full: s.spoolFull ? 1 : 0, parked: s.parked, dead_letters_suppressed: s.deadLettersSuppressed, connected_devices: broker.connectedDevices(),
  };
  for (const [rule, n] of Object.entries(s.rejectedByRule)) values[`rejected_rule:${rule}`] = n;
  Object.assign(values, broker.admission.commitSeconds.toStatus('commit_seconds'));
  return { name: `broker:${process.pid}`, at: Date.now(), values };
}
