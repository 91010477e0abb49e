// An OPC UA machine controller, through node-opcua's client: monitored items in one subscription where the server
// allows it (values arrive as they change, and a sample takes the latest), else one Read of every node per sample.
// Security (mode, policy, certificates, user) is opcua-security.ts's. While the session is down, sampling stops: a
// cached value is not a sample.
import {
  AttributeIds, OPCUAClient, TimestampsToReturn,
  type ClientSession, type ClientSubscription, type DataValue,
} from 'node-opcua-client';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import type { Logger } from '../../common/log.ts';
import { opcuaMetric, type OpcuaDeviceConfig } from '../config.ts';
import { itemState, machineState, operationMode } from '../machine-state.ts';
import {
  APPLICATION_NAME, certificateStore, checkServerTrust, clientSecurity, explain, ownCertificateReady, trustConfigured, userIdentity,
} from './opcua-security.ts';
import { numeric, scaled, type Sample, type Source } from './source.ts';

interface Item {
  nodeId: string;
  /** The metric it feeds, or the state variable it is. */
  role: { metric: string; scale: number } | 'itemState' | 'operationMode';
}

export class OpcuaSource implements Source {
  private readonly client: OPCUAClient;
  private readonly items: Item[];
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private latest: Array<DataValue | undefined>;
  private live = false;
  private opening: Promise<void> | undefined;
  private readonly store: OPCUACertificateManager;
  private trusting: Promise<void> | undefined;
  /** The last failure logged: a server that keeps refusing is logged once, not at every sample. */
  private lastFailure: string | undefined;
  private failures = 0;
  private retryAt = 0;

  /** `pkiFolder`: where the client's certificate and key are kept (created on first use). */
  constructor(private readonly cfg: OpcuaDeviceConfig, private readonly log: Logger, pkiFolder: string) {
    this.items = Object.entries(cfg.metrics).map(([metric, m]) => {
      const { nodeId, scale } = opcuaMetric(m);
      return { nodeId, role: { metric, scale } };
    });
    if (cfg.state) {
      this.items.push({ nodeId: cfg.state.itemState, role: 'itemState' });
      if (cfg.state.operationMode) this.items.push({ nodeId: cfg.state.operationMode, role: 'operationMode' });
    }
    this.latest = this.items.map(() => undefined);
    this.store = certificateStore(pkiFolder);
    this.client = OPCUAClient.create({
      applicationName: APPLICATION_NAME,
      ...clientSecurity(cfg),
      endpointMustExist: false,
      clientCertificateManager: this.store,
      keepSessionAlive: true,
      connectionStrategy: { initialDelay: 500, maxDelay: 10_000, maxRetry: Number.MAX_SAFE_INTEGER },
    });
    this.client.on('connection_lost', () => {
      this.live = false;
      this.log.warn({ device: cfg.id, endpoint: cfg.endpoint }, 'OPC UA connection lost; sampling paused');
    });
    this.client.on('connection_reestablished', () => {
      this.live = this.session !== undefined;
      this.log.info({ device: cfg.id }, 'OPC UA connection re-established');
    });
  }

  start(): void {
    if (this.opening || Date.now() < this.retryAt) return;
    this.opening = this.open().then(() => {
      this.lastFailure = undefined;
      this.failures = 0;
    }, (err: Error) => {
      // Back off as node-opcua's own reconnection does: every attempt opens a discovery connection first.
      this.retryAt = Date.now() + Math.min(500 * 2 ** this.failures++, 10_000);
      const reason = explain(err, this.cfg, this.store);
      const level = reason === this.lastFailure ? 'debug' : 'error';
      this.lastFailure = reason;
      this.log[level]({ device: this.cfg.id, endpoint: this.cfg.endpoint, err: reason }, 'OPC UA session failed; retrying (backing off to every 10 s)');
    }).finally(() => { this.opening = undefined; });
  }

