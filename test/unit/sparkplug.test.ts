// Sparkplug B at the broker, the pure parts: topics and subscriptions, the payload codec, an edge node's session
// (bdSeq, seq, aliases, births), the mapping to catalogue metrics and the translation into contract messages.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeNodeMaySubscribe, ncmdTopic, parseSparkplugTopic, stateTopic } from '../../broker/sparkplug/topic.ts';
import { bdSeqOf, decodeSparkplug, encodeSparkplug, keptText, REBIRTH_METRIC, rebirthRequest, type SparkplugMetric } from '../../broker/sparkplug/payload.ts';
import { EdgeNodeSession } from '../../broker/sparkplug/session.ts';
import { MAPPING_RULE, toContract, VALUE_RULE, type TranslateInput } from '../../broker/sparkplug/translate.ts';
import { checkMappings, resolveMetric } from '../../common/contract/sparkplug-mapping.ts';
import { combined } from '../../broker/sparkplug/admit.ts';

const FIRM = '91533100MA6K000001';
/** The connection an edge node's session belongs to. */
const OWNER = {};
const metric = (name: string | undefined, value: SparkplugMetric['value'], extra: Partial<SparkplugMetric> = {}): SparkplugMetric =>
  ({ ...(name === undefined ? {} : { name }), type: 'Double', value, historical: false, ...extra });

describe('Sparkplug topics', () => {
  test('node and device topics parse; anything else does not', () => {
    assert.deepEqual(parseSparkplugTopic(`spBv1.0/${FIRM}/NBIRTH/gw-1`), { groupId: FIRM, type: 'NBIRTH', edgeNodeId: 'gw-1' });
    assert.deepEqual(parseSparkplugTopic(`spBv1.0/${FIRM}/DDATA/gw-1/loom-01`), { groupId: FIRM, type: 'DDATA', edgeNodeId: 'gw-1', deviceId: 'loom-01' });
    for (const bad of [`spBv1.0/${FIRM}/DDATA/gw-1`, `spBv1.0/${FIRM}/NDATA/gw-1/x`, 'spBv1.0/STATE/dehong', `spBv1.0/${FIRM}/XDATA/gw-1`, `spBv1.0//NBIRTH/gw-1`, `dh/v1/${FIRM}/x/telemetry`]) {
      assert.equal(parseSparkplugTopic(bad), undefined, bad);
    }
  });

  test('an edge node may subscribe to its own commands and the host STATE only', () => {
    assert.equal(stateTopic('dehong'), 'spBv1.0/STATE/dehong');
    assert.equal(ncmdTopic(FIRM, 'gw-1'), `spBv1.0/${FIRM}/NCMD/gw-1`);
    for (const ok of [`spBv1.0/${FIRM}/NCMD/gw-1`, `spBv1.0/${FIRM}/NCMD/gw-1/#`, `spBv1.0/${FIRM}/DCMD/gw-1/+`, 'spBv1.0/STATE/dehong']) {
      assert.ok(edgeNodeMaySubscribe(ok, FIRM, 'gw-1', 'dehong'), ok);
    }
    for (const no of [`spBv1.0/${FIRM}/NCMD/gw-2/#`, `spBv1.0/${FIRM}/#`, 'spBv1.0/#', `spBv1.0/other/NCMD/gw-1`, 'spBv1.0/STATE/other']) {
      assert.ok(!edgeNodeMaySubscribe(no, FIRM, 'gw-1', 'dehong'), no);
    }
  });
});

describe('Sparkplug payloads', () => {
  test('decoded with the Tahu codec into plain values; 64-bit integers as numbers', () => {
    const bytes = encodeSparkplug({ timestamp: 1795800000000, seq: 3, metrics: [
      { name: 'bdSeq', type: 'UInt64', value: 7 },
      { name: 'Loom/speed_rpm', alias: 5, type: 'Float', value: 612.5, timestamp: 1795800000100 },
      { alias: 6, type: 'Boolean', value: true, isHistorical: true },
      { name: 'state', type: 'String', value: 'running' },
      { name: 'gone', type: 'Int32', value: null, isNull: true },
    ] });
    const p = decodeSparkplug(bytes);
    assert.equal(p.timestamp, 1795800000000);
    assert.equal(p.seq, 3);
    assert.equal(bdSeqOf(p), 7);
    assert.deepEqual(p.metrics[1], { name: 'Loom/speed_rpm', alias: 5, type: 'Float', value: 612.5, timestamp: 1795800000100, historical: false });
    assert.deepEqual(p.metrics[2], { alias: 6, type: 'Boolean', value: true, historical: true });
    assert.equal(p.metrics[3]!.value, 'running');
    assert.equal(p.metrics[4]!.value, null);
  });

  test('bytes that are not a payload, or a compressed one, throw; the rebirth request is Node Control/Rebirth = true', () => {
    assert.throws(() => decodeSparkplug(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])));
    assert.throws(() => decodeSparkplug(encodeSparkplug({ uuid: 'SPBV1.0_COMPRESSED', body: Buffer.from([1, 2, 3]), metrics: [{ name: 'algorithm', type: 'String', value: 'GZIP' }] })), /compressed/);
    assert.equal(keptText(Buffer.from([0xff, 0x00])).toString(), 'base64:/wA=');
    const r = decodeSparkplug(rebirthRequest(1795800000000));
    assert.equal((JSON.parse(keptText(Buffer.alloc(0), r).toString()) as { metrics: Array<{ name: string }> }).metrics[0]?.name, REBIRTH_METRIC);
    assert.deepEqual(r.metrics.map((m) => [m.name, m.type, m.value]), [[REBIRTH_METRIC, 'Boolean', true]]);
  });
});

