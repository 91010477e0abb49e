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

// Device tokens are stored as salted scrypt hashes: a leaked registry does not hand out credentials.
const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

function scryptAsync(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt);
  return `scrypt$${SCRYPT.N}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, , salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scryptAsync(secret, Buffer.from(salt, 'base64url'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
