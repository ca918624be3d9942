import { createHmac } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { passwordMatches } from '../../common/imported-passwords';
import { hashPassword, needsRehash, verifyPassword } from '../../common/passwords';
import { CLOCK_SKEW_SECONDS, signToken, TOKEN_LIFETIME_SECONDS, verifyToken } from '../../tenant-api/tokens';

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

describe('password hashes an imported app wrote with bcrypt', () => {
  it('verify with the password they were made from: the OpenBSD test vector, and $2a$, $2b$, $2y$ of a non-ASCII password', async () => {
    await expect(
      passwordMatches('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'),
    ).resolves.toBe(true);
    const made = await bcrypt.hash('pässwörd 🔑', 6);
    for (const variant of ['$2a$', '$2b$', '$2y$']) {
      const stored = made.replace(/^\$2b\$/, variant);
      expect([variant, await passwordMatches('pässwörd 🔑', stored)]).toEqual([variant, true]);
      expect([variant, await passwordMatches('passwörd 🔑', stored)]).toEqual([variant, false]);
    }
  });

  it('match nothing when costlier than 2^12 rounds, or malformed', async () => {
    // 2^31 rounds: this test would never end if the rounds were run; the cost refuses it first.
    const costly = (await bcrypt.hash('secret', 4)).replace(/^\$2b\$04\$/, '$2b$31$');
    await expect(passwordMatches('secret', costly)).resolves.toBe(false);
    await expect(passwordMatches('secret', costly.replace('$31$', '$13$'))).resolves.toBe(false);
    const good = await bcrypt.hash('secret', 4);
    for (const malformed of [
      good.slice(0, -1),
      `${good}x`,
      good.replace('$2b$', '$2x$'),
      good.replace('$04$', '$4$'),
      good.replace('$04$', '$03$'),
    ])
      expect([malformed, await passwordMatches('secret', malformed)]).toEqual([malformed, false]);
  });

  it("are replaced by the platform's scrypt form once they match; the platform's own form is kept", async () => {
    expect(needsRehash(await bcrypt.hash('secret', 4))).toBe(true);
    expect(needsRehash(await hashPassword('secret'))).toBe(false);
    expect(needsRehash('scrypt$1024$8$1$c2FsdA$aGFzaA')).toBe(true);
  });
});

describe('bearer tokens', () => {
  const key = Buffer.alloc(32, 7).toString('base64url');
  const claims = { sub: 42, tid: 'shop-a', ver: 3 };
  const skew = CLOCK_SKEW_SECONDS * 1000;

  it('carry their claims for an hour (and the bounded clock skew), for their own tenant and key only', async () => {
    const now = Date.UTC(2026, 0, 1);
    const { token, expiresAt } = await signToken(claims, key, now);
    const expiry = now + TOKEN_LIFETIME_SECONDS * 1000;
    expect(expiresAt).toBe(new Date(expiry).toISOString());
    expect(await verifyToken(token, key, 'shop-a', now)).toMatchObject(claims);
    expect(await verifyToken(token, key, 'shop-a', expiry - 1)).toMatchObject(claims);
    expect(await verifyToken(token, key, 'shop-a', expiry + skew - 1000)).toMatchObject(claims);
    expect(await verifyToken(token, key, 'shop-a', expiry + skew)).toBeUndefined();
    // A token from a clock running ahead is accepted within the skew, not beyond it.
    expect(await verifyToken(token, key, 'shop-a', now - skew)).toMatchObject(claims);
    expect(await verifyToken(token, key, 'shop-a', now - skew - 1000)).toBeUndefined();
    expect(await verifyToken(token, key, 'shop-b', now)).toBeUndefined();
    expect(
      await verifyToken(token, Buffer.alloc(32, 8).toString('base64url'), 'shop-a', now),
    ).toBeUndefined();
  });

  it('are compact JWTs with the header pinned to HS256 and typ JWT', async () => {
    const { token } = await signToken(claims, key);
    const [header] = token.split('.') as [string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({
      alg: 'HS256',
      typ: 'JWT',
    });
  });

  it('refuse anything that is not exactly what we signed', async () => {
    const { token } = await signToken(claims, key);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const resign = (headerValue: unknown, payloadValue: unknown) => {
      const signed = `${encode(headerValue)}.${encode(payloadValue)}`;
      return `${signed}.${createHmac('sha256', Buffer.from(key, 'base64url')).update(signed).digest('base64url')}`;
    };
    for (const forged of [
      '',
      'a.b',
      `${token}.extra`,
      `${header}.${payload}.`,
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.${signature}`,
      `${encode({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
      `${header}.${encode({ ...claims, sub: 1, exp: 9e9 })}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -1)}`,
      // Signed with the right key, but not a token we make: each must still be refused.
      resign({ alg: 'HS256', typ: 'JWT' }, { ...decoded, sub: '42' }),
      resign({ alg: 'HS256', typ: 'JWT' }, { ...decoded, iat: undefined }),
      resign({ alg: 'HS256', typ: 'JWT' }, { ...decoded, exp: undefined }),
      resign({ alg: 'HS256', typ: 'at+jwt' }, decoded),
      resign({ alg: 'HS256', typ: 'JWT', crit: ['b64'], b64: false }, decoded),
    ]) {
      expect([forged, await verifyToken(forged, key, 'shop-a')]).toEqual([forged, undefined]);
    }
    // The same claims, re-signed by hand as we sign them, are accepted: the refusals above are the changes.
    expect(await verifyToken(resign({ alg: 'HS256', typ: 'JWT' }, decoded), key, 'shop-a')).toMatchObject(
      claims,
    );
  });
});
