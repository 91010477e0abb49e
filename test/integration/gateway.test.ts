// The edge gateway end to end with real peers: node-opcua's OPCUAServer as a loom controller, modbus-serial's
// ServerTCP as an energy meter, and the platform as separate processes (broker, ingest writer, API, a private
// influxd). The gateway runs as its own process, as `npm run gateway` starts it, with one gateway credential (one MQTT
// connection) for its three devices.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import modbusSerial from 'modbus-serial';
import { DataType } from 'node-opcua-client';
import { stringify } from 'yaml';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT } from '../../scripts/launch.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import type { DeviceCredentials } from '../../simulators/device.ts';
import { encodeRegisters } from '../../gateway/registers.ts';
import { startLoomServer, type LoomServer } from '../helpers/opcua-loom.ts';
import { startProcesses, type ProcessSystem } from '../helpers/processes.ts';
import { api, testFirm } from '../helpers/system.ts';

const POLL_MS = 200;
/** How long the link to the platform is cut (the issue of a border-town mill: a minute and more). */
const CUT_MS = Number(process.env.GATEWAY_CUT_MS ?? 60_000);

/** The meter: power as float32 in input registers, the energy register as uint32 low word first, cos φ × 1000. */
function startMeterServer(port: number) {
  const input = new Map<number, number>();
  const holding = new Map<number, number>();
  const put = (regs: Map<number, number>, address: number, words: number[]) => words.forEach((w, i) => regs.set(address + i, w));
  put(input, 0, encodeRegisters(123.5, 'float32'));
  put(holding, 10, encodeRegisters(1_234_567, 'uint32', 'little'));
  put(holding, 20, encodeRegisters(950, 'int16'));
  const ServerTCP = (modbusSerial as unknown as { ServerTCP: typeof modbusSerial.ServerTCP }).ServerTCP;
  const server = new ServerTCP({
    getInputRegister: (addr: number) => input.get(addr) ?? 0,
    getHoldingRegister: (addr: number) => holding.get(addr) ?? 0,
  }, { host: '127.0.0.1', port, unitID: 1 });
  return { setPower: (kw: number) => put(input, 0, encodeRegisters(kw, 'float32')), stop: () => new Promise<void>((r) => server.close(() => r())) };
}

function gatewayConfig(broker: string, dataDir: string, looms: Array<[DeviceCredentials, LoomServer]>, meter: DeviceCredentials, modbusPort: number) {
  return {
    broker, dataDir, pollIntervalMs: POLL_MS, logLevel: 'info', statusIntervalMs: 1000, gateway: { id: gateway.id, token: gateway.token },
    devices: [
      ...looms.map(([loom, opcua]) => {
        const node = (name: string) => `ns=${opcua.ns};s=Loom1.${name}`;
        return {
          id: loom.id, firmId: loom.firmId, type: 'loom', protocol: 'opcua', endpoint: opcua.endpoint,
          metrics: { speed_rpm: node('Speed'), picks_total: { nodeId: node('Picks') }, energy_kwh_total: { nodeId: node('EnergyWh'), scale: 0.001 } },
          state: { itemState: node('ItemState'), operationMode: node('OperationMode') },
        };
      }),
      {
        id: meter.id, firmId: meter.firmId, type: 'electricity_meter', protocol: 'modbus-tcp', host: '127.0.0.1', port: modbusPort, unitId: 1,
        metrics: {
          power_kw: { address: 0, function: 'input', type: 'float32' },
          energy_kwh_total: { address: 10, function: 'holding', type: 'uint32', wordOrder: 'little', scale: 0.1 },
          power_factor: { address: 20, function: 'holding', type: 'int16', scale: 0.001 },
        },
      },
    ],
  };
}

