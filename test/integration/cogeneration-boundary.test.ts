// The plant boundary of a cogeneration firm, by hand: gas into its CHP unit, the power it generates, some of it
// exported, grid power imported at other hours, the steam it makes, and looms sub-metered behind the grid meter.
// Against a real influxd, through the API, from the raw counters and from the rollups alike.
//
//   register                          first     last      gain
//   gas meter      gas_m3_total        5,000     6,000     1,000 m³   fuel into the unit: counted
//   grid meter     energy_kwh_total   10,000    11,200     1,200 kWh  import: counted (purchased = imported)
//                  export_kwh_total      200       700       500 kWh  export: measured, not counted
//   generator      generation_kwh_total    0     3,000     3,000 kWh  own generation: measured, not counted
//   steam meter    steam_kg_total        100     2,500     2,400 kg   made from the gas: measured, not counted
//   loom           energy_kwh_total        0     3,600     3,600 kWh  sub-metering behind the grid meter: not counted
//
//   counted (calorific basis): gas 1,000 m³ × 1.2143 kgce/m³ = 1,214.3 kgce
//                              electricity 1,200 kWh × 0.1229 kgce/kWh = 147.48 kgce
//                              steam 0 (its fuel is the gas above)
//                              total 1,361.78 kgce = 1.36178 tce
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceType } from '../../common/contract/catalogue.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { HOUR, MINUTE, floorTo } from '../../common/time.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_cogeneration_00000';
let sys: MonitoringTestSystem;
const firm = testFirm({ name: 'CHP firm', county: '533103', park: 'mangshi', segment: 'dyeing' });
const FROM = floorTo(Date.now() - 4 * HOUR, HOUR);
const TO = FROM + 3 * HOUR;

/** Device, type, and the registers' first and last readings; readings every 5 minutes over two hours, linear. */
const DEVICES: Array<{ id: string; type: string; registers: Record<string, [number, number]> }> = [
  { id: 'chp-gas', type: 'gas_meter', registers: { gas_m3_total: [5000, 6000] } },
  { id: 'chp-grid', type: 'electricity_meter', registers: { energy_kwh_total: [10_000, 11_200], export_kwh_total: [200, 700] } },
  { id: 'chp-gen', type: 'electricity_meter', registers: { generation_kwh_total: [0, 3000] } },
  { id: 'chp-steam', type: 'steam_meter', registers: { steam_kg_total: [100, 2500] } },
  { id: 'chp-loom', type: 'loom', registers: { energy_kwh_total: [0, 3600] } },
];

interface Figure { measured: number; counted: number; kgce: number }
interface Summary {
  source: string; totalKgce: number; carriers: Record<'electricity' | 'gas' | 'steam' | 'water', Figure>;
  electricityFlows: { unit: string; export: number; generation: number };
  boundary: { steamSource: string | null; carriers: Record<string, { rule: string | null; zh: string; en: string }> };
}

async function call(method: 'GET' | 'PUT', url: string, payload?: object): Promise<{ status: number; body: string }> {
  const r = await sys.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${admin}` }, ...(payload ? { payload } : {}) });
  return { status: r.statusCode, body: r.body };
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} ≠ ${b}`);

before(async () => {
  sys = await startMonitoringSystem('cogeneration', { adminToken: admin });
  await sys.registry.createFirm(firm);
  const lines: string[] = [];
  for (const d of DEVICES) {
    await sys.registry.createDevice({ firmId: firm.id, type: d.type, name: d.id, id: d.id });
    const tags = tagSet({ firmId: firm.id, deviceId: d.id, type: d.type, county: firm.county, park: firm.park, segment: firm.segment });
    for (let i = 0; i <= 24; i++) {
      const metrics = Object.fromEntries(Object.entries(d.registers).map(([k, [a, b]]) => [k, a + ((b - a) * i) / 24]));
      lines.push(telemetryLine(deviceType(d.type)!.measurement, tags, FROM + MINUTE + i * 5 * MINUTE, i, metrics));
    }
  }
  await sys.store.write(lines);
  assert.equal((await call('PUT', `/energy/firms/${firm.id}/settings`, { steamSource: 'cogeneration' })).status, 200);
  sys.monitoring.index.invalidate();
  await sys.monitoring.rollups.rebuild(FROM, TO);
});
after(async () => { await sys.close(); });

