// Nothing acknowledged is lost, whatever crashes: each fault is injected into the real processes while devices
// publish a known stream at QoS1, and afterwards InfluxDB holds exactly one point per published message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../scripts/net.ts';
import { Stream, drained, onceAt, provisionFleet, rssMb, startProcesses, storedPoints } from '../helpers/processes.ts';

const OUTAGE_MS = Number(process.env.FAULT_OUTAGE_MS ?? 60_000);

/**
 * The broker's commit-duration histogram on /metrics is whole: one observation per group commit (its count equals
 * the commit counter from the same status), cumulative buckets that never fall and end at the count.
 */
async function assertCommitHistogram(apiUrl: string): Promise<void> {
  const value = (text: string, series: string): number => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? NaN);
  let text = '';
  await waitFor(async () => {
    text = await fetch(`${apiUrl}/metrics`).then((r) => r.text());
    return value(text, 'dh_admission_commit_seconds_count{process="broker"}') > 0;
  }, 20_000, 'commit histogram published');
  const count = value(text, 'dh_admission_commit_seconds_count{process="broker"}');
  assert.equal(count, value(text, 'dh_spool_commits_total{process="broker"}'), 'one observation per commit');
  const buckets = [...text.matchAll(/^dh_admission_commit_seconds_bucket\{process="broker",le="([^"]+)"\} (\S+)$/gm)].map((m) => Number(m[2]));
  assert.ok(buckets.length > 5, 'buckets exposed');
  buckets.reduce((prev, b) => { assert.ok(b >= prev, 'cumulative'); return b; }, 0);
  assert.equal(buckets.at(-1), count, '+Inf holds every commit');
  const sum = value(text, 'dh_admission_commit_seconds_sum{process="broker"}');
  assert.ok(sum > 0 && sum < count * 60, `plausible total commit time ${sum} s for ${count} commits`);
}

describe('fault tolerance', { concurrency: false }, () => {
  test('broker killed with SIGKILL mid-stream and restarted: devices resend, every acknowledged message is stored once', async () => {
    const sys = await startProcesses();
    try {
      const stream = new Stream(sys.mqttUrl, await provisionFleet(sys, 10), 150);
      await stream.connect();
      let killed = false;
      await stream.run(500, onceAt(500, async () => {
        killed = true;
        await sys.kill('broker');
        await sys.restart('broker');
      }));
      assert.ok(killed);
      assert.equal(stream.acked.size, stream.published, 'every message was eventually acknowledged');
      await drained(sys);
      assert.equal(await storedPoints(sys.store), stream.published, 'stored = published = acknowledged, no duplicates');
      await stream.close();
    } finally {
      await sys.close();
    }
  });

  test('ingest writer killed with SIGKILL mid-stream and restarted: nothing lost, nothing doubled', async () => {
    const sys = await startProcesses();
    try {
      const stream = new Stream(sys.mqttUrl, await provisionFleet(sys, 10), 150);
      await stream.connect();
      await stream.run(500, onceAt(400, async () => {
        await sys.kill('ingest');
        setTimeout(() => void sys.restart('ingest'), 1000);
      }));
      await waitFor(async () => sys.services.ingest.child.exitCode === null && sys.services.ingest.child.pid !== undefined, 10_000, 'writer back');
      await drained(sys);
      assert.equal(stream.acked.size, stream.published);
      assert.equal(await storedPoints(sys.store), stream.published);
      await stream.close();
      await assertCommitHistogram(sys.apiUrl);
    } finally {
      await sys.close();
    }
  });

  test(`InfluxDB stopped for ${OUTAGE_MS / 1000} s mid-stream: the spool absorbs it with bounded memory and drains by itself`, async () => {
    const sys = await startProcesses();
    try {
      const stream = new Stream(sys.mqttUrl, await provisionFleet(sys, 10), 300);
      await stream.connect();
      let peakRss = 0;
      const watch = setInterval(() => { peakRss = Math.max(peakRss, rssMb(sys.services.broker.child.pid), rssMb(sys.services.ingest.child.pid)); }, 500);
      await stream.run(100, onceAt(300, async () => {
        await sys.influxd.stop();
        setTimeout(() => void sys.influxd.restart(), OUTAGE_MS);
      }));
      assert.equal(stream.acked.size, stream.published, 'publishing went on while InfluxDB was down');
      await waitFor(async () => sys.store.ping(), OUTAGE_MS + 30_000, 'InfluxDB back');
      await drained(sys, 120_000);
      clearInterval(watch);
      assert.equal(await storedPoints(sys.store), stream.published);
      assert.ok(peakRss < 300, `broker and writer stayed under 300 MB (peak ${peakRss.toFixed(0)} MB)`);
      await stream.close();
    } finally {
      await sys.close();
    }
  });

  test('spool at its cap: admission stops acknowledging instead of dropping, raises the alarm, and recovers', async () => {
    const sys = await startProcesses({ SPOOL_MAX_ROWS: '300' });
    let closeLater = async () => {};
    try {
      const devices = await provisionFleet(sys, 5);
      await sys.influxd.stop();
      const stream = new Stream(sys.mqttUrl, devices, 200);
      await stream.connect();
      closeLater = () => stream.close();
      const run = stream.run(400);
      // With InfluxDB down the spool fills to its cap; then PUBACKs stop.
      await waitFor(async () => (await fetch(`${sys.apiUrl}/metrics`).then((r) => r.text())).includes('dh_spool_full{process='), 20_000, 'spool_full metric');
      await waitFor(async () => /dh_spool_full\{process="[^"]+"\} 1/.test(await fetch(`${sys.apiUrl}/metrics`).then((r) => r.text())), 20_000, 'the spool-full alarm');
      const ackedAtCap = stream.acked.size;
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(stream.acked.size <= 300, `acknowledgements stopped at the cap (${stream.acked.size})`);
      assert.ok(stream.acked.size - ackedAtCap < 50, 'no more acknowledgements while full');
      assert.ok(stream.acked.size < stream.published, 'devices are held back, not dropped');
      await sys.influxd.restart();
      await run;
      await drained(sys);
      assert.equal(stream.acked.size, stream.published);
      assert.equal(await storedPoints(sys.store), stream.published);
      await stream.close();
    } finally {
      await closeLater().catch(() => {});
      await sys.close();
    }
  });
});
