// The edge gateway (`npm run gateway -- --config gateway.yaml`): reads OPC UA and Modbus TCP machines, turns each
// sample into a contract message, keeps it in a local queue and publishes it with the device's own credentials.
// `--check` validates the configuration and exits.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../common/log.ts';
import { onShutdown } from '../common/service.ts';
import { GatewayConfigError, loadGatewayConfig, type DeviceConfig, type GatewayConfig } from './config.ts';
import { GatewayDevice } from './device.ts';
import { GatewayQueue } from './queue.ts';
import type { Source } from './sources/source.ts';
import { Uplink } from './uplink.ts';

function readConfig(): { config: GatewayConfig; checkOnly: boolean } {
  const { values } = parseArgs({ options: { config: { type: 'string' }, check: { type: 'boolean' } } });
  if (!values.config) {
    console.error('usage: npm run gateway -- --config <file.yaml|file.json> [--check]');
    process.exit(2);
  }
  try {
    return { config: loadGatewayConfig(values.config), checkOnly: values.check ?? false };
  } catch (err) {
    if (!(err instanceof GatewayConfigError)) throw err;
    console.error(`gateway: configuration error in ${values.config}: ${err.message}`);
    process.exit(2);
  }
}

// Protocol stacks load only when a device needs them (node-opcua takes seconds), so a bad configuration fails fast.
async function sourceFor(cfg: DeviceConfig, log: Logger, dataDir: string): Promise<Source> {
  if (cfg.protocol === 'opcua') return new (await import('./sources/opcua.ts')).OpcuaSource(cfg, log, path.join(dataDir, 'pki'));
  return new (await import('./sources/modbus.ts')).ModbusSource(cfg, log);
}

async function main(): Promise<void> {
  const { config, checkOnly } = readConfig();
  if (checkOnly) {
    console.log(`gateway: configuration OK (${config.devices.length} devices)`);
    return;
  }
  const log = createLogger('gateway', config.logLevel);
  const queue = new GatewayQueue(path.join(config.dataDir, 'queue.db'), config.maxQueuedMessages);
  const devices: GatewayDevice[] = [];
  for (const d of config.devices) devices.push(new GatewayDevice(d, await sourceFor(d, log, config.dataDir), queue, new Uplink(d, config.broker, queue, log, { ca: config.ca }), log));
  log.info({ broker: config.broker, devices: devices.length, queued: queue.depth, cap: queue.maxRows }, 'gateway started');
  for (const d of devices) d.start();
  onShutdown(log, async () => {
    await Promise.all(devices.map((d) => d.stop()));
    const summary = Object.fromEntries(devices.map((d) => [d.cfg.id, { ...d.stats, ...d.uplink.stats, queued: queue.deviceDepth(d.cfg.id) }]));
    queue.close();
    log.info({ devices: summary }, 'gateway stopped');
  });
}

await main();
