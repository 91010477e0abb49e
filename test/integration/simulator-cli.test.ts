// The simulator CLI end to end: a scenario file registers its firms and provisions its devices through the API,
// runs them over MQTT with a fault switched on from the command line, prints status and summary; a rerun reuses
// the saved credentials; a bad scenario file stops it with a clear error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { api, startTestSystem, tempDir, type TestSystem } from '../helpers/system.ts';
import { demoFirms } from '../../common/demo.ts';

const run = promisify(execFile);
let sys: TestSystem;
let dir: string;

before(async () => {
  sys = await startTestSystem({ tls: true });
  dir = tempDir('simcli');
});
after(async () => {
  await sys.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const SCENARIO = `
name: cli-test
seed: 3
idPrefix: clitest
intervalMs: 200
shifts:
  always-on: "00:00-24:00"
firms:
  - firm: 2
    devices:
      - { type: loom, count: 3 }
      - { type: electricity_meter, count: 1, intervalMs: 500 }
  - firm: 18
    shifts: [always-on]
    devices:
      - { type: silk_reeling, count: 2 }
  - firm: 3
`;

function cli(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', '--api', sys.apiUrl, '--mqtt', sys.mqttUrl, ...args], { cwd: path.resolve(import.meta.dirname, '../..'), timeout: 60_000 });
}

describe('simulator CLI', () => {
  test('--scenario provisions through the API, runs the devices, injects --fault, prints a summary; --credentials reuses them', async () => {
    const file = path.join(dir, 'cli.yaml');
    const creds = path.join(dir, 'creds.json');
    const summary = path.join(dir, 'summary.json');
    fs.writeFileSync(file, SCENARIO);
    const { stdout } = await cli(['--scenario', file, '--token', sys.adminToken, '--save', creds, '--fault', 'malformed=0.2', '--duration', '3', '--summary-json', summary]);
    assert.match(stdout, /scenario cli-test, seed 3: 3 firms \(2 with devices; above-scale 2\/3 = 67 %\), 6 devices/);
    assert.match(stdout, /registered 3 firm\(s\)/);
    assert.match(stdout, /provisioned 6 devices/);
    assert.match(stdout, /summary: scenario cli-test, seed 3/);
    assert.match(stdout, /faults injected +malformed \d+/);
    const totals = JSON.parse(fs.readFileSync(summary, 'utf8')) as { devices: number; sent: number; acked: number; injected: { malformed?: number }; problems: { json?: number } };
    assert.equal(totals.devices, 6);
    assert.ok(totals.sent > 30 && totals.acked === totals.sent, `${totals.acked}/${totals.sent} acknowledged`);
    assert.ok((totals.injected.malformed ?? 0) > 0);
    const saved = JSON.parse(fs.readFileSync(creds, 'utf8')) as Array<{ id: string; firmId: string }>;
    assert.equal(saved.length, 6);
    assert.ok(saved.every((c) => c.id.startsWith('clitest-')));
    const weaving = demoFirms()[2]!.id;
    const devices = await api<Array<{ id: string; type: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${weaving}/devices`);
    assert.deepEqual(devices.body.map((d) => d.type).sort(), ['electricity_meter', 'loom', 'loom', 'loom']);
    const firm3 = await api(sys, sys.adminToken, 'GET', `/api/v1/firms/${demoFirms()[3]!.id}`);
    assert.equal(firm3.status, 200, 'a firm without devices is registered too');
    await sys.drained();
    const stored = await sys.countPoints('loom');
    assert.ok(stored > 10, `${stored} loom points stored`);
    const rejected = await api<Array<{ rule: string }>>(sys, sys.adminToken, 'GET', `/api/v1/firms/${weaving}/rejected?limit=1000`);
    assert.ok(rejected.body.some((r) => r.rule === 'json'), 'malformed messages reached the dead-letter store');

    // Rerun from the saved credentials: nothing is provisioned again (the ids exist: provisioning would fail).
    const again = await cli(['--scenario', file, '--credentials', creds, '--count', '3', '--quiet']);
    assert.doesNotMatch(again.stdout, /provisioned/);
    assert.match(again.stdout, /stopping \(3 messages per device sent\)/);
    assert.match(again.stdout, /devices +6 \(6 connected when stopping\)/);

    // The same devices over MQTT with TLS, trusting the development CA.
    const tls = await run(process.execPath, ['--import', 'tsx', 'simulators/cli.ts', '--mqtt', `mqtts://localhost:${sys.mqttsPort}`, '--ca', sys.tlsFiles!.ca, '--scenario', file, '--credentials', creds, '--count', '2', '--quiet'], { cwd: path.resolve(import.meta.dirname, '../..'), timeout: 60_000 });
    assert.match(tls.stdout, /connected 6\/6 devices/);
    assert.match(tls.stdout, /messages +sent \d+, acknowledged \d+ \(100\.00 %\)/);
  });

  test('a bad scenario file or flag stops the CLI with a message that names the problem', async () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'name: bad\nfirms:\n  - firm: 2\n    devices: [{type: jacquard, count: 2}]\n');
    await assert.rejects(cli(['--scenario', file, '--token', sys.adminToken]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /bad\.yaml\.firms\[0\]\.devices\[0\]\.type: unknown device type "jacquard"/);
      return true;
    });
    await assert.rejects(cli(['--scenario', 'dehong-demo', '--fault', 'late=0.1']), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /--fault "late=0.1": unknown fault "late"/);
      return true;
    });
    await assert.rejects(cli(['--scenario', 'dehong-demo']), (err: { code: number; stderr: string }) => {
      assert.match(err.stderr, /400 devices have no credentials: give --token/);
      return true;
    });
  });
});
