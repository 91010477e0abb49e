// The broker's heap is sized for the fleet it serves unless BROKER_MAX_HEAP_MB says otherwise.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerHeapForFleet, startService } from '../../scripts/launch.ts';

describe('broker heap', () => {
  test('192 MB floor, then 128 MB plus 64 KB per device, rounded up to 32 MB', () => {
    assert.equal(brokerHeapForFleet(0), 192);
    assert.equal(brokerHeapForFleet(1000), 192); // 128 + 62.5
    assert.equal(brokerHeapForFleet(2000), 256); // 128 + 125 = 253 → 256
    assert.equal(brokerHeapForFleet(30_000), 2016); // 128 + 1875 = 2003 → 2016
  });

  test('the broker is started with the fleet\'s heap, or with BROKER_MAX_HEAP_MB when it is set', async () => {
    const flagsOf = async (env: NodeJS.ProcessEnv, fleetDevices: number) => {
      const s = startService('broker', { env: { ...env, PATH: process.env.PATH, MQTT_PORT: 'not-a-port' }, fleetDevices });
      const args = s.child.spawnargs.filter((a) => a.startsWith('--max-old-space-size'));
      await s.stop('SIGKILL');
      return args;
    };
    assert.deepEqual(await flagsOf({}, 30_000), ['--max-old-space-size=2016']);
    assert.deepEqual(await flagsOf({ BROKER_MAX_HEAP_MB: '512' }, 30_000), ['--max-old-space-size=512']);
    assert.deepEqual(await flagsOf({ BROKER_MAX_HEAP_MB: '0' }, 30_000), []);
  });
});
