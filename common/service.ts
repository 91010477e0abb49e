// Shared start-up of the services: config, logger, data files, stores; and clean shutdown on signals.
import { configOrExit, type Config } from './config.ts';
import { dataDirLayout, type DataDirLayout } from './data-dir.ts';
import { createLogger, type Logger } from './log.ts';
import { InfluxStore } from './telemetry-store/influx-store.ts';

export function serviceBoot(name: string): { config: Config; log: Logger; files: DataDirLayout } {
  const config = configOrExit();
  return { config, log: createLogger(name, config.logLevel), files: dataDirLayout(config.dataDir) };
}

/**
 * The InfluxDB this deployment writes to: `url` when given (`npm start`'s private influxd), else INFLUX_URL, else
 * the private influxd `npm start` runs on INFLUX_PORT.
 */
export function influxStore(config: Config, url?: string): InfluxStore {
  return new InfluxStore({
    url: url ?? config.influxUrl ?? `http://127.0.0.1:${config.influxPort}`,
    db: config.influxDb,
    user: config.influxUser,
    password: config.influxPassword,
    token: config.influxToken,
  });
}

export function onShutdown(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const handler = (sig: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal: sig }, 'shutting down');
    close().then(() => process.exit(0), (err: Error) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