function startGateway(configFile: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

let sys: ProcessSystem;
let loomServer: LoomServer;
/** A second controller that refuses subscriptions: the gateway reads it instead. */
let readLoomServer: LoomServer;
let meterServer: ReturnType<typeof startMeterServer>;
let loom: DeviceCredentials;
let pollingLoom: DeviceCredentials;
let meter: DeviceCredentials;
/** The one credential the gateway publishes with, for the three devices. */
let gateway: { id: string; token: string };
let modbusPort: number;
let opcPort: number;

before(async () => {
  const [loomPort, readOpcPort, mbPort] = [await freePort(), await freePort(), await freePort()];
  modbusPort = mbPort;
  opcPort = loomPort;
  [sys, loomServer, readLoomServer] = await Promise.all([startProcesses(), startLoomServer(opcPort), startLoomServer(readOpcPort, { refuseSubscriptions: true })]);
  meterServer = startMeterServer(mbPort);
  const firm = testFirm();
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  loom = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'gateway loom');
  pollingLoom = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'gateway loom, read');
  meter = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'electricity_meter', 'gateway meter');
  const created = await api<{ id: string; token: string }>(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/gateways`, { name: '车间网关', deviceIds: [loom.id, pollingLoom.id, meter.id] });
  assert.equal(created.status, 201);
  gateway = created.body;
});

after(async () => {
  await loomServer?.stop();
  await readLoomServer?.stop();
  await meterServer?.stop();
  await sys?.close();
});

async function latest(measurement: string, device: string): Promise<Record<string, unknown> | undefined> {
  const s = await sys.store.query(`SELECT * FROM "${measurement}" WHERE "device" = '${device}' ORDER BY time DESC LIMIT 1`);
  const series = s[0];
  if (!series?.values[0]) return undefined;
  return Object.fromEntries(series.columns.map((c, i) => [c, series.values[0]![i]]));
}

async function stored(measurement: string, device: string): Promise<{ count: number; maxSeq: number }> {
  const s = await sys.store.query(`SELECT count("seq"), max("seq") FROM "${measurement}" WHERE "device" = '${device}'`);
  const row = s[0]?.values[0];
  return { count: Number(row?.[1] ?? 0), maxSeq: Number(row?.[2] ?? -1) };
}

async function states(device: string): Promise<string[]> {
  const s = await sys.store.query(`SELECT "state" FROM "machine_state" WHERE "device" = '${device}'`);
  return (s[0]?.values ?? []).map((v) => String(v[1]));
}

describe('edge gateway', () => {
  test('OPC UA and Modbus TCP values reach InfluxDB scaled; a minute without the broker loses no sample; a restarted controller is read again', async () => {
    const dir = path.join(sys.dir, 'gateway');
    fs.mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(configFile, stringify(gatewayConfig(sys.mqttUrl, dir, [[loom, loomServer], [pollingLoom, readLoomServer]], meter, modbusPort)));
    const gw = startGateway(configFile);
    try {
      for (const dev of [loom, pollingLoom]) {
        await waitFor(async () => (await latest('loom', dev.id))?.speed_rpm === 612.5, 30_000, `the speed of ${dev.id} in InfluxDB`);
        const l = (await latest('loom', dev.id))!;
        assert.equal(l.picks_total, 1000);
        assert.equal(l.energy_kwh_total, 5000, 'Wh scaled to kWh');
      }
      await waitFor(async () => (await latest('electricity_meter', meter.id))?.power_kw === 123.5, 15_000, 'the meter power in InfluxDB');
      const m = (await latest('electricity_meter', meter.id))!;
      assert.ok(Math.abs(Number(m.energy_kwh_total) - 123_456.7) < 1e-6, `uint32 low word first × 0.1: ${String(m.energy_kwh_total)}`);
      assert.ok(Math.abs(Number(m.power_factor) - 0.95) < 1e-9);
      assert.deepEqual(await states(loom.id), ['running'], 'Executing + Processing is running');
      assert.match(gw.output(), new RegExp(`"gateway":"${gateway.id}","devices":3.*connected to the broker`), 'one connection for the three devices');
      assert.match(gw.output(), new RegExp(`"device":"${loom.id}".*"subscribed":true`), 'monitored items');
      assert.match(gw.output(), new RegExp(`"device":"${pollingLoom.id}".*BadTooManySubscriptions.*polling with Read instead`), 'refused');
      assert.match(gw.output(), new RegExp(`"device":"${pollingLoom.id}".*"subscribed":false`), 'reads');

      // Values set on the servers arrive; an OPC 40001-1 state change becomes a state event.
      for (const server of [loomServer, readLoomServer]) {
        server.set('Speed', DataType.Double, 700);
        server.set('ItemState', DataType.LocalizedText, { text: 'OutOfService' });
      }
      meterServer.setPower(200.25);
      for (const dev of [loom, pollingLoom]) await waitFor(async () => (await latest('loom', dev.id))?.speed_rpm === 700, 10_000, `the new speed of ${dev.id}`);
      await waitFor(async () => (await latest('electricity_meter', meter.id))?.power_kw === 200.25, 10_000, 'the new meter power');
      await waitFor(async () => (await states(loom.id)).includes('fault'), 10_000, 'the fault state');

      // A value the contract refuses: the broker's reason is logged, and the message is not sent again.
      for (const server of [loomServer, readLoomServer]) server.set('Speed', DataType.Double, 5000);
      await waitFor(async () => /broker rejected a message: maximum: metrics\.speed_rpm is outside the plausible range/.test(gw.output()), 10_000, 'the rejection in the log');
      for (const server of [loomServer, readLoomServer]) server.set('Speed', DataType.Double, 700);

      // The broker goes away: the gateway keeps sampling into its queue, then drains it when the broker is back.
      await sys.kill('broker');
      const queue = new Database(path.join(dir, 'queue.db'), { readonly: true, fileMustExist: true });
      const depth = () => queue.prepare('SELECT count(*) FROM outbox').pluck().get() as number;
      await waitFor(async () => depth() >= 30, 15_000, 'samples queued while the broker is down');
      await new Promise((r) => setTimeout(r, Math.max(0, CUT_MS - 1000)));
      const queued = depth();
      assert.ok(queued >= (CUT_MS / POLL_MS) * 0.5, `samples of the whole cut kept: ${queued}`);
      await sys.restart('broker');
      await waitFor(async () => depth() === 0, 60_000, 'the queue to drain');
      queue.close();

      // The loom's controller restarts (the machine side): the gateway connects again and its values go on.
      await loomServer.stop();
      loomServer = await startLoomServer(opcPort);
      loomServer.set('Speed', DataType.Double, 655);
      await waitFor(async () => (await latest('loom', loom.id))?.speed_rpm === 655, 90_000, 'the restarted controller\'s speed');
      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited, 0, gw.output());
    } finally {
      gw.child.kill('SIGKILL');
    }
    assert.match(gw.output(), /queue full|connection lost/, 'the outage was logged');
    assert.match(gw.output(), /"queued":\d+,"dropped":0,.*"msg":"status"/, 'the periodic status line counts what the cap dropped');
    assert.ok(fs.existsSync(path.join(dir, 'pki', 'own', 'certs', 'client_certificate.pem')), "the OPC UA client's certificate is kept in the gateway's data folder");
    const queue = new Database(path.join(dir, 'queue.db'), { readonly: true });
    const sampled = Object.fromEntries(queue.prepare('SELECT device, next FROM device_seq').all().map((r) => [(r as { device: string }).device, (r as { next: number }).next]));
    const left = queue.prepare('SELECT count(*) FROM outbox').pluck().get();
    queue.close();
    assert.equal(left, 0, 'nothing left in the queue after a clean stop');
    await waitFor(async () => (await sys.spoolRows()) === 0, 30_000, 'the spool to drain');
    for (const [measurement, dev] of [['loom', loom], ['loom', pollingLoom], ['electricity_meter', meter]] as const) {
      const s = await stored(measurement, dev.id);
      const dead = await api<unknown[]>(sys, sys.adminToken, 'GET', `/api/v1/firms/${dev.firmId}/rejected?deviceId=${dev.id}`);
      const rejected = dead.body.length;
      if (dev === meter) assert.equal(rejected, 0, 'the meter sent nothing out of range');
      assert.ok((sampled[dev.id] ?? 0) > 10, `${dev.id} sampled ${sampled[dev.id]}`);
      assert.deepEqual({ count: s.count + rejected, maxSeq: s.maxSeq }, { count: sampled[dev.id], maxSeq: sampled[dev.id]! - 1 }, `${dev.id}: every sample taken is stored or rejected, once`);
    }
  });

  test('a bad mapping stops start-up with an error naming the field', async () => {
    const dir = path.join(sys.dir, 'gateway-bad');
    fs.mkdirSync(dir, { recursive: true });
    const base = gatewayConfig(sys.mqttUrl, dir, [[loom, loomServer]], meter, modbusPort);
    const [opcua, modbus] = base.devices as unknown as [Record<string, unknown>, Record<string, unknown> & { metrics: Record<string, Record<string, unknown>> }];
    const cases: Array<[string, unknown, RegExp]> = [
      ['unknown-metric', { ...base, devices: [{ ...opcua, metrics: { colour: 'ns=1;s=Loom1.Speed' } }] }, /devices\[0\]\.metrics\.colour: is not a metric of device type "loom"/],
      ['unknown-type', { ...base, devices: [{ ...opcua, type: 'loomx' }] }, /devices\[0\]\.type: "loomx" is not a device type/],
      ['wrong-data-type', { ...base, devices: [{ ...modbus, metrics: { power_kw: { ...modbus.metrics.power_kw, type: 'float64' } } }] }, /devices\[0\]\.metrics\.power_kw\.type: must be one of "uint16"/],
      ['no-endpoint', { ...base, devices: [{ ...opcua, endpoint: undefined }] }, /devices\[0\]\.endpoint: is required/],
    ];
    await Promise.all(cases.map(async ([name, config, expected]) => {
      const file = path.join(dir, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(config));
      const gw = startGateway(file);
      assert.equal(await gw.exited, 2, `${name}: ${gw.output()}`);
      assert.match(gw.output(), expected);
    }));
  });
});