describe('an edge node session', () => {
  test('seq runs 0-255 and wraps over NBIRTH, DBIRTH and DDATA; a gap is noticed, a redelivery is a repeat', () => {
    const s = new EdgeNodeSession();
    s.nbirth(OWNER, 1, 0, []);
    for (let seq = 1; seq < 256; seq++) assert.equal(s.checkSeq(seq), 'ok');
    assert.equal(s.checkSeq(0), 'ok');
    assert.equal(s.checkSeq(0), 'repeat');
    assert.equal(s.checkSeq(5), 'gap');
    assert.equal(s.checkSeq(6), 'ok');
    assert.equal(s.checkSeq(undefined), 'gap');
  });

  test('births define aliases per device; data by alias resolves, an unknown alias is reported; a new NBIRTH forgets them', () => {
    const s = new EdgeNodeSession();
    s.nbirth(OWNER, 0, 0, [metric('bdSeq', 0)]);
    s.dbirth('loom-01', [metric('speed_rpm', 600, { alias: 1 }), metric('power_kw', 5, { alias: 2 })]);
    assert.ok(s.isBorn('loom-01'));
    const r = s.resolve('loom-01', [metric(undefined, 610, { alias: 1 }), metric(undefined, 1, { alias: 9 }), metric('power_kw', 6)]);
    assert.deepEqual(r.metrics.map((m) => [m.name, m.value]), [['speed_rpm', 610], ['power_kw', 6]]);
    assert.deepEqual(r.unknownAliases, [9]);
    assert.deepEqual(s.resolve('loom-02', [metric(undefined, 1, { alias: 1 })]).unknownAliases, [1]);
    s.nbirth(OWNER, 1, 0, []);
    assert.ok(!s.isBorn('loom-01'));
    assert.deepEqual(s.resolve('loom-01', [metric(undefined, 1, { alias: 1 })]).unknownAliases, [1]);
  });

  test('an NDEATH ends the session only on its connection and with the bdSeq of its NBIRTH (a stale will does not)', () => {
    const s = new EdgeNodeSession();
    const older = {};
    s.nbirth(OWNER, 4, 0, []);
    s.dbirth('loom-01', []);
    assert.ok(s.bornOn(OWNER));
    assert.ok(!s.bornOn(older));
    assert.equal(s.ndeath(OWNER, 3), false);
    assert.equal(s.ndeath(older, 4), false);
    assert.ok(s.born);
    assert.equal(s.ndeath(OWNER, 4), true);
    assert.ok(!s.born);
    assert.equal(s.ndeath(OWNER, 4), false);
    assert.deepEqual(s.bornDevices(), ['loom-01']);
    assert.equal(s.ddeath('loom-01'), true);
    assert.equal(s.ddeath('loom-01'), false);
  });

  test('a birth repeating values already taken is left out; data, also late data, is always kept', () => {
    const s = new EdgeNodeSession();
    const names = (ms: SparkplugMetric[]): string[] => ms.map((m) => `${m.name}@${m.timestamp ?? '-'}`);
    assert.deepEqual(names(s.take('a', [metric('speed_rpm', 600, { timestamp: 1000 }), metric('power_kw', 5)], 1000, true)), ['speed_rpm@1000', 'power_kw@-']);
    assert.deepEqual(names(s.take('a', [metric('speed_rpm', 610, { timestamp: 2000 })], 2000, false)), ['speed_rpm@2000']);
    // A rebirth: speed_rpm was read at 2000 (taken), power_kw is new at 3000.
    assert.deepEqual(names(s.take('a', [metric('speed_rpm', 610, { timestamp: 2000 }), metric('power_kw', 6, { timestamp: 3000 })], 3000, true)), ['power_kw@3000']);
    assert.deepEqual(names(s.take('a', [metric('speed_rpm', 500, { timestamp: 500 })], 3000, false)), ['speed_rpm@500']);
    assert.deepEqual(names(s.take('b', [metric('speed_rpm', 600, { timestamp: 2000 })], 3000, true)), ['speed_rpm@2000']);
  });

  test('contract seq numbers run on per device; a redelivery gets the same ones; rebirth requests are rate-limited', () => {
    const s = new EdgeNodeSession();
    assert.equal(s.takePointSeq('a', 3, false), 0);
    assert.equal(s.takePointSeq('a', 1, false), 3);
    assert.equal(s.takePointSeq('a', 1, true), 3);
    assert.equal(s.takePointSeq('b', 1, false), 0);
    assert.ok(s.mayRequestRebirth(10_000, 5000));
    assert.ok(!s.mayRequestRebirth(14_999, 5000));
    assert.ok(s.mayRequestRebirth(15_000, 5000));
  });
});

