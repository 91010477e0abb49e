// The edge gateway (`npm run gateway -- --config gateway.yaml`): reads OPC UA and Modbus TCP machines, turns each
// sample into a contract message, keeps it in a local queue and publishes it over one connection with the gateway
// credential (or, without one, one connection per device with its own credential). `--check` validates the
// configuration and exits.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../common/log.ts';
import { onShutdown } from '../common/service.ts';
import { GatewayConfigError, loadGatewayConfig, type DeviceConfig, type GatewayConfig } from './config.ts';
import { GatewayDevice } from './device.ts';
import { GatewayQueue } from './queue.ts';
import type { Source } from './sources/source.ts';
import { Uplink } from './uplink.ts';

/** One uplink for every device with the gateway credential; else one per device, keyed by device id. */
function uplinksFor(config: GatewayConfig, queue: GatewayQueue, log: Logger): Map<string, Uplink> {
  const opts = { ca: config.ca };
  const { gateway, devices } = config;
  if (gateway) {
    // A gateway belongs to one firm: the configuration check made every device name the same.
    const shared = new Uplink({ ...gateway, firmId: devices[0]!.firmId }, devices.map((d) => d.id), config.broker, queue, log, opts);
    return new Map(devices.map((d) => [d.id, shared]));
  }
  return new Map(devices.map((d) => [d.id, new Uplink({ id: d.id, firmId: d.firmId, token: d.token ?? '' }, [d.id], config.broker, queue, log, opts)]));
}

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
  const queue = new GatewayQueue(path.join(config.dataDir, 'queue.db'), config.maxQueuedMessages, log);
  const uplinks = uplinksFor(config, queue, log);
  const devices: GatewayDevice[] = [];
  for (const d of config.devices) devices.push(new GatewayDevice(d, await sourceFor(d, log, config.dataDir), queue, uplinks.get(d.id)!, log));
  const links = [...new Set(uplinks.values())];
  log.info({ broker: config.broker, gateway: config.gateway?.id ?? null, devices: devices.length, connections: links.length, queued: queue.depth, cap: queue.maxRows }, 'gateway started');
  for (const u of links) u.start();
  for (const d of devices) d.start();
  const statusLine = () => {
    const sent = links.reduce((t, u) => ({ published: t.published + u.stats.published, acked: t.acked + u.stats.acked, rejected: t.rejected + u.stats.rejected }), { published: 0, acked: 0, rejected: 0 });
    log.info({ queued: queue.depth, dropped: queue.dropped, connected: links.filter((u) => u.connected).length, ...sent, sampled: devices.reduce((t, d) => t + d.stats.sampled, 0) }, 'status');
  };
  const status = setInterval(statusLine, config.statusIntervalMs);
  onShutdown(log, async () => {
    clearInterval(status);
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all(links.map((u) => u.stop()));
    const summary = Object.fromEntries(devices.map((d) => [d.cfg.id, { ...d.stats, queued: queue.deviceDepth(d.cfg.id) }]));
    statusLine();
    queue.close();
    log.info({ devices: summary }, 'gateway stopped');
  });
}

await main();
