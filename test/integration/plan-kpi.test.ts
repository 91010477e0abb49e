// Editing firms (PATCH /firms/{id}: roles, validation, audit, dated history) and the plan endpoints built on
// it: demo firms left out unless asked for, official counts per county and year beside the registered share, the
// monthly trend from the firms as they were, and per-mu ranking only with enough energy coverage. Real influxd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { startMonitoringSystem, type MonitoringTestSystem } from '../helpers/monitoring.ts';
import { testFirm } from '../helpers/system.ts';
import { DAY, localDate, localMidnight, localMonth, localParts, yearStart } from '../../common/time.ts';
import type { NewFirm } from '../../common/registry/registry.ts';

const admin = 'at_plan_kpi_admin_token_0123456789';
let sys: MonitoringTestSystem;
const tokens: Record<'bureau' | 'engA', string> = { bureau: '', engA: '' };
const now = Date.now();
const months = (back: number): string => {
  const p = localParts(now);
  const i = p.year * 12 + (p.month - 1) - back;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
};
const monthStart = (m: string) => localMidnight(Number(m.slice(0, 4)), Number(m.slice(5, 7)), 1);

// Real firms: A (grows above-scale two months ago, connected), B (above-scale, connected long ago), C (Mangshi,
// not above-scale, gets two hours of energy); one demo firm, above-scale and connected.
const A = testFirm({ aboveScale: false, employees: 80 });
const B = testFirm({ park: 'ruili-border' });
const C = testFirm({ county: '533103', park: 'mangshi', aboveScale: false });
const DEMO = testFirm({ demo: true, name: '演示企业' });

before(async () => {
  sys = await startMonitoringSystem('plan-kpi', {
    adminToken: admin,
    prepare: async (r) => {
      for (const f of [A, B, C, DEMO] as NewFirm[]) await r.createFirm(f);
      const da = await r.createDevice({ firmId: A.id, type: 'electricity_meter', name: 'A meter' });
      const db = await r.createDevice({ firmId: B.id, type: 'loom', name: 'B loom' });
      const dd = await r.createDevice({ firmId: DEMO.id, type: 'loom', name: 'demo loom' });
      await r.markSeen([
        { deviceId: da.device.id, seenAt: now, telemetryAt: now - DAY },
        { deviceId: db.device.id, seenAt: now, telemetryAt: now - 60 * DAY },
        { deviceId: dd.device.id, seenAt: now, telemetryAt: now - DAY },
      ]);
      tokens.bureau = (await r.createApiToken('bureau', null, 'bureau staff')).token;
      tokens.engA = (await r.createApiToken('engineer', A.id, 'engineer A')).token;
    },
  });
});
after(async () => { await sys?.close(); });

async function call(token: string, method: 'GET' | 'PUT' | 'PATCH', url: string, payload?: object): Promise<LightMyRequestResponse> {
  return sys.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
}
async function ok<T = Record<string, unknown>>(token: string, method: 'GET' | 'PUT' | 'PATCH', url: string, payload?: object): Promise<T> {
  const r = await call(token, method, url, payload);
  assert.equal(r.statusCode, 200, r.body);
  return r.json() as T;
}

