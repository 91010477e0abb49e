// A device's protocol settings beyond its metric mapping: OPC UA security (mode, policy, the gateway's certificate,
// trust of the server, user identity) and Modbus framing and read grouping. The schemas are spread into the device
// schemas of gateway/config.ts; the files they name are read when the configuration is checked, so `--check` finds
// a missing or unreadable certificate before the gateway runs.
import fs from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';

// The deprecated Basic128Rsa15 and Basic256 are left out: OPC UA 1.04 retired them.
export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export const SECURITY_POLICIES = ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

const FileName = Type.String({ minLength: 1, description: 'a file, relative to the configuration file' });

const OpcuaUser = Type.Union([
  Type.Object({ username: Type.String({ minLength: 1 }), password: Type.String() }, { additionalProperties: false }),
  Type.Object({ certificate: FileName, privateKey: FileName }, { additionalProperties: false }),
]);

export const OpcuaSecurity = {
  securityMode: Type.Optional(Type.Union(SECURITY_MODES.map((m) => Type.Literal(m)))),
  securityPolicy: Type.Optional(Type.Union(SECURITY_POLICIES.map((p) => Type.Literal(p)))),
  /** The gateway's application certificate (PEM) and key; by default generated in dataDir/pki on first use. */
  certificate: Type.Optional(FileName),
  privateKey: Type.Optional(FileName),
  /** Server certificates (PEM or DER) to trust, or the CA certificates that issued them. */
  trustedServerCertificates: Type.Optional(Type.Array(FileName)),
  trustServerOnFirstUse: Type.Optional(Type.Boolean()),
  /** Omitted: anonymous. */
  user: Type.Optional(OpcuaUser),
};
export type OpcuaSecuritySettings = Static<ReturnType<typeof Type.Object<typeof OpcuaSecurity>>>;
export type OpcuaUserSettings = Static<typeof OpcuaUser>;

export const ModbusReads = {
  /** tcp: Modbus TCP (MBAP header); rtu: RTU frames with CRC over TCP, as serial device servers pass them through. */
  framing: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('rtu')])),
  /** Unmapped registers one request may span to join two metrics. */
  maxGap: Type.Optional(Type.Integer({ minimum: 0, maximum: 123 })),
  /** Registers per request: the protocol allows 125, some devices take fewer. */
  maxReadRegisters: Type.Optional(Type.Integer({ minimum: 2, maximum: 125 })),
};

/** Eight spare registers cost 16 bytes in the answer; a second request costs a round trip (on RS-485, tens of ms). */
export const MODBUS_READ_DEFAULTS = { framing: 'tcp', maxGap: 8, maxReadRegisters: 125 } as const;

type Fail = (field: string, message: string) => never;

function readable(file: string, at: string, fail: Fail): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    return fail(at, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function checkCertificate(file: string, at: string, fail: Fail): string {
  const bytes = readable(file, at, fail);
  try {
    new X509Certificate(bytes);
  } catch {
    fail(at, `${file} is not a PEM or DER certificate`);
  }
  return file;
}

function checkKey(file: string, at: string, fail: Fail): string {
  const bytes = readable(file, at, fail);
  try {
    createPrivateKey(bytes);
  } catch {
    fail(at, `${file} is not an unencrypted PEM private key`);
  }
  return file;
}

/**
 * The OPC UA security settings made whole: files resolved (with `resolve`) and readable, combinations that mean
 * nothing refused (a policy or a server trust list with mode None, a certificate without its key).
 */
export function resolveOpcuaSecurity<T extends OpcuaSecuritySettings>(d: T, at: string, resolve: (p: string) => string, fail: Fail): T {
  const secured = (d.securityMode ?? 'None') !== 'None';
  const onlySecured = 'applies only with securityMode "Sign" or "SignAndEncrypt" (with "None" the server\'s certificate is not used)';
  if (!secured) {
    if (d.securityPolicy !== undefined) fail(`${at}.securityPolicy`, onlySecured);
    if (d.trustedServerCertificates !== undefined) fail(`${at}.trustedServerCertificates`, onlySecured);
    if (d.trustServerOnFirstUse !== undefined) fail(`${at}.trustServerOnFirstUse`, onlySecured);
  }
  if ((d.certificate === undefined) !== (d.privateKey === undefined)) {
    fail(`${at}.${d.certificate === undefined ? 'certificate' : 'privateKey'}`, 'is required with certificate and privateKey given together');
  }
  const out: T = { ...d };
  if (d.certificate !== undefined) out.certificate = checkCertificate(resolve(d.certificate), `${at}.certificate`, fail);
  if (d.privateKey !== undefined) out.privateKey = checkKey(resolve(d.privateKey), `${at}.privateKey`, fail);
  if (d.trustedServerCertificates) {
    out.trustedServerCertificates = d.trustedServerCertificates.map((f, i) => checkCertificate(resolve(f), `${at}.trustedServerCertificates[${i}]`, fail));
  }
  if (d.user && 'certificate' in d.user) {
    out.user = {
      certificate: checkCertificate(resolve(d.user.certificate), `${at}.user.certificate`, fail),
      privateKey: checkKey(resolve(d.user.privateKey), `${at}.user.privateKey`, fail),
    };
  }
  return out;
}
