// The connection gate's wire reading: MQTT fixed headers across chunk boundaries and PROXY protocol v1 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { FrameScanner, normalAddress, parseProxyLine } from '../../broker/frames.ts';
import { fixedHeader as header } from '../helpers/raw-mqtt.ts';

const packet = (type: number, bodyLength: number) => Buffer.concat([header(type, bodyLength), Buffer.alloc(bodyLength, 7)]);

test('packets under the limit pass, in one chunk or split anywhere, headers included', () => {
  const stream = Buffer.concat([packet(0x10, 30), packet(0x30, 200), packet(0xc0, 0), packet(0x32, 1000), packet(0x30, 16383)]);
  assert.equal(new FrameScanner(16383).scan(stream), -1);
  for (const size of [1, 2, 3, 7, 129]) {
    const s = new FrameScanner(16383);
    for (let i = 0; i < stream.length; i += size) assert.equal(s.scan(stream.subarray(i, i + size)), -1, `chunks of ${size}`);
  }
});

test('the first packet announcing more than the limit is reported before its body arrives', () => {
  const s = new FrameScanner(1024);
  assert.equal(s.scan(packet(0x30, 1000)), -1);
  const big = header(0x30, 200 * 1024 * 1024);
  assert.equal(s.scan(big.subarray(0, 2)), -1); // the varint is not complete yet
  assert.equal(s.scan(big.subarray(2)), 200 * 1024 * 1024);
});

test('a raised limit applies to the packets that follow (after login)', () => {
  const s = new FrameScanner(100);
  assert.equal(s.scan(packet(0x10, 90)), -1);
  s.limit = 5000;
  assert.equal(s.scan(packet(0x30, 4000)), -1);
  assert.equal(s.scan(header(0x30, 5001)), 5001);
});

test('a remaining length of more than four bytes is not MQTT', () => {
  assert.equal(new FrameScanner(1e9).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), Infinity);
});

test('PROXY v1 lines: TCP4, TCP6, UNKNOWN, partial and malformed', () => {
  const line = (s: string) => parseProxyLine(Buffer.from(s, 'latin1'), isIP);
  assert.deepEqual(line('PROXY TCP4 127.0.0.2 127.0.0.1 40000 8080\r\n\x10\x20'), { kind: 'line', address: '127.0.0.2', length: 43 });
  assert.deepEqual(line('PROXY TCP6 2001:db8::1 ::1 40000 8080\r\n'), { kind: 'line', address: '2001:db8::1', length: 39 });
  assert.deepEqual(line('PROXY UNKNOWN\r\n'), { kind: 'line', address: undefined, length: 15 });
  assert.deepEqual(line('PROXY TCP4 127.0.0.2 127.'), { kind: 'incomplete' });
  for (const bad of ['PROXY TCP4 ::1 127.0.0.1 1 2\r\n', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', `PROXY ${'x'.repeat(120)}`]) {
    assert.deepEqual(line(bad), { kind: 'invalid' }, bad);
  }
  assert.equal(normalAddress('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(normalAddress('::1'), '::1');
});
