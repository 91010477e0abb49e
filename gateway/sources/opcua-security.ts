// OPC UA security for one device: the client's certificate store in the gateway's data folder, the security mode
// and policy, the user identity, and trust of the server's certificate, checked before the session is opened so an
// untrusted server gives one clear error naming the certificate file to copy and where, not node-opcua's retries.
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createHash } from 'node:crypto';
import {
  MessageSecurityMode, OPCUAClient, SecurityPolicy, UserTokenType, crypto_utils,
  type EndpointDescription, type OPCUAClientOptions, type UserIdentityInfo,
} from 'node-opcua-client';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import type { Logger } from '../../common/log.ts';
import type { OpcuaDeviceConfig } from '../config.ts';
import type { OpcuaUserSettings } from './settings.ts';

export const APPLICATION_NAME = 'dehong-gateway';

// One certificate store per folder, shared by the devices (node-opcua locks a store's folder while it works).
const stores = new Map<string, OPCUACertificateManager>();

/**
 * The client's certificate store in the gateway's data folder, not node-opcua's default under the home folder
 * (often read-only in containers): own/ (the gateway's certificate and key, created on first use), trusted/,
 * rejected/ (server certificates seen and not trusted, for an operator to inspect and move). Nothing unknown is
 * accepted automatically: trust is the operator's decision, or the device's trustServerOnFirstUse.
 */
export function certificateStore(folder: string): OPCUACertificateManager {
  let store = stores.get(folder);
  if (!store) {
    store = new OPCUACertificateManager({ rootFolder: folder, automaticallyAcceptUnknownCertificate: false });
    stores.set(folder, store);
  }
  return store;
}

const ownMade = new Set<string>();

/**
 * node-opcua makes the gateway's certificate and key in the store on the first connect, and two clients doing it at
 * once trip over each other (one reads a key the other has not written yet). The first caller goes ahead; the
 * others wait, at most 20 s, for both files.
 */
export async function ownCertificateReady(store: OPCUACertificateManager): Promise<void> {
  const files = [path.join(store.ownCertFolder, 'client_certificate.pem'), path.join(store.ownPrivateFolder, 'private_key.pem')];
  const ready = () => files.every((f) => fs.existsSync(f));
  if (ready() || !ownMade.has(store.rootDir)) {
    ownMade.add(store.rootDir);
    return;
  }
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((r) => setTimeout(r, 100));
}

function der(file: string): Buffer {
  return new X509Certificate(fs.readFileSync(file)).raw;
}

/** The gateway's own certificate when the device names one (else node-opcua's, made in the store). */
function ownCertificate(cfg: OpcuaDeviceConfig): Pick<OPCUAClientOptions, 'certificateFile' | 'privateKeyFile' | 'applicationUri'> {
  if (!cfg.certificate || !cfg.privateKey) return {};
  // Servers check that the application URI in CreateSession is the one in the certificate.
  const uri = /URI:([^,\s]+)/.exec(new X509Certificate(fs.readFileSync(cfg.certificate)).subjectAltName ?? '')?.[1];
  return { certificateFile: cfg.certificate, privateKeyFile: cfg.privateKey, ...(uri && { applicationUri: uri }) };
}

/** The client's security options: mode, policy (Basic256Sha256 unless given), and its own certificate if given. */
export function clientSecurity(cfg: OpcuaDeviceConfig): Pick<OPCUAClientOptions, 'securityMode' | 'securityPolicy' | 'certificateFile' | 'privateKeyFile' | 'applicationUri'> {
  const mode = cfg.securityMode ?? 'None';
  return {
    securityMode: MessageSecurityMode[mode],
    securityPolicy: mode === 'None' ? SecurityPolicy.None : SecurityPolicy[cfg.securityPolicy ?? 'Basic256Sha256'],
    ...ownCertificate(cfg),
  };
}

export function userIdentity(user: OpcuaUserSettings | undefined): UserIdentityInfo {
  if (!user) return { type: UserTokenType.Anonymous };
  if ('username' in user) return { type: UserTokenType.UserName, userName: user.username, password: user.password };
  const key = crypto_utils.makePrivateKeyFromPem(fs.readFileSync(user.privateKey, 'utf8'));
  return { type: UserTokenType.Certificate, certificateData: der(user.certificate), keyOperations: crypto_utils.keyOperationsFromPrivateKey(key) };
}

/** The certificates of trustedServerCertificates into the store: a CA certificate as a trusted issuer. */
export async function trustConfigured(store: OPCUACertificateManager, files: readonly string[]): Promise<void> {
  await store.initialize();
  for (const file of files) {
    const cert = new X509Certificate(fs.readFileSync(file));
    if (cert.ca) await store.addIssuer(cert.raw, false, true);
    else await store.trustCertificate(cert.raw);
  }
}

