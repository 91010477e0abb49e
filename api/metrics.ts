// Prometheus /metrics for the whole service: the API process's own metrics, plus the broker's and the ingest
// writer's figures, which those processes publish on the spool's status board every two seconds.
import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Registry as PromRegistry, collectDefaultMetrics } from 'prom-client';
import type { Spool } from '../common/spool/spool.ts';

type Labels = Record<string, string>;
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

export const metricsPlugin: FastifyPluginAsync<{ spool: Spool }> = async (app, { spool }) => {
  const reg = new PromRegistry();
  collectDefaultMetrics({ register: reg, prefix: 'dh_api_' });
  // One read of the status board per scrape, shared by every metric.
  let cache: { at: number; statuses: Awaited<ReturnType<Spool['statuses']>> } | undefined;
  const statuses = async () => {
    if (!cache || Date.now() - cache.at > 500) cache = { at: Date.now(), statuses: await spool.statuses() };
    return cache.statuses;
  };
  const fromStatus = (prefix: string, key: string) => async (): Promise<Sample[]> =>
    (await statuses()).filter((s) => s.name.startsWith(prefix) && key in s.values).map((s) => ({ labels: { process: s.name }, value: s.values[key] as number }));

  counter(reg, 'dh_messages_received_total', 'Publishes received from devices by the broker', ['process'], fromStatus('broker', 'received'));
  counter(reg, 'dh_messages_accepted_total', 'Publishes with at least one point stored in the spool', ['process'], fromStatus('broker', 'accepted'));
  counter(reg, 'dh_points_admitted_total', 'Points (lines) admitted into the spool', ['process'], fromStatus('broker', 'points'));
  counter(reg, 'dh_messages_rejected_total', 'Rejections by rule (a message may break several rules)', ['process', 'rule'], async () =>
    (await statuses()).filter((s) => s.name.startsWith('broker')).flatMap((s) => Object.entries(s.values)
      .filter(([k]) => k.startsWith('rejected_rule:')).map(([k, v]) => ({ labels: { process: s.name, rule: k.slice('rejected_rule:'.length) }, value: v }))));
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
  gauge(reg, 'dh_spool_rows', 'Rows waiting in the spool', [], async () => [{ labels: {}, value: (await spool.stats()).rows }]);
  gauge(reg, 'dh_spool_oldest_age_seconds', 'Age of the oldest row waiting in the spool', [], async () => {
    const s = await spool.stats();
    return [{ labels: {}, value: s.oldestReceivedAt === null ? 0 : (Date.now() - s.oldestReceivedAt) / 1000 }];
  });
  gauge(reg, 'dh_status_age_seconds', 'Age of each process status on the board (stale = process gone)', ['process'], async () =>
    (await statuses()).map((s) => ({ labels: { process: s.name }, value: (Date.now() - s.at) / 1000 })));

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(reg.contentType);
    return reg.metrics();
  });
};
