/**
 * Signing in with a password hash the platform did not write: a customer brought aboard with its data keeps
 * the hashes its old app stored. Only the tenant API needs this (the task Lambdas' bundles stay without
 * bcrypt): the hash is checked here and replaced by the platform's form on the first sign-in (`needsRehash`).
 */
import { compare } from 'bcryptjs';
import { verifyPassword } from './passwords';

/**
 * A bcrypt hash as the old app may have written it (`$2a$`, `$2b$`, `$2y$`: Go's x/crypto, PHP, Node,
 * OpenBSD): the cost, then 53 characters of salt and hash.
 */
const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
/**
 * The bcrypt costs accepted: 4 (bcrypt's least) to 12 (2^12 rounds, ~250 ms); a stored hash outside them
 * matches nothing (a costlier one would make a sign-in a denial of service).
 */
const BCRYPT_COSTS = { min: 4, max: 12 } as const;

/**
 * Whether `password` matches a stored hash: the platform's scrypt form, or a bcrypt hash (checked by
 * bcryptjs, its cost bounded). A malformed hash, or one costlier than the bounds, matches nothing.
 */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const bcrypt = BCRYPT.exec(stored);
  if (bcrypt) {
    const cost = Number(bcrypt[1]);
    return cost >= BCRYPT_COSTS.min && cost <= BCRYPT_COSTS.max && compare(password, stored);
  }
  return verifyPassword(password, stored);
}
