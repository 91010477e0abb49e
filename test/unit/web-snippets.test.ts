// The device page's copy-paste examples (web/src/views/device/snippets.ts): the sample is a valid telemetry point
// for every device type of the catalogue, the mosquitto_pub line runs in a POSIX shell as shown (TLS: --cafile),
// a token with shell characters stays one argument, and the Python and MQTT.js examples parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CATALOGUE } from '../../common/contract/catalogue.ts';
import { pointValidator } from '../../common/contract/messages.ts';
import { TOKEN_PLACEHOLDER, sampleMetrics, snippets } from '../../web/src/views/device/snippets.ts';
import type { DeviceConnection } from '../../web/src/types.ts';

const conn = (tls: boolean): DeviceConnection => ({
  deviceId: 'loom-7',
  urls: [
    { transport: 'mqtt', url: 'mqtt://iot.example:1883', host: 'iot.example', port: 1883 },
    ...(tls ? [{ transport: 'mqtts' as const, url: 'mqtts://iot.example:8883', host: 'iot.example', port: 8883 }] : []),
  ],
  caUrl: tls ? '/api/v1/tls/ca.pem' : null,
  publish: { telemetry: 'dh/v1/F/loom-7/telemetry', state: 'dh/v1/F/loom-7/state', status: 'dh/v1/F/loom-7/status' },
  subscribe: { errors: 'dh/v1/F/loom-7/errors' },
});

/** The arguments a POSIX shell gives mosquitto_pub for the line: printf in its place prints them. */
function shellArgs(line: string): string[] {
  return execFileSync('sh', ['-c', line.replace(/^mosquitto_pub/, "printf '%s\\0'")], { encoding: 'utf8' }).split('\0').slice(0, -1);
}

test('the sample is a valid telemetry point for every device type', () => {
  for (const spec of CATALOGUE) {
    const metrics = sampleMetrics(spec);
    assert.ok(Object.keys(metrics).length >= 1 && Object.keys(metrics).length <= 3, spec.type);
    const validate = pointValidator(spec.type);
    assert.ok(validate);
    assert.ok(validate({ ts: Date.now(), seq: 1, metrics }), `${spec.type}: ${JSON.stringify(validate.errors)}`);
  }
});

test('the mosquitto_pub line: plain MQTT, or MQTTS with --cafile; the message it sends is the sample with the time now', () => {
  const loom = CATALOGUE.find((s) => s.type === 'loom')!;
  const plain = snippets(conn(false), loom)!;
  assert.match(plain.mosquitto, /^mosquitto_pub -h iot\.example -p 1883 -i 'loom-7' -u 'loom-7' -P '<TOKEN>' -q 1 -t 'dh\/v1\/F\/loom-7\/telemetry' -m /);
  assert.doesNotMatch(plain.mosquitto, /cafile/);
  assert.ok(plain.python.includes(`"${TOKEN_PLACEHOLDER}"`) && !plain.python.includes('tls_set'));
  const tls = snippets(conn(true), loom)!;
  assert.match(tls.mosquitto, / -p 8883 --cafile ca\.pem /);
  assert.match(tls.mqttJs, /mqtts:\/\/iot\.example:8883.*ca: fs\.readFileSync\('ca\.pem'\)/s);
  assert.match(tls.python, /c\.tls_set\(ca_certs="ca\.pem"\)\nc\.on_message[\s\S]*c\.connect\("iot\.example", 8883\)/);
  // What the shell makes of the -m argument.
  const args = shellArgs(tls.mosquitto);
  const sent = JSON.parse(args[args.indexOf('-m') + 1]!) as { ts: number; seq: number; metrics: Record<string, number> };
  assert.ok(Math.abs(sent.ts - Date.now()) < 5_000, `ts ${sent.ts}`);
  assert.deepEqual(sent.metrics, sampleMetrics(loom));
  assert.ok(pointValidator('loom')!(sent));
});

test("a token with shell characters stays one argument; no endpoints, no examples", () => {
  const loom = CATALOGUE.find((s) => s.type === 'loom')!;
  const token = "dt_a'b$c`d";
  const line = snippets(conn(false), loom, token)!.mosquitto;
  const args = shellArgs(line);
  assert.equal(args[args.indexOf('-P') + 1], token);
  assert.equal(snippets({ ...conn(false), urls: [] }, loom), undefined);
});

const hasPython = (() => { try { execFileSync('python3', ['--version']); return true; } catch { return false; } })();

test('the Python example parses as Python 3 and the MQTT.js one as an ES module', { skip: hasPython ? false : 'no python3' }, () => {
  const dyeing = CATALOGUE.find((s) => s.type === 'dyeing_machine')!;
  for (const tls of [false, true]) {
    const s = snippets(conn(tls), dyeing, 'dt_token')!;
    execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: s.python });
    execFileSync(process.execPath, ['--input-type=module', '--check'], { input: s.mqttJs });
  }
});
