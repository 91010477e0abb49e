// A Modbus TCP machine or meter, read with modbus-serial: one read per mapped metric (holding or input registers),
// decoded by type and word order, then scaled. A failed read closes the connection; the next sample reconnects.
import modbusSerial from 'modbus-serial';
import type { Logger } from '../../common/log.ts';
import { DEFAULTS, type ModbusDeviceConfig } from '../config.ts';
import { decodeRegisters, registerCount } from '../registers.ts';
import type { Sample, Source } from './source.ts';

// modbus-serial is CommonJS typed as an ES module: under Node's ESM its default import is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

export class ModbusSource implements Source {
  private client: ModbusClient | undefined;
  private connecting: Promise<ModbusClient> | undefined;

  constructor(private readonly cfg: ModbusDeviceConfig, private readonly log: Logger) {}

  start(): void {
    void this.connection().catch(() => undefined);
  }

  private connection(): Promise<ModbusClient> {
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new ModbusRTU();
      try {
        await client.connectTCP(this.cfg.host, { port: this.cfg.port ?? DEFAULTS.modbusPort });
        client.setID(this.cfg.unitId ?? DEFAULTS.unitId);
        client.setTimeout(this.cfg.timeoutMs ?? DEFAULTS.timeoutMs);
        this.client = client;
        this.log.info({ device: this.cfg.id, host: this.cfg.host }, 'Modbus TCP connected');
        return client;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  async sample(): Promise<Sample> {
    const client = await this.connection();
    const metrics: Record<string, number> = {};
    try {
      for (const [name, m] of Object.entries(this.cfg.metrics)) {
        const n = registerCount(m.type);
        const res = m.function === 'input' ? await client.readInputRegisters(m.address, n) : await client.readHoldingRegisters(m.address, n);
        metrics[name] = decodeRegisters(res.data, m.type, m.wordOrder, m.scale);
      }
    } catch (err) {
      this.drop();
      throw err;
    }
    return { metrics };
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    if (c?.isOpen) c.close(() => undefined);
  }

  async close(): Promise<void> {
    this.drop();
  }
}
