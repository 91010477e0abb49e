// `npm run bench:cluster`: ingest throughput of three shapes on this machine, each with the real processes and a
// private influxd, Redis and PostgreSQL: one broker process (embedded); two broker processes of one node sharing
// the port (BROKER_PROCESSES=2, Redis); two nodes (own ports, spools and writers; Redis and the PostgreSQL
// registry shared). Writes bench-results/cluster.json and docs/benchmarks-cluster.md. Options: --seconds N,
// --rates a,b,c, --devices N.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { PgRegistry } from '../../common/registry/pg-registry.ts';
import { SqliteSpool } from '../../common/spool/sqlite-spool.ts';
import { InfluxStore } from '../../common/telemetry-store/influx-store.ts';
import { makeUscc } from '../../common/ids.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { ROOT, startService, waitForPort, type ServiceProcess } from '../../scripts/launch.ts';
import { dataDirLayout, type DataDirLayout } from '../../common/data-dir.ts';
import { startPrivatePostgres, type PrivatePostgres } from '../../test/helpers/postgres.ts';
import { startPrivateRedis, type PrivateRedis } from '../../test/helpers/redis.ts';
import type { LoadConfig } from './loadgen.ts';
import { cpuSeconds, runLoad, storedInSlice } from './common.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, rates: { type: 'string', default: '5000,10000,20000,30000' }, devices: { type: 'string', default: '200' } } });
const seconds = Number(args.seconds);
const rates = (args.rates ?? '').split(',').map(Number);
const deviceCount = Number(args.devices);
const log = (...m: unknown[]) => console.log(`[cluster-bench ${new Date().toISOString().slice(11, 19)}]`, ...m);

interface Shape { name: string; nodes: number; processes: number; redis: boolean }
const SHAPES: Shape[] = [
  { name: '1 node, 1 broker process (embedded)', nodes: 1, processes: 1, redis: false },
  { name: '1 node, 2 broker processes (Redis)', nodes: 1, processes: 2, redis: true },
  { name: '2 nodes, 1 broker process each (Redis)', nodes: 2, processes: 1, redis: true },
];

interface StepResult { rate: number; ackedPerSec: number; acked: number; stored: number; loss: number; drainMs: number; cpuMicrosPerMsg: number }

interface ShapeResult { shape: Shape; steps: StepResult[] }

/** What every shape runs against: one influxd, Redis and PostgreSQL for the whole bench. */
interface Shared { dir: string; influxd: PrivateInfluxd; redis: PrivateRedis; pg: PrivatePostgres; store: InfluxStore; slices: Slices }

/** Each step writes into its own 10,000 s slice of device time, so the stored points of a step can be counted. */
interface Slices { current: number }

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dh-cluster-bench-'));
  const influxd = await startPrivateInfluxd(path.join(dir, 'influxdb'));
  const redis = await startPrivateRedis();
  const pg = await startPrivatePostgres();
  const store = new InfluxStore({ url: influxd.url, db: 'cluster' });
  const shared: Shared = { dir, influxd, redis, pg, store, slices: { current: Date.now() - 25 * 86_400_000 } };
  const results: ShapeResult[] = [];
  for (const [si, shape] of SHAPES.entries()) results.push({ shape, steps: await runShape(shared, shape, si) });
  await store.close();
  await influxd.stop();
  await redis.stop();
  await pg.stop();
  writeReport(results);
  log('wrote bench-results/cluster.json and docs/benchmarks-cluster.md');
  fs.rmSync(dir, { recursive: true, force: true });
}

interface Fleet { registryUrl: string; firmId: string; creds: Array<{ id: string; token: string }> }

/** A fresh PostgreSQL registry per shape, with one firm of `deviceCount` looms. */
async function seedFleet(pg: PrivatePostgres, si: number): Promise<Fleet> {
  const registryUrl = await pg.createDatabase(`bench${si}`);
  const registry = await PgRegistry.open(registryUrl);
  const firm = { id: makeUscc('533102', 7000 + si), name: 'bench', county: '533102', park: 'ruili-coop', segment: 'weaving', aboveScale: true, employees: 1, landMu: 1, smartFactoryTier: 'none' as const, demo: true };
  await registry.createFirm(firm);
  const creds: Fleet['creds'] = [];
  for (let i = 0; i < deviceCount; i += 20) {
    const made = await Promise.all(Array.from({ length: Math.min(20, deviceCount - i) }, (_, k) => registry.createDevice({ firmId: firm.id, type: 'loom', name: `b${i + k}`, id: `cb${si}-${i + k}` })));
    creds.push(...made.map((m) => ({ id: m.device.id, token: m.token })));
  }
  await registry.close();
  return { registryUrl, firmId: firm.id, creds };
}

