// Secrets kept in the data directory (mode 0600): created on first start, the same for every later start.
import fs from 'node:fs';
import path from 'node:path';
import { newToken } from './ids.ts';

export function loadOrCreateSecret(dataDir: string, name: string, prefix: string): { value: string; created: boolean } {
  const file = path.join(dataDir, name);
  try {
    const v = fs.readFileSync(file, 'utf8').trim();
    if (v.length >= 16) return { value: v, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const value = newToken(prefix, 32);
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { value, created: true };
}

export const SERVICE_SECRET_FILE = 'service-secret';
export const ADMIN_TOKEN_FILE = 'admin-token';

export function dataFiles(dataDir: string) {
  return {
    registry: path.join(dataDir, 'registry.db'),
    spool: path.join(dataDir, 'spool.db'),
    influxDir: path.join(dataDir, 'influxdb'),
  };
}
