// docker-compose.yml, the Dockerfile and the deploy/ provisioning files, checked without a Docker engine: Debian's
// docker-compose parses and validates the file (`config`), and the parsed result must describe a deployment
// that can work (health checks, start order, named volumes for every piece of state, one shared data volume for
// broker, ingest writer and API, the provisioned Grafana data source the dashboards use). The simulators' seed
// script runs against a real API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { demoFirms } from '../../common/demo.ts';
import { DATASOURCE } from '../../dashboards/common.ts';
import { seedDemoFirmsViaApi } from '../../deploy/seed-demo-firms.ts';
import { startTestSystem } from '../helpers/system.ts';
import { SERVICES, SERVICE_NODE_ARGS, serviceEntry } from '../../scripts/launch.ts';
import { loadConfig } from '../../common/config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENV_EXAMPLE = path.join(ROOT, 'deploy/compose.env.example');

interface Healthcheck { test?: string[] | string; disable?: boolean }
interface Service {
  image?: string;
  restart?: string;
  build?: { context?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  volumes?: Array<{ type?: string; source?: string; target?: string; read_only?: boolean } | string>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: Healthcheck;
  profiles?: string[];
  ports?: unknown[];
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: Array<{ subnet?: string }> } } | null>;
}

function dockerCompose(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string; missing: boolean } {
  const r = spawnSync('docker-compose', args, { cwd: ROOT, env, encoding: 'utf8' });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', missing };
}

/** A clean environment: nothing from the caller's shell (INFLUX_TOKEN, COMPOSE_*, …) leaks into the result. */
function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', PYTHONUTF8: '1' };
}

function requireDockerCompose(): void {
  const probe = dockerCompose(['version'], cleanEnv());
  assert.ok(
    !probe.missing,
    'docker-compose is not installed: install Debian\'s docker-compose package (apt-get install -y docker-compose) to validate docker-compose.yml; it only parses the file, no Docker engine is needed',
  );
}

let cached: ComposeConfig | undefined;
function composeConfig(): ComposeConfig {
  if (cached) return cached;
  requireDockerCompose();
  const r = dockerCompose(['-f', 'docker-compose.yml', '--env-file', ENV_EXAMPLE, '--profile', 'simulators', 'config'], cleanEnv());
  assert.equal(r.status, 0, `docker-compose config failed:\n${r.stderr}`);
  cached = parse(r.stdout) as ComposeConfig;
  return cached;
}

function service(name: string): Service {
  const s = composeConfig().services[name];
  assert.ok(s, `service ${name} is defined`);
  return s;
}

function volumeMounts(s: Service): Array<{ source: string; target: string; type: string; readOnly: boolean }> {
  return (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = '', mode = ''] = v.split(':');
      return { source, target, type: source.startsWith('.') || source.startsWith('/') ? 'bind' : 'volume', readOnly: mode === 'ro' };
    }
    return { source: v.source ?? '', target: v.target ?? '', type: v.type ?? 'volume', readOnly: v.read_only === true };
  });
}

function dependsOn(s: Service): Record<string, string> {
  if (!s.depends_on) return {};
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on).map(([k, v]) => [k, v.condition ?? 'service_started']));
}

function hasHealthcheck(s: Service): boolean {
  return !!s.healthcheck && !s.healthcheck.disable && !!s.healthcheck.test && s.healthcheck.test.length > 0;
}

function commandText(s: Service): string {
  return Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? '');
}

test('Debian\'s docker-compose is installed (it validates docker-compose.yml without a Docker engine)', () => {
  requireDockerCompose();
});

test('docker-compose.yml is valid and names the missing secret when .env is absent', () => {
  composeConfig();
  const r = dockerCompose(['-f', 'docker-compose.yml', 'config', '--quiet'], cleanEnv());
  if (fs.existsSync(path.join(ROOT, '.env'))) return; // a real .env next to the file supplies the secrets
  assert.notEqual(r.status, 0, 'config without secrets must fail');
  assert.match(r.stderr, /set (INFLUX_TOKEN|ADMIN_TOKEN|INFLUXDB_ADMIN_PASSWORD|GRAFANA_ADMIN_PASSWORD)/, r.stderr);
});

