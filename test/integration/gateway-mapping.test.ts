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

test('queue: sequence numbers survive a reopen; at the cap the oldest telemetry is dropped and counted, states are kept', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-queue-'));
  const file = path.join(dir, 'queue.db');
  const lines: Array<{ msg: string; dropped?: number }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as { msg: string }); } });
  try {
    let q = new GatewayQueue(file, 3, log);
    assert.deepEqual([q.addTelemetry('a', 1, { x: 1 }), q.addTelemetry('b', 1, { x: 1 }), q.addTelemetry('a', 2, { x: 2 })], [0, 0, 1]);
    assert.equal(q.full, true);
    assert.equal(q.addTelemetry('a', 3, { x: 3 }), 2, 'a new sample is taken at the cap');
    assert.deepEqual([q.depth, q.dropped], [3, 1], 'for the oldest');
    assert.deepEqual(q.after(undefined, 0, 10).map((m) => [m.device, JSON.parse(m.payload).seq]), [['b', 0], ['a', 1], ['a', 2]]);
    q.addState('b', { ts: 4, state: 'running' });
    q.addTelemetry('b', 5, { x: 5 });
    assert.deepEqual(q.after(undefined, 0, 10).map((m) => [m.device, m.kind]), [['a', 'telemetry'], ['b', 'state'], ['b', 'telemetry']], 'the oldest telemetry made room each time');
    assert.equal(q.dropped, 3);
    for (let ts = 6; ts < 9; ts++) q.addTelemetry('a', ts, { x: ts });
    assert.deepEqual(q.after(undefined, 0, 10).map((m) => m.kind), ['state', 'telemetry', 'telemetry'], 'a state event is never the one dropped');
    assert.equal(lines.filter((l) => /queue full: dropping the oldest/.test(l.msg)).length, 1, 'one line when dropping begins');
    const [first] = q.after('a', 0, 10);
    q.acknowledge(first!.id);
    q.close();
    q = new GatewayQueue(file, 3, log);
    assert.equal(q.depth, 2, 'the acknowledged row was deleted before closing');
    assert.equal(q.addTelemetry('a', 9, { x: 9 }), 6, 'sequence numbers go on after a reopen');
    q.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('at the cap the device keeps sampling: the oldest are dropped, logged once when it begins and once when it ends', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-cap-'));
  const lines: Array<{ msg: string; dropped?: number }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as { msg: string }); } });
  const queue = new GatewayQueue(path.join(dir, 'queue.db'), 3, log);
  let reads = 0;
  const source: Source = { start: () => undefined, sample: async () => ({ metrics: { power_kw: ++reads }, state: 'running' }), close: async () => undefined };
  const cfg = parseGatewayConfig(config({}), dir).devices[0]!;
  // An uplink never started: nothing leaves the queue, as while the broker is unreachable.
  const device = new GatewayDevice(cfg, source, queue, new Uplink({ id: cfg.id, firmId: cfg.firmId, token: 'dt_x' }, [cfg.id], 'mqtt://127.0.0.1:1', queue, log), log);
  try {
    for (let i = 0; i < 6; i++) await device.tick();
    assert.deepEqual(device.stats, { sampled: 6, failed: 0 }, 'every tick is sampled');
    assert.deepEqual([queue.depth, queue.dropped], [3, 4], 'the state event and the two newest samples are kept');
    assert.deepEqual(queue.after(cfg.id, 0, 10).map((m) => [m.kind, JSON.parse(m.payload).seq]), [['state', undefined], ['telemetry', 4], ['telemetry', 5]]);
    assert.equal(lines.filter((l) => /queue full: dropping the oldest/.test(l.msg)).length, 1);
    for (const m of queue.after(cfg.id, 0, 10)) queue.acknowledge(m.id);
    await new Promise((r) => setImmediate(r));
    await device.tick();
    assert.equal(lines.find((l) => /queue below its cap again/.test(l.msg))?.dropped, 4);
  } finally {
    queue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('configuration: one gateway credential for every device of one firm, or each device its own token', () => {
  const gateway = { id: 'gw-hall-1', token: 'gt_x' };
  const { token: _, ...withoutToken } = config({}).devices[0]!;
  const ok = parseGatewayConfig({ ...config({}, { gateway }), devices: [withoutToken, { ...withoutToken, id: 'meter-02' }] }, '/etc/gw');
  assert.deepEqual([ok.gateway, ok.devices.map((d) => d.token)], [gateway, [undefined, undefined]]);
  assert.equal(parseGatewayConfig(config({}, { gateway }), '/etc/gw').gateway?.id, 'gw-hall-1', 'a device token beside a gateway credential is accepted (the gateway wins)');
  fails({ ...config({}), devices: [withoutToken] }, /^devices\[0\]\.token: is required without a gateway credential/);
  fails(config({ id: 'gw-hall-1' }, { gateway }), /^devices\[0\]\.id: "gw-hall-1" is the gateway's own id/);
  fails({ ...config({}, { gateway }), devices: [withoutToken, { ...withoutToken, id: 'meter-02', firmId: makeUscc('533100', 2) }] }, /^devices: a gateway belongs to one firm/);
  fails(config({}, { gateway: { id: 'gw-hall-1' } }), /^gateway\.token: is required/);
});
