// Conversion to standard coal, the plant-boundary rule and the InfluxQL the counters use: pure logic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { boundaryAmount, countedSource, hasPrimaryFabric, outputAmount, sourcesOf, steamSourceOf } from '../../analytics/energy/carriers.ts';
import { alignRange, stepFor } from '../../analytics/energy/counters.ts';
import { DEFAULT_FACTORS, basisFor, factorProblem, toKgce } from '../../analytics/energy/factors.ts';
import { rollupPieces } from '../../analytics/energy/sources.ts';
import { edgeStatement, fallStatement } from '../../common/telemetry-store/influx/counters.ts';
import { splitByYear, yearStart } from '../../common/time.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

describe('standard coal (GB/T 2589-2020)', () => {
  test('当量值: 0.1229 kgce/kWh, 1.2143 kgce/m³ gas, 0.1286 kgce/kg low-pressure steam; water shown but not counted by default', () => {
    const b = basisFor(DEFAULT_FACTORS, 'calorific', 2026);
    assert.equal(b.zh, '当量值');
    assert.equal(b.factors.electricity.kgcePerUnit, 0.1229);
    assert.equal(b.factors.gas.kgcePerUnit, 1.2143);
    const r = toKgce({ electricity: 1000, gas: 100, steam: 2000, water: 10 }, b);
    close(r.byCarrier.electricity, 122.9);
    close(r.byCarrier.gas, 121.43);
    // 2000 kg × 0.1286 (the reference table's low-pressure steam row, not the unsourced 0.0929 of before).
    assert.equal(b.factors.steam.kgcePerUnit, 0.1286);
    close(r.byCarrier.steam, 257.2);
    close(r.byCarrier.water, 2.571);
    close(r.totalKgce, 122.9 + 121.43 + 257.2);
  });

  test('等价值 electricity per year, with the default named when a year is missing', () => {
    const cfg = { ...DEFAULT_FACTORS, electricity: { ...DEFAULT_FACTORS.electricity, primaryByYear: { '2025': 0.2986 } } };
    assert.equal(basisFor(cfg, 'primary', 2025).factors.electricity.kgcePerUnit, 0.2986);
    const other = basisFor(cfg, 'primary', 2027);
    assert.equal(other.factors.electricity.kgcePerUnit, 0.3);
    assert.match(other.note, /no electricity factor configured for 2027/);
    assert.equal(basisFor(cfg, 'primary', 2025).factors.steam.kgcePerUnit, 0.1286);
  });

  test('unusable factors are refused with the field named', () => {
    assert.match(factorProblem({ ...DEFAULT_FACTORS, gas: 0 }) ?? '', /^gas must be a positive number/);
    assert.match(factorProblem({ ...DEFAULT_FACTORS, electricity: { ...DEFAULT_FACTORS.electricity, primaryByYear: { abc: 0.3 } } }) ?? '', /"abc" is not a year/);
    assert.equal(factorProblem(DEFAULT_FACTORS), undefined);
  });

  test('a range is cut at local new year so each part uses its own year', () => {
    const parts = splitByYear(yearStart(2026) - 3_600_000, yearStart(2026) + 3_600_000);
    assert.deepEqual(parts.map((p) => [p.year, p.to - p.from]), [[2025, 3_600_000], [2026, 3_600_000]]);
    assert.equal(new Date(yearStart(2026)).toISOString(), '2025-12-31T16:00:00.000Z');
  });
});

