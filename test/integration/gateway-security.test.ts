// The gateway against a secured OPC UA loom controller (node-opcua's OPCUAServer offering only SignAndEncrypt with
// Basic256Sha256, a username and password, no anonymous access), with the platform in-process (broker, ingest
// writer, a private influxd) and the gateway as its own process, as `npm run gateway` starts it:
// - with the server's certificate in trustedServerCertificates, the gateway opens a session and the values are stored;
// - without it, one clear error names the rejected certificate file and the folder to move it to; doing exactly
//   that lets the gateway in without a restart;
// - a wrong password, and a security mode the server does not offer, are named as such.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitFor } from '../../scripts/net.ts';
import { ROOT } from '../../scripts/launch.ts';
import { startLoomServer, type LoomServer } from '../helpers/opcua-loom.ts';
import { startTestSystem, testFirm, type TestSystem } from '../helpers/system.ts';

const USER = { username: 'weaver', password: 'loom-secret-1' };

let sys: TestSystem;
let loom: LoomServer;
const firm = testFirm();

before(async () => {
  sys = await startTestSystem();
  await sys.registry.createFirm(firm);
  loom = await startLoomServer(await freePort(), { secure: { ...USER, pkiDir: path.join(sys.dir, 'loom') } });
});
after(async () => {
  await loom?.stop();
  await sys?.close();
});

/** A gateway process for one loom device with these OPC UA settings; its log, and a stop that waits for the exit. */
async function gateway(name: string, opcua: Record<string, unknown>) {
  const { device, token } = await sys.registry.createDevice({ firmId: firm.id, type: 'loom', name });
  const dir = path.join(sys.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const node = (n: string) => `ns=${loom.ns};s=Loom1.${n}`;
  const config = {
    broker: sys.mqttUrl, dataDir: dir, pollIntervalMs: 200,
    devices: [{ id: device.id, firmId: firm.id, token, type: 'loom', protocol: 'opcua', endpoint: loom.endpoint, metrics: { speed_rpm: node('Speed'), picks_total: node('Picks') }, ...opcua }],
  };
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    id: device.id, dir, output: () => out,
    stop: async () => { child.kill('SIGTERM'); return exited; },
  };
}

const stored = (deviceId: string) => sys.countPoints('loom', deviceId, 'speed_rpm');

describe('gateway: OPC UA security', () => {
  test('SignAndEncrypt with Basic256Sha256 and a user: a trusted server gives stored values', async () => {
    const gw = await gateway('secure', { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', trustedServerCertificates: [loom.certificateFile], user: USER });
    try {
      await waitFor(async () => (await stored(gw.id)) >= 3, 60_000, `values of the secured loom stored\n${gw.output()}`);
      assert.match(gw.output(), /"securityMode":"SignAndEncrypt","subscribed":true,"msg":"OPC UA session open"/);
      assert.ok(fs.existsSync(path.join(gw.dir, 'pki', 'own', 'certs', 'client_certificate.pem')), "the gateway's own certificate, made on first use");
    } finally {
      assert.equal(await gw.stop(), 0, gw.output());
    }
  });

  test('an untrusted server certificate: one error naming the file and where to move it; moving it lets the gateway in', async () => {
    const gw = await gateway('untrusted', { securityMode: 'SignAndEncrypt', user: USER });
    try {
      const advice = /is not trusted\. .*then move (\S+\.pem) into (\S+)\/ \(a copy left in rejected\/ keeps it rejected\) or add it to trustedServerCertificates/;
      await waitFor(async () => advice.test(gw.output()), 60_000, `the untrusted-certificate error\n${gw.output()}`);
      const [, file, folder] = advice.exec(gw.output())!;
      assert.equal(gw.output().match(/is not trusted/g)!.length, 1, 'logged once, not at every retry');
      assert.ok(fs.existsSync(file!), file);
      assert.equal(await stored(gw.id), 0);
      fs.renameSync(file!, path.join(folder!, path.basename(file!)));
      await waitFor(async () => (await stored(gw.id)) >= 1, 60_000, `values stored once the certificate is trusted\n${gw.output()}`);
    } finally {
      assert.equal(await gw.stop(), 0, gw.output());
    }
  });

  test('a wrong password and a mode the server does not offer are named', async () => {
    const trusted = { trustedServerCertificates: [loom.certificateFile] };
    const wrong = await gateway('wrong-password', { securityMode: 'SignAndEncrypt', ...trusted, user: { ...USER, password: 'nope' } });
    const sign = await gateway('sign-only', { securityMode: 'Sign', ...trusted, user: USER });
    try {
      await waitFor(async () => /the server refused user \\"weaver\\" \(BadUserAccessDenied/.test(wrong.output()), 60_000, `the refused user\n${wrong.output()}`);
      await waitFor(async () => /offers no endpoint with securityMode Sign and securityPolicy Basic256Sha256; it offers SignAndEncrypt\/Basic256Sha256/.test(sign.output()), 60_000, `the missing mode\n${sign.output()}`);
    } finally {
      assert.equal(await wrong.stop(), 0, wrong.output());
      assert.equal(await sign.stop(), 0, sign.output());
    }
  });
});
