// The gateway's pure mapping logic, without peers: register decoding, OPC 40001-1 states, the configuration's
// checks against the catalogue (the end-to-end run with real servers is gateway.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GatewayConfigError, loadGatewayConfig, parseGatewayConfig } from '../../gateway/config.ts';
import { GatewayQueue } from '../../gateway/queue.ts';
import { GatewayDevice } from '../../gateway/device.ts';
import { Uplink } from '../../gateway/uplink.ts';
import type { Source } from '../../gateway/sources/source.ts';
import { pino } from 'pino';
import { itemState, machineState, operationMode } from '../../gateway/machine-state.ts';
import { decodeRegisters, encodeRegisters } from '../../gateway/registers.ts';
import { makeUscc } from '../../common/ids.ts';

test('registers: 16 and 32-bit types, both word orders, scale', () => {
  assert.equal(decodeRegisters([0xffff], 'uint16'), 65535);
  assert.equal(decodeRegisters([0xffff], 'int16'), -1);
  assert.equal(decodeRegisters([0x0001, 0x0002], 'uint32'), 65538);
  assert.equal(decodeRegisters([0x0002, 0x0001], 'uint32', 'little'), 65538);
  assert.equal(decodeRegisters([0xffff, 0xfffe], 'int32'), -2);
  assert.equal(decodeRegisters([0x42f7, 0x0000], 'float32'), 123.5);
  assert.equal(decodeRegisters([0x0000, 0x42f7], 'float32', 'little'), 123.5);
  assert.equal(decodeRegisters([950], 'int16', 'big', 0.001), 0.95);
  for (const [v, t] of [[-12345, 'int32'], [4_000_000_000, 'uint32'], [-3, 'int16'], [2.5, 'float32']] as const) {
    for (const order of ['big', 'little'] as const) assert.equal(decodeRegisters(encodeRegisters(v, t, order), t, order), v);
  }
  assert.throws(() => decodeRegisters([1], 'float32'), /needs 2 registers/);
});

test('OPC 40001-1 item state and operation mode map to the contract states (docs/domain.md)', () => {
  assert.equal(itemState({ text: 'Executing' }), 'Executing');
  assert.equal(itemState('Not Executing'), 'NotExecuting');
  assert.equal(itemState(1), 'OutOfService');
  assert.equal(itemState(7), undefined);
  assert.equal(operationMode(3), 'Processing');
  const cases: Array<[Parameters<typeof machineState>[0], Parameters<typeof machineState>[1], string]> = [
    ['Executing', 'Processing', 'running'], ['Executing', undefined, 'running'], ['NotExecuting', 'Processing', 'idle'],
    ['NotExecuting', 'Setup', 'setup'], ['NotExecuting', 'Maintenance', 'maintenance'], ['OutOfService', 'Maintenance', 'maintenance'],
    ['OutOfService', 'Processing', 'fault'], ['NotAvailable', 'Processing', 'stopped'],
  ];
  for (const [item, mode, state] of cases) assert.equal(machineState(item, mode), state, `${item} + ${mode}`);
});

function config(device: Record<string, unknown>, top: Record<string, unknown> = {}) {
  return { broker: 'mqtt://127.0.0.1:1883', ...top, devices: [{ id: 'meter-01', firmId: makeUscc('533100', 1), token: 'dt_x', type: 'electricity_meter', protocol: 'modbus-tcp', host: '10.0.0.5', metrics: { power_kw: { address: 0, function: 'input', type: 'float32' } }, ...device }] };
}

function fails(raw: unknown, expected: RegExp): void {
  assert.throws(() => parseGatewayConfig(raw, '/etc/gw'), (err: Error) => err instanceof GatewayConfigError && expected.test(err.message), String(expected));
}