  private async open(): Promise<void> {
    this.trusting ??= trustConfigured(this.store, this.cfg.trustedServerCertificates ?? []);
    await this.trusting;
    if (!this.cfg.certificate) await ownCertificateReady(this.store);
    await checkServerTrust(this.cfg, this.store, this.log);
    await this.client.connect(this.cfg.endpoint);
    let session: ClientSession;
    try {
      session = await this.client.createSession(userIdentity(this.cfg.user));
    } catch (err) {
      // Connected but refused (the user, say): start over at the next attempt.
      await this.client.disconnect().catch(() => undefined);
      throw err;
    }
    this.session = session;
    // A first Read fills every value, so the first sample does not wait for the subscription's first publish.
    this.latest = await this.readAll(session);
    this.latest.forEach((dv, i) => {
      if (dv && !dv.statusCode.isGood()) this.log.warn({ device: this.cfg.id, nodeId: this.items[i]!.nodeId, status: dv.statusCode.name }, 'OPC UA node does not give a good value; left out of the samples while it does not');
    });
    if (this.cfg.sampling !== 'poll') await this.subscribe(session);
    this.live = true;
    this.log.info({ device: this.cfg.id, endpoint: this.cfg.endpoint, securityMode: this.cfg.securityMode ?? 'None', subscribed: this.subscription !== undefined }, 'OPC UA session open');
  }

  private async subscribe(session: ClientSession): Promise<void> {
    const interval = this.cfg.pollIntervalMs;
    try {
      const sub = await session.createSubscription2({
        requestedPublishingInterval: interval, requestedLifetimeCount: 100, requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1,
      });
      const group = await sub.monitorItems(
        this.items.map((it) => ({ nodeId: it.nodeId, attributeId: AttributeIds.Value })),
        { samplingInterval: interval, discardOldest: true, queueSize: 1 },
        TimestampsToReturn.Neither,
      );
      group.on('changed', (_item, value, index) => { this.latest[index] = value; });
      this.subscription = sub;
    } catch (err) {
      this.log.warn({ device: this.cfg.id, err: (err as Error).message }, 'OPC UA server refused a subscription; polling with Read instead');
      this.subscription = undefined;
    }
  }

  private async readAll(session: ClientSession): Promise<DataValue[]> {
    return session.read(this.items.map((it) => ({ nodeId: it.nodeId, attributeId: AttributeIds.Value })));
  }

  async sample(): Promise<Sample> {
    const session = this.session;
    if (!this.live || !session) {
      // A lost connection is node-opcua's to re-establish; only a session never opened is ours to retry.
      if (!session) this.start();
      throw new Error(`OPC UA session to ${this.cfg.endpoint} is not open`);
    }
    const values = this.subscription ? this.latest : await this.readAll(session);
    return this.toSample(values);
  }

  /** Good values become metrics (scaled); a bad or missing one is left out of this sample. */
  private toSample(values: ReadonlyArray<DataValue | undefined>): Sample {
    const metrics: Record<string, number> = {};
    let item: ReturnType<typeof itemState>;
    let mode: ReturnType<typeof operationMode>;
    this.items.forEach((it, i) => {
      const dv = values[i];
      if (!dv || !dv.statusCode.isGood()) return;
      const raw = dv.value.value as unknown;
      if (it.role === 'itemState') item = itemState(raw);
      else if (it.role === 'operationMode') mode = operationMode(raw);
      else {
        const n = numeric(raw);
        if (n !== undefined) metrics[it.role.metric] = scaled(n, it.role.scale);
      }
    });
    return item === undefined ? { metrics } : { metrics, state: machineState(item, mode) };
  }

  async close(): Promise<void> {
    this.live = false;
    try {
      await this.subscription?.terminate();
      await this.session?.close();
    } catch {
      // The server may already be gone; disconnecting below is what matters.
    }
    await this.client.disconnect();
  }
}
