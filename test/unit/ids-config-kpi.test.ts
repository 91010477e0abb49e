import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeUscc, usccCheckChar, usccProblem, hashSecret, verifySecret } from '../../common/ids.ts';
import { loadConfig, ConfigError } from '../../common/config.ts';
import { platformConnectionKpi } from '../../analytics/plan/kpi.ts';
import { demoFirms } from '../../common/demo.ts';
import type { FirmConnectivity } from '../../common/registry/registry.ts';

test('unified social credit codes: a published example checks out, and bad ones say why', () => {
  // 91350100M000100Y43 is the example code used in GB 32100-2015 explanations.
  assert.equal(usccCheckChar('91350100M000100Y4'), '3');
  assert.equal(usccProblem('91350100M000100Y43'), undefined);
  assert.match(usccProblem('91350100M000100Y44')!, /check character is "4", expected "3"/);
  assert.match(usccProblem('91350100M000100Y4')!, /18 characters/);
  assert.match(usccProblem('91350100M000100YO3')!, /character 17 "O" is not allowed/);
  const code = makeUscc('533102', 42);
  assert.equal(code.slice(2, 8), '533102');
  assert.equal(usccProblem(code), undefined);
});

test('every demo firm has a valid code and a known county, and the plan firms are marked as demo', () => {
  const firms = demoFirms();
  assert.ok(firms.length >= 40);
  for (const f of firms) assert.equal(usccProblem(f.id), undefined, f.name);
  assert.equal(new Set(firms.map((f) => f.id)).size, firms.length);
  assert.ok(firms.filter((f) => f.name.startsWith('雅戈尔')).every((f) => f.demo && f.name.includes('演示')));
});

test('device secrets are salted slow hashes', async () => {
  const a = await hashSecret('dt_secret');
  const b = await hashSecret('dt_secret');
  assert.notEqual(a, b, 'salted');
  assert.match(a, /^scrypt\$16384\$/);
  assert.equal(await verifySecret('dt_secret', a), true);
  assert.equal(await verifySecret('dt_other', a), false);
});

test('configuration: documented defaults, and a bad value names the variable', () => {
  const c = loadConfig({});
  assert.equal(c.httpPort, 8080);
  assert.equal(c.mqttPort, 1883);
  assert.equal(c.influxUrl, undefined);
  assert.equal(c.influxDb, 'dehong');
  assert.equal(c.simulate, 12);
  assert.match(c.dataDir, /\/data$/);
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ HTTP_PORT: 'eighty' }, /^HTTP_PORT: expected a whole number/],
    [{ MQTT_PORT: '70000' }, /^MQTT_PORT: must be between 0 and 65535/],
    [{ INFLUX_URL: 'localhost:8086' }, /^INFLUX_URL: /],
    [{ INFLUX_DB: 'my db' }, /^INFLUX_DB: /],
    [{ SIMULATE: '-1' }, /^SIMULATE: /],
    [{ ADMIN_TOKEN: 'short' }, /^ADMIN_TOKEN: must be at least 16/],
    [{ MQTT_PUBLIC_HOST: 'mqtt://iot.example.cn:1883' }, /^MQTT_PUBLIC_HOST: expected a host name or IPv4 address without scheme or port/],
  ];
  for (const [env, msg] of bad) assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError && msg.test(e.message));
  assert.equal(loadConfig({ INFLUX_URL: 'http://db:8086/' }).influxUrl, 'http://db:8086');
  assert.equal(loadConfig({ MQTT_PUBLIC_HOST: 'iot.dehong.example' }).mqttPublicHost, 'iot.dehong.example');
  assert.equal(c.mqttPublicHost, undefined);
});

test('connected share: above-scale firms with valid telemetry inside the window, by county', () => {
  const now = Date.parse('2026-11-27T00:00:00Z');
  const day = 86_400_000;
  const f = (id: string, county: string, aboveScale: boolean, last: number | null): FirmConnectivity => ({ firmId: id, county, park: 'p', segment: 's', aboveScale, lastTelemetryAt: last });
  const k = platformConnectionKpi([
    f('a', '533102', true, now - 1000),
    f('b', '533102', true, now - 30 * day + 1), // just inside
    f('c', '533102', true, now - 30 * day - 1), // just outside
    f('d', '533103', true, null),
    f('e', '533103', false, now), // not above scale: not counted at all
  ], now, 30);
  assert.equal(k.aboveScaleFirms, 4);
  assert.equal(k.connected, 2);
  assert.equal(k.share, 0.5);
  assert.equal(k.target, 0.5);
  const ruili = k.byCounty.find((c) => c.county === '533102')!;
  assert.deepEqual([ruili.aboveScaleFirms, ruili.connected], [3, 2]);
  assert.equal(k.byCounty.find((c) => c.county === '533103')!.share, 0);
  assert.equal(platformConnectionKpi([], now, 30).share, 0);
});