describe('Sparkplug metrics to catalogue metrics', () => {
  test('by name, by folder/name, or by the gateway mapping, which wins; state and ignore targets', () => {
    assert.deepEqual(resolveMetric('loom', 'speed_rpm', {}), { kind: 'metric', metric: 'speed_rpm' });
    assert.deepEqual(resolveMetric('loom', 'Loom 3/speed_rpm', {}), { kind: 'metric', metric: 'speed_rpm' });
    assert.equal(resolveMetric('loom', 'Spindle Speed', {}), undefined);
    assert.equal(resolveMetric('loom', 'state', {}), undefined);
    const mappings = { loom: { 'Spindle Speed': 'speed_rpm', 'Machine/State': 'state', Diagnostics: '-', speed_rpm: 'power_kw' } };
    assert.deepEqual(resolveMetric('loom', 'Spindle Speed', mappings), { kind: 'metric', metric: 'speed_rpm' });
    assert.deepEqual(resolveMetric('loom', 'speed_rpm', mappings), { kind: 'metric', metric: 'power_kw' });
    assert.deepEqual(resolveMetric('loom', 'Machine/State', mappings), { kind: 'state' });
    assert.deepEqual(resolveMetric('loom', 'Diagnostics', mappings), { kind: 'ignore' });
    assert.deepEqual(resolveMetric('dyeing_machine', 'Spindle Speed', mappings), undefined);
  });

  test('a mapping table is checked against the catalogue; every bad entry is named', () => {
    assert.deepEqual(checkMappings({ loom: { 'Spindle Speed': 'speed_rpm', s: 'state', d: '-' } }), []);
    const problems = checkMappings({ lom: { a: 'speed_rpm' }, loom: { 'Spindle Speed': 'speed', '': 'power_kw' } });
    assert.deepEqual(problems.map((p) => [p.field, p.rule]), [['lom', 'device-type'], ['loom["Spindle Speed"]', 'metric'], ['loom[""]', 'name']]);
    assert.match(problems[1]!.message, /"speed", which is not a metric of device type loom \(speed_rpm, /);
  });
});

describe('Sparkplug device metrics as contract messages', () => {
  const input = (metrics: SparkplugMetric[], mappings = {}): TranslateInput => {
    let next = 10;
    return { deviceType: 'loom', gatewayId: 'gw-1', metrics, payloadTs: 1795800000000, now: 1795800009999, mappings, seq: (n) => { const f = next; next += n; return f; } };
  };
  const json = (b: Buffer): unknown => JSON.parse(b.toString());

  test('current metrics of one timestamp are one point; booleans count 1/0; nulls are skipped', () => {
    const out = toContract(input([metric('speed_rpm', 600), metric('Loom/power_kw', true), metric('efficiency_pct', null)]));
    assert.deepEqual(out.problems, []);
    assert.deepEqual(out.telemetry.map(json), [{ ts: 1795800000000, seq: 10, metrics: { speed_rpm: 600, power_kw: 1 } }]);
  });

  test('several timestamps, or historical metrics, go as the batch form in time order', () => {
    const out = toContract(input([
      metric('speed_rpm', 610, { timestamp: 1795800002000 }),
      metric('speed_rpm', 500, { timestamp: 1795700000000, historical: true }),
      metric('power_kw', 6, { timestamp: 1795800002000 }),
    ]));
    assert.deepEqual(out.telemetry.map(json), [{ points: [
      { ts: 1795700000000, seq: 10, metrics: { speed_rpm: 500 } },
      { ts: 1795800002000, seq: 11, metrics: { speed_rpm: 610, power_kw: 6 } },
    ] }]);
    const hist = toContract(input([metric('speed_rpm', 500, { historical: true })]));
    assert.deepEqual(hist.telemetry.map(json), [{ points: [{ ts: 1795800000000, seq: 10, metrics: { speed_rpm: 500 } }] }]);
  });

  test('a state metric becomes a state message; an unmapped metric or a wrong value is a problem that says how to fix it', () => {
    const out = toContract(input([metric('Status', 'fault', { type: 'String' }), metric('Spindle Speed', 3), metric('Mode', 'auto', { type: 'String' }), metric('speed_rpm', 'fast', { type: 'String' })], { loom: { Status: 'state', Mode: 'state' } }));
    assert.deepEqual(out.states.map(json), [{ ts: 1795800000000, state: 'fault' }]);
    assert.deepEqual(out.telemetry, []);
    assert.deepEqual(out.problems.map((p) => [p.field, p.rule]), [['metrics["Spindle Speed"]', MAPPING_RULE], ['metrics["Mode"]', VALUE_RULE], ['metrics["speed_rpm"]', VALUE_RULE]]);
    assert.match(out.problems[0]!.message, /not mapped.*PUT \/api\/v1\/gateways\/gw-1\/sparkplug-mappings.*\{"loom": \{"Spindle Speed": "<metric id>"\}\}/);
    for (const p of out.problems) assert.ok(combined(out.problems).message.includes(p.message));
  });
});
