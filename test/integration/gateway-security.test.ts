// The gateway against a secured OPC UA loom controller (node-opcua's OPCUAServer offering only SignAndEncrypt with
// Basic256Sha256, a username and password, no anonymous access), with the platform in-process (broker, ingest
// writer, a private influxd) and the gateway as its own process, as `npm run gateway` starts it:
// - with the server's certificate in trustedServerCertificates, the gateway opens a session and the values are stored;
// - without it, one clear error names the rejected certificate file and the folder to move it to; doing exactly
//   that lets the gateway in without a restart;
// - a wrong password, and a security mode the server does not offer, are named as such;
// - trust on first use, the gateway's own certificate given as files, and an X.509 user;
// - bad security settings stop start-up with the field named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { stringify } from 'yaml';
import { GatewayConfigError, parseGatewayConfig } from '../../gateway/config.ts';
import { makeUscc } from '../../common/ids.ts';
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

/** The gateway as its own process on a configuration file; its log, and a stop that waits for the exit. */
function run(file: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { output: () => out, stop: async () => { child.kill('SIGTERM'); return exited; } };
}

/** A gateway for one new loom device read from `server` with these OPC UA settings. */
async function gateway(name: string, opcua: Record<string, unknown>, server: LoomServer = loom) {
  const { device, token } = await sys.registry.createDevice({ firmId: firm.id, type: 'loom', name });
  const dir = path.join(sys.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const node = (n: string) => `ns=${server.ns};s=Loom1.${n}`;
  const config = {
    broker: sys.mqttUrl, dataDir: dir, pollIntervalMs: 200,
    devices: [{ id: device.id, firmId: firm.id, token, type: 'loom', protocol: 'opcua', endpoint: server.endpoint, metrics: { speed_rpm: node('Speed'), picks_total: node('Picks') }, ...opcua }],
  };
  const file = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(file, stringify(config));
  return { id: device.id, dir, file, ...run(file) };
}

const stored = (deviceId: string) => sys.countPoints('loom', deviceId, 'speed_rpm');

/** A self-signed certificate and its key (PEM files), made with node-opcua's certificate manager. */
async function selfSigned(dir: string, commonName: string, applicationUri: string): Promise<{ certificate: string; privateKey: string }> {
  const store = new OPCUACertificateManager({ rootFolder: dir });
  await store.initialize();
  const certificate = path.join(dir, `${commonName}.pem`);
  await store.createSelfSignedCertificate({ subject: `/CN=${commonName}`, applicationUri, dns: ['localhost'], startDate: new Date(), validity: 30, outputFile: certificate });
  await store.dispose();
  return { certificate, privateKey: path.join(dir, 'own', 'private', 'private_key.pem') };
}

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

  test('trust on first use, the gateway certificate from files, an X.509 user', async () => {
    const certs = path.join(sys.dir, 'certs');
    const own = await selfSigned(path.join(certs, 'own'), 'dehong-gateway-weaving', 'urn:dehong:gateway:weaving');
    const user = await selfSigned(path.join(certs, 'user'), 'weaver-x509', 'urn:dehong:user:weaver');
    const gw = await gateway('first-use', { securityMode: 'SignAndEncrypt', trustServerOnFirstUse: true, ...own, user });
    try {
      await waitFor(async () => (await stored(gw.id)) >= 1, 60_000, `values stored\n${gw.output()}`);
      assert.match(gw.output(), /"level":40,.*"msg":"OPC UA server certificate trusted on first use/);
      assert.ok(fs.existsSync(path.join(gw.dir, 'pki', 'first-use', `${gw.id}.der`)), 'the certificate trusted on first use is kept');
      const accepted = fs.readdirSync(path.join(sys.dir, 'loom', 'server-pki', 'trusted', 'certs'));
      assert.ok(accepted.some((f) => f.startsWith('dehong-gateway-weaving')), `the server saw the configured gateway certificate: ${accepted.join(', ')}`);
      assert.ok(!fs.existsSync(path.join(gw.dir, 'pki', 'own', 'certs', 'client_certificate.pem')), 'no certificate made when one is given');
    } finally {
      assert.equal(await gw.stop(), 0, gw.output());
    }
  });

  test('after trust on first use, a server with another certificate is refused', async () => {
    const port = await freePort();
    const first = await startLoomServer(port, { secure: { ...USER, pkiDir: path.join(sys.dir, 'tofu-first') } });
    const gw = await gateway('tofu-changed', { securityMode: 'SignAndEncrypt', trustServerOnFirstUse: true, user: USER }, first);
    try {
      await waitFor(async () => (await stored(gw.id)) >= 1, 60_000, `values stored\n${gw.output()}`);
    } finally {
      assert.equal(await gw.stop(), 0, gw.output());
      await first.stop();
    }
    // The same address, another certificate: a replaced controller, or someone in the middle.
    const second = await startLoomServer(port, { secure: { ...USER, pkiDir: path.join(sys.dir, 'tofu-second') } });
    const again = run(gw.file);
    try {
      await waitFor(async () => /is not trusted\. It differs from the certificate trusted on first use/.test(again.output()), 60_000, `the refusal\n${again.output()}`);
    } finally {
      assert.equal(await again.stop(), 0, again.output());
      await second.stop();
    }
  });

  test('bad security settings stop start-up with the field named', () => {
    const base = { id: 'loom-1', firmId: makeUscc('533100', 1), token: 't', type: 'loom', protocol: 'opcua', endpoint: 'opc.tcp://plc:4840', metrics: { speed_rpm: 'ns=2;s=S' } };
    const fails = (over: Record<string, unknown>, expected: RegExp) => assert.throws(
      () => parseGatewayConfig({ broker: 'mqtt://x', devices: [{ ...base, ...over }] }, sys.dir),
      (err: Error) => err instanceof GatewayConfigError && expected.test(err.message), String(expected),
    );
    fails({ securityPolicy: 'Basic256Sha256' }, /^devices\[0\]\.securityPolicy: applies only with securityMode "Sign" or "SignAndEncrypt"/);
    fails({ securityMode: 'Sign', securityPolicy: 'Basic128Rsa15' }, /^devices\[0\]\.securityPolicy: must be one of "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"/);
    fails({ securityMode: 'Sign', trustedServerCertificates: ['nowhere.der'] }, /^devices\[0\]\.trustedServerCertificates\[0\]: cannot read .*nowhere\.der: ENOENT/);
    fails({ securityMode: 'Sign', trustedServerCertificates: [path.join(sys.dir, 'loom', 'server-pki', 'own', 'private', 'private_key.pem')] }, /trustedServerCertificates\[0\]: .* is not a PEM or DER certificate/);
    fails({ securityMode: 'Sign', certificate: loom.certificateFile }, /^devices\[0\]\.privateKey: is required with certificate and privateKey given together/);
    fails({ user: { username: 'weaver' } }, /^devices\[0\]\.user\.password: is required/);
  });
});
