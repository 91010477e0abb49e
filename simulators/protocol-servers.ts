// Machines that speak the protocols of the factory floor, for trying the edge gateway without a mill: a loom
// controller on OPC UA (OPC 40001-1 item state and operation mode) and an energy meter on Modbus TCP (kWh register
// as a 32-bit float), their values driven by the simulator's machine models (simulators/models/), so they run,
// stop, fault and count like the MQTT simulators' devices.
//   npm run sim:machines -- [--opcua-port 4840] [--modbus-port 5020] [--interval MS] [--seed N]
// docs/connecting-machines.md starts from it; gateway/examples/simulated.yaml maps both.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import modbusSerial from 'modbus-serial';
import { DataType, Variant } from 'node-opcua-client';
import { OPCUAServer } from 'node-opcua-server';
import { createModel, seededRng, type MachineModel } from './models.ts';
import type { MachineState } from '../common/contract/catalogue.ts';

/** The OPC 40001-1 item state and operation mode a contract state reads back as (gateway/machine-state.ts inverted). */
const OPC_STATE: Record<MachineState, { item: string; mode: number }> = {
  running: { item: 'Executing', mode: 3 },
  idle: { item: 'NotExecuting', mode: 3 },
  setup: { item: 'NotExecuting', mode: 2 },
  maintenance: { item: 'OutOfService', mode: 1 },
  fault: { item: 'OutOfService', mode: 3 },
  stopped: { item: 'NotAvailable', mode: 0 },
};

/** Modbus map of the simulated meter (docs/connecting-machines.md). */
export const METER_REGISTERS = { powerKw: 0, energyKwh: 10, powerFactor: 20 } as const;

export interface SimulatedMachines {
  opcuaEndpoint: string;
  modbusPort: number;
  /** The values last set, by metric (for tests and the status line). */
  loom: Record<string, number>;
  meter: Record<string, number>;
  stop(): Promise<void>;
}

/** Both words of a big-endian float32. */
function float32Words(v: number): [number, number] {
  const b = Buffer.alloc(4);
  b.writeFloatBE(v);
  return [b.readUInt16BE(0), b.readUInt16BE(2)];
}

async function loomServer(port: number, model: MachineModel, intervalMs: number, values: Record<string, number>) {
  const server = new OPCUAServer({ port, resourcePath: '/UA/Loom', buildInfo: { productName: 'simulated loom (Dehong platform)' } });
  await server.initialize();
  const space = server.engine.addressSpace!;
  const ns = space.getOwnNamespace();
  const loom = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: 'Loom1' });
  const vars = new Map<string, ReturnType<typeof ns.addVariable>>();
  const add = (name: string, dataType: DataType, value: unknown) => {
    const v = ns.addVariable({ componentOf: loom, nodeId: `s=Loom1.${name}`, browseName: name, dataType: DataType[dataType], minimumSamplingInterval: 100 });
    v.setValueFromSource(new Variant({ dataType, value }));
    vars.set(name, v);
  };
  const set = (name: string, dataType: DataType, value: unknown) => vars.get(name)?.setValueFromSource(new Variant({ dataType, value }));
  for (const name of ['Speed', 'Efficiency', 'Picks', 'Power', 'EnergyWh']) add(name, DataType.Double, 0);
  add('ItemState', DataType.LocalizedText, { text: 'Executing' });
  add('OperationMode', DataType.UInt32, 3);
  await server.start();
  const tick = () => {
    const r = model.step(intervalMs, Date.now());
    Object.assign(values, r.metrics);
    set('Speed', DataType.Double, r.metrics.speed_rpm ?? 0);
    set('Efficiency', DataType.Double, r.metrics.efficiency_pct ?? 0);
    set('Picks', DataType.Double, r.metrics.picks_total ?? 0);
    set('Power', DataType.Double, r.metrics.power_kw ?? 0);
    set('EnergyWh', DataType.Double, (r.metrics.energy_kwh_total ?? 0) * 1000);
    if (r.state) {
      const s = OPC_STATE[r.state.state];
      set('ItemState', DataType.LocalizedText, { text: s.item });
      set('OperationMode', DataType.UInt32, s.mode);
    }
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return { endpoint: server.getEndpointUrl(), stop: async () => { clearInterval(timer); await server.shutdown(0); } };
}

function meterServer(port: number, model: MachineModel, intervalMs: number, values: Record<string, number>) {
  const regs = { holding: new Map<number, number>(), input: new Map<number, number>() };
  const put = (m: Map<number, number>, address: number, words: readonly number[]) => words.forEach((w, i) => m.set(address + i, w));
  const tick = () => {
    Object.assign(values, model.step(intervalMs, Date.now()).metrics);
    put(regs.input, METER_REGISTERS.powerKw, float32Words(values.power_kw ?? 0));
    put(regs.holding, METER_REGISTERS.energyKwh, float32Words(values.energy_kwh_total ?? 0));
    put(regs.holding, METER_REGISTERS.powerFactor, [Math.round((values.power_factor ?? 0) * 1000) & 0xffff]);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  const read = (m: Map<number, number>, addr: number, n: number) => Array.from({ length: n }, (_, i) => m.get(addr + i) ?? 0);
  // modbus-serial is CommonJS typed as an ES module: its server class is a property of the default import.
  const { ServerTCP } = modbusSerial as unknown as { ServerTCP: typeof modbusSerial.ServerTCP };
  const server = new ServerTCP({
    getHoldingRegister: (addr: number) => read(regs.holding, addr, 1)[0]!,
    getInputRegister: (addr: number) => read(regs.input, addr, 1)[0]!,
    getMultipleHoldingRegisters: (addr: number, n: number) => read(regs.holding, addr, n),
    getMultipleInputRegisters: (addr: number, n: number) => read(regs.input, addr, n),
  }, { host: '0.0.0.0', port, unitID: 1 });
  return { stop: () => new Promise<void>((r) => { clearInterval(timer); server.close(() => r()); }) };
}

export async function startSimulatedMachines(opts: { opcuaPort: number; modbusPort: number; intervalMs?: number; seed?: number }): Promise<SimulatedMachines> {
  const intervalMs = opts.intervalMs ?? 1000;
  const rng = seededRng(opts.seed ?? 1);
  const loom: Record<string, number> = {};
  const meter: Record<string, number> = {};
  const l = await loomServer(opts.opcuaPort, createModel('loom', rng), intervalMs, loom);
  const m = meterServer(opts.modbusPort, createModel('electricity_meter', rng), intervalMs, meter);
  return { opcuaEndpoint: l.endpoint, modbusPort: opts.modbusPort, loom, meter, stop: async () => { await Promise.all([l.stop(), m.stop()]); } };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'opcua-port': { type: 'string', default: '4840' }, 'modbus-port': { type: 'string', default: '5020' }, interval: { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' } } });
  const machines = await startSimulatedMachines({ opcuaPort: Number(values['opcua-port']), modbusPort: Number(values['modbus-port']), intervalMs: Number(values.interval), seed: Number(values.seed) });
  console.log(`simulated loom (OPC UA): ${machines.opcuaEndpoint}  nodes ns=1;s=Loom1.{Speed,Efficiency,Picks,Power,EnergyWh,ItemState,OperationMode}`);
  console.log(`simulated meter (Modbus TCP): port ${machines.modbusPort}, unit 1: input ${METER_REGISTERS.powerKw} power kW (float32), holding ${METER_REGISTERS.energyKwh} energy kWh (float32), holding ${METER_REGISTERS.powerFactor} power factor × 1000`);
  const stop = () => { void machines.stop().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