test('configuration: defaults, and an error naming the field for every bad mapping', () => {
  const ok = parseGatewayConfig(config({}, { dataDir: 'q' }), '/etc/gw');
  assert.equal(ok.dataDir, '/etc/gw/q');
  assert.equal(ok.devices[0]!.pollIntervalMs, 1000);
  fails({ devices: [] }, /^broker: is required/);
  fails(config({}, { colour: 1 }), /^colour: is not a known setting/);
  fails(config({ protocol: 'bacnet' }), /^devices\[0\]\.protocol: must be one of "opcua", "modbus-tcp"/);
  fails(config({ type: 'tractor' }), /^devices\[0\]\.type: "tractor" is not a device type of the catalogue/);
  fails(config({ metrics: { speed_rpm: { address: 0, function: 'input', type: 'uint16' } } }), /^devices\[0\]\.metrics\.speed_rpm: is not a metric of device type "electricity_meter"/);
  fails(config({ metrics: { power_kw: { address: 0, function: 'coil', type: 'uint16' } } }), /^devices\[0\]\.metrics\.power_kw\.function: must be one of "holding", "input"/);
  fails(config({ metrics: { power_kw: { address: 70000, function: 'input', type: 'uint16' } } }), /^devices\[0\]\.metrics\.power_kw\.address: must be <= 65535/);
  fails(config({ metrics: {} }), /^devices\[0\]\.metrics: maps no metric/);
  fails(config({ firmId: '123' }), /^devices\[0\]\.firmId: /);
  const opcua = { ...config({}).devices[0], protocol: 'opcua', host: undefined, endpoint: 'opc.tcp://plc:4840', metrics: { power_kw: 'ns=2;s=P' } };
  assert.equal(parseGatewayConfig(JSON.parse(JSON.stringify({ broker: 'mqtt://x', devices: [opcua] }))).devices[0]!.protocol, 'opcua');
  fails(JSON.parse(JSON.stringify({ broker: 'mqtt://x', devices: [{ ...opcua, securityMode: 'Encrypt' }] })), /^devices\[0\]\.securityMode: must be one of "None", "Sign", "SignAndEncrypt"/);
  fails(JSON.parse(JSON.stringify({ broker: 'mqtt://x', devices: [{ ...opcua, host: 'plc' }] })), /^devices\[0\]\.host: is not a known setting/);
  fails({ broker: 'mqtt://x', devices: [config({}).devices[0], config({}).devices[0]] }, /^devices\[1\]\.id: "meter-01" appears twice/);
});

test('the example configuration of docs/gateway.md is valid', () => {
  const file = path.resolve(import.meta.dirname, '../../gateway/examples/gateway.yaml');
  const cfg = loadGatewayConfig(file);
  assert.deepEqual(cfg.devices.map((d) => [d.type, d.protocol, d.pollIntervalMs]), [['rapier_loom', 'opcua', 1000], ['electricity_meter', 'modbus-tcp', 5000]]);
  assert.equal(cfg.dataDir, path.resolve(path.dirname(file), '../../data/gateway'));
});

test('queue: sequence numbers survive a reopen; at the cap nothing is taken and no number is used', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-queue-'));
  const file = path.join(dir, 'queue.db');
  try {
    let q = new GatewayQueue(file, 3);
    assert.deepEqual([q.addTelemetry('a', 1, { x: 1 }), q.addTelemetry('b', 1, { x: 1 }), q.addTelemetry('a', 2, { x: 2 })], [0, 0, 1]);
    assert.equal(q.addTelemetry('a', 3, { x: 3 }), undefined);
    assert.equal(q.full, true);
    const [first] = q.after('a', 0, 10);
    q.acknowledge(first!.id);
    q.close();
    q = new GatewayQueue(file, 3);
    assert.equal(q.depth, 2, 'the acknowledged row was deleted before closing');
    assert.equal(q.addTelemetry('a', 4, { x: 4 }), 2);
    assert.deepEqual(q.after('a', 0, 10).map((m) => JSON.parse(m.payload).seq), [1, 2]);
    q.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('at the cap the device stops sampling with one log line, and resumes with another', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cap-'));
  const lines: Array<{ msg: string; skipped?: number }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as { msg: string }); } });
  const queue = new GatewayQueue(path.join(dir, 'queue.db'), 2);
  let reads = 0;
  const source: Source = { start: () => undefined, sample: async () => ({ metrics: { power_kw: ++reads }, state: 'running' }), close: async () => undefined };
  const cfg = parseGatewayConfig(config({}), dir).devices[0]!;
  // An uplink never started: nothing leaves the queue, as while the broker is unreachable.
  const device = new GatewayDevice(cfg, source, queue, new Uplink(cfg, 'mqtt://127.0.0.1:1', queue, log), log);
  try {
    for (let i = 0; i < 5; i++) await device.tick();
    assert.deepEqual(device.stats, { sampled: 1, skippedFull: 4, failed: 0 }, 'one sample and its first state event fill the queue');
    assert.equal(lines.filter((l) => /queue full: sampling paused/.test(l.msg)).length, 1);
    queue.acknowledge(queue.after(cfg.id, 0, 10)[0]!.id);
    await new Promise((r) => setImmediate(r));
    await device.tick();
    assert.equal(device.stats.sampled, 2);
    assert.equal(lines.find((l) => /sampling resumed/.test(l.msg))?.skipped, 4);
    assert.deepEqual(queue.after(cfg.id, 0, 10).map((m) => [m.kind, JSON.parse(m.payload).seq]), [['state', undefined], ['telemetry', 1]]);
  } finally {
    queue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
