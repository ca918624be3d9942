import { passwordMatches } from '../common/imported-passwords';
import { hashPassword, needsRehash } from '../common/passwords';
import { json, Problem, type ApiRequest, type ApiResponse } from './http';
import { credentials, passwordChange, type Token } from './schemas';
import type { Tenant } from './tenant';
import { signToken, verifyToken } from './tokens';
import { parse } from './validate';

export interface User {
  readonly id: number;
  readonly email: string;
  readonly role: 'admin' | 'staff';
}

/** Compared against when the e-mail is unknown, so a miss costs as much time as a wrong password. */
let dummyHash: Promise<string> | undefined;

interface UserRow {
  id: string;
  email: string;
  role: User['role'];
  password_hash: string | null;
  token_version: number;
}

/** Wrong passwords in a row that lock an account, and for how long. */
export const MAX_FAILED_LOGINS = 5;
const LOCK_SECONDS = 15 * 60;

/**
 * `POST /auth/login` `{ email, password }` -> `{ token, expiresAt }`. After MAX_FAILED_LOGINS wrong
 * passwords in a row the account answers 429 (with Retry-After) for LOCK_SECONDS, whatever the password;
 * each wrong password after that locks it again. A right one resets the count.
 */
export async function login(tenant: Tenant, req: ApiRequest): Promise<ApiResponse> {
  const { email, password } = parse(credentials, req.body);
  const row = await tenant.withClient(async (client) => {
    const { rows } = await client.query<UserRow & { locked_for: number | null }>(
      `SELECT id, email, role, password_hash, token_version,
              ceil(extract(epoch FROM locked_until - now()))::int AS locked_for
       FROM users WHERE email = $1`,
      [email.trim().toLowerCase()],
    );
    return rows[0];
  });
  if (row?.locked_for && row.locked_for > 0) throw locked(row.locked_for);
  const matches = await passwordMatches(
    password,
    row?.password_hash ?? (await (dummyHash ??= hashPassword('no one has this password'))),
  );
  if (!row?.password_hash || !matches) {
    if (row) await recordFailure(tenant, Number(row.id));
    throw new Problem(401, 'invalid-credentials', 'The e-mail or the password is wrong');
  }
  // A hash in another form (an imported customer's bcrypt) is replaced by the platform's, now that the
  // password is known: the same password, so no token is revoked. Only if nobody changed it meanwhile.
  const rehashed = needsRehash(row.password_hash) ? await hashPassword(password) : undefined;
  await tenant.transaction(async (client) => {
    await client.query(
      'UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0',
      [row.id],
    );
    if (rehashed)
      await client.query('UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3', [
        row.id,
        rehashed,
        row.password_hash,
      ]);
  });
  return json(200, await tokenFor(tenant, Number(row.id), row.token_version));
}

async function recordFailure(tenant: Tenant, userId: number): Promise<void> {
  await tenant.transaction((client) =>
    client.query(
      `UPDATE users SET failed_logins = failed_logins + 1,
         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3) END
       WHERE id = $1`,
      [userId, MAX_FAILED_LOGINS, LOCK_SECONDS],
    ),
  );
}

function locked(seconds: number): Problem {
  return new Problem(
    429,
    'too-many-attempts',
    `Too many wrong passwords: try again in ${Math.ceil(seconds / 60)} minute(s)`,
    {},
    { 'retry-after': String(seconds) },
  );
}

/**
 * `POST /auth/password` `{ currentPassword, newPassword }`: sets the new password, revokes every token
 * issued before (the token version moves on) and answers a fresh `{ token, expiresAt }`.
 */
export async function changePassword(tenant: Tenant, req: ApiRequest, user: User): Promise<ApiResponse> {
  const { currentPassword, newPassword } = parse(passwordChange, req.body);
  const newHash = await hashPassword(newPassword);
  const version = await tenant.transaction(async (client) => {
    const { rows } = await client.query<UserRow>(
      'SELECT id, password_hash, token_version FROM users WHERE id = $1 FOR UPDATE',
      [user.id],
    );
    const row = rows[0];
    if (!row?.password_hash || !(await passwordMatches(currentPassword, row.password_hash)))
      throw new Problem(400, 'validation-failed', 'currentPassword: is wrong', { field: 'currentPassword' });
    const updated = await client.query<{ token_version: number }>(
      `UPDATE users SET password_hash = $2, token_version = token_version + 1, password_changed_at = now()
       WHERE id = $1 RETURNING token_version`,
      [user.id, newHash],
    );
    return updated.rows[0]?.token_version ?? 0;
  });
  return json(200, await tokenFor(tenant, user.id, version));
}

/**
 * The user a request's bearer token names, or a 401: the token must be signed with this tenant's key, be
 * unexpired, name this tenant, and carry the user's current token version.
 */
export async function authenticate(tenant: Tenant, req: ApiRequest): Promise<User> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer ([A-Za-z0-9_.-]{1,2048})$/.exec(header);
  const unauthorized = () =>
    new Problem(
      401,
      'unauthorized',
      match ? 'The token is invalid or expired' : 'Send Authorization: Bearer <token>',
      {},
      {
        'www-authenticate': 'Bearer',
      },
    );
  if (!match?.[1]) throw unauthorized();
  const claims = await verifyToken(match[1], (await tenant.secret()).tokenKey, tenant.id);
  if (!claims) throw unauthorized();
  const user = await tenant.withClient(async (client) => {
    const { rows } = await client.query<UserRow>(
      'SELECT id, email, role, token_version FROM users WHERE id = $1',
      [claims.sub],
    );
    return rows[0];
  });
  if (!user || user.token_version !== claims.ver) throw unauthorized();
  return { id: Number(user.id), email: user.email, role: user.role };
}

async function tokenFor(tenant: Tenant, userId: number, version: number): Promise<Token> {
  return signToken({ sub: userId, tid: tenant.id, ver: version }, (await tenant.secret()).tokenKey);
}
