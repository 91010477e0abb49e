// Prometheus /metrics for the whole service: the API process's own metrics, plus the broker's and the ingest
// writer's figures, which those processes publish on the spool's status board every two seconds.
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Histogram, Registry as PromRegistry, collectDefaultMetrics, type Metric } from 'prom-client';
import { LATENCY_BUCKETS_S, histogramFromStatus } from '../common/latency.ts';
import type { Spool } from '../common/spool/spool.ts';

type Labels = Record<string, string>;

/** A process that has not published its status for this long is gone (they publish every 2 s). */
const STALE_MS = 30_000;
/** `broker:1234` → `broker`, `subscriber:ingest-sub-1` → `subscriber`. */
export const serviceOf = (statusName: string): string => statusName.split(':')[0] ?? statusName;
type Sample = { labels: Labels; value: number };

function counter(reg: PromRegistry, name: string, help: string, labelNames: string[], read: () => Promise<Sample[]>): void {
  // The source is an absolute count kept by another process: reset and re-add it at each scrape.
  const c: Counter<string> = new Counter({
    name, help, labelNames, registers: [reg],
    async collect() {
      const samples = await read();
      c.reset();
      for (const s of samples) c.inc(s.labels, s.value);
    },
  });
}

function gauge(reg: PromRegistry, name: string, help: string, labelNames: string[], read: () => Promise<Sample[]>): void {
  const g: Gauge<string> = new Gauge({
    name, help, labelNames, registers: [reg],
    async collect() {
      g.reset();
      for (const s of await read()) g.set(s.labels, s.value);
    },
  });
}

/**
 * A histogram another process counted (common/latency.ts), exposed as Prometheus' own histogram series; the
 * buckets of the live processes of a service are added up.
 */