interface BenchNode { mqttPort: number; files: DataDirLayout; services: ServiceProcess[] }

/** The broker and writer processes of every node of a shape, each node on its own data directory and port. */
async function startNodes(shared: Shared, shape: Shape, si: number, registryUrl: string): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  for (let n = 0; n < shape.nodes; n++) {
    const files = dataDirLayout(path.join(shared.dir, `s${si}n${n}`));
    fs.mkdirSync(files.logs, { recursive: true });
    const mqttPort = await freePort();
    const env = {
      ...process.env, DATA_DIR: files.root, INFLUX_URL: shared.influxd.url, INFLUX_DB: 'cluster', MQTT_PORT: String(mqttPort), MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'warn',
      CONNECTS_PER_MINUTE: '100000', MAX_INFLIGHT: '100000', REGISTRY_URL: registryUrl, NODE_ID: `s${si}n${n}`, BROKER_PROCESSES: String(shape.processes),
      ...(shape.redis ? { REDIS_URL: shared.redis.url } : {}),
    };
    const broker = startService('broker', { env, logDir: files.logs });
    await waitForPort(mqttPort, broker);
    const ingest = startService('ingest', { env, logDir: files.logs });
    nodes.push({ mqttPort, files, services: [broker, ingest] });
  }
  await new Promise((r) => setTimeout(r, 1500)); // all broker processes of a node listening
  return nodes;
}

/** One shape: seed, start its nodes, warm up, then rate steps until it no longer keeps up; stops its processes. */
async function runShape(shared: Shared, shape: Shape, si: number): Promise<StepResult[]> {
  const fleet = await seedFleet(shared.pg, si);
  const nodes = await startNodes(shared, shape, si, fleet.registryUrl);
  const spools = nodes.map((n) => new SqliteSpool(n.files.spool));
  const perNode = (n: number) => fleet.creds.filter((_c, i) => i % shape.nodes === n).map((c) => ({ ...c, topic: topicFor(fleet.firmId, c.id, 'telemetry') }));
  const load = (rate: number, s: number, baseTs: number) => Promise.all(nodes.map((node, n) => runLoad({
    url: `mqtt://127.0.0.1:${node.mqttPort}`, devices: perNode(n), rate: rate / shape.nodes, seconds: s, inflight: 200, baseTs, auth: true,
  } satisfies LoadConfig)));
  // Every process that serves the ingest path: brokers (with their cluster workers), writers, influxd, Redis.
  const pids = () => [shared.influxd.process.pid, shared.redis.child.pid, ...nodes.flatMap((n) => n.services.flatMap((s) => childPids(s.child.pid)))];
  const cpuNow = () => pids().reduce((a, p) => a + cpuSeconds(p), 0);
  await load(1000, 1, shared.slices.current); // warm-up: token checks
  const steps: StepResult[] = [];
  for (const rate of rates) {
    const T = (shared.slices.current += 10_000_000);
    const cpu0 = cpuNow();
    const rs = await load(rate, seconds, T);
    const done = performance.now();
    await waitFor(async () => (await Promise.all(spools.map((sp) => sp.stats()))).every((st) => st.rows === 0), 300_000, 'spools drained', 20);
    const drainMs = performance.now() - done;
    const cpu = cpuNow() - cpu0;
    const acked = rs.reduce((a, r) => a + r.ackedTotal, 0);
    const stored = await storedInSlice(shared.store, T);
    const step = { rate, ackedPerSec: acked / seconds, acked, stored, loss: Math.max(0, acked - stored), drainMs, cpuMicrosPerMsg: (cpu * 1e6) / Math.max(acked, 1) };
    log(`${shape.name} @ ${rate}: ${Math.round(step.ackedPerSec)} msg/s acknowledged, stored ${stored}/${acked}, drain ${Math.round(drainMs)} ms, ${step.cpuMicrosPerMsg.toFixed(1)} µs CPU/msg`);
    steps.push(step);
    if (step.ackedPerSec < 0.9 * rate) break;
  }
  for (const sp of spools) await sp.close();
  for (const n of nodes) for (const s of n.services.reverse()) await s.stop();
  return steps;
}

