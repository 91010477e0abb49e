// The ingest writer alone: `npm run ingest`. Its own process, off the broker's event loop.
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { influxStore, onShutdown, serviceBoot } from '../common/service.ts';
import { IngestWriter } from './writer.ts';

const { config, log, files } = serviceBoot('ingest');
const spool = new SqliteSpool(files.spool);
const store = influxStore(config);
for (;;) {
  try {
    await store.ensureDatabase();
    break;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'InfluxDB not reachable yet; retrying');
    await new Promise((r) => setTimeout(r, 1000));
  }
}
const writer = new IngestWriter(spool, store, log, { batchRows: config.writeBatchRows });
writer.start();
log.info({ db: config.influxDb }, 'ingest writer draining the spool to InfluxDB');
const timers = [
  setInterval(() => {
    const s = writer.stats;
    spool.putStatus({
      name: 'ingest', at: Date.now(),
      values: {
        batches: s.batches, rows: s.rows, points: s.points, write_errors: s.writeErrors, dead_lettered: s.deadLettered, last_write_ms: s.lastWriteMs, store_down: s.storeDown ? 1 : 0,
        ...writer.queryable.toStatus('queryable_seconds'),
      },
    }).catch((err: Error) => log.warn({ err: err.message }, 'could not publish writer status'));
  }, 2000),
  // Dead letters are kept DEAD_LETTER_RETENTION_DAYS; counts per device and rule stay.
  setInterval(() => {
    spool.pruneDeadLetters(Date.now() - config.deadLetterRetentionDays * 86_400_000)
      .then((n) => { if (n > 0) log.info({ removed: n }, 'pruned old dead letters'); }, (err: Error) => log.warn({ err: err.message }, 'could not prune dead letters'));
  }, 3_600_000),
];
onShutdown(log, async () => {
  for (const t of timers) clearInterval(t);
  await writer.stop();
  await store.close();
  await spool.close();
});