/** The server's endpoints, over an unsecured discovery channel (GetEndpoints needs none). */
async function serverEndpoints(cfg: OpcuaDeviceConfig, store: OPCUACertificateManager): Promise<EndpointDescription[]> {
  const client = OPCUAClient.create({
    applicationName: APPLICATION_NAME, endpointMustExist: false, clientCertificateManager: store, ...ownCertificate(cfg),
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 1000 },
  });
  await client.connect(cfg.endpoint);
  try {
    return await client.getEndpoints();
  } finally {
    await client.disconnect();
  }
}

const policyName = (uri: string) => uri.split('#')[1] ?? uri;

/** Where the store put a certificate it rejected (node-opcua names the file after its subject and fingerprint). */
async function rejectedFile(store: OPCUACertificateManager, leaf: Buffer): Promise<string | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const name of fs.readdirSync(store.rejectedFolder).filter((n) => n.endsWith('.pem'))) {
      const file = path.join(store.rejectedFolder, name);
      try {
        if (der(file).equals(leaf)) return file;
      } catch {
        // a file being written, or not a certificate: not ours
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/**
 * Before a secured session: the server offers the mode and policy asked for, and its certificate is trusted, or
 * is trusted now on first use (when the device allows it and no certificate was trusted that way for it before).
 */
export async function checkServerTrust(cfg: OpcuaDeviceConfig, store: OPCUACertificateManager, log: Logger): Promise<void> {
  const { securityMode, securityPolicy } = clientSecurity(cfg);
  if (securityMode === MessageSecurityMode.None) return;
  const endpoints = await serverEndpoints(cfg, store);
  const match = endpoints.find((e) => e.securityMode === securityMode && e.securityPolicyUri === securityPolicy);
  if (!match) {
    const offered = [...new Set(endpoints.map((e) => `${MessageSecurityMode[e.securityMode]}/${policyName(e.securityPolicyUri ?? '')}`))].join(', ');
    throw new Error(`${cfg.endpoint} offers no endpoint with securityMode ${cfg.securityMode} and securityPolicy ${policyName(String(securityPolicy))}; it offers ${offered}`);
  }
  const chain = match.serverCertificate;
  const leaf = crypto_utils.split_der(chain)[0]!;
  const status = await store.checkCertificate(chain);
  if (status.isGood()) return;
  const cert = new X509Certificate(leaf);
  const who = `the server certificate of ${cfg.endpoint} (${cert.subject.replace(/\n/g, ', ')}; SHA-256 ${cert.fingerprint256})`;
  if (status.name !== 'BadCertificateUntrusted') throw new Error(`${who} is not acceptable: ${status.name}`);
  const firstUse = path.join(store.rootDir, 'first-use', `${cfg.id}.der`);
  if (cfg.trustServerOnFirstUse && !fs.existsSync(firstUse)) {
    await store.trustCertificate(chain);
    fs.mkdirSync(path.dirname(firstUse), { recursive: true });
    fs.writeFileSync(firstUse, leaf);
    log.warn({ device: cfg.id, endpoint: cfg.endpoint, sha256: cert.fingerprint256, trustedIn: store.trustedFolder }, 'OPC UA server certificate trusted on first use; a different certificate later will not be');
    return;
  }
  const file = await rejectedFile(store, leaf) ?? path.join(store.rejectedFolder, `${cfg.id}-${createHash('sha1').update(leaf).digest('hex')}.pem`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto_utils.toPem(leaf, 'CERTIFICATE'));
  const changed = cfg.trustServerOnFirstUse ? ' It differs from the certificate trusted on first use: make sure the server was really replaced.' : '';
  throw new Error(`${who} is not trusted.${changed} Compare the fingerprint with the one the server shows, then move ${file} into ${store.trustedFolder}/ (a copy left in rejected/ keeps it rejected) or add it to trustedServerCertificates of device "${cfg.id}"; the gateway keeps retrying`);
}

/** node-opcua's error made actionable where the cause is known. */
export function explain(err: Error, cfg: OpcuaDeviceConfig, store: OPCUACertificateManager): string {
  const m = err.message;
  if (/BadUserAccessDenied|BadIdentityToken/.test(m)) {
    const who = !cfg.user ? 'anonymous access' : 'username' in cfg.user ? `user "${cfg.user.username}"` : `the user certificate ${cfg.user.certificate}`;
    return `the server refused ${who} (${m}); set user of device "${cfg.id}" to an identity the server accepts`;
  }
  if (/BadSecurityChecksFailed|BadCertificate/.test(m)) {
    const own = cfg.certificate ?? path.join(store.ownCertFolder, 'client_certificate.pem');
    return `the server did not accept the gateway's certificate (${m}): trust ${own} on the server (its PKI's trusted certificates)`;
  }
  return m;
}
