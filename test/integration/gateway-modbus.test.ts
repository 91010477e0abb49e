// The gateway's Modbus source against modbus-serial's servers: Modbus TCP and RTU frames over TCP (a serial device
// server), neighbouring registers read in one request (counted on the server), and a device that refuses a read
// spanning unmapped registers. The source runs in-process; gateway.test.ts runs the whole gateway.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseGatewayConfig, type ModbusDeviceConfig } from '../../gateway/config.ts';
import { encodeRegisters, planReads } from '../../gateway/registers.ts';
import { ModbusSource } from '../../gateway/sources/modbus.ts';
import { makeUscc } from '../../common/ids.ts';
import { freePort } from '../../scripts/net.ts';
import { startModbusMeter, type Framing, type ModbusMeter } from '../helpers/modbus-meter.ts';

const log = pino({ level: 'silent' });

/** Power at input 0 (float32) and cos φ at input 4 (int16 × 0.001), two unmapped registers between; energy at holding 100 (uint32, low word first). */
const METRICS = {
  power_kw: { address: 0, function: 'input', type: 'float32' },
  power_factor: { address: 4, function: 'input', type: 'int16', scale: 0.001 },
  energy_kwh_total: { address: 100, function: 'holding', type: 'uint32', wordOrder: 'little', scale: 0.01 },
} as const;

function fill(meter: ModbusMeter): void {
  meter.put('input', 0, encodeRegisters(42.5, 'float32'));
  meter.put('input', 4, encodeRegisters(950, 'int16'));
  meter.put('holding', 100, encodeRegisters(1_234_567, 'uint32', 'little'));
}

function device(port: number, over: Record<string, unknown> = {}): ModbusDeviceConfig {
  const raw = {
    broker: 'mqtt://127.0.0.1:1883',
    devices: [{ id: 'meter-rtu-1', firmId: makeUscc('533100', 1), token: 'dt_x', type: 'electricity_meter', protocol: 'modbus-tcp', host: '127.0.0.1', port, metrics: METRICS, ...over }],
  };
  return parseGatewayConfig(raw, '/etc/gw').devices[0] as ModbusDeviceConfig;
}

const EXPECTED = { power_kw: 42.5, power_factor: 0.95, energy_kwh_total: 12_345.67 };

const meters: ModbusMeter[] = [];
after(async () => {
  await Promise.all(meters.map((m) => m.stop()));
});

async function meter(framing: Framing, strict = false): Promise<ModbusMeter> {
  const m = await startModbusMeter(await freePort(), framing, { strict });
  fill(m);
  meters.push(m);
  return m;
}

async function sampleOnce(cfg: ModbusDeviceConfig): Promise<Record<string, number>> {
  const source = new ModbusSource(cfg, log);
  try {
    return (await source.sample()).metrics;
  } finally {
    await source.close();
  }
}

describe('gateway: Modbus', () => {
  test('read plan: one request per run of neighbouring registers of one function, within the gap and the span limit', () => {
    const spans = (gap: number, max = 125) => planReads(METRICS, gap, max).map((s) => [s.function, s.address, s.count, s.metrics.map((m) => m.name)]);
    assert.deepEqual(spans(8), [
      ['holding', 100, 2, ['energy_kwh_total']],
      ['input', 0, 5, ['power_kw', 'power_factor']],
    ]);
    assert.deepEqual(spans(1), [
      ['holding', 100, 2, ['energy_kwh_total']],
      ['input', 0, 2, ['power_kw']], ['input', 4, 1, ['power_factor']],
    ], 'two unmapped registers between power and cos φ exceed a gap of 1');
    assert.deepEqual(spans(8, 3).map((s) => s[1]), [100, 0, 4], 'no span over 3 registers');
    const far = planReads({ a: { address: 0, function: 'holding', type: 'uint16' }, b: { address: 124, function: 'holding', type: 'uint32' } }, 200, 125);
    assert.equal(far.length, 2, 'a span never exceeds 125 registers');
  });

  for (const framing of ['tcp', 'rtu'] as const) {
    test(`${framing === 'rtu' ? 'RTU frames over TCP' : 'Modbus TCP'}: values decoded and scaled, two requests a sample`, async () => {
      const m = await meter(framing);
      const metrics = await sampleOnce(device(m.port, { framing }));
      assert.deepEqual(metrics, EXPECTED);
      assert.deepEqual(m.requests, [{ function: 'holding', address: 100, count: 2 }, { function: 'input', address: 0, count: 5 }]);
    });
  }

  test('with maxGap 0 every run of adjacent registers is its own request', async () => {
    const m = await meter('tcp');
    assert.deepEqual(await sampleOnce(device(m.port, { maxGap: 0 })), EXPECTED);
    assert.equal(m.requests.length, 3, JSON.stringify(m.requests));
  });

  test('a device that refuses a read over unmapped registers is read one metric at a time from then on', async () => {
    const m = await meter('rtu', true);
    const source = new ModbusSource(device(m.port, { framing: 'rtu' }), log);
    try {
      assert.deepEqual((await source.sample()).metrics, EXPECTED);
      assert.equal(source.requestsPerSample, 3, 'the input span split in two');
      m.requests.length = 0;
      assert.deepEqual((await source.sample()).metrics, EXPECTED);
      assert.equal(m.requests.length, 3);
    } finally {
      await source.close();
    }
  });

  test('configuration: framing, gap and span limit are checked with the field named', () => {
    assert.throws(() => device(1, { framing: 'ascii' }), /devices\[0\]\.framing: must be one of "tcp", "rtu"/);
    assert.throws(() => device(1, { maxReadRegisters: 126 }), /devices\[0\]\.maxReadRegisters: must be <= 125/);
    assert.throws(() => device(1, { maxGap: -1 }), /devices\[0\]\.maxGap: must be >= 0/);
  });
});
