// The latest-values conformance suite: every LatestSource adapter (InfluxDB each time, memory from the live feed,
// memory warmed from InfluxDB) must answer the same for the same observations.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveDevice } from '../../common/contract/live.ts';
import type { LatestSource } from '../../analytics/live/latest.ts';
import type { Scope } from '../../analytics/base/scope.ts';
import { MINUTE } from '../../common/time.ts';

/** One message a device sent: telemetry (metrics) or a state change, at ts. */
export interface Observation {
  device: Omit<LiveDevice, 'ts' | 'metrics' | 'state'>;
  ts: number;
  metrics?: Record<string, number>;
  state?: string;
}

const firm = (n: number, county: string, park: string, segment: string) => ({ firmId: `91533100MA0000000${n}`, county, park, segment });
const F1 = firm(1, '533102', 'ruili-test', 'weaving');
const F2 = firm(2, '533103', 'mangshi-test', 'dyeing');
const dev = (f: ReturnType<typeof firm>, deviceId: string, type: string) => ({ ...f, deviceId, type });

/** The fixture, relative to now: current and stale rates, states, a device with only a state. */
export function observations(now: number): Observation[] {
  const em = dev(F1, 'f1-em', 'electricity_meter');
  const l1 = dev(F1, 'f1-loom1', 'loom');
  const l2 = dev(F1, 'f1-loom2', 'loom');
  const gas = dev(F2, 'f2-gas', 'gas_meter');
  const dye = dev(F2, 'f2-dye', 'dyeing_machine');
  const idle = dev(F2, 'f2-spare', 'loom');
  const list: Observation[] = [
    { device: l1, ts: now - 2 * 60 * MINUTE, state: 'running' },
    { device: l2, ts: now - 60 * MINUTE, state: 'fault' },
    { device: idle, ts: now - 3 * 60 * MINUTE, state: 'stopped' },
    { device: dye, ts: now - 30 * MINUTE, state: 'running' },
    { device: l2, ts: now - 10 * MINUTE, metrics: { power_kw: 3.5, speed_rpm: 600 } },
    { device: em, ts: now - 2 * MINUTE, metrics: { power_kw: 90, energy_kwh_total: 1000 } },
    { device: dye, ts: now - 90_000, metrics: { power_kw: 40, bath_temp_c: 80 } },
    { device: em, ts: now - 60_000, metrics: { power_kw: 100, energy_kwh_total: 1001.5 } },
    { device: l1, ts: now - 30_000, metrics: { power_kw: 4, speed_rpm: 620 } },
    { device: gas, ts: now - 20_000, metrics: { flow_m3_h: 30, gas_m3_total: 55 } },
    { device: dye, ts: now - 10_000, state: 'idle' },
  ];
  return list;
}

/** What must agree: the state, and the rate metrics when the reading is within the rate window (5 min). */
interface Normalised { deviceId: string; firmId: string; county: string; park: string; segment: string; type: string; state: string | null; ts: number | null; rates: Record<string, number> }
function normalise(list: readonly LiveDevice[], now: number): Normalised[] {
  const rates = new Set(['power_kw', 'flow_m3_h', 'gas_flow_m3_h', 'flow_kg_h']);
  return list.map((d) => {
    const current = d.ts > now - 5 * MINUTE;
    return {
      deviceId: d.deviceId, firmId: d.firmId, county: d.county, park: d.park, segment: d.segment, type: d.type, state: d.state ?? null,
      ts: current ? d.ts : null, rates: current ? Object.fromEntries(Object.entries(d.metrics).filter(([k]) => rates.has(k)).sort()) : {},
    };
  }).sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}

export function latestConformance(name: string, make: (obs: readonly Observation[]) => Promise<LatestSource>): void {
  describe(`LatestSource conformance: ${name}`, () => {
    test('every scope: the latest state of each device and its rates within the window', async () => {
      const now = Date.now();
      const source = await make(observations(now));
      const all = normalise(await source.devices({ kind: 'prefecture', id: '' }, now), now);
      // By hand from the fixture.
      assert.deepEqual(all.map((d) => [d.deviceId, d.state, d.rates]), [
        ['f1-em', null, { power_kw: 100 }],
        ['f1-loom1', 'running', { power_kw: 4 }],
        ['f1-loom2', 'fault', {}],
        ['f2-dye', 'idle', { power_kw: 40 }],
        ['f2-gas', null, { flow_m3_h: 30 }],
        ['f2-spare', 'stopped', {}],
      ]);
      assert.equal(all.find((d) => d.deviceId === 'f1-em')?.ts, now - 60_000);
      const scopes: Array<[Scope, string[]]> = [
        [{ kind: 'county', id: '533102' }, ['f1-em', 'f1-loom1', 'f1-loom2']],
        [{ kind: 'park', id: 'mangshi-test' }, ['f2-dye', 'f2-gas', 'f2-spare']],
        [{ kind: 'segment', id: 'dyeing' }, ['f2-dye', 'f2-gas', 'f2-spare']],
        [{ kind: 'firm', id: F1.firmId }, ['f1-em', 'f1-loom1', 'f1-loom2']],
        [{ kind: 'device', id: 'f2-gas' }, ['f2-gas']],
        [{ kind: 'county', id: '533124' }, []],
      ];
      for (const [scope, ids] of scopes) {
        const got = normalise(await source.devices(scope, now), now);
        assert.deepEqual(got.map((d) => d.deviceId), ids, `${scope.kind} ${scope.id}`);
        assert.deepEqual(got, all.filter((d) => ids.includes(d.deviceId)), `${scope.kind} ${scope.id}`);
      }
    });
  });
}