test('every service has a health check, or waits for healthy services it depends on', () => {
  const { services } = composeConfig();
  assert.deepEqual(Object.keys(services).filter((n) => !n.startsWith('sim-')).sort(), ['api', 'broker', 'grafana', 'influxdb', 'ingest']);
  for (const [name, s] of Object.entries(services)) {
    const deps = dependsOn(s);
    for (const [dep, condition] of Object.entries(deps)) {
      assert.ok(services[dep], `${name} depends on ${dep}, which exists`);
      if (condition === 'service_healthy') assert.ok(hasHealthcheck(services[dep] as Service), `${name} waits for ${dep} to be healthy: ${dep} needs a health check`);
    }
    if (hasHealthcheck(s)) continue;
    assert.ok(Object.keys(deps).length > 0 && Object.values(deps).every((c) => c === 'service_healthy'), `${name} has no health check and does not wait for healthy dependencies`);
  }
  assert.equal(dependsOn(service('ingest')).broker, 'service_healthy', 'the broker creates the spool before the writer opens it');
  assert.equal(dependsOn(service('ingest')).influxdb, 'service_healthy');
  assert.equal(dependsOn(service('api')).broker, 'service_healthy', 'the broker creates the registry and the service secret before the API reads them');
  assert.equal(dependsOn(service('grafana')).influxdb, 'service_healthy');
});

test('every service restarts by itself after a crash (restart: unless-stopped, always or on-failure)', () => {
  for (const [name, s] of Object.entries(composeConfig().services)) {
    assert.ok(['unless-stopped', 'always', 'on-failure'].includes(s.restart ?? 'no'), `${name} has restart: ${s.restart ?? '(none)'}`);
  }
  for (const name of ['influxdb', 'broker', 'ingest', 'api', 'grafana']) assert.equal(service(name).restart, 'unless-stopped', `${name} stays up until stopped`);
});

test('deploy/systemd: one unit per service, restarted on failure, running its compiled entry point as an unprivileged user', () => {
  const dir = path.join(ROOT, 'deploy/systemd');
  const units = Object.keys(SERVICES).map((name) => path.join(dir, `dehong-${name}.service`));
  for (const [i, name] of (Object.keys(SERVICES) as Array<keyof typeof SERVICES>).entries()) {
    const text = fs.readFileSync(units[i]!, 'utf8');
    const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1]?.trim();
    assert.equal(value('ExecStart'), ['/usr/bin/node', ...SERVICE_NODE_ARGS[name], ...serviceEntry(name, 'dist')].join(' '), `${name}: the command the containers run`);
    assert.equal(value('Restart'), 'on-failure', name);
    assert.match(value('RestartSec') ?? '', /^\d+(ms|s)?$/, `${name}: RestartSec`);
    assert.ok(value('User') && !['root', '0'].includes(value('User')!), `${name}: an unprivileged user`);
    assert.equal(value('WantedBy'), 'dehong.target', name);
    assert.match(fs.readFileSync(path.join(dir, 'dehong.target'), 'utf8'), new RegExp(`dehong-${name}\\.service`));
  }
  // systemd's own check where it is installed: unknown keys and bad values are reported (and would be ignored).
  const r = spawnSync('systemd-analyze', ['verify', ...units, path.join(dir, 'dehong.target')], { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return;
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown|ignoring|Invalid|Failed/i, r.stderr);
});

test('named volumes hold every piece of state: InfluxDB, Grafana, the service data shared by broker, ingest and API', () => {
  const cfg = composeConfig();
  const declared = Object.keys(cfg.volumes ?? {});
  const named = (svc: string, target: string): string => {
    const m = volumeMounts(service(svc)).find((v) => v.target === target);
    assert.ok(m, `${svc} mounts ${target}`);
    assert.equal(m.type, 'volume', `${svc} ${target} is a named volume, not a bind mount`);
    assert.ok(declared.includes(m.source), `volume ${m.source} is declared`);
    return m.source;
  };
  named('influxdb', '/var/lib/influxdb2');
  named('influxdb', '/etc/influxdb2');
  named('grafana', '/var/lib/grafana');
  const data = ['broker', 'ingest', 'api'].map((s) => named(s, '/data'));
  assert.equal(new Set(data).size, 1, 'broker, ingest and API share one data volume (SQLite registry and spool)');
  for (const s of Object.keys(cfg.services).filter((n) => n.startsWith('sim-'))) named(s, '/var/lib/dehong-sim');
});

