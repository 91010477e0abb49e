// /metrics: labels by service (a restart makes no new series), the processes of a service added up and the gone
// ones left out, latency histograms from another process and of the API's own requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BUCKETS_S, LatencyHistogram } from '../../common/latency.ts';
import { offlineApi, type OfflineApi } from '../helpers/offline-api.ts';

let api: OfflineApi;
before(async () => { api = await offlineApi('metrics'); });
after(async () => api.close());

/** A scrape after the status board's half-second cache has expired. */
const metrics = async () => {
  await new Promise((r) => setTimeout(r, 600));
  return (await api.app.inject({ method: 'GET', url: '/metrics' })).body;
};
/** The value of one exposition line, e.g. sample(text, 'dh_x{process="broker"}'). */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('/metrics', () => {
  test('labelled by service: live processes added up, a gone one (stale status) left out, no pid in any label', async () => {
    const now = Date.now();
    await api.spool.putStatus({ name: 'broker:1111', at: now, values: { received: 5, connected_devices: 2, 'rejected_rule:range': 1 } });
    await api.spool.putStatus({ name: 'broker:2222', at: now - 1000, values: { received: 7, connected_devices: 3, 'rejected_rule:range': 2 } });
    await api.spool.putStatus({ name: 'broker:999', at: now - 600_000, values: { received: 1000, connected_devices: 50 } });
    const text = await metrics();
    assert.equal(sample(text, 'dh_messages_received_total{process="broker"}'), 12);
    assert.equal(sample(text, 'dh_connected_devices{process="broker"}'), 5);
    assert.equal(sample(text, 'dh_messages_rejected_total{process="broker",rule="range"}'), 3);
    assert.equal(sample(text, 'dh_service_processes{process="broker"}'), 2);
    assert.doesNotMatch(text, /process="broker:/);
  });

  test('publish-to-queryable histogram from the writer, with the buckets counted independently', async () => {
    const observed = [0.003, 0.04, 0.04, 0.2, 1.5, 7, 400];
    const h = new LatencyHistogram();
    for (const x of observed) h.observe(x);
    await api.spool.putStatus({ name: 'ingest', at: Date.now(), values: { rows: observed.length, ...h.toStatus('queryable_seconds') } });
    const text = await metrics();
    for (const le of LATENCY_BUCKETS_S) {
      assert.equal(sample(text, `dh_publish_to_queryable_seconds_bucket{process="ingest",le="${le}"}`), observed.filter((x) => x <= le).length, `le ${le}`);
    }
    assert.equal(sample(text, 'dh_publish_to_queryable_seconds_bucket{process="ingest",le="+Inf"}'), observed.length);
    assert.equal(sample(text, 'dh_publish_to_queryable_seconds_count{process="ingest"}'), observed.length);
    assert.ok(Math.abs(sample(text, 'dh_publish_to_queryable_seconds_sum{process="ingest"}')! - observed.reduce((a, b) => a + b, 0)) < 1e-9);
    assert.match(text, /# TYPE dh_publish_to_queryable_seconds histogram/);
  });

  test('HTTP durations by route pattern and status class; unmatched URLs share one label', async () => {
    for (let i = 0; i < 3; i++) await api.app.inject({ method: 'GET', url: `/api/v1/devices/dev-${i}` });
    for (let i = 0; i < 2; i++) await api.app.inject({ method: 'GET', url: `/nothing-here-${i}` });
    const text = await metrics();
    assert.equal(sample(text, 'dh_http_request_duration_seconds_count{method="GET",route="/api/v1/devices/:id",status="4xx"}'), 3);
    assert.equal(sample(text, 'dh_http_request_duration_seconds_count{method="GET",route="(no route)",status="4xx"}'), 2);
    assert.doesNotMatch(text, /dev-1|nothing-here/);
  });
});
