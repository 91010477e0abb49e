// The monthly register check of the data-quality report (GB/T 38692-2020) counts a register by the store's rule:
// a reset inside the month is counted from zero with what came before it, and a device's first day counts from
// its first reading. Real influxd, the API through app.inject; every expected figure is worked out by hand below.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { HOUR, MINUTE, TZ_OFFSET_MS, localDate, localMonth } from '../../common/time.ts';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';

const admin = 'at_admin_for_quality_register_00';
const F = testFirm({ segment: 'dyeing', name: 'Register check' });
let sys: MonitoringTestSystem;

// The previous local month: [M0, M1), H hours.
const local = new Date(Date.now() + TZ_OFFSET_MS);
const M0 = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 1, 1) - TZ_OFFSET_MS;
const M1 = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), 1) - TZ_OFFSET_MS;
const H = (M1 - M0) / HOUR;
/** Hour h of the month at :30. */
const at = (h: number) => M0 + h * HOUR + 30 * MINUTE;
const RESET_HOUR = 9 * 24 + 2; // day 10, 02:30
const FIRST_HOUR = 2 * 24 + 8; // day 3, 08:30

/**
 * Gas meter g: 40 m³ half an hour before the month, then one reading an hour rising 1 m³ an hour (40 + h + 1 at
 * hour h) until day 10 02:30, where the register is reset and reads 1, rising 1 m³ an hour again (1 + h − 218).
 * So the month counts one m³ an hour: H. Day 10: 256 at the end of day 9; 257, 258, then the reset to 1 and 22 at
 * 23:30: 22 from zero plus the 258 − 256 = 2 before the reset, 24.
 * Electricity meter e: first reading ever 5000 kWh on day 3 at 08:30, then 2 kWh an hour. Day 3: 5000 to 5030
 * at 23:30, 30 kWh; the month 2 × (H − 1 − 56).
 */
function readings(): string[] {
  const line = (device: string, type: string, ts: number, metrics: Record<string, number>) =>
    telemetryLine(type, tagSet({ firmId: F.id, deviceId: device, type, county: F.county, park: F.park, segment: F.segment }), ts, 0, metrics);
  const lines = [line('g', 'gas_meter', M0 - 30 * MINUTE, { gas_m3_total: 40 })];
  for (let h = 0; h < H; h++) {
    lines.push(line('g', 'gas_meter', at(h), { gas_m3_total: h < RESET_HOUR ? 40 + h + 1 : 1 + h - RESET_HOUR }));
    if (h >= FIRST_HOUR) lines.push(line('e', 'electricity_meter', at(h), { energy_kwh_total: 5000 + 2 * (h - FIRST_HOUR) }));
  }
  return lines;
}

before(async () => {
  sys = await startMonitoringSystem('quality-register', {
    adminToken: admin,
    prepare: async (registry) => {
      await registry.createFirm(F);
      await registry.createDevice({ firmId: F.id, type: 'gas_meter', name: 'g', id: 'g' });
      await registry.createDevice({ firmId: F.id, type: 'electricity_meter', name: 'e', id: 'e' });
    },
  });
  await sys.store.write(readings());
});
after(async () => { await sys.close(); });

type Quality = { carriers: Array<{ carrier: string; days: Array<{ date: string; register: number; from15min: number; consistent: boolean }>; month: { sumOfDaily: number; register: number; resets: number; consistent: boolean } }> };

test('a reset inside the month and a first day inside it: the register check counts them as the store does', async () => {
  await sys.monitoring.rollups.rebuild(M0, M1);
  const r = await sys.app.inject({ method: 'GET', url: `/api/v1/energy/quality?firmId=${F.id}&month=${localMonth(M0)}`, headers: { authorization: `Bearer ${admin}` } });
  assert.equal(r.statusCode, 200, r.body);
  const q = r.json() as Quality;
  const gas = q.carriers.find((c) => c.carrier === 'gas');
  const el = q.carriers.find((c) => c.carrier === 'electricity');
  assert.ok(gas && el);
  assert.equal(gas.month.register, H);
  assert.equal(gas.month.resets, 1);
  assert.equal(gas.days.find((d) => d.date === localDate(at(RESET_HOUR)))?.register, 24);
  assert.equal(gas.month.consistent, true, `15-minute sum ${gas.month.sumOfDaily} against the register's ${gas.month.register}`);
  const firstDay = el.days.find((d) => d.date === localDate(at(FIRST_HOUR)));
  assert.equal(firstDay?.register, 30);
  assert.equal(firstDay?.consistent, true, `day 3: 15-minute sum ${firstDay?.from15min} against the register's 30`);
  assert.equal(el.month.register, 2 * (H - 1 - FIRST_HOUR));
  assert.equal(el.month.consistent, true);
});
