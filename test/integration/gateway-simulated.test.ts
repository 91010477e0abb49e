// The "tried as a factory engineer would": the simulated machines (`npm run sim:machines`: a loom on OPC UA,
// a meter on Modbus TCP, driven by the machine models), the edge gateway with the example configuration of
// docs/connecting-machines.md, and the firm's figures: both devices online within a minute, and the firm's energy
// equal to what the stored meter registers say.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT } from '../../scripts/launch.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { startSimulatedMachines, type SimulatedMachines } from '../../simulators/protocol-servers.ts';
import { startProcesses, type ProcessSystem } from '../helpers/processes.ts';
import { api, testFirm } from '../helpers/system.ts';

let sys: ProcessSystem;
let machines: SimulatedMachines;
before(async () => {
  const [opcuaPort, modbusPort] = [await freePort(), await freePort()];
  [sys, machines] = await Promise.all([startProcesses(), startSimulatedMachines({ opcuaPort, modbusPort, intervalMs: 500, seed: 7 })]);
});
after(async () => { await machines?.stop(); await sys?.close(); });

interface Overview { online: number; devices: number }
interface Summary { carriers: { electricity: { measured: number } } }

test('a gateway in front of the simulated loom and meter: both online on the firm within a minute, the firm\'s energy as the stored registers say', async () => {
  const firm = testFirm();
  assert.equal((await api(sys, sys.adminToken, 'POST', '/api/v1/firms', firm)).status, 201);
  const loom = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'loom', 'simulated loom');
  const meter = await provisionDevice(sys.apiUrl, sys.adminToken, firm.id, 'electricity_meter', 'simulated meter');
  const gw = await api<{ id: string; token: string }>(sys, sys.adminToken, 'POST', `/api/v1/firms/${firm.id}/gateways`, { name: '模拟网关', deviceIds: [loom.id, meter.id] });
  assert.equal(gw.status, 201);

  // The documented example, with this run's ids, token, ports and broker.
  const config = parse(fs.readFileSync(path.join(ROOT, 'gateway/examples/simulated.yaml'), 'utf8')) as {
    broker: string; dataDir: string; gateway: { id: string; token: string }; pollIntervalMs: number;
    devices: Array<{ id: string; firmId: string; endpoint?: string; port?: number }>;
  };
  const dir = path.join(sys.dir, 'gateway');
  fs.mkdirSync(dir, { recursive: true });
  config.broker = sys.mqttUrl;
  config.dataDir = dir;
  config.gateway = { id: gw.body.id, token: gw.body.token };
  config.pollIntervalMs = 500;
  const [loomCfg, meterCfg] = config.devices;
  Object.assign(loomCfg!, { id: loom.id, firmId: firm.id, endpoint: machines.opcuaEndpoint });
  Object.assign(meterCfg!, { id: meter.id, firmId: firm.id, port: machines.modbusPort });
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    const started = Date.now();
    await waitFor(async () => (await api<Overview>(sys, sys.adminToken, 'GET', `/api/v1/monitoring/overview?scope=firm&id=${firm.id}`)).body.online === 2, 60_000, `both devices online\n${out}`);
    assert.ok(Date.now() - started < 60_000);
    // A few meter readings, then the firm's figure against the stored registers (first and last of the range).
    await new Promise((r) => setTimeout(r, 5000));
    const to = Date.now();
    const from = started - 60_000;
    const s = await sys.store.query(`SELECT first("energy_kwh_total"), last("energy_kwh_total") FROM "electricity_meter" WHERE "device" = '${meter.id}' AND time >= ${from}ms AND time < ${to}ms`);
    const row = s[0]?.values[0];
    assert.ok(row, 'the meter\'s registers are stored');
    const stored = Number(row[2]) - Number(row[1]);
    assert.ok(stored > 0, `the simulated meter counts up: ${stored} kWh`);
    const figure = await api<Summary>(sys, sys.adminToken, 'GET', `/api/v1/energy/summary?scope=firm&id=${firm.id}&from=${from}&to=${to}&source=raw`);
    assert.equal(figure.status, 200);
    // The meter is the firm's main electricity meter: the firm's electricity is its register's rise.
    assert.ok(Math.abs(figure.body.carriers.electricity.measured - stored) < 1e-3, `firm ${figure.body.carriers.electricity.measured} kWh, registers ${stored} kWh`);
  } finally {
    child.kill('SIGTERM');
  }
});
