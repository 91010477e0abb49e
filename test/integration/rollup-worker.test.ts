// The rollup job on its worker thread (as api/main.ts runs it): the worker opens its own InfluxDB client, registry
// and monitoring database, recomputes what the store marked, and the API thread reads its progress (watermark,
// last run, freshness) from what the worker posts. Against a real influxd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceType } from '../../common/contract/catalogue.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
import { HOUR, MINUTE, QUARTER_HOUR, floorTo } from '../../common/time.ts';
import { Monitoring } from '../../analytics/index.ts';
import { RollupWorker } from '../../analytics/energy/rollup-worker.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_rollup_worker_0000';
let sys: MonitoringTestSystem;
let worked: Monitoring;
const firm = testFirm({ name: 'Worker firm' });
const NOW = Date.now();

before(async () => {
  sys = await startMonitoringSystem('rollup-worker', { adminToken: admin });
  await sys.registry.createFirm(firm);
  await sys.registry.createDevice({ firmId: firm.id, type: 'electricity_meter', name: 'main', id: 'w-main' });
  // A second Monitoring (its own database file) whose rollup job runs on a worker over the same influxd and registry.
  worked = new Monitoring({
    file: `${sys.dir}/monitoring-worker.db`, registry: sys.registry, store: sys.store, connectedWindowDays: 30, offlineCheckMs: 3_600_000,
    rollupWorker: { influx: sys.store.options, registry: { file: dataDirLayout(sys.dir).registry }, logLevel: 'silent' },
  });
});
after(async () => {
  await worked.close();
  await sys.close();
});

async function summary(source: 'raw' | 'rollup', from: number, to: number): Promise<number> {
  const r = await sys.app.inject({ method: 'GET', url: `/api/v1/energy/summary?scope=firm&id=${firm.id}&from=${from}&to=${to}&source=${source}`, headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.statusCode, 200, r.body);
  return (r.json() as { carriers: { electricity: { measured: number } } }).carriers.electricity.measured;
}

test('the worker recomputes the marked quarters; the API thread sees its watermark, last run and freshness', async () => {
  assert.ok(worked.rollups instanceof RollupWorker, 'a file-backed Monitoring with rollupWorker runs the job on a worker');
  // Two hours of a register gaining 60 kWh an hour, written through the store's marking write path.
  const from = floorTo(NOW - 2 * HOUR, QUARTER_HOUR);
  const tags = tagSet({ firmId: firm.id, deviceId: 'w-main', type: 'electricity_meter', county: firm.county, park: firm.park, segment: firm.segment });
  const lines = [];
  for (let t = from; t < NOW - MINUTE; t += 5 * MINUTE) lines.push(telemetryLine(deviceType('electricity_meter')!.measurement, tags, t, 0, { energy_kwh_total: 100 + ((t - from) / HOUR) * 60 }));
  await sys.store.write(lines);

  const stats = await worked.rollups.tick();
  assert.ok(stats.points > 0 && stats.from <= from, JSON.stringify(stats));
  const to = floorTo(NOW, QUARTER_HOUR) + QUARTER_HOUR;
  assert.ok(Math.abs((await summary('rollup', from, to)) - (await summary('raw', from, to))) < 1e-6, 'the rollups the worker wrote equal the raw counters');
  assert.ok(worked.rollups.watermarkAt !== undefined && worked.rollups.watermarkAt >= NOW, 'the watermark reached the API thread');
  assert.equal(worked.rollups.lastRun?.points, stats.points);

  // Timers on the worker: the API thread learns that the rollups are kept up, and when they stop.
  assert.equal(worked.rollups.completeUntil(), undefined);
  worked.rollups.start();
  const deadline = Date.now() + 30_000;
  while (worked.rollups.completeUntil() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok((worked.rollups.completeUntil() ?? 0) >= floorTo(NOW, QUARTER_HOUR), 'kept up to the current quarter');
  await worked.rollups.stop();
  assert.equal(worked.rollups.completeUntil(), undefined);
  // The worker kept the watermark in the monitoring database: a restart resumes from it.
  assert.ok((worked.settings.get<number | null>('energy.rollups.watermark', null).value ?? 0) >= NOW);
});

test('a rebuild through the worker (after a stop: a new worker) answers with its figures', async () => {
  const stats = await worked.rollups.rebuild(NOW - HOUR, NOW);
  assert.ok(stats.points > 0 && stats.to > stats.from, JSON.stringify(stats));
});