test('broker, ingest writer and API: one image, their own command, InfluxDB 2.7 over the v1 paths with the token', () => {
  const images = new Set<string>();
  const tokens = new Set<string>();
  for (const name of ['broker', 'ingest', 'api'] as const) {
    const s = service(name);
    images.add(s.image ?? '');
    // The compiled entry point (dist/, built in the image) with the Node flags scripts/launch.ts gives it.
    assert.equal(commandText(s), ['node', ...SERVICE_NODE_ARGS[name], ...serviceEntry(name, 'dist')].join(' '));
    assert.ok(fs.existsSync(path.join(ROOT, SERVICES[name])), `${SERVICES[name]} is what dist/ compiles`);
    const env = s.environment ?? {};
    assert.equal(env.INFLUX_URL, 'http://influxdb:8086');
    assert.equal(env.INFLUX_DB, 'dehong');
    assert.equal(env.DATA_DIR, '/data');
    assert.ok((env.INFLUX_TOKEN ?? '').length > 0, `${name} has INFLUX_TOKEN`);
    assert.ok((env.ADMIN_TOKEN ?? '').length >= 16, `${name} has ADMIN_TOKEN`);
    tokens.add(env.INFLUX_TOKEN ?? '');
    const build = s.build;
    assert.equal(typeof build === 'string' ? build : build?.context, ROOT, `${name} is built from the repository's Dockerfile`);
  }
  assert.equal(images.size, 1, 'the three services run the same image');
  assert.equal(service('api').environment?.MQTT_INTERNAL_URL, 'mqtt://broker:1883', 'the API reads the live feed from the broker container');

  const influx = service('influxdb');
  assert.match(influx.image ?? '', /^influxdb:2\.7(\.\d+)?$/);
  const ie = influx.environment ?? {};
  assert.equal(ie.DOCKER_INFLUXDB_INIT_MODE, 'setup');
  assert.equal(ie.DOCKER_INFLUXDB_INIT_ORG, 'dehong');
  assert.equal(ie.DOCKER_INFLUXDB_INIT_BUCKET, 'dehong');
  tokens.add(ie.DOCKER_INFLUXDB_INIT_ADMIN_TOKEN ?? '');
  tokens.add(service('grafana').environment?.INFLUX_TOKEN ?? '');
  assert.equal(tokens.size, 1, 'InfluxDB\'s admin token is the token the services and Grafana send');

  const init = volumeMounts(influx).find((v) => v.target === '/docker-entrypoint-initdb.d');
  assert.ok(init, 'an init script directory is mounted');
  const dir = path.resolve(ROOT, init.source);
  const scripts = fs.readdirSync(dir).filter((f) => f.endsWith('.sh'));
  assert.ok(scripts.length > 0);
  for (const f of scripts) assert.ok((fs.statSync(path.join(dir, f)).mode & 0o111) !== 0, `${f} must be executable (the image runs only executable scripts)`);
  const text = scripts.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  assert.match(text, /influx v1 dbrp create/);
  assert.match(text, /--db "\$\{db\}"/);
});

test('the broker trusts the PROXY lines of the API container\'s WebSocket bridge, and only those', () => {
  const apiAddress = service('api').networks?.default?.ipv4_address;
  assert.ok(apiAddress, 'the api service has a fixed address on the default network');
  const subnet = composeConfig().networks?.default?.ipam?.config?.[0]?.subnet ?? '';
  const [net = '', bits = '0'] = subnet.split('/');
  const prefix = net.split('.').slice(0, Number(bits) / 8).join('.');
  assert.ok(Number(bits) % 8 === 0 && apiAddress.startsWith(`${prefix}.`), `${apiAddress} lies in the network's subnet ${subnet}`);
  const brokerEnv = service('broker').environment ?? {};
  // Read by the broker's own configuration loader, as the container would.
  const trusted = loadConfig({ MQTT_TRUSTED_PROXIES: brokerEnv.MQTT_TRUSTED_PROXIES ?? '' }).mqttTrustedProxies;
  assert.ok(trusted.includes(apiAddress), `MQTT_TRUSTED_PROXIES (${trusted.join(',')}) names the api container ${apiAddress}`);
  assert.deepEqual(trusted.filter((a) => !['127.0.0.1', '::1', apiAddress].includes(a)), [], 'no other address is trusted');
  assert.equal(service('api').environment?.MQTT_INTERNAL_URL, 'mqtt://broker:1883', 'the bridge reaches the broker over that network');
});

