// Secrets kept in the data directory (mode 0600): created on first start, the same for every later start.
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, dataDirLayout } from './data-dir.ts';
import { newToken } from './ids.ts';

export function loadOrCreateSecret(file: string, prefix: string): { value: string; created: boolean } {
  try {
    const v = fs.readFileSync(file, 'utf8').trim();
    if (v.length >= 16) return { value: v, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const value = newToken(prefix, 32);
  fs.writeFileSync(file, `${value}\n`, { mode: PRIVATE_FILE_MODE });
  return { value, created: true };
}

/** The password of the internal service users at the broker, shared by every process of the node. */
export function serviceSecret(dataDir: string): string {
  return loadOrCreateSecret(dataDirLayout(dataDir).serviceSecret, 'svc').value;
}

/** ADMIN_TOKEN, or the one generated into the data directory on first start. */
export function adminToken(config: { adminToken: string | undefined; dataDir: string }): string {
  return config.adminToken ?? loadOrCreateSecret(dataDirLayout(config.dataDir).adminToken, 'at').value;
}
