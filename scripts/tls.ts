// A development certificate authority and server certificate (openssl from Debian), for MQTT over TLS and HTTPS
// when no certificate is configured and TLS_SELF_SIGNED=1. Devices trust ca.pem (mosquitto_pub --cafile). The folder
// is 0700 and its files 0600 like the rest of DATA_DIR: it holds the CA's and the server's private keys.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE, ensurePrivateDir, narrowMode } from '../common/data-dir.ts';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export function ensureSelfSigned(dir: string, hosts: readonly string[] = ['localhost', '127.0.0.1']): TlsFiles {
  const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  ensurePrivateDir(dir);
  const narrowAll = () => { for (const f of fs.readdirSync(dir)) narrowMode(path.join(dir, f), PRIVATE_FILE_MODE); };
  if (fs.existsSync(files.ca) && fs.existsSync(files.cert) && fs.existsSync(files.key)) {
    narrowAll();
    return files;
  }
  const caKey = path.join(dir, 'ca.key');
  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
  fs.writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`, { mode: PRIVATE_FILE_MODE });
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', files.ca, '-days', '825', '-subj', '/CN=Dehong telemetry development CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', csr, '-subj', `/CN=${hosts[0] ?? 'localhost'}`]);
  run(['x509', '-req', '-in', csr, '-CA', files.ca, '-CAkey', caKey, '-CAcreateserial', '-out', files.cert, '-days', '825', '-extfile', ext]);
  narrowAll();
  return files;
}
