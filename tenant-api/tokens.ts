import { jwtVerify, SignJWT } from 'jose';

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
/** How far the clocks of the API's instances may disagree: a token is accepted this long past its `exp`. */
export const CLOCK_SKEW_SECONDS = 5;
/** The one algorithm made and accepted: the header's `alg` is checked against it, never trusted. */
const ALGORITHM = 'HS256';

/** A compact JWT (HS256, `typ: JWT`) signed with the tenant's key, made by `jose`. */
export async function signToken(
  claims: Omit<TokenClaims, 'iat' | 'exp'>,
  key: string,
  now = Date.now(),
): Promise<{ token: string; expiresAt: string }> {
  const iat = Math.floor(now / 1000);
  const exp = iat + TOKEN_LIFETIME_SECONDS;
  const token = await new SignJWT({ sub: claims.sub, tid: claims.tid, ver: claims.ver } as Record<
    string,
    unknown
  >)
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keyBytes(key));
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * The claims of a token this tenant's key signed (HS256 only, `typ: JWT`), that names this tenant, was
 * issued at most CLOCK_SKEW_SECONDS in the future and has not expired (with that much skew allowed);
 * otherwise undefined. `jose` checks the signature, the header and the times (`maxTokenAge` makes it refuse
 * an `iat` ahead of its clock by more than the tolerance).
 */
export async function verifyToken(
  token: string,
  key: string,
  tenantId: string,
  now = Date.now(),
): Promise<TokenClaims | undefined> {
  let payload: Partial<TokenClaims>;
  try {
    ({ payload } = (await jwtVerify(token, keyBytes(key), {
      algorithms: [ALGORITHM],
      typ: 'JWT',
      requiredClaims: ['iat', 'exp'],
      maxTokenAge: TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(now),
    })) as { payload: Partial<TokenClaims> });
  } catch {
    return undefined;
  }
  const valid =
    Number.isSafeInteger(payload.sub) &&
    Number.isSafeInteger(payload.ver) &&
    Number.isSafeInteger(payload.iat) &&
    Number.isSafeInteger(payload.exp) &&
    payload.tid === tenantId;
  return valid ? (payload as TokenClaims) : undefined;
}

function keyBytes(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'base64url'));
}