/** bench-results/cluster.json and docs/benchmarks-cluster.md. */
function writeReport(results: ShapeResult[]): void {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const twoProcesses = cpuRatio(results[0]?.steps ?? [], results[1]?.steps ?? []);
  const twoNodes = cpuRatio(results[0]?.steps ?? [], results[2]?.steps ?? []);
  const out = {
    date: new Date().toISOString(), machine, command: 'npm run bench:cluster', seconds, devices: deviceCount,
    clusterCpuRatio: twoProcesses?.ratio ?? null, clusterCpuRatioAtMsgPerSec: twoProcesses?.rate ?? null, twoNodeCpuRatio: twoNodes?.ratio ?? null, results,
  };
  fs.mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench-results/cluster.json'), `${JSON.stringify(out, null, 2)}\n`);
  const best = (steps: StepResult[]) => Math.max(0, ...steps.filter((s) => s.loss === 0 && s.ackedPerSec >= 0.95 * s.rate).map((s) => s.ackedPerSec));
  const rows = results.flatMap((r) => r.steps.map((s) => `| ${r.shape.name} | ${s.rate} | ${s.ackedPerSec.toFixed(0)} | ${s.acked} / ${s.stored} | ${s.loss} | ${s.drainMs.toFixed(0)} | ${s.cpuMicrosPerMsg.toFixed(1)} |`));
  fs.writeFileSync(path.join(ROOT, 'docs/benchmarks-cluster.md'), `# Cluster benchmark

Measured by \`${out.command}\` on ${out.date.slice(0, 10)} (${out.date}). Machine: ${machine}. Everything (load generators,
brokers, writers, influxd, Redis, PostgreSQL) on this one machine; ${deviceCount} devices at QoS1, 6 metrics per message,
${seconds} s per step. CPU is summed over brokers (and their cluster workers), writers, influxd and Redis.

| shape | highest zero-loss rate kept up with |
|---|---|
${results.map((r) => `| ${r.shape.name} | ${best(r.steps).toFixed(0)} msg/s |`).join('\n')}

CPU per message of 2 broker processes with Redis ÷ 1 embedded process (\`clusterCpuRatio\`, target ≤ 1.3), at the
highest rate both kept up with (${twoProcesses ? `${twoProcesses.rate} msg/s` : 'none'}): **${twoProcesses ? twoProcesses.ratio.toFixed(2) : '–'}**; 2 nodes ÷ 1 node at
${twoNodes ? `${twoNodes.rate} msg/s` : '–'}: **${twoNodes ? twoNodes.ratio.toFixed(2) : '–'}**. At lower rates the ratio is higher: each process's fixed costs
(timers, status, Redis heartbeats, commits carrying fewer messages) are shared by fewer messages.

| shape | target msg/s | acknowledged msg/s | acknowledged / stored | loss | drain ms | µs CPU per msg |
|---|---|---|---|---|---|---|
${rows.join('\n')}

See docs/scaling.md for what these numbers mean for a deployment.
`);
}

/** CPU per message of `other` ÷ `base` at the highest rate both kept up with (zero loss, ≥ 95 % acknowledged). */
function cpuRatio(base: readonly StepResult[], other: readonly StepResult[]): { rate: number; ratio: number } | undefined {
  const ok = (s: StepResult) => s.loss === 0 && s.ackedPerSec >= 0.95 * s.rate;
  const both = base.filter(ok).map((b) => [b, other.find((o) => o.rate === b.rate && ok(o))] as const).filter((p): p is readonly [StepResult, StepResult] => p[1] !== undefined);
  const top = both.at(-1);
  return top ? { rate: top[0].rate, ratio: top[1].cpuMicrosPerMsg / top[0].cpuMicrosPerMsg } : undefined;
}

/** A process and its children (the cluster workers of a broker primary), from /proc. */
function childPids(pid: number | undefined): number[] {
  if (!pid) return [];
  const out = [pid];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const k of kids.split(/\s+/).filter(Boolean)) out.push(...childPids(Number(k)));
    }
  } catch { /* gone */ }
  return out;
}

void main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
