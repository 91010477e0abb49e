import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitMessage, type AdmitDevice } from '../../common/contract/admit.ts';
import { parseTopic, topicFor } from '../../common/contract/topics.ts';
import { tagSet, telemetryLine } from '../../common/contract/line-protocol.ts';
import { MACHINE_STATES } from '../../common/contract/catalogue.ts';

const now = Date.parse('2026-11-27T08:00:00Z');
const limits = { maxClockAheadMs: 300_000, maxAgeMs: 30 * 86_400_000 };
const loom: AdmitDevice = { deviceId: 'loom-1', firmId: 'F', type: 'loom', tags: tagSet({ firmId: 'F', deviceId: 'loom-1', type: 'loom', county: '533102', park: 'ruili-coop', segment: 'weaving' }) };
const admit = (kind: Parameters<typeof admitMessage>[0], v: unknown) => admitMessage(kind, loom, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)), now, limits);

test('a valid telemetry point becomes one line of protocol with the device tags and its own timestamp', () => {
  const r = admit('telemetry', { ts: now - 1000, seq: 7, metrics: { speed_rpm: 600, power_kw: 4.5 } });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.lines, [`loom,county=533102,device=loom-1,firm=F,park=ruili-coop,segment=weaving,type=loom speed_rpm=600,power_kw=4.5,seq=7i ${now - 1000}`]);
});

test('RFC 3339 timestamps are accepted and converted to milliseconds', () => {
  const r = admit('telemetry', { ts: '2026-11-27T15:59:59+08:00', seq: 1, metrics: { speed_rpm: 1 } });
  assert.deepEqual(r.problems, []);
  assert.equal(r.points[0]?.ts, now - 1000);
});

test('a batch keeps its valid points and reports each invalid one with its index', () => {
  const r = admit('telemetry', { points: [
    { ts: now - 3000, seq: 1, metrics: { speed_rpm: 600 } },
    { ts: now - 2000, seq: 2, metrics: { speed_rpm: -5 } },
    { ts: now - 1000, seq: 3, metrics: { speed_rpm: 610 } },
    { ts: now, seq: 4 },
  ] });
  assert.equal(r.lines.length, 2);
  assert.deepEqual(r.problems.map((p) => `${p.field} ${p.rule}`), ['points[1].metrics.speed_rpm minimum', 'points[3].metrics required']);
});

test('each kind of bad input gets a reason naming the field and the rule', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    ['{"ts":', 'json', /not valid JSON/],
    ['', 'json', /empty payload/],
    [{ ts: now, seq: 1, metrics: { warp_speed: 3 } }, 'additionalProperties', /metrics\.warp_speed is not a metric of device type "loom"/],
    [{ ts: now, seq: 1, metrics: { speed_rpm: 5000 } }, 'maximum', /plausible range 0–1600 rpm for a loom/],
    [{ ts: now, seq: 1, metrics: { speed_rpm: '600' } }, 'type', /metrics\.speed_rpm must be a number/],
    [{ ts: now, metrics: { speed_rpm: 1 } }, 'required', /seq is required/],
    [{ ts: 1700000, seq: 1, metrics: { speed_rpm: 1 } }, 'timestamp', /milliseconds since the epoch/],
    [{ ts: now + 3_600_000, seq: 1, metrics: { speed_rpm: 1 } }, 'clock-ahead', /3600 s ahead/],
    [{ ts: now - 40 * 86_400_000, seq: 1, metrics: { speed_rpm: 1 } }, 'too-old', /30-day store-and-forward window/],
    [{ ts: now, seq: 1.5, metrics: { speed_rpm: 1 } }, 'type', /seq must be a integer/],
  ];
  for (const [payload, rule, message] of cases) {
    const r = admit('telemetry', payload);
    assert.equal(r.lines.length, 0, JSON.stringify(payload));
    assert.equal(r.problems[0]?.rule, rule, JSON.stringify(r.problems));
    assert.match(r.problems[0]!.message, message);
  }
});

test('state messages follow the six machine states and are stored in machine_state', () => {
  const ok = admit('state', { ts: now, state: 'fault', reason: 'warp stop, "left"' });
  assert.deepEqual(ok.problems, []);
  assert.match(ok.lines[0]!, /^machine_state,.*type=loom state="fault",reason="warp stop, \\"left\\"" \d+$/);
  const bad = admit('state', { ts: now, state: 'dancing' });
  assert.equal(bad.lines.length, 0);
  assert.equal(bad.problems[0]?.field, 'state');
});

test('status is accepted without storing; the errors topic is closed to devices', () => {
  assert.equal(admit('status', { status: 'online' }).status, 'online');
  assert.equal(admit('status', { status: 'online' }).lines.length, 0);
  assert.equal(admit('errors', {}).problems[0]?.rule, 'topic');
});

test('topics parse and print the same way', () => {
  assert.deepEqual(parseTopic(topicFor('F1', 'dev-1', 'state')), { firmId: 'F1', deviceId: 'dev-1', kind: 'state' });
  assert.equal(parseTopic('dh/v1/F1/dev-1/other'), undefined);
  assert.equal(parseTopic('dh/v2/F1/dev-1/telemetry'), undefined);
  assert.equal(parseTopic('dh/v1/F1/dev-1/telemetry/extra'), undefined);
});

test('line protocol escapes tag values', () => {
  const tags = tagSet({ firmId: 'a b', deviceId: 'x,y', type: 't=1', county: '', park: 'p', segment: 's' });
  assert.equal(tags, 'device=x\\,y,firm=a\\ b,park=p,segment=s,type=t\\=1');
  assert.equal(telemetryLine('m', tags, 5, 1, { v: 1.5 }), 'm,device=x\\,y,firm=a\\ b,park=p,segment=s,type=t\\=1 v=1.5,seq=1i 5');
});

test('a state outside the list is one problem that names every allowed state (not one per state)', () => {
  const r = admit('state', { ts: now, state: 'sleeping' });
  assert.equal(r.lines.length, 0);
  assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
  const [p] = r.problems;
  assert.equal(p?.field, 'state');
  assert.equal(p?.rule, 'enum');
  for (const s of MACHINE_STATES) assert.ok(p?.message.includes(s), `names ${s}: ${p?.message}`);
});
