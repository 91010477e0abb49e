// An energy meter for the gateway's tests, answering with modbus-serial's own servers: ServerTCP for Modbus TCP,
// and for RTU over TCP its RTU server (ServerSerial, on serialport's mock port) behind a transparent TCP bridge, as
// a serial device server (RS-485 to Ethernet) passes RTU frames through. It counts the requests it answers.
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import { SerialPortMock } from 'serialport';

export type Framing = 'tcp' | 'rtu';

export interface MeterRequest {
  function: 'holding' | 'input';
  address: number;
  count: number;
}

export interface ModbusMeter {
  port: number;
  requests: MeterRequest[];
  /** Sets registers from `address` on. */
  put(fn: 'holding' | 'input', address: number, words: readonly number[]): void;
  stop(): Promise<void>;
}

/** The register maps, and what a device with a sparse map does: refuse a read that touches an unmapped register. */
function vectorFor(requests: MeterRequest[], strict: boolean) {
  const regs = { holding: new Map<number, number>(), input: new Map<number, number>() };
  const read = (fn: 'holding' | 'input', address: number, count: number): number[] => {
    requests.push({ function: fn, address, count });
    const out: number[] = [];
    for (let a = address; a < address + count; a++) {
      const v = regs[fn].get(a);
      if (v === undefined && strict) throw Object.assign(new Error(`register ${a} is not mapped`), { modbusErrorCode: 2 });
      out.push(v ?? 0);
    }
    return out;
  };
  // modbus-serial calls the get*Register form for one register and getMultiple* for more.
  const vector = {
    getHoldingRegister: (addr: number) => read('holding', addr, 1)[0]!,
    getInputRegister: (addr: number) => read('input', addr, 1)[0]!,
    getMultipleHoldingRegisters: (addr: number, length: number) => read('holding', addr, length),
    getMultipleInputRegisters: (addr: number, length: number) => read('input', addr, length),
  };
  return { regs, vector };
}

type ServerTCPClass = typeof modbusSerial.ServerTCP;
type ServerSerialClass = typeof modbusSerial.ServerSerial;
// modbus-serial is CommonJS typed as an ES module: its server classes are properties of the default import.
const { ServerTCP, ServerSerial } = modbusSerial as unknown as { ServerTCP: ServerTCPClass; ServerSerial: ServerSerialClass };

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** RTU framing: the library's RTU server on a mock serial port, its bytes bridged to whoever connects over TCP. */
async function rtuOverTcp(port: number, unitId: number, vector: object): Promise<() => Promise<void>> {
  const device = `/dev/ttyMETER${port}`;
  SerialPortMock.binding.createPort(device, { echo: false, record: false });
  let peer: net.Socket | undefined;
  const rtu = new ServerSerial(vector as never, {
    path: device, baudRate: 9600, unitID: unitId, binding: SerialPortMock.binding,
    // Answers go to the TCP peer, not back into the mock port.
    portResponse: { write: (frame: Buffer) => peer?.write(frame) },
  } as never);
  await new Promise<void>((resolve) => rtu.once('initialized', () => resolve()));
  const serial = (rtu as unknown as { _serverPath: SerialPortMock })._serverPath;
  const bridge = net.createServer((socket) => {
    peer = socket;
    socket.on('data', (bytes: Buffer) => serial.port?.emitData(bytes));
    socket.on('error', () => undefined);
  });
  await listen(bridge, port);
  return async () => {
    peer?.destroy();
    await new Promise<void>((r) => bridge.close(() => r()));
    await new Promise<void>((r) => rtu.close(() => r()));
  };
}

export async function startModbusMeter(port: number, framing: Framing, opts: { unitId?: number; strict?: boolean } = {}): Promise<ModbusMeter> {
  const unitId = opts.unitId ?? 1;
  const requests: MeterRequest[] = [];
  const { regs, vector } = vectorFor(requests, opts.strict ?? false);
  let stop: () => Promise<void>;
  if (framing === 'rtu') {
    stop = await rtuOverTcp(port, unitId, vector);
  } else {
    const server = new ServerTCP(vector, { host: '127.0.0.1', port, unitID: unitId });
    await new Promise<void>((resolve) => server.on('initialized', () => resolve()));
    stop = () => new Promise<void>((r) => server.close(() => r()));
  }
  return {
    port,
    requests,
    put: (fn, address, words) => words.forEach((w, i) => regs[fn].set(address + i, w)),
    stop,
  };
}
