import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost: 16 MiB and ~50 ms per hash here; stored with each hash so it can be raised later. */
const COST = { N: 16_384, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** The largest cost a stored hash may ask for (a tampered row must not make us allocate gigabytes). */
const MAX_MEMORY = 64 * 1024 * 1024;

/** `scrypt$N$r$p$salt$hash` (base64url), the only form a password is ever stored in. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** Whether `password` matches a stored hash, in constant time. A malformed hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every((v) => Number.isSafeInteger(v) && v > 0)) return false;
  if (128 * cost.N * cost.r > MAX_MEMORY) return false;
  const expected = Buffer.from(hash, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await derive(password, Buffer.from(salt, 'base64url'), cost);
  return timingSafeEqual(actual, expected);
}

/**
 * Whether a stored hash that just matched should be replaced by `hashPassword`'s form: anything but the
 * platform's scrypt at today's cost (an imported bcrypt hash, an older cost).
 */
export function needsRehash(stored: string): boolean {
  const [scheme, n, r, p] = stored.split('$');
  return scheme !== 'scrypt' || Number(n) !== COST.N || Number(r) !== COST.r || Number(p) !== COST.p;
}

/** A random secret of `bytes` bytes, base64url: no quote or backslash ever reaches SQL or a URL. */
export function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_BYTES, { ...cost, maxmem: 2 * MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}
