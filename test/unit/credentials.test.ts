import { hashPassword, verifyPassword } from '../../common/passwords';
import { signToken, TOKEN_LIFETIME_SECONDS, verifyToken } from '../../tenant-api/tokens';

describe('password hashes', () => {
  it('verify the password they were made from and nothing else', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(hash).not.toContain('horse');
    await expect(verifyPassword('correct horse battery staple', hash)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapl', hash)).resolves.toBe(false);
    await expect(verifyPassword('', hash)).resolves.toBe(false);
    // Salted: the same password hashes differently each time.
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash);
  });

  it.each([
    ['empty', ''],
    ['another scheme', 'bcrypt$10$abc'],
    [
      'a cost beyond the memory cap',
      'scrypt$1048576$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ],
    ['a non-numeric cost', 'scrypt$x$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a short hash', 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA'],
  ])('refuse a malformed stored hash (%s) without throwing', async (_name, stored) => {
    await expect(verifyPassword('anything', stored)).resolves.toBe(false);
  });
});

describe('bearer tokens', () => {
  const key = Buffer.alloc(32, 7).toString('base64url');
  const claims = { sub: 42, tid: 'shop-a', ver: 3 };

  it('carry their claims for an hour, for their own tenant and key only', () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = signToken(claims, key, now);
    expect(expiresAt).toBe(new Date(now + TOKEN_LIFETIME_SECONDS * 1000).toISOString());
    expect(verifyToken(token, key, 'shop-a', now)).toMatchObject(claims);
    expect(verifyToken(token, key, 'shop-a', now + TOKEN_LIFETIME_SECONDS * 1000 - 1)).toMatchObject(claims);
    expect(verifyToken(token, key, 'shop-a', now + TOKEN_LIFETIME_SECONDS * 1000)).toBeUndefined();
    expect(verifyToken(token, key, 'shop-b', now)).toBeUndefined();
    expect(verifyToken(token, Buffer.alloc(32, 8).toString('base64url'), 'shop-a', now)).toBeUndefined();
  });

  it('refuse anything that is not exactly what we signed', () => {
    const { token } = signToken(claims, key);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const forged of [
      '',
      'a.b',
      `${token}.extra`,
      `${header}.${payload}.`,
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      `${encode({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
      `${header}.${encode({ ...claims, sub: 1, exp: 9e9 })}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -1)}`,
    ]) {
      expect([forged, verifyToken(forged, key, 'shop-a')]).toEqual([forged, undefined]);
    }
  });
});
