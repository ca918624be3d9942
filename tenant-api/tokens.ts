import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a bearer token says: who, for which tenant, which password generation, until when. */
export interface TokenClaims {
  /** User id. */
  readonly sub: number;
  /** Tenant id: a token is only ever accepted by its own tenant's API. */
  readonly tid: string;
  /** The user's token version: a password change bumps it and so revokes every older token. */
  readonly ver: number;
  readonly iat: number;
  readonly exp: number;
}

export const TOKEN_LIFETIME_SECONDS = 3600;

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/** A compact JWT (HS256) signed with the tenant's key. */
export function signToken(
  claims: Omit<TokenClaims, 'iat' | 'exp'>,
  key: string,
  now = Date.now(),
): { token: string; expiresAt: string } {
  const iat = Math.floor(now / 1000);
  const exp = iat + TOKEN_LIFETIME_SECONDS;
  const payload = Buffer.from(JSON.stringify({ ...claims, iat, exp })).toString('base64url');
  const signed = `${HEADER}.${payload}`;
  return { token: `${signed}.${mac(signed, key)}`, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * The claims of a token this tenant's key signed, that has not expired and names this tenant; otherwise
 * undefined. Only HS256 with our own header is accepted: the header is compared, not trusted.
 */
export function verifyToken(
  token: string,
  key: string,
  tenantId: string,
  now = Date.now(),
): TokenClaims | undefined {
  const [header, payload, signature, extra] = token.split('.');
  if (header !== HEADER || !payload || !signature || extra !== undefined) return undefined;
  const expected = Buffer.from(mac(`${header}.${payload}`, key));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: Partial<TokenClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<TokenClaims>;
  } catch {
    return undefined;
  }
  const valid =
    Number.isSafeInteger(claims.sub) &&
    Number.isSafeInteger(claims.ver) &&
    Number.isSafeInteger(claims.exp) &&
    claims.tid === tenantId &&
    (claims.exp ?? 0) * 1000 > now;
  return valid ? (claims as TokenClaims) : undefined;
}

function mac(data: string, key: string): string {
  return createHmac('sha256', Buffer.from(key, 'base64url')).update(data).digest('base64url');
}
