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
/** The largest bcrypt cost accepted (2^12 rounds, ~250 ms): a costlier stored hash matches nothing. */
const MAX_BCRYPT_COST = 12;

/**
 * Whether `password` matches a stored hash: the platform's scrypt form, or a bcrypt hash (checked by
 * bcryptjs, its cost bounded). A malformed hash, or one costlier than the bounds, matches nothing.
 */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const bcrypt = BCRYPT.exec(stored);
  if (bcrypt) return Number(bcrypt[1]) <= MAX_BCRYPT_COST && compare(password, stored);
  return verifyPassword(password, stored);
}
