import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makeUscc, usccCheckChar, usccProblem, hashSecret, legacyScryptHash, verifySecret } from '../../common/ids.ts';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, loadSubscriberConfig, ConfigError } from '../../common/config.ts';
import { dataDirLayout } from '../../common/data-dir.ts';
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

test('device secrets: a fast hash; old scrypt hashes still verify and ask to be replaced', async () => {
  const a = hashSecret('dt_secret');
  assert.equal(a, `sha256$${createHash('sha256').update('dt_secret').digest('hex')}`);
  assert.deepEqual(await verifySecret('dt_secret', a), { ok: true });
  assert.deepEqual(await verifySecret('dt_other', a), { ok: false });
  const old = await legacyScryptHash('dt_secret');
  assert.match(old, /^scrypt\$16384\$/);
  assert.notEqual(old, await legacyScryptHash('dt_secret'), 'salted');
  assert.deepEqual(await verifySecret('dt_secret', old), { ok: true, rehash: a });
  assert.deepEqual(await verifySecret('dt_other', old), { ok: false });
  assert.deepEqual(await verifySecret('dt_secret', 'plain'), { ok: false }, 'an unknown scheme never verifies');
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

function throwsNaming(load: () => unknown, variable: string, msg: RegExp = /./): void {
  assert.throws(load, (e: Error) => e instanceof ConfigError && e.variable === variable && e.message.startsWith(`${variable}: `) && msg.test(e.message));
}

test('configuration: the monitoring variables and the ones read elsewhere before are part of it', () => {
  const c = loadConfig({ DATA_DIR: '/srv/dh' });
  assert.equal(c.monitoring.file, dataDirLayout('/srv/dh').monitoring);
  assert.deepEqual(
    [c.monitoring.liveWindowMs, c.monitoring.rollupIntervalMs, c.monitoring.offlineCheckMs, c.monitoring.offlineAfterMs],
    [300_000, 120_000, 60_000, 600_000],
  );
  assert.equal(loadConfig({ MONITORING_DB: '/tmp/m.db' }).monitoring.file, '/tmp/m.db');
  assert.equal(c.influxToken, undefined);
  assert.equal(loadConfig({ INFLUX_TOKEN: 'tok' }).influxToken, 'tok');
  assert.equal(c.mqttInternalUrl, 'mqtt://127.0.0.1:1883');
  assert.equal(loadConfig({ MQTT_PORT: '2883' }).mqttInternalUrl, 'mqtt://127.0.0.1:2883');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.simulateScenario, 'dehong-demo');
  assert.equal(c.tlsSelfSigned, false);
  assert.equal(loadConfig({ TLS_SELF_SIGNED: 'yes' }).tlsSelfSigned, true);
  assert.equal(c.brokerMaxHeapMb, undefined);
  assert.equal(loadConfig({ BROKER_MAX_HEAP_MB: '512' }).brokerMaxHeapMb, 512);
  assert.equal(loadConfig({ BROKER_MAX_HEAP_MB: '0' }).brokerMaxHeapMb, 0);
  const bad: Array<[Record<string, string>, string, RegExp?]> = [
    [{ ENERGY_LIVE_WINDOW_S: 'five' }, 'ENERGY_LIVE_WINDOW_S', /expected a number/],
    [{ ENERGY_LIVE_WINDOW_S: '1' }, 'ENERGY_LIVE_WINDOW_S', /between 5 and 86400/],
    [{ ROLLUP_INTERVAL_S: '7200' }, 'ROLLUP_INTERVAL_S'],
    [{ OFFLINE_CHECK_S: 'x' }, 'OFFLINE_CHECK_S'],
    [{ STATE_UNKNOWN_AFTER_MIN: '0' }, 'STATE_UNKNOWN_AFTER_MIN'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MQTT_INTERNAL_URL: 'http://broker:1883' }, 'MQTT_INTERNAL_URL', /must start with mqtt:\/\//],
    [{ REGISTRY_URL: 'mysql://db/dehong' }, 'REGISTRY_URL'],
    [{ TLS_SELF_SIGNED: 'maybe' }, 'TLS_SELF_SIGNED'],
    [{ BROKER_MAX_HEAP_MB: '192MB' }, 'BROKER_MAX_HEAP_MB', /whole number/],
  ];
  for (const [env, variable, msg] of bad) throwsNaming(() => loadConfig(env), variable, msg);
});

test('subscriber configuration: defaults, and a bad value names the variable', () => {
  const s = loadSubscriberConfig({});
  assert.equal(s.url, 'mqtt://127.0.0.1:1883');
  assert.match(s.clientId, /^dh-ingest-/);
  assert.equal(s.filters, undefined);
  assert.equal(s.connections, 1);
  assert.deepEqual(loadSubscriberConfig({ SUBSCRIBER_TOPICS: ' a/+ , b/# ,' }).filters, ['a/+', 'b/#']);
  assert.equal(loadSubscriberConfig({ SUBSCRIBER_CONNECTIONS: '4', SUBSCRIBER_SHARE_GROUP: 'ingest' }).connections, 4);
  assert.equal(loadSubscriberConfig({ SUBSCRIBER_CONNECTIONS: '2', SUBSCRIBER_TOPICS: '$share/g/a/+' }).connections, 2);
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_MQTT_URL: 'broker:1883' }), 'SUBSCRIBER_MQTT_URL');
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_CLIENT_ID: 'x'.repeat(65) }), 'SUBSCRIBER_CLIENT_ID');
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_TOPICS: ' , ' }), 'SUBSCRIBER_TOPICS');
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_SHARE_GROUP: 'a/b' }), 'SUBSCRIBER_SHARE_GROUP');
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_CONNECTIONS: '65', SUBSCRIBER_SHARE_GROUP: 'g' }), 'SUBSCRIBER_CONNECTIONS');
  throwsNaming(() => loadSubscriberConfig({ SUBSCRIBER_CONNECTIONS: '2' }), 'SUBSCRIBER_CONNECTIONS', /needs SUBSCRIBER_SHARE_GROUP/);
});

test('configuration: common/config.ts is the only reader of the environment in the services', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const files = ['common', 'analytics', 'broker', 'ingest', 'api']
    .flatMap((d) => fs.readdirSync(path.join(root, d), { recursive: true, encoding: 'utf8' }).map((f) => path.join(d, f)))
    .filter((f) => f.endsWith('.ts') && !f.startsWith(path.join('api', 'public')))
    .concat(['scripts/start.ts', 'scripts/launch.ts', 'scripts/influxd.ts', 'scripts/tls.ts']);
  // Handing the whole environment to a child process (`...process.env`) is not reading it.
  const readers = files.filter((f) => f !== path.join('common', 'config.ts') && /(?<!\.\.\.)process\.env\b/.test(fs.readFileSync(path.join(root, f), 'utf8')));
  assert.deepEqual(readers, []);
});

test('connected share: above-scale firms with valid telemetry inside the window, by county', () => {
  const now = Date.parse('2026-11-27T00:00:00Z');
  const day = 86_400_000;
  const f = (id: string, county: string, aboveScale: boolean, last: number | null): FirmConnectivity => ({ firmId: id, county, park: 'p', segment: 's', aboveScale, demo: false, lastTelemetryAt: last });
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
