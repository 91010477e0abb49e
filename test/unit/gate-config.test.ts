// The broker's connection-gate variables: defaults, and values that would break the payload-size rule refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../common/config.ts';

test('packet size, CONNECT deadline, pre-login caps and trusted proxies: defaults', () => {
  const c = loadConfig({});
  assert.deepEqual([c.maxPacketBytes, c.connectTimeoutS, c.preLoginPerAddress, c.preLoginTotal, c.mqttTrustedProxies], [1024 * 1024, 10, 100, 1000, ['127.0.0.1', '::1']]);
  // A larger payload limit moves the default packet limit with it.
  assert.equal(loadConfig({ MAX_PAYLOAD_BYTES: String(4 * 1024 * 1024) }).maxPacketBytes, 4 * 1024 * 1024 + 64 * 1024);
  assert.deepEqual(loadConfig({ MQTT_TRUSTED_PROXIES: ' 10.0.0.5, fd00::7 ' }).mqttTrustedProxies, ['10.0.0.5', 'fd00::7']);
});

test('a packet limit without room for the largest payload, or a proxy that is not an address, stops start-up', () => {
  assert.throws(() => loadConfig({ MAX_PAYLOAD_BYTES: '262144', MAX_PACKET_BYTES: '262144' }), /MAX_PACKET_BYTES: must be between 263168/);
  assert.throws(() => loadConfig({ MQTT_TRUSTED_PROXIES: '127.0.0.1,api' }), /MQTT_TRUSTED_PROXIES: expected IP addresses separated by commas, got "api"/);
  assert.throws(() => loadConfig({ CONNECT_TIMEOUT_S: '0' }), /CONNECT_TIMEOUT_S/);
});