test('Grafana: a pinned 12.3+ release (schemaVersion 42), the InfluxQL data source and the generated dashboards provisioned', () => {
  const g = service('grafana');
  const m = /^grafana\/grafana(?:-oss)?:(\d+)\.(\d+)\.(\d+)$/.exec(g.image ?? '');
  assert.ok(m, `Grafana is pinned to an exact release, got ${g.image}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  assert.ok(major > 12 || (major === 12 && minor >= 3), 'the SDK emits schemaVersion 42, which Grafana reads from 12.3 on');

  const mounts = volumeMounts(g);
  const bind = (target: string): string => {
    const b = mounts.find((v) => v.target === target);
    assert.ok(b, `grafana mounts ${target}`);
    const p = path.resolve(ROOT, b.source);
    assert.ok(fs.existsSync(p), `${b.source} exists`);
    return p;
  };
  const dsDir = bind('/etc/grafana/provisioning/datasources');
  const dashProvDir = bind('/etc/grafana/provisioning/dashboards');
  const dashDir = bind('/etc/dehong/dashboards');
  assert.equal(path.relative(ROOT, dashDir), 'dashboards/generated');
  assert.ok(fs.readdirSync(dashDir).some((f) => f.endsWith('.json')));

  interface DsFile { datasources: Array<{ uid: string; type: string; url: string; jsonData: Record<string, string>; secureJsonData: Record<string, string> }> }
  const ds = fs.readdirSync(dsDir).flatMap((f) => (parse(fs.readFileSync(path.join(dsDir, f), 'utf8')) as DsFile).datasources);
  const influx = ds.find((d) => d.uid === DATASOURCE.uid);
  assert.ok(influx, `a data source with the dashboards' uid ${DATASOURCE.uid}`);
  assert.equal(influx.type, DATASOURCE.type);
  assert.equal(influx.jsonData.version, 'InfluxQL');
  assert.equal(influx.jsonData.dbName, '${INFLUX_DB}');
  assert.equal(influx.jsonData.httpHeaderName1, 'Authorization');
  assert.equal(influx.secureJsonData.httpHeaderValue1, 'Token ${INFLUX_TOKEN}');
  assert.equal(influx.url, '${INFLUX_URL}');
  const ge = g.environment ?? {};
  assert.equal(ge.INFLUX_URL, 'http://influxdb:8086');
  assert.equal(ge.INFLUX_DB, 'dehong');

  interface ProvFile { providers: Array<{ type: string; options: { path: string } }> }
  const providers = fs.readdirSync(dashProvDir).flatMap((f) => (parse(fs.readFileSync(path.join(dashProvDir, f), 'utf8')) as ProvFile).providers);
  assert.ok(providers.some((p) => p.type === 'file' && p.options.path === '/etc/dehong/dashboards'), 'a file provider reads the mounted dashboards');
  const home = ge.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
  if (home) assert.ok(fs.existsSync(path.join(dashDir, path.basename(home))), `home dashboard ${home} is generated`);
});

test('simulators: behind the "simulators" profile, under registered demo firms, through the api and broker containers', () => {
  const sims = Object.entries(composeConfig().services).filter(([n]) => n.startsWith('sim-'));
  assert.ok(sims.length > 0);
  const firms = new Set(demoFirms().map((f) => f.id));
  for (const [name, s] of sims) {
    assert.deepEqual(s.profiles, ['simulators'], `${name} runs only with --profile simulators`);
    const cmd = commandText(s);
    assert.match(cmd, /node dist\/simulators\/cli\.js --api http:\/\/api:8080 --mqtt mqtt:\/\/broker:1883 --token "\$\$ADMIN_TOKEN"/);
    assert.match(cmd, /node dist\/deploy\/seed-demo-firms\.js --api http:\/\/api:8080/);
    assert.ok(firms.has(s.environment?.SIM_FIRM ?? ''), `${name}: SIM_FIRM ${s.environment?.SIM_FIRM} is a demo firm`);
  }
});

test('Dockerfile: node:20-bookworm-slim, npm ci, dist/ built in a stage and run without tsx, a non-root user, a health check on /healthz, ports 8080 and 1883', () => {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((x) => x[1]);
  assert.ok(froms.length > 0 && froms.every((f) => f === 'node:20-bookworm-slim'), `base images: ${froms.join(', ')}`);
  assert.match(text, /\bnpm ci\b/);
  const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((x) => x[1]);
  assert.ok(users.length > 0 && users.at(-1) !== 'root' && users.at(-1) !== '0', 'the final stage runs as an unprivileged user');
  assert.match(text, /^HEALTHCHECK[\s\S]*http:\/\/127\.0\.0\.1:8080\/healthz/m);
  assert.match(text, /^EXPOSE\s+8080\s+1883\s*$/m);
  assert.match(text, /^RUN npm run build$/m);
  assert.match(text, /^COPY --from=build \/app\/dist \.\/dist$/m);
  assert.match(text, /^CMD\s+\["node", "dist\/api\/main\.js"\]/m);
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  assert.doesNotMatch(runtime, /tsx|\.ts\b/, 'the runtime stage runs compiled JavaScript only');
  const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'data', '.git', '.env']) assert.ok(ignore.includes(p), `.dockerignore leaves out ${p}`);
});

test('the simulators\' seed script registers every demo firm through the API, and a second run adds none', async () => {
  const sys = await startTestSystem();
  try {
    const first = await seedDemoFirmsViaApi(sys.apiUrl, sys.adminToken, 5_000);
    assert.equal(first.added + first.present, demoFirms().length);
    const second = await seedDemoFirmsViaApi(sys.apiUrl, sys.adminToken, 5_000);
    assert.deepEqual(second, { added: 0, present: demoFirms().length });
    const ids = new Set((await sys.registry.listFirms()).map((f) => f.id));
    for (const f of demoFirms()) assert.ok(ids.has(f.id), `${f.id} registered`);
  } finally {
    await sys.close();
  }
});