describe('editing firms', () => {
  test('admin and bureau change a firm: dated, audited, its history kept; above-scale since a date', async () => {
    const since = `${months(2)}-01`;
    const firm = await ok(tokens.bureau, 'PATCH', `/firms/${A.id}`, { aboveScale: true, aboveScaleSince: since, note: '统计局认定' });
    assert.deepEqual([firm.aboveScale, firm.aboveScaleSince, firm.employees], [true, since, 80]);
    const tier = await ok(admin, 'PATCH', `/firms/${A.id}`, { smartFactoryTier: 'basic', smartFactoryCertificateId: 'YN-2026-001', smartFactoryCertifiedOn: localDate(now) });
    assert.deepEqual([tier.smartFactoryTier, tier.smartFactoryCertificateId], ['basic', 'YN-2026-001']);
    assert.deepEqual((await ok<{ aboveScaleSince: string }>(admin, 'GET', `/firms/${A.id}`)).aboveScaleSince, since);
    const history = await ok<Array<{ validFrom: string; recordedBy: string; changes: Record<string, unknown> }>>(admin, 'GET', `/firms/${A.id}/history`);
    assert.deepEqual(history.map((v) => v.validFrom), [localDate(now), since, localDate(now)], 'registration, then each change with the date it holds from');
    assert.deepEqual(history[1]?.changes, { aboveScale: true, aboveScaleSince: since });
    assert.match(history[1]?.recordedBy ?? '', /bureau staff \(bureau/);
    const log = await sys.registry.listAudit({ limit: 10, target: A.id });
    const entry = log.find((e) => e.action === 'firm.update' && e.detail.includes('统计局认定'));
    assert.ok(entry, 'the change is in the audit trail');
    assert.deepEqual(JSON.parse(entry.detail).before, { aboveScale: false, aboveScaleSince: null });
    assert.match(entry.actor, /bureau staff \(bureau, token /);
  });

  test('engineers change their own firm\'s employees and land only; another firm is 404', async () => {
    const firm = await ok(tokens.engA, 'PATCH', `/firms/${A.id}`, { employees: 95, landMu: 12.5 });
    assert.deepEqual([firm.employees, firm.landMu], [95, 12.5]);
    const name = await call(tokens.engA, 'PATCH', `/firms/${A.id}`, { name: 'x' });
    assert.equal(name.statusCode, 403);
    assert.match(name.json().message, /only employees and landMu/);
    assert.equal((await call(tokens.engA, 'PATCH', `/firms/${B.id}`, { employees: 1 })).statusCode, 404);
    assert.equal((await sys.registry.listAudit({ limit: 20, target: A.id })).filter((e) => e.action === 'firm.update').length, 3);
  });

  test('county: admin only, with a park in it; clear 400s for implausible values', async () => {
    const bureauMove = await call(tokens.bureau, 'PATCH', `/firms/${B.id}`, { county: '533103', park: 'mangshi' });
    assert.equal(bureauMove.statusCode, 403);
    const parkElsewhere = await call(tokens.bureau, 'PATCH', `/firms/${B.id}`, { park: 'mangshi' });
    assert.equal(parkElsewhere.statusCode, 400);
    assert.match(parkElsewhere.json().message, /park mangshi is not in county 533102/);
    assert.equal((await call(admin, 'PATCH', `/firms/${B.id}`, { county: '533103' })).statusCode, 400, 'its old park is not in the new county');
    const moved = await ok(admin, 'PATCH', `/firms/${B.id}`, { county: '533103', park: 'mangshi' });
    assert.deepEqual([moved.county, moved.park], ['533103', 'mangshi']);
    const future = localDate(now + 3 * DAY);
    for (const [body, why] of [
      [{ employees: 100_001 }, /employees/], [{ employees: 12.5 }, /employees/], [{ landMu: 1e9 }, /landMu/], [{ landMu: -1 }, /landMu/],
      [{ aboveScale: true, aboveScaleSince: future }, /in the future/], [{ validFrom: future, employees: 3 }, /in the future/], [{ aboveScaleSince: '2026-02-30' }, /date|calendar/],
      [{}, /nothing to change/], [{ note: 'only a note' }, /nothing to change/], [{ demo: true }, /additional|demo/],
      [{ smartFactoryTier: 'none', smartFactoryCertificateId: 'X' }, /certificate needs/], [{ aboveScale: false, aboveScaleSince: '2026-01-01' }, /needs aboveScale/],
    ] as const) {
      const r = await call(admin, 'PATCH', `/firms/${C.id}`, body);
      assert.equal(r.statusCode, 400, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(r.json().message, why);
    }
  });
});

describe('plan endpoints', () => {
  type Share = {
    aboveScaleFirms: number; connected: number; share: number; includeDemo: boolean; demoFirmsLeftOut: number; definition: string;
    official: { share: number | null; aboveScaleFirms: number | null; missingCounties: string[]; note: string | null; definition: string };
    byCounty: Array<{ id: string; aboveScaleFirms: number; official: { count: number | null; share: number | null } }>;
    trend: Array<{ month: string; aboveScaleFirms: number; connected: number; basis: string; current: boolean }>;
  };

  test('connected share: demo firms left out by default and counted on request; official counts beside the registered share', async () => {
    // Now: A (above-scale, connected) and B (moved to Mangshi, above-scale, last telemetry 60 days ago); the demo firm left out.
    const k = await ok<Share>(admin, 'GET', '/plan/connected-share');
    assert.deepEqual([k.aboveScaleFirms, k.connected, k.share, k.includeDemo, k.demoFirmsLeftOut], [2, 1, 0.5, false, 1]);
    const withDemo = await ok<Share>(admin, 'GET', '/plan/connected-share?includeDemo=true');
    assert.deepEqual([withDemo.aboveScaleFirms, withDemo.connected, withDemo.includeDemo, withDemo.demoFirmsLeftOut], [3, 2, true, 0]);
    assert.equal(k.official.share, null);
    assert.equal(k.official.missingCounties.length, 5);
    assert.match(k.official.note ?? '', /no official count/);

    const year = localParts(now).year;
    const counts: Record<string, number> = { 533102: 8, 533103: 2, 533122: 0, 533123: 0, 533124: 0 };
    for (const [county, count] of Object.entries(counts)) {
      const r = await ok(tokens.bureau, 'PUT', `/plan/official-counts/${county}/${year}`, { count, note: '统计局年报' });
      assert.deepEqual([r.count, r.enteredBy], [count, 'bureau staff']);
    }
    assert.equal((await call(tokens.engA, 'PUT', `/plan/official-counts/533102/${year}`, { count: 1 })).statusCode, 403);
    assert.equal((await call(admin, 'PUT', `/plan/official-counts/999999/${year}`, { count: 1 })).statusCode, 400);
    assert.equal((await call(admin, 'PUT', `/plan/official-counts/533102/${year}`, { count: -1 })).statusCode, 400);
    assert.ok((await sys.registry.listAudit({ limit: 5, target: 'county:533102' })).some((e) => e.action === 'plan.official-count'));
    const listed = await ok<{ counties: Array<{ county: string; count: number | null }> }>(admin, 'GET', `/plan/official-counts?year=${year - 1}`);
    assert.ok(listed.counties.every((c) => c.count === null), 'none entered for last year');

    const o = await ok<Share>(admin, 'GET', '/plan/connected-share');
    // By hand: 1 connected registered firm (A, Ruili) against 10 official above-scale firms.
    assert.deepEqual([o.official.aboveScaleFirms, o.official.share, o.official.note], [10, 0.1, null]);
    const ruili = o.byCounty.find((c) => c.id === '533102');
    assert.deepEqual([ruili?.aboveScaleFirms, ruili?.official.count, ruili?.official.share], [1, 8, 1 / 8]);
    assert.equal(o.share, 0.5, 'the registered share stays beside it');
  });

  test('trend: each past month from the firms as they were (A counts from its above-scale month on)', async () => {
    // B and the demo firm, registered today, were above-scale already three months ago (entered late, dated back).
    for (const f of [B, DEMO]) await ok(admin, 'PATCH', `/firms/${f.id}`, { aboveScaleSince: `${months(3)}-01` });
    for (const back of [3, 2, 1]) {
      const m = months(back);
      const end = monthStart(months(back - 1)) - 1;
      // A and B both reported in the last days of each month.
      sys.monitoring.planStore.putSnapshot(m, 'firmTelemetry', 30, { [A.id]: end - DAY, [B.id]: end - DAY, [DEMO.id]: end - DAY }, end);
    }
    const k = await ok<Share>(admin, 'GET', '/plan/connected-share');
    const at = (m: string) => k.trend.find((t) => t.month === m);
    assert.deepEqual([at(months(3))?.aboveScaleFirms, at(months(3))?.connected, at(months(3))?.basis], [1, 1, 'firm-history'], 'only B before A grew');
    assert.equal(at(months(4)), undefined, 'no snapshot, no month');
    assert.deepEqual([at(months(2))?.aboveScaleFirms, at(months(2))?.connected], [2, 2]);
    assert.deepEqual([at(months(0))?.current, k.trend.length], [true, 4]);
    const withDemo = await ok<Share>(admin, 'GET', '/plan/connected-share?includeDemo=true');
    assert.equal(withDemo.trend.find((t) => t.month === months(3))?.aboveScaleFirms, 2);
  });

  test('targets leave demo firms out unless asked for', async () => {
    const t = await ok<{ includeDemo: boolean; demoFirmsLeftOut: number; targets: Array<{ id: string; value: number | null; explanation: string }> }>(admin, 'GET', '/plan/targets');
    const by = (id: string) => t.targets.find((x) => x.id === id);
    assert.deepEqual([t.includeDemo, t.demoFirmsLeftOut, by('firms')?.value, by('smartFactories')?.value], [false, 1, 3, 1]);
    assert.equal(by('connectedShare')?.value, 0.1, 'against the official count once every county has one');
    const all = await ok<{ demoFirmsLeftOut: number; targets: Array<{ id: string; value: number | null }> }>(admin, 'GET', '/plan/targets?includeDemo=true');
    assert.deepEqual([all.demoFirmsLeftOut, all.targets.find((x) => x.id === 'firms')?.value], [0, 4]);
  });

  test('per mu: only firms whose energy telemetry covers 90 % of the days are ranked; each row gives its coverage', async () => {
    const year = localParts(now).year;
    const from = yearStart(year);
    const lines: string[] = [];
    // A: a daily energy rollup on every day of the year so far; C: only today (two hours' worth).
    for (let d = from; d < now; d += DAY) lines.push(`rollup_1d,county=${A.county},firm=${A.id},park=${A.park},quantity=electricity,segment=${A.segment},source=electricity_meter value=500,resets=0i,intervals=96i ${d}`);
    lines.push(`rollup_1d,county=${C.county},firm=${C.id},park=${C.park},quantity=electricity,segment=${C.segment},source=electricity_meter value=5,resets=0i,intervals=8i ${localMidnight(year, localParts(now).month, localParts(now).day)}`);
    await sys.store.write(lines);
    for (const f of [A, C]) await ok(tokens.bureau, 'PUT', `/plan/firms/${f.id}/figures/${year}`, { outputValueYuan: 1e8, taxYuan: 1e6 });
    type Row = { firmId: string; score: number | null; rankInCounty: number | null; outputPerTce: number | null; energyCoverage: { daysWithData: number; days: number; enough: boolean }; missing: string[] };
    const pm = await ok<{ firms: Row[]; outputMeasure: { zh: string }; minCoverage: number; demoFirmsLeftOut: number }>(admin, 'GET', `/plan/per-mu?year=${year}`);
    const row = (id: string) => pm.firms.find((r) => r.firmId === id);
    const days = Math.ceil((now - from) / DAY);
    assert.deepEqual([pm.outputMeasure.zh, pm.minCoverage, pm.demoFirmsLeftOut], ['产值', 0.9, 1]);
    assert.equal(row(DEMO.id), undefined, 'demo firms are not ranked');
    assert.deepEqual([row(A.id)?.energyCoverage.daysWithData, row(A.id)?.energyCoverage.days, row(A.id)?.energyCoverage.enough], [days, days, true]);
    assert.deepEqual([row(A.id)?.rankInCounty, typeof row(A.id)?.score], [1, 'number']);
    assert.deepEqual([row(C.id)?.energyCoverage.daysWithData, row(C.id)?.energyCoverage.enough, row(C.id)?.score, row(C.id)?.rankInCounty, row(C.id)?.outputPerTce], [1, false, null, null, null]);
    assert.ok(row(C.id)?.missing.includes('energyCoverage'));
    const eng = await ok<{ firms: Row[] }>(tokens.engA, 'GET', `/plan/per-mu?year=${year}`);
    assert.deepEqual(eng.firms.map((r) => r.firmId), [A.id]);
    assert.equal(localMonth(now), months(0));
  });
});

test('registering: above-scale since a date and the smart-factory certificate, with the same checks as an edit', async () => {
  const post = (body: object) => sys.app.inject({ method: 'POST', url: '/api/v1/firms', headers: { authorization: `Bearer ${admin}` }, payload: body });
  const since = `${months(5)}-01`;
  const f = testFirm({ county: '533124', park: 'longchuan' });
  const bad = await post({ ...f, aboveScaleSince: localDate(now + 2 * DAY) });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().message, /in the future/);
  assert.equal((await post({ ...f, smartFactoryCertificateId: 'X-1' })).statusCode, 400, 'a certificate needs a tier');
  const ok201 = await post({ ...f, aboveScaleSince: since, smartFactoryTier: 'advanced', smartFactoryCertificateId: 'YN-2026-009', smartFactoryCertifiedOn: since });
  assert.equal(ok201.statusCode, 201, ok201.body);
  assert.deepEqual([ok201.json().aboveScaleSince, ok201.json().smartFactoryCertificateId], [since, 'YN-2026-009']);
  const [registration] = await sys.registry.firmHistory(f.id);
  assert.equal(registration?.changes.aboveScaleSince, since);
});
