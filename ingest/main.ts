// The ingest writer alone: `npm run ingest`. Its own process, off the broker's event loop.
import { SqliteSpool } from '../common/spool/sqlite-spool.ts';
import { dataFiles } from '../common/secrets.ts';
import { influxStore, onShutdown, serviceBoot } from '../common/service.ts';
import { IngestWriter } from './writer.ts';

const { config, log } = serviceBoot('ingest');
const spool = new SqliteSpool(dataFiles(config.dataDir).spool);
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
onShutdown(log, async () => {
  await writer.stop();
  await store.close();
  await spool.close();
});
