// Secrets kept in the data directory (mode 0600): created on first start, the same for every later start; the
// first admin's one-time password only until it has been replaced.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Registry } from './registry/registry.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, dataDirLayout } from './data-dir.ts';
import { newToken } from './ids.ts';

/** A kept secret, or undefined when its file is missing or empty. */
function readKept(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function loadOrCreateSecret(file: string, prefix: string): { value: string; created: boolean } {
  const v = readKept(file);
  if (v !== undefined && v.length >= 16) return { value: v, created: false };
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

/** Login name of the admin user `npm start` creates when the registry has none. */
export const FIRST_ADMIN_LOGIN = 'admin';

type FirstAdminRegistry = Pick<Registry, 'listUsers' | 'createUser' | 'checkPassword'>;

/**
 * The first admin user's one-time password. With no admin user in the registry, user `admin` is created with a
 * generated password it must replace at first sign-in; the password is kept (0600) like the admin token so that
 * every start can show it until then, and forgotten once it no longer signs in. Undefined when there is none to show.
 */
export async function firstAdminPassword(registry: FirstAdminRegistry, dataDir: string): Promise<string | undefined> {
  const file = dataDirLayout(dataDir).adminPassword;
  const users = await registry.listUsers();
  if (!users.some((u) => u.role === 'admin') && !users.some((u) => u.login === FIRST_ADMIN_LOGIN)) {
    // Written before the user exists: a password that was never written down would lock the first admin out.
    const password = randomBytes(12).toString('base64url');
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.writeFileSync(file, `${password}\n`, { mode: PRIVATE_FILE_MODE });
    await registry.createUser({ login: FIRST_ADMIN_LOGIN, displayName: FIRST_ADMIN_LOGIN, role: 'admin', firmId: null, password, mustChangePassword: true });
    return password;
  }
  const kept = readKept(file);
  if (kept === undefined) return undefined;
  const admin = users.find((u) => u.login === FIRST_ADMIN_LOGIN);
  if (admin?.mustChangePassword && (await registry.checkPassword(FIRST_ADMIN_LOGIN, kept)).ok) return kept;
  fs.rmSync(file, { force: true });
  return undefined;
}
