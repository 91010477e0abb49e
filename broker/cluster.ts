// Scale-out on existing engines (docs/architecture.md, docs/scaling.md). Two pieces:
//
// 1. Cluster mode (REDIS_URL set): every broker process of every node gives Aedes `mqemitter-redis` as its
//    emitter and `aedes-persistence-redis` as its persistence. What a device must receive from another node
//    (its errors topic, control messages, retained status, the queue of a resumed clean:false session, the will
//    of a device whose node died) goes through Redis. What devices publish is admitted by the process they are
//    connected to, into that node's own spool, before the PUBACK: no message crosses nodes to be stored.
//    aedes-persistence-redis 12 is built like Aedes 1.2's own in-memory default (aedes-persistence 11): an async
//    implementation inside aedes-persistence's CallBackPersistence, whose stream methods return Readables (Aedes
//    pipes them; the bare async class returns async generators and crashes Aedes on the first SUBSCRIBE). So we
//    use its default export, as the README does, with our own ioredis connection. Aedes does not destroy its
//    persistence on close: closePersistence() does.
//
// 2. Several broker processes per node (BROKER_PROCESSES=N, node:cluster): the primary forks N workers that
//    share the listening ports; each is a full broker with its own admission. They share the node's SQLite spool
//    file (WAL, busy_timeout 10 s; SQLite serialises the writers, and group commit keeps the transactions few),
//    so the node's one ingest writer drains everything without changes. N > 1 requires REDIS_URL (common/config):
//    without a shared emitter a message for a device connected to a sibling process would never reach it.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import type { Redis as RedisClient } from 'ioredis';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import type { Logger } from '../common/log.ts';

const require = createRequire(import.meta.url);

/** The part of aedes-persistence-redis we call ourselves (Aedes calls the rest); the package has no types. */
interface RedisPersistence {
  setup(broker: unknown): Promise<void>;
  /** Without a callback: a promise (disconnects its Redis connection). */
  destroy(): Promise<void>;
}
type RedisPersistenceFactory = (opts: { conn: RedisClient; maxSessionDelivery?: number }) => RedisPersistence;

export interface ClusterEngines {
  mq: ReturnType<typeof mqemitterRedis>;
  persistence: RedisPersistence;
  /** Closes the persistence's Redis connection (call after the broker closed, which closes `mq`). */
  closePersistence(): Promise<void>;
}

export interface ClusterEngineOptions {
  /** Queued messages sent to a resumed session per reconnect (the library's default, 1000, is low for a backlog). */
  maxSessionDelivery?: number;
}

function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

export function createClusterEngines(redisUrl: string, log: Logger, opts: ClusterEngineOptions = {}): ClusterEngines {
  const persistenceRedis = require('aedes-persistence-redis') as RedisPersistenceFactory;
  const where = redacted(redisUrl);
  const conn = new Redis(redisUrl, { lazyConnect: false });
  conn.on('error', (err: Error) => log.warn({ err: err.message, redis: where }, 'Redis (persistence) connection problem'));
  const persistence = persistenceRedis({ conn, maxSessionDelivery: opts.maxSessionDelivery ?? 10_000 });
  const mq = mqemitterRedis({ connectionString: redisUrl });
  (mq as unknown as { state: NodeJS.EventEmitter }).state.on('error', (err: Error) => log.warn({ err: err.message, redis: where }, 'Redis (emitter) connection problem'));
  let closed = false;
  return {
    mq,
    persistence,
    async closePersistence() {
      if (closed) return;
      closed = true;
      await persistence.destroy().catch((err: Error) => log.warn({ err: err.message }, 'closing the Redis persistence'));
    },
  };
}

/** This process' Aedes id: unique per broker process in the whole cluster (wills and takeovers use it). */
export function brokerId(nodeId: string): string {
  return cluster.isWorker && cluster.worker ? `${nodeId}.${cluster.worker.id}` : nodeId;
}

/**
 * The primary of BROKER_PROCESSES: forks `n` broker workers that share the listening ports, forks a
 * replacement when one dies, and on SIGTERM/SIGINT stops them all before exiting.
 */
export function superviseBrokerProcesses(n: number, log: Logger): void {
  let stopping = false;
  const fork = () => {
    const w = cluster.fork();
    w.on('exit', (code, signal) => {
      if (stopping) return;
      log.error({ worker: w.id, pid: w.process.pid, code, signal }, 'broker process died: starting another (its devices reconnect and resend what was not acknowledged)');
      setTimeout(fork, 500);
    });
  };
  for (let i = 0; i < n; i++) fork();
  log.info({ processes: n }, 'broker processes started; they share the MQTT port');
  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, 'stopping broker processes');
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    let left = workers.length;
    if (left === 0) process.exit(0);
    const force = setTimeout(() => { for (const w of workers) w.process.kill('SIGKILL'); process.exit(1); }, 15_000);
    for (const w of workers) {
      w.once('exit', () => { if (--left === 0) { clearTimeout(force); process.exit(0); } });
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