describe('plant boundary', () => {
  const m = (o: Record<string, number>) => new Map(Object.entries(o));
  test('meters first: the machines\' own registers are sub-metering', () => {
    assert.deepEqual(boundaryAmount('electricity', m({ electricity_meter: 1000, loom: 50 }), true, 'bought'), { measured: 1000, counted: 1000, source: 'meters' });
    assert.deepEqual(boundaryAmount('electricity', m({ loom: 50, dyeing_machine: 30 }), false, 'bought'), { measured: 80, counted: 80, source: 'machines' });
  });

  // A dyeing house: 1000 kWh at its electricity meter, 50 m³ of gas at its boiler, 500 kg of steam at the
  // machines' steam meter. 当量值: 1000 × 0.1229 + 50 × 1.2143 = 183.615 kgce without steam; 500 × 0.1286 = 64.3.
  const house = { electricity: m({ electricity_meter: 1000, loom: 80 }), gas: m({ gas_meter: 50 }), steam: m({ steam_meter: 500 }) };
  const kgce = (steam: 'bought' | 'own-boiler' | 'cogeneration') =>
    boundaryAmount('electricity', house.electricity, true, steam).counted * 0.1229 + boundaryAmount('gas', house.gas, true, steam).counted * 1.2143
    + boundaryAmount('steam', house.steam, true, steam).counted * 0.1286;

  test('bought steam crosses the boundary and counts, beside the gas', () => {
    assert.deepEqual(boundaryAmount('steam', house.steam, true, 'bought'), { measured: 500, counted: 500, source: 'meters' });
    assert.deepEqual(boundaryAmount('gas', house.gas, true, 'bought'), { measured: 50, counted: 50, source: 'meters' });
    close(kgce('bought'), 183.615 + 64.3);
  });

  test('own boiler: the gas counts, the steam made from it is measured but not counted again', () => {
    assert.deepEqual(boundaryAmount('steam', house.steam, true, 'own-boiler'), { measured: 500, counted: 0, source: 'meters' });
    assert.deepEqual(boundaryAmount('gas', house.gas, true, 'own-boiler'), { measured: 50, counted: 50, source: 'meters' });
    assert.deepEqual(boundaryAmount('electricity', house.electricity, true, 'own-boiler'), { measured: 1000, counted: 1000, source: 'meters' });
    close(kgce('own-boiler'), 183.615);
    // Steam metered only at the machines (no steam meter): not counted either.
    assert.deepEqual(boundaryAmount('steam', m({ dyeing_machine: 300 }), false, 'own-boiler'), { measured: 300, counted: 0, source: 'machines' });
  });

  test('cogeneration: gas counts, power and steam made inside the boundary do not count again', () => {
    assert.deepEqual(boundaryAmount('electricity', m({ loom: 100 }), false, 'cogeneration'), { measured: 100, counted: 0, source: 'machines' });
    assert.deepEqual(boundaryAmount('electricity', m({ electricity_meter: 40, loom: 100 }), true, 'cogeneration'), { measured: 40, counted: 40, source: 'meters' });
    assert.deepEqual(boundaryAmount('steam', m({ steam_meter: 500 }), true, 'cogeneration'), { measured: 500, counted: 0, source: 'meters' });
    assert.deepEqual(boundaryAmount('gas', m({ gas_meter: 50 }), true, 'cogeneration'), { measured: 50, counted: 50, source: 'meters' });
    close(kgce('cogeneration'), 183.615);
  });

  test('which source measurement is in the counted figure (the CSV column)', () => {
    assert.equal(countedSource('steam', 'steam_meter', true, 'bought'), true);
    assert.equal(countedSource('steam', 'steam_meter', true, 'own-boiler'), false);
    assert.equal(countedSource('electricity', 'loom', true, 'bought'), false);
    assert.equal(countedSource('electricity', 'loom', false, 'bought'), true);
    assert.equal(countedSource('electricity', 'loom', false, 'cogeneration'), false);
    assert.equal(countedSource('electricity', 'electricity_meter', true, 'cogeneration'), true);
  });

  test('steam source: as entered, else own boiler when a gas meter is at a boiler, else bought', () => {
    const boilerGas = { type: 'gas_meter', name: 'gas-1', location: '锅炉房' };
    assert.deepEqual(steamSourceOf({ steamSource: null }, [boilerGas]), { source: 'own-boiler', from: 'boiler-meter' });
    assert.deepEqual(steamSourceOf({ steamSource: null }, [{ type: 'gas_meter', name: 'Boiler gas', location: '' }]), { source: 'own-boiler', from: 'boiler-meter' });
    assert.deepEqual(steamSourceOf({ steamSource: null }, [{ type: 'gas_meter', name: 'gas', location: '定形车间' }]), { source: 'bought', from: 'default' });
    assert.deepEqual(steamSourceOf({ steamSource: 'bought' }, [boilerGas]), { source: 'bought', from: 'entered' });
    assert.deepEqual(steamSourceOf({ steamSource: null }), { source: 'bought', from: 'default' });
  });

  test('fabric output: the looms\' woven metres only, never a stenter\'s passes', () => {
    assert.equal(outputAmount('fabric', m({ loom: 1000, stenter: 2500 })), 1000);
    assert.equal(outputAmount('fabric', m({ stenter: 2500 })), 0);
    assert.equal(outputAmount('fabric', m({ loom: 600, water_jet_loom: 400 })), 1000);
    assert.equal(outputAmount('yarn', m({ spinning_frame: 30, rotor_spinning: 70 })), 100);
    assert.equal(hasPrimaryFabric(new Set(['stenter', 'dyeing_machine'])), false);
    assert.equal(hasPrimaryFabric(new Set(['stenter', 'water_jet_loom'])), true);
  });

  test('the counters come from the catalogue', () => {
    assert.ok(sourcesOf('gas').some((s) => s.type === 'gas_meter'));
    assert.ok(sourcesOf('electricity').some((s) => s.type === 'loom'));
    assert.ok(sourcesOf('yarn').some((s) => s.type === 'spinning_frame'));
  });
});

