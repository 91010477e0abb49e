// A Modbus machine or meter, read with modbus-serial over Modbus TCP or, behind a serial device server, RTU frames
// over TCP. Neighbouring registers of one function are read in one request (registers.ts plans the spans), then
// decoded by type and word order and scaled. A failed read closes the connection; the next sample reconnects.
import modbusSerial from 'modbus-serial';
import type { Logger } from '../../common/log.ts';
import { DEFAULTS, type ModbusDeviceConfig } from '../config.ts';
import { decodeSpan, planReads, type RegisterSpan } from '../registers.ts';
import { MODBUS_READ_DEFAULTS } from './settings.ts';
import type { Sample, Source } from './source.ts';

// modbus-serial is CommonJS typed as an ES module: under Node's ESM its default import is the client class itself.
const ModbusRTU = modbusSerial as unknown as typeof modbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

/** An exception response (the device answered, and refused): the connection is fine. */
function modbusException(err: unknown): number | undefined {
  const code = (err as { modbusCode?: unknown }).modbusCode;
  return typeof code === 'number' ? code : undefined;
}

export class ModbusSource implements Source {
  private client: ModbusClient | undefined;
  private connecting: Promise<ModbusClient> | undefined;
  private spans: RegisterSpan[];

  constructor(private readonly cfg: ModbusDeviceConfig, private readonly log: Logger) {
    this.spans = planReads(cfg.metrics, cfg.maxGap ?? MODBUS_READ_DEFAULTS.maxGap, cfg.maxReadRegisters ?? MODBUS_READ_DEFAULTS.maxReadRegisters);
  }

  /** Requests per sample (for the log and the tests). */
  get requestsPerSample(): number {
    return this.spans.length;
  }

  start(): void {
    void this.connection().catch(() => undefined);
  }

  private connection(): Promise<ModbusClient> {
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new ModbusRTU();
      const port = this.cfg.port ?? DEFAULTS.modbusPort;
      const framing = this.cfg.framing ?? MODBUS_READ_DEFAULTS.framing;
      try {
        // Raw RTU frames over TCP is modbus-serial's "telnet" port (no Telnet negotiation); its TcpRTUBuffered
        // port, despite the name, speaks Modbus TCP on the wire and a serial device server would pass MBAP headers
        // to the bus, where no device answers.
        if (framing === 'rtu') await client.connectTelnet(this.cfg.host, { port });
        else await client.connectTCP(this.cfg.host, { port });
        client.setID(this.cfg.unitId ?? DEFAULTS.unitId);
        client.setTimeout(this.cfg.timeoutMs ?? DEFAULTS.timeoutMs);
        this.client = client;
        this.log.info({ device: this.cfg.id, host: this.cfg.host, port, framing, requestsPerSample: this.spans.length }, 'Modbus connected');
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
      for (const span of [...this.spans]) Object.assign(metrics, await this.read(client, span));
    } catch (err) {
      this.drop();
      throw err;
    }
    return { metrics };
  }

  /**
   * One span. A device that refuses a joined read (an unmapped register in the gap: exception 2, illegal data
   * address) gets that span's metrics one request each from then on.
   */
  private async read(client: ModbusClient, span: RegisterSpan): Promise<Record<string, number>> {
    try {
      const res = span.function === 'input' ? await client.readInputRegisters(span.address, span.count) : await client.readHoldingRegisters(span.address, span.count);
      return decodeSpan(span, res.data);
    } catch (err) {
      if (modbusException(err) !== 2 || span.metrics.length < 2) throw err;
      const singles = span.metrics.map(({ name, metric }) => planReads({ [name]: metric }, 0, 2)[0]!);
      this.spans.splice(this.spans.indexOf(span), 1, ...singles);
      this.log.warn({ device: this.cfg.id, function: span.function, address: span.address, count: span.count, err: (err as Error).message }, 'device refused a grouped read; reading these registers one metric at a time');
      const out: Record<string, number> = {};
      for (const single of singles) Object.assign(out, await this.read(client, single));
      return out;
    }
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
