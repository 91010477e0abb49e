// Identifiers and secrets: the unified social credit code (GB 32100-2015), tokens and their hashes.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// GB 32100-2015 alphabet: digits and capitals without I, O, S, V, Z.
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function usccCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = USCC_ALPHABET.indexOf(first17[i] ?? '');
    if (v < 0) throw new Error(`character ${i + 1} "${first17[i]}" is not in the GB 32100 alphabet`);
    sum += v * (USCC_WEIGHTS[i] as number);
  }
  return USCC_ALPHABET[(31 - (sum % 31)) % 31] as string;
}

/** Why a string is not a valid unified social credit code, or undefined when it is. */
export function usccProblem(code: string): string | undefined {
  if (code.length !== 18) return `must be 18 characters, got ${code.length}`;
  for (let i = 0; i < 18; i++) {
    if (!USCC_ALPHABET.includes(code[i] as string)) return `character ${i + 1} "${code[i]}" is not allowed (digits and capitals except I, O, S, V, Z)`;
  }
  const expected = usccCheckChar(code.slice(0, 17));
  if (code[17] !== expected) return `check character is "${code[17]}", expected "${expected}"`;
  return undefined;
}

/** Builds a valid code from a registration authority code, an entity type, a division code and a serial. */
export function makeUscc(divisionCode: string, serial: number): string {
  const org = String(serial).padStart(8, '0').slice(-8) + 'X';
  const first17 = `91${divisionCode}${org}`;
  return first17 + usccCheckChar(first17);
}

export function newToken(prefix: string, bytes = 24): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

// Device tokens are 192 random bits, not passwords people choose, so there is no dictionary to try: a fast hash
// is the standard treatment for such secrets (API tokens too). scrypt, used before, cost 30-85 ms a login, which
// turned a broker restart with 30,000 devices into many minutes of CPU. Its hashes are still accepted, and the
// registry replaces each with the fast one on the device's next successful login (SecretCheck.rehash).
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

function scryptAsync(secret: string, salt: Buffer, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { ...SCRYPT, N: n }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** The stored form of a new device token. */
export function hashSecret(secret: string): string {
  return `sha256$${sha256(secret)}`;
}

/** An scrypt hash of the form kept before (for migration tests and old registries). */
export async function legacyScryptHash(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, SCRYPT.N);
  return `scrypt$${SCRYPT.N}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export interface SecretCheck {
  ok: boolean;
  /** Set when the secret matched an older kind of hash: store this instead. */
  rehash?: string;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function verifySecret(secret: string, stored: string): Promise<SecretCheck> {
  const [scheme, ...rest] = stored.split('$');
  if (scheme === 'sha256' && rest[0]) return { ok: sameBytes(Buffer.from(sha256(secret), 'hex'), Buffer.from(rest[0], 'hex')) };
  const [n, salt, key] = rest;
  if (scheme !== 'scrypt' || !n || !salt || !key) return { ok: false };
  const ok = sameBytes(Buffer.from(key, 'base64url'), await scryptAsync(secret, Buffer.from(salt, 'base64url'), Number(n)));
  return ok ? { ok, rehash: hashSecret(secret) } : { ok };
}