test('a cogeneration firm counts its gas and its grid import; export, generation and steam are measured, not counted', async () => {
  for (const source of ['raw', 'rollup']) {
    const r = await call('GET', `/energy/summary?scope=firm&id=${firm.id}&from=${FROM}&to=${TO}&source=${source}`);
    assert.equal(r.status, 200, r.body);
    const s = JSON.parse(r.body) as Summary;
    const what = (x: string) => `${source}: ${x}`;
    close(s.carriers.gas.counted, 1000, what('gas counted'));
    close(s.carriers.electricity.measured, 1200, what('electricity measured = the grid import'));
    close(s.carriers.electricity.counted, 1200, what('electricity counted = the grid import'));
    close(s.carriers.steam.measured, 2400, what('steam measured'));
    close(s.carriers.steam.counted, 0, what('steam not counted'));
    close(s.electricityFlows.export, 500, what('export'));
    close(s.electricityFlows.generation, 3000, what('generation'));
    close(s.carriers.gas.kgce, 1214.3, what('gas kgce'));
    close(s.carriers.electricity.kgce, 147.48, what('electricity kgce'));
    close(s.totalKgce, 1361.78, what('total kgce'));
    assert.equal(s.boundary.steamSource, 'cogeneration');
    assert.equal(s.boundary.carriers.electricity?.rule, 'meters');
    assert.match(s.boundary.carriers.electricity?.en ?? '', /grid import counted; export and own generation measured and not counted/);
    assert.equal(s.boundary.carriers.steam?.rule, 'not-counted');
    assert.equal(s.boundary.carriers.gas?.rule, 'meters');
  }
  // The county's figure is the same firm's, with the same rule.
  const county = JSON.parse((await call('GET', `/energy/summary?scope=county&id=${firm.county}&from=${FROM}&to=${TO}`)).body) as Summary;
  close(county.totalKgce, 1361.78, 'county total');
  assert.equal(county.boundary.carriers.electricity?.rule, 'meters');
});

test('the rollups CSV names the rule of every row in its header and rows', async () => {
  const r = await call('GET', `/energy/rollups.csv?scope=firm&id=${firm.id}&from=${FROM}&to=${TO}`);
  assert.equal(r.status, 200, r.body);
  const [head, ...rows] = r.body.replace(/^\ufeff/, '').trim().split('\r\n');
  const cols = head!.split(',');
  assert.ok(cols.includes('counting_rule') && cols.includes('boundary_rule'), head);
  const at = (name: string) => cols.indexOf(name);
  const sums = new Map<string, { used: string; rule: string; value: number }>();
  for (const line of rows) {
    // The rule texts have no commas, so a plain split reads every row (the firm's name has none here either).
    const cells = line.split(',');
    const key = `${cells[at('quantity')]}/${cells[at('source')]}`;
    const cur = sums.get(key) ?? { used: cells[at('used_for_firm_total')]!, rule: cells[at('counting_rule')]!, value: 0 };
    cur.value += Number(cells[at('value')]);
    sums.set(key, cur);
  }
  const row = (k: string) => { const v = sums.get(k); assert.ok(v, `${k} in ${[...sums.keys()].join(' ')}`); return v; };
  close(row('export/electricity_meter').value, 500, 'export in the CSV');
  assert.equal(row('export/electricity_meter').used, 'no');
  assert.match(row('export/electricity_meter').rule, /measured and not counted/);
  close(row('generation/electricity_meter').value, 3000, 'generation in the CSV');
  assert.equal(row('electricity/electricity_meter').used, 'yes');
  assert.match(row('electricity/electricity_meter').rule, /grid import counted/);
  assert.equal(row('electricity/loom').used, 'no');
  assert.equal(row('steam/steam_meter').used, 'no');
  assert.match(row('steam/steam_meter').rule, /not counted again/);
});