function statusHistogram(reg: PromRegistry, name: string, help: string, read: () => Promise<Array<{ labels: Labels; values: Record<string, number> }>>, key: string): void {
  const metric = {
    name, help, type: 'histogram', aggregator: 'sum',
    async get() {
      const byLabels = new Map<string, { labels: Labels; buckets: Map<string, number>; sum: number; count: number }>();
      for (const { labels, values } of await read()) {
        const h = histogramFromStatus(values, key);
        if (!h) continue;
        const k = JSON.stringify(labels);
        const acc = byLabels.get(k) ?? { labels, buckets: new Map<string, number>(), sum: 0, count: 0 };
        for (const b of h.buckets) acc.buckets.set(b.le, (acc.buckets.get(b.le) ?? 0) + b.count);
        acc.sum += h.sum;
        acc.count += h.count;
        byLabels.set(k, acc);
      }
      const values = [...byLabels.values()].flatMap((a) => [
        ...[...a.buckets].map(([le, count]) => ({ metricName: `${name}_bucket`, labels: { ...a.labels, le }, value: count })),
        { metricName: `${name}_sum`, labels: a.labels, value: a.sum },
        { metricName: `${name}_count`, labels: a.labels, value: a.count },
      ]);
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  // prom-client takes any object with get(); its Metric type describes only its own classes.
  reg.registerMetric(metric as unknown as Metric);
}

/** Duration of the API's HTTP requests by method, route (the pattern, not the URL) and status class. */
export function httpLatency(): { histogram: Histogram<string>; observe(method: string, route: string, status: number, seconds: number): void } {
  const histogram = new Histogram({
    name: 'dh_http_request_duration_seconds', help: 'API request durations by method, route pattern and status class',
    labelNames: ['method', 'route', 'status'], buckets: [...LATENCY_BUCKETS_S], registers: [],
  });
  return { histogram, observe: (method, route, status, seconds) => histogram.observe({ method, route, status: `${Math.floor(status / 100)}xx` }, seconds) };
}

export const metricsPlugin: FastifyPluginAsync<{ spool: Spool; http?: Histogram<string> }> = async (app, { spool, http }) => {
  const reg = new PromRegistry();
  if (http) reg.registerMetric(http);
  collectDefaultMetrics({ register: reg, prefix: 'dh_api_' });
  // One read of the status board per scrape, shared by every metric.
  let cache: { at: number; statuses: Awaited<ReturnType<Spool['statuses']>> } | undefined;
  const statuses = async () => {
    if (!cache || Date.now() - cache.at > 500) cache = { at: Date.now(), statuses: await spool.statuses() };
    return cache.statuses;
  };
  // Labelled by service (broker, ingest, subscriber), not by process: a pid in a label made new series at every
  // restart. The processes of one service that are alive (status fresher than STALE_MS) are summed; a restarted
  // process's counters start again from zero, which rate() reads as a counter reset.
  const live = async () => (await statuses()).filter((s) => Date.now() - s.at <= STALE_MS);
  const sumBy = (rows: Array<{ labels: Labels; value: number }>): Sample[] => {
    const out = new Map<string, Sample>();
    for (const r of rows) {
      const k = JSON.stringify(r.labels);
      const prev = out.get(k);
      if (prev) prev.value += r.value;
      else out.set(k, { labels: r.labels, value: r.value });
    }
    return [...out.values()];
  };
  const fromStatus = (prefix: string, key: string) => async (): Promise<Sample[]> =>
    sumBy((await live()).filter((s) => s.name.startsWith(prefix) && key in s.values).map((s) => ({ labels: { process: serviceOf(s.name) }, value: s.values[key] as number })));

  counter(reg, 'dh_messages_received_total', 'Publishes received from devices by the broker', ['process'], fromStatus('broker', 'received'));
  counter(reg, 'dh_messages_accepted_total', 'Publishes with at least one point stored in the spool', ['process'], fromStatus('broker', 'accepted'));
  counter(reg, 'dh_points_admitted_total', 'Points (lines) admitted into the spool', ['process'], fromStatus('broker', 'points'));
  counter(reg, 'dh_messages_rejected_total', 'Rejections by rule (a message may break several rules)', ['process', 'rule'], async () =>
    sumBy((await live()).filter((s) => s.name.startsWith('broker')).flatMap((s) => Object.entries(s.values)
      .filter(([k]) => k.startsWith('rejected_rule:')).map(([k, v]) => ({ labels: { process: serviceOf(s.name), rule: k.slice('rejected_rule:'.length) }, value: v })))));
  counter(reg, 'dh_dead_letters_suppressed_total', 'Rejections only counted, not kept in full (per-device flood limit)', ['process'], fromStatus('broker', 'dead_letters_suppressed'));
  counter(reg, 'dh_spool_commits_total', 'Group commits into the spool', ['process'], fromStatus('broker', 'commits'));
  counter(reg, 'dh_spool_commit_errors_total', 'Failed group commits (publishes not acknowledged)', ['process'], fromStatus('broker', 'commit_errors'));
  gauge(reg, 'dh_connected_devices', 'Devices connected to the broker', ['process'], fromStatus('broker', 'connected_devices'));
  gauge(reg, 'dh_spool_full', '1 while admission holds PUBACKs because the spool is at its cap', ['process'], fromStatus('broker', 'spool_full'));
  counter(reg, 'dh_influx_write_batches_total', 'Batches written to InfluxDB', ['process'], fromStatus('ingest', 'batches'));
  counter(reg, 'dh_influx_points_written_total', 'Points written to InfluxDB', ['process'], fromStatus('ingest', 'points'));
  counter(reg, 'dh_influx_write_errors_total', 'Failed InfluxDB writes (retried from the spool)', ['process'], fromStatus('ingest', 'write_errors'));
  counter(reg, 'dh_influx_rows_dead_lettered_total', 'Spool rows InfluxDB refused as data, moved to dead letters', ['process'], fromStatus('ingest', 'dead_lettered'));
  gauge(reg, 'dh_influx_last_write_seconds', 'Duration of the last InfluxDB write', ['process'], async () => (await fromStatus('ingest', 'last_write_ms')()).map((s) => ({ ...s, value: s.value / 1000 })));
  gauge(reg, 'dh_influx_down', '1 while InfluxDB refuses or fails writes', ['process'], fromStatus('ingest', 'store_down'));
  const ofService = (service: string) => async () =>
    (await live()).filter((s) => s.name.startsWith(service)).map((s) => ({ labels: { process: serviceOf(s.name) }, values: s.values }));
  statusHistogram(reg, 'dh_publish_to_queryable_seconds', 'From the broker admitting a message (PUBACK) to the writer storing it in InfluxDB', ofService('ingest'), 'queryable_seconds');
  statusHistogram(reg, 'dh_admission_commit_seconds', 'Duration of each group commit into the spool (every PUBACK in the group waits for it)', ofService('broker'), 'commit_seconds');
  gauge(reg, 'dh_spool_rows', 'Rows waiting in the spool', [], async () => [{ labels: {}, value: (await spool.stats()).rows }]);
  gauge(reg, 'dh_spool_oldest_age_seconds', 'Age of the oldest row waiting in the spool', [], async () => {
    const s = await spool.stats();
    return [{ labels: {}, value: s.oldestReceivedAt === null ? 0 : (Date.now() - s.oldestReceivedAt) / 1000 }];
  });
  gauge(reg, 'dh_status_age_seconds', 'Age of the freshest status of each service on the board (stale = no process of it left)', ['process'], async () => {
    const freshest = new Map<string, number>();
    for (const s of await statuses()) freshest.set(serviceOf(s.name), Math.max(freshest.get(serviceOf(s.name)) ?? 0, s.at));
    return [...freshest].map(([process, at]) => ({ labels: { process }, value: (Date.now() - at) / 1000 }));
  });
  gauge(reg, 'dh_service_processes', 'Processes of each service with a fresh status', ['process'], async () =>
    sumBy((await live()).map((s) => ({ labels: { process: serviceOf(s.name) }, value: 1 }))));

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(reg.contentType);
    return reg.metrics();
  });
};