describe('counter queries', () => {
  const q = { metric: 'energy_kwh_total', measurements: ['loom', 'electricity_meter'], scope: { kind: 'firm' as const, id: 'X' }, from: 3_600_000 * 10, to: 3_600_000 * 11, stepMs: 60_000, groupBy: ['firm'] as const };
  test('edges: the first and the last reading per device and bucket, nothing before the range', () => {
    const s = edgeStatement({ ...q, groupBy: [...q.groupBy], intervalMs: 1_800_000 });
    assert.equal(s, `SELECT first("energy_kwh_total") AS "f", last("energy_kwh_total") AS "l" FROM "loom", "electricity_meter" WHERE "firm" = 'X' AND time >= 36000000ms AND time < 39600000ms GROUP BY time(30m), "device", "firm" fill(none)`);
  });
  test('falls: only the negative differences between readings come back', () => {
    assert.match(fallStatement({ ...q, groupBy: [...q.groupBy] }), /SELECT "d" AS "fall" FROM \(SELECT difference\("energy_kwh_total"\) AS "d" .* GROUP BY "device"\) WHERE .* AND "d" < 0 GROUP BY "device"$/);
  });
  test('steps grow with the range', () => {
    assert.equal(stepFor(86_400_000), 60_000);
    assert.equal(stepFor(30 * 86_400_000), 900_000);
    assert.equal(stepFor(90 * 86_400_000), 3_600_000);
    assert.deepEqual(alignRange(61_000, 119_000, 60_000), { from: 60_000, to: 120_000 });
  });
});

describe('rollup pieces', () => {
  // Local midnight of 2026-11-02 (Asia/Shanghai) is 16:00 UTC the day before.
  const D = Date.UTC(2026, 10, 1, 16);
  const H = 3_600_000;
  const Q = 15 * 60_000;
  test('whole local days from rollup_1d, whole hours from rollup_1h, the quarters at the ends from rollup_15m', () => {
    assert.deepEqual(rollupPieces(D - H - Q, D + 2 * 24 * H + 2 * H + 2 * Q), [
      { tier: '15m', from: D - H - Q, to: D - H },
      { tier: '1h', from: D - H, to: D },
      { tier: '1d', from: D, to: D + 48 * H },
      { tier: '1h', from: D + 48 * H, to: D + 50 * H },
      { tier: '15m', from: D + 50 * H, to: D + 50 * H + 2 * Q },
    ]);
  });
  test('a range inside one hour stays on the 15-minute rollups; an aligned day is one piece', () => {
    assert.deepEqual(rollupPieces(D + Q, D + 3 * Q), [{ tier: '15m', from: D + Q, to: D + 3 * Q }]);
    assert.deepEqual(rollupPieces(D, D + 24 * H), [{ tier: '1d', from: D, to: D + 24 * H }]);
    assert.deepEqual(rollupPieces(D, D), []);
  });
  test('a range that reaches the present reads today from its daily point', () => {
    // From 23:45 the day before to 02:30 today, today being D: the quarter, then today's daily point.
    assert.deepEqual(rollupPieces(D - Q, D + 2 * H + 2 * Q, true), [
      { tier: '15m', from: D - Q, to: D },
      { tier: '1d', from: D, to: D + 24 * H },
    ]);
    assert.deepEqual(rollupPieces(D + 3 * H, D + 5 * H, true), [{ tier: '1h', from: D + 3 * H, to: D + 5 * H }]);
    assert.deepEqual(rollupPieces(D + 3 * H, D + 5 * H + Q, true), [{ tier: '1h', from: D + 3 * H, to: D + 6 * H }]);
  });
});
