// LiveLatest's own rules (pure logic; the shared behaviour is in test/conformance/latest.ts against InfluxDB).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveDevice } from '../../common/contract/live.ts';
import { LiveLatest, type LatestSource } from '../../analytics/live/latest.ts';

const base = { firmId: 'F1', county: '533102', park: 'p', segment: 'weaving', type: 'loom' };
const dev = (deviceId: string, over: Partial<LiveDevice> = {}): LiveDevice => ({ ...base, deviceId, ts: 0, metrics: {}, ...over });
const all = { kind: 'prefecture' as const, id: '' };

describe('LiveLatest', () => {
  test('a warm-up state fills a gap but never replaces a live one; older readings do not replace newer ones', async () => {
    const warm: LatestSource = { devices: async () => [dev('a', { ts: 100, metrics: { power_kw: 1 }, state: 'fault' }), dev('b', { ts: 50, metrics: { power_kw: 2 }, state: 'idle' })] };
    const latest = new LiveLatest(warm);
    latest.take({ devices: [dev('a', { ts: 200, metrics: { power_kw: 3 }, state: 'running' })] });
    await latest.warmUp();
    assert.deepEqual(latest.get('a'), dev('a', { ts: 200, metrics: { power_kw: 3 }, state: 'running' }));
    // A restarted broker knows no state yet and sends an entry with ts 0 for a state-less device.
    latest.take({ devices: [dev('b', { ts: 0, metrics: {} })] });
    assert.deepEqual(latest.get('b'), dev('b', { ts: 50, metrics: { power_kw: 2 }, state: 'idle' }));
    latest.take({ devices: [dev('b', { ts: 60, metrics: { speed_rpm: 600 }, state: 'running' })] });
    assert.deepEqual(latest.get('b'), dev('b', { ts: 60, metrics: { power_kw: 2, speed_rpm: 600 }, state: 'running' }));
    assert.equal((await latest.devices(all, 0)).length, 2);
  });

  test('a failed warm-up is retried at the next question', async () => {
    let calls = 0;
    const warm: LatestSource = { devices: async () => { calls++; if (calls === 1) throw new Error('influxd down'); return [dev('a', { ts: 1, metrics: { power_kw: 1 } })]; } };
    const latest = new LiveLatest(warm);
    await assert.rejects(latest.devices(all, 0), /influxd down/);
    assert.equal((await latest.devices(all, 0)).length, 1);
    assert.equal(calls, 2);
  });

  test('a device that moved to another firm is listed under that firm only; retain forgets removed devices', async () => {
    const latest = new LiveLatest();
    latest.take({ devices: [dev('a'), dev('b'), dev('c', { firmId: 'F2' })] });
    latest.take({ devices: [dev('b', { firmId: 'F2', ts: 5 })] });
    assert.deepEqual((await latest.devices({ kind: 'firm', id: 'F2' }, 0)).map((d) => d.deviceId).sort(), ['b', 'c']);
    assert.deepEqual((await latest.devices({ kind: 'firm', id: 'F1' }, 0)).map((d) => d.deviceId), ['a']);
    latest.retain(new Set(['b']));
    assert.deepEqual((await latest.devices(all, 0)).map((d) => d.deviceId), ['b']);
    assert.deepEqual([...latest.firms().keys()], ['F2']);
  });

  test('with event times the newest state wins, from the feed or from InfluxDB; a refresh corrects a missed change', async () => {
    let stored: LiveDevice[] = [];
    const latest = new LiveLatest({ devices: async () => stored });
    latest.take({ devices: [dev('a', { ts: 100, metrics: { power_kw: 4 }, state: 'running', stateTs: 90 })] });
    // The summary with the stop was lost; InfluxDB has it.
    stored = [dev('a', { ts: 100, metrics: { power_kw: 4 }, state: 'stopped', stateTs: 150 })];
    await latest.refresh(60_000);
    assert.equal(latest.get('a')?.state, 'stopped');
    // An older event (a late store-and-forward batch) does not go back.
    latest.take({ devices: [dev('a', { ts: 100, metrics: {}, state: 'running', stateTs: 120 })] });
    assert.equal(latest.get('a')?.state, 'stopped');
    // A re-provisioned id: newer readings under another firm move it there.
    stored = [dev('a', { firmId: 'F9', ts: 500, metrics: { power_kw: 1 } })];
    await latest.refresh(60_000);
    assert.equal(latest.get('a')?.firmId, 'F9');
    assert.deepEqual([...(latest.firms().get('F9') ?? [])], ['a']);
    assert.equal(latest.firms().get('F1')?.has('a') ?? false, false);
  });
});
