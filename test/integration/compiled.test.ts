// The compiled layout production runs (`npm run build`, the Dockerfile, `npm run start:prod`): built into a folder
// of its own, the broker, ingest writer and API start from their JavaScript without tsx, as the compiled
// scripts/launch.js starts them for `npm run start:prod`; the API serves the dashboard, the broker acknowledges a
// real mosquitto_pub QoS 1 message (group commit in its spool worker), and the simulator CLI finds its scenarios.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from '../../scripts/build.ts';
import { startPrivateInfluxd, type PrivateInfluxd } from '../../scripts/influxd.ts';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT, type ServiceName, type ServiceProcess } from '../../scripts/launch.ts';
import { provisionDevice } from '../../simulators/provision.ts';
import { topicFor } from '../../common/contract/topics.ts';
import { api, tempDir, testFirm } from '../helpers/system.ts';

const run = promisify(execFile);
// Inside the repository (compiled files resolve their packages from its node_modules), one folder per run.
const OUT = path.join(ROOT, 'test-results', `compiled-${process.pid}`);
const ADMIN_TOKEN = 'at_compiled_test_admin_0123456789';

let dir: string;
let influxd: PrivateInfluxd;
let apiUrl: string;
let mqttPort: number;
const services: ServiceProcess[] = [];

before(async () => {
  build(OUT);
  dir = tempDir('compiled');
  influxd = await startPrivateInfluxd(path.join(dir, 'influxdb'));
  mqttPort = await freePort();
  const httpPort = await freePort();
  apiUrl = `http://127.0.0.1:${httpPort}`;
  // No NODE_OPTIONS from the test runner: nothing may reach tsx.
  const { NODE_OPTIONS: _ignored, ...parentEnv } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...parentEnv, DATA_DIR: path.join(dir, 'data'), INFLUX_URL: influxd.url, INFLUX_DB: 'compiled', MQTT_PORT: String(mqttPort), HTTP_PORT: String(httpPort),
    MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', ADMIN_TOKEN, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
  };
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  // The compiled launcher itself, as dist/scripts/start.js uses it: it must pick the compiled entry points.
  const launch = (await import(pathToFileURL(path.join(OUT, 'scripts/launch.js')).href)) as typeof import('../../scripts/launch.ts');
  const start = (name: ServiceName): ServiceProcess => {
    const p = launch.startService(name, { env, logDir });
    services.push(p);
    return p;
  };
  await launch.waitForPort(mqttPort, start('broker'));
  start('ingest');
  await launch.waitForHttp(`${apiUrl}/healthz`, start('api'));
});

after(async () => {
  for (const s of services.reverse()) await s.stop();
  await influxd?.stop();
  if (!process.env.KEEP_TEST_DIRS) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(OUT, { recursive: true, force: true });
  }
});

test('the services run their compiled JavaScript, without tsx', () => {
  for (const s of services) {
    const args = s.child.spawnargs;
    assert.ok(!args.includes('tsx') && !args.some((a) => a.endsWith('.ts')), `${s.name}: ${args.join(' ')}`);
    assert.equal(args.at(-1), path.join(OUT, s.name, 'main.js'));
    assert.equal(s.child.exitCode, null, `${s.name} is running`);
  }
});

test('GET /healthz answers with InfluxDB reachable, and the dashboard is served at /', async () => {
  const health = await api<{ status: string; influx: boolean }>({ apiUrl }, ADMIN_TOKEN, 'GET', '/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body.influx, true);
  const page = await fetch(`${apiUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  assert.match(html, /<div id="app">/);
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'the page loads its bundle');
  const asset = await fetch(`${apiUrl}${script}`);
  assert.equal(asset.status, 200, `${script} is served`);
  await asset.body?.cancel();
});

test('mosquitto_pub QoS 1: the broker acknowledges, the ingest writer stores the message in InfluxDB', async () => {
  const firm = testFirm();
  assert.equal((await api({ apiUrl }, ADMIN_TOKEN, 'POST', '/api/v1/firms', firm)).status, 201);
  const c = await provisionDevice(apiUrl, ADMIN_TOKEN, firm.id, 'loom', 'compiled test loom');
  const ts = Date.now();
  const payload = JSON.stringify({ ts, seq: 1, metrics: { speed_rpm: 600 } });
  const { stdout, stderr } = await run('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(mqttPort), '-i', c.id, '-u', c.id, '-P', c.token, '-q', '1', '-d', '-t', topicFor(firm.id, c.id, 'telemetry'), '-m', payload,
  ], { timeout: 10_000 });
  assert.match(stdout + stderr, /received PUBACK/, stdout + stderr);
  const stored = async () => (await api<{ points: unknown[] }>({ apiUrl }, ADMIN_TOKEN, 'GET', `/api/v1/devices/${c.id}/telemetry?metric=speed_rpm&from=${ts - 1}&to=${ts + 1}`)).body.points?.length === 1;
  await waitFor(stored, 15_000, 'the message to reach InfluxDB through the ingest writer');
});

test('the compiled simulator CLI finds its shipped scenarios', async () => {
  const { stdout } = await run(process.execPath, [path.join(OUT, 'simulators/cli.js'), '--scenario', 'dehong-demo', '--plan'], { cwd: ROOT, timeout: 15_000 });
  assert.match(stdout, /^scenario dehong-demo, seed \d+: \d+ firms/);
});
