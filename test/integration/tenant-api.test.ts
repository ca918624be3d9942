import bcrypt from 'bcryptjs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { STEPS } from '../../common/steps';
import type { TenantSecret } from '../../common/tenant-secret';
import { createTenantApi, MAX_BODY_BYTES, type TenantApi } from '../../tenant-api/app';
import { MAX_FAILED_LOGINS } from '../../tenant-api/auth';
import { Tenant } from '../../tenant-api/tenant';
import { signToken } from '../../tenant-api/tokens';
import { STEP_HANDLERS } from '../../workflow-tasks';
import { readTenantSecret } from '../../workflow-tasks/lib/tenant-db';
import type { OnboardingState, StepResults } from '../../workflow-tasks/lib/types';
import { checkedTenantApi, ContractChecker } from '../fixtures/api-contract';
import { apiEvent } from '../fixtures/events';
import { tenantClient } from '../fixtures/executions';
import { startLossyProxy, type LossyProxy } from '../fixtures/lossy-proxy';
import { startTestPlatform, tenantInput, uniqueTenantId } from '../fixtures/platform';

let cleanup: () => Promise<void>;
/** Every call of this file is checked against the OpenAPI document (a drift fails the call's test). */
const contract = new ContractChecker();

interface ShopTenant {
  tenantId: string;
  secret: TenantSecret;
  api: TenantApi;
  token: string;
}

/** A tenant's database, schema and secret, made by the real steps up to "Apply schema". */
async function provision(prefix: string): Promise<ShopTenant> {
  const tenantId = uniqueTenantId(prefix);
  let state: OnboardingState = tenantInput(tenantId);
  const last = STEPS.findIndex((s) => s.id === 'apply-schema');
  for (const step of STEPS.slice(0, last + 1)) {
    const result = await STEP_HANDLERS[step.id].run({ executionArn: `arn:test:${tenantId}`, state });
    state = { ...state, results: { ...state.results, [step.resultKey]: result } };
  }
  const { secretArn } = (state.results as StepResults).secret;
  const api = checkedTenantApi(createTenantApi({ tenantId, secretArn }), contract);
  const secret = await readTenantSecret(secretArn);
  const login = await call(api, 'POST', '/auth/login', {
    body: { email: secret.adminEmail, password: secret.adminPassword },
  });
  expect(login.status).toBe(200);
  return { tenantId, secret, api, token: (login.body as { token: string }).token };
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

async function call(
  api: TenantApi,
  method: string,
  path: string,
  options: Parameters<typeof apiEvent>[2] = {},
) {
  const response: APIGatewayProxyStructuredResultV2 = await api.handle(apiEvent(method, path, options));
  const headers = (response.headers ?? {}) as Record<string, string>;
  return {
    status: response.statusCode ?? 200,
    headers,
    body: response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {},
  } satisfies Answer;
}

const as = (t: ShopTenant) => (method: string, path: string, body?: unknown) =>
  call(t.api, method, path, { token: t.token, ...(body === undefined ? {} : { body }) });

/** What a problem answer says, for one-line comparisons. */
const problemOf = (a: Answer) => ({
  status: a.status,
  type: String(a.body.type).replace('https://errors.tenant-platform.dev/', ''),
  field: a.body.field,
});

let shopA: ShopTenant;
let shopB: ShopTenant;

beforeAll(async () => {
  ({ cleanup } = await startTestPlatform());
  shopA = await provision('shop-a');
  shopB = await provision('shop-b');
});

afterAll(async () => {
  await shopA?.api.close();
  await shopB?.api.close();
  await cleanup();
});

describe('the shop flow', () => {
  it('logs in as the seeded admin, creates products, places, lists and cancels orders', async () => {
    const a = as(shopA);
    const health = await call(shopA.api, 'GET', '/health');
    expect([health.status, health.body]).toEqual([
      200,
      { tenantId: shopA.tenantId, database: 'ok', schemaVersion: 3, suspended: false },
    ]);

    const pen = await a('POST', '/products', { sku: 'PEN-1', name: 'Blue pen', priceCents: 250, stock: 100 });
    expect(pen.status).toBe(201);
    expect(pen.body).toEqual({
      id: expect.any(Number) as number,
      sku: 'PEN-1',
      name: 'Blue pen',
      priceCents: 250,
      stock: 100,
    });
    expect(pen.headers.location).toBe(`/products/${String(pen.body.id)}`);
    const pad = await a('POST', '/products', { sku: 'PAD-1', name: 'Note pad', priceCents: 1200, stock: 5 });
    const penId = pen.body.id as number;
    const padId = pad.body.id as number;

    const order = await a('POST', '/orders', {
      lines: [
        { productId: penId, quantity: 3 },
        { productId: padId, quantity: 2 },
      ],
    });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({
      id: expect.any(Number) as number,
      status: 'PLACED',
      totalCents: 3 * 250 + 2 * 1200,
      lines: [
        { productId: penId, quantity: 3, unitPriceCents: 250 },
        { productId: padId, quantity: 2, unitPriceCents: 1200 },
      ],
    });
    expect((await a('GET', `/products/${penId}`)).body.stock).toBe(97);
    expect((await a('GET', `/products/${padId}`)).body.stock).toBe(3);

    // A later price change does not touch the placed order.
    const repriced = await a('PATCH', `/products/${penId}`, { priceCents: 300 });
    expect(repriced.body).toMatchObject({ priceCents: 300, name: 'Blue pen', stock: 97 });
    const second = await a('POST', '/orders', { lines: [{ productId: penId, quantity: 1 }] });
    expect(second.body.totalCents).toBe(300);

    const list = await a('GET', '/orders');
    expect((list.body.items as { id: number }[]).map((o) => o.id)).toEqual([second.body.id, order.body.id]);
    expect(list.body.nextCursor).toBeNull();
    expect((await a('GET', `/orders/${order.body.id as number}`)).body).toEqual(order.body);

    const cancelled = await a('POST', `/orders/${order.body.id as number}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', cancelledAt: expect.any(String) as string });
    expect((await a('GET', `/products/${penId}`)).body.stock).toBe(99);
    expect((await a('GET', `/products/${padId}`)).body.stock).toBe(5);
    expect(problemOf(await a('POST', `/orders/${order.body.id as number}/cancel`))).toEqual({
      status: 409,
      type: 'order-not-cancellable',
      field: undefined,
    });
    expect((await a('GET', `/products/${penId}`)).body.stock).toBe(99);

    // Deleting: refused while orders name the product, done otherwise.
    expect(problemOf(await a('DELETE', `/products/${penId}`))).toMatchObject({
      status: 409,
      type: 'product-in-use',
    });
    const spare = await a('POST', '/products', { sku: 'SPARE', name: 'Spare', priceCents: 1 });
    expect(spare.body.stock).toBe(0);
    expect((await a('DELETE', `/products/${spare.body.id as number}`)).status).toBe(204);
    expect((await a('GET', `/products/${spare.body.id as number}`)).status).toBe(404);
  });

  it('pages and searches products', async () => {
    const a = as(shopA);
    for (let i = 1; i <= 5; i++) {
      expect(
        (await a('POST', '/products', { sku: `PAGE-${i}`, name: `Paged widget ${i}`, priceCents: i })).status,
      ).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await a('GET', `/products?q=paged%20widget&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { sku: string }[]).map((p) => p.sku));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(['PAGE-1', 'PAGE-2', 'PAGE-3', 'PAGE-4', 'PAGE-5']);
    const bySku = await a('GET', '/products?q=page-3');
    expect((bySku.body.items as { sku: string }[]).map((p) => p.sku)).toEqual(['PAGE-3']);
  });

  it('changes the password: the old one and every older token stop working', async () => {
    const shop = await provision('pw');
    const oldToken = shop.token;
    const wrong = await call(shop.api, 'POST', '/auth/password', {
      token: oldToken,
      body: { currentPassword: 'not it at all', newPassword: 'a-new-long-password' },
    });
    expect(problemOf(wrong)).toEqual({ status: 400, type: 'validation-failed', field: 'currentPassword' });
    const short = await call(shop.api, 'POST', '/auth/password', {
      token: oldToken,
      body: { currentPassword: shop.secret.adminPassword, newPassword: 'short' },
    });
    expect(problemOf(short)).toEqual({ status: 400, type: 'validation-failed', field: 'newPassword' });

    const changed = await call(shop.api, 'POST', '/auth/password', {
      token: oldToken,
      body: { currentPassword: shop.secret.adminPassword, newPassword: 'a-new-long-password' },
    });
    expect(changed.status).toBe(200);
    expect((await call(shop.api, 'GET', '/products', { token: oldToken })).status).toBe(401);
    expect((await call(shop.api, 'GET', '/products', { token: changed.body.token as string })).status).toBe(
      200,
    );
    const login = (password: string) =>
      call(shop.api, 'POST', '/auth/login', { body: { email: shop.secret.adminEmail, password } });
    expect(problemOf(await login(shop.secret.adminPassword!))).toMatchObject({
      status: 401,
      type: 'invalid-credentials',
    });
    expect((await login('a-new-long-password')).status).toBe(200);
    await shop.api.close();
  });
});

describe('signing in', () => {
  it('answers 401 to a wrong password, an unknown user, and a missing, tampered or expired token', async () => {
    const login = (body: unknown) => call(shopA.api, 'POST', '/auth/login', { body });
    const wrong = await login({ email: shopA.secret.adminEmail, password: 'wrong' });
    const unknown = await login({ email: 'nobody@example.com', password: 'wrong' });
    expect(problemOf(wrong)).toEqual({ status: 401, type: 'invalid-credentials', field: undefined });
    expect(unknown.body).toEqual(wrong.body);
    // The e-mail is matched as the onboarding stored it: lower case.
    expect(
      (await login({ email: shopA.secret.adminEmail.toUpperCase(), password: shopA.secret.adminPassword }))
        .status,
    ).toBe(200);

    const claims = { sub: 1, tid: shopA.tenantId, ver: 0 };
    const expired = (await signToken(claims, shopA.secret.tokenKey, Date.now() - 2 * 3600_000)).token;
    const [header, payload, signature] = shopA.token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 2, exp: 9e9 })).toString('base64url');
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Basic YTpi' },
      { authorization: `Bearer ${expired}` },
      { authorization: `Bearer ${header}.${forgedPayload}.${signature}` },
      { authorization: `Bearer ${noneHeader}.${payload}.` },
      { authorization: `Bearer ${shopA.token}x` },
    ];
    for (const headers of attempts) {
      const answer = await call(shopA.api, 'GET', '/products', { headers });
      expect([headers, problemOf(answer), answer.headers['www-authenticate']]).toEqual([
        headers,
        { status: 401, type: 'unauthorized', field: undefined },
        'Bearer',
      ]);
    }
  });

  it('locks an account after 5 wrong passwords in a row, then lets the right one in once the lock is over', async () => {
    const shop = await provision('lock');
    const login = (password: string) =>
      call(shop.api, 'POST', '/auth/login', { body: { email: shop.secret.adminEmail, password } });
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      expect(problemOf(await login(`guess-${i}`))).toMatchObject({
        status: 401,
        type: 'invalid-credentials',
      });
    }
    const refused = await login(shop.secret.adminPassword!);
    expect(problemOf(refused)).toMatchObject({ status: 429, type: 'too-many-attempts' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(14 * 60);

    const db = await tenantDb(shop);
    try {
      // The lock runs out (moved into the past here rather than waited for).
      await db.query(`UPDATE users SET locked_until = now() - interval '1 second'`);
      expect((await login(shop.secret.adminPassword!)).status).toBe(200);
      const { rows } = await db.query('SELECT failed_logins, locked_until FROM users');
      expect(rows).toEqual([{ failed_logins: 0, locked_until: null }]);
    } finally {
      await db.end();
      await shop.api.close();
    }
  });

  it("lets a user whose old app stored a bcrypt hash sign in with their password, then keeps the platform's scrypt form", async () => {
    const shop = await provision('legacy');
    const email = 'clerk@legacy.example';
    const password = 'Grüße aus Köln 2019';
    const db = await tenantDb(shop);
    try {
      // As an import brings them: the hash the old app (Go's x/crypto/bcrypt writes $2a$) wrote.
      const legacy = (await bcrypt.hash(password, 10)).replace(/^\$2b\$/, '$2a$');
      await db.query(`INSERT INTO users (email, role, password_hash) VALUES ($1, 'staff', $2)`, [
        email,
        legacy,
      ]);
      const login = (attempt: string) =>
        call(shop.api, 'POST', '/auth/login', { body: { email, password: attempt } });
      expect(problemOf(await login('Grüße aus Köln 2018'))).toMatchObject({ status: 401 });
      const first = await login(password);
      expect(first.status).toBe(200);
      const stored = async () =>
        (
          await db.query<{ password_hash: string; token_version: number; password_changed_at: Date | null }>(
            'SELECT password_hash, token_version, password_changed_at FROM users WHERE email = $1',
            [email],
          )
        ).rows[0];
      // Replaced on that first sign-in, the same password: no token revoked, not a password change.
      const after = await stored();
      expect(after).toMatchObject({ token_version: 0, password_changed_at: null });
      expect(after?.password_hash).toMatch(/^scrypt\$/);
      const { token } = first.body as { token: string };
      expect((await call(shop.api, 'GET', '/products', { token })).status).toBe(200);
      expect((await login(password)).status).toBe(200);
      expect(problemOf(await login('Grüße aus Köln 2018'))).toMatchObject({ status: 401 });
      expect((await stored())?.password_hash).toBe(after?.password_hash);
    } finally {
      await db.end();
      await shop.api.close();
    }
  });

  it('answers 401 before looking at the body of a caller without a token', async () => {
    const huge = await call(shopA.api, 'POST', '/products', { rawBody: 'x'.repeat(MAX_BODY_BYTES + 1) });
    const malformed = await call(shopA.api, 'POST', '/orders', { rawBody: '{"lines": ' });
    expect([problemOf(huge), problemOf(malformed)]).toEqual([
      { status: 401, type: 'unauthorized', field: undefined },
      { status: 401, type: 'unauthorized', field: undefined },
    ]);
  });

  it('answers 404 to an unknown route and 405 with Allow to a wrong method', async () => {
    expect(problemOf(await call(shopA.api, 'GET', '/nothing'))).toMatchObject({
      status: 404,
      type: 'not-found',
    });
    const put = await call(shopA.api, 'PUT', '/products/1', { token: shopA.token, body: {} });
    expect(problemOf(put)).toMatchObject({ status: 405, type: 'method-not-allowed' });
    expect(put.headers.allow).toBe('GET, PATCH, DELETE');
  });
});

describe('concurrent orders', () => {
  it('sell exactly the stock: 50 orders for 10 items, 10 succeed, stock ends at 0', async () => {
    const a = as(shopA);
    const product = await a('POST', '/products', {
      sku: 'HOT-1',
      name: 'Hot item',
      priceCents: 999,
      stock: 10,
    });
    const productId = product.body.id as number;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => a('POST', '/orders', { lines: [{ productId, quantity: 1 }] })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    expect(
      answers.filter((r) => r.status === 409).every((r) => problemOf(r).type === 'insufficient-stock'),
    ).toBe(true);
    expect((await a('GET', `/products/${productId}`)).body.stock).toBe(0);
    const db = await tenantDb(shopA);
    try {
      const sold = await db.query<{ n: string }>(
        `SELECT coalesce(sum(quantity), 0) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id
         WHERE l.product_id = $1 AND o.status = 'PLACED'`,
        [productId],
      );
      expect(Number(sold.rows[0]?.n)).toBe(10);
    } finally {
      await db.end();
    }
  });

  it('never deadlocks: orders and cancellations over the same products in opposite orders', async () => {
    const a = as(shopA);
    const ids: number[] = [];
    for (const sku of ['X-1', 'X-2', 'X-3']) {
      ids.push(
        (await a('POST', '/products', { sku, name: sku, priceCents: 10, stock: 1000 })).body.id as number,
      );
    }
    const lines = (order: number[]) => ({ lines: order.map((productId) => ({ productId, quantity: 1 })) });
    const placed = await Promise.all(
      Array.from({ length: 20 }, (_, i) => a('POST', '/orders', lines(i % 2 ? ids : [...ids].reverse()))),
    );
    expect(placed.map((r) => r.status)).toEqual(Array(20).fill(201));
    const cancelled = await Promise.all(
      placed.map((r, i) =>
        i % 2 ? a('POST', `/orders/${r.body.id as number}/cancel`) : a('POST', '/orders', lines(ids)),
      ),
    );
    expect(cancelled.map((r) => r.status).sort()).toEqual([
      ...Array<number>(10).fill(200),
      ...Array<number>(10).fill(201),
    ]);
    for (const id of ids) expect((await a('GET', `/products/${id}`)).body.stock).toBe(1000 - 20);
  });
});

describe('tenant isolation', () => {
  it("rejects tenant A's token on tenant B's API, and A never reads B's rows", async () => {
    expect(problemOf(await call(shopB.api, 'GET', '/products', { token: shopA.token }))).toMatchObject({
      status: 401,
      type: 'unauthorized',
    });
    // A token B's key signed but naming tenant A is refused by B as well.
    const crossed = (await signToken({ sub: 1, tid: shopA.tenantId, ver: 0 }, shopB.secret.tokenKey)).token;
    expect((await call(shopB.api, 'GET', '/products', { token: crossed })).status).toBe(401);

    await as(shopB)('POST', '/products', { sku: 'ONLY-B', name: 'Only in B', priceCents: 1, stock: 1 });
    const inA = await as(shopA)('GET', '/products?q=ONLY-B');
    expect(inA.body.items).toEqual([]);
    const inB = await as(shopB)('GET', '/products?q=ONLY-B');
    expect((inB.body.items as { sku: string }[]).map((p) => p.sku)).toEqual(['ONLY-B']);

    // Underneath: A's database role cannot even connect to B's database.
    const crossDb = new Client({
      host: shopA.secret.host,
      port: shopA.secret.port,
      user: shopA.secret.username,
      password: shopA.secret.password,
      database: shopB.secret.dbname,
    });
    await expect(crossDb.connect()).rejects.toThrow(/permission denied/);
    await crossDb.end().catch(() => undefined);
  });
});

describe('bad input', () => {
  /** Products and orders as the database holds them: a bad request must leave this unchanged. */
  async function snapshot(): Promise<string> {
    const db = await tenantDb(shopA);
    try {
      const products = await db.query('SELECT id, sku, name, price_cents, stock FROM products ORDER BY id');
      const orders = await db.query('SELECT id, status, total_cents FROM orders ORDER BY id');
      const lines = await db.query('SELECT count(*)::int AS n FROM order_lines');
      return JSON.stringify([products.rows, orders.rows, lines.rows]);
    } finally {
      await db.end();
    }
  }

  let productId: number;
  beforeAll(async () => {
    const a = as(shopA);
    productId = (await a('POST', '/products', { sku: 'BAD-1', name: 'Target', priceCents: 100, stock: 5 }))
      .body.id as number;
    await a('POST', '/products', { sku: 'BAD-2', name: 'Other', priceCents: 100, stock: 5 });
  });

  const cases: [
    string,
    string,
    string,
    Parameters<typeof apiEvent>[2],
    number,
    string,
    string | undefined,
  ][] = [
    [
      'a string price',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'N', priceCents: '100' } },
      400,
      'validation-failed',
      'priceCents',
    ],
    [
      'a fractional price',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'N', priceCents: 1.5 } },
      400,
      'validation-failed',
      'priceCents',
    ],
    [
      'a negative price',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'N', priceCents: -1 } },
      400,
      'validation-failed',
      'priceCents',
    ],
    [
      'a negative stock',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'N', priceCents: 1, stock: -5 } },
      400,
      'validation-failed',
      'stock',
    ],
    [
      'a missing name',
      'POST',
      '/products',
      { body: { sku: 'S', priceCents: 1 } },
      400,
      'validation-failed',
      'name',
    ],
    [
      'an empty SKU',
      'POST',
      '/products',
      { body: { sku: '  ', name: 'N', priceCents: 1 } },
      400,
      'validation-failed',
      'sku',
    ],
    [
      'a control character in the name',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'a\u0000b', priceCents: 1 } },
      400,
      'validation-failed',
      'name',
    ],
    [
      'an unknown field',
      'POST',
      '/products',
      { body: { sku: 'S', name: 'N', priceCents: 1, id: 7 } },
      400,
      'validation-failed',
      'id',
    ],
    ['an array body', 'POST', '/products', { body: [] }, 400, 'validation-failed', 'body'],
    [
      'a taken SKU',
      'POST',
      '/products',
      { body: { sku: 'BAD-2', name: 'N', priceCents: 1 } },
      409,
      'sku-taken',
      'sku',
    ],
    [
      'renaming to a taken SKU',
      'PATCH',
      '/products/{product}',
      { body: { sku: 'BAD-2' } },
      409,
      'sku-taken',
      'sku',
    ],
    [
      'a price of null',
      'PATCH',
      '/products/{product}',
      { body: { priceCents: null } },
      400,
      'validation-failed',
      'priceCents',
    ],
    [
      'an unknown product id',
      'PATCH',
      '/products/999999',
      { body: { name: 'x' } },
      404,
      'not-found',
      undefined,
    ],
    ['a non-numeric id', 'GET', '/products/abc', {}, 400, 'validation-failed', 'id'],
    ['SQL in the id', 'GET', '/products/1%20OR%201=1', {}, 400, 'validation-failed', 'id'],
    ['a zero limit', 'GET', '/products?limit=0', {}, 400, 'validation-failed', 'limit'],
    ['a bad cursor', 'GET', '/products?cursor=-1', {}, 400, 'validation-failed', 'cursor'],
    ['invalid JSON', 'POST', '/products', { rawBody: '{"sku": ' }, 400, 'invalid-json', 'body'],
    [
      'a form body',
      'POST',
      '/products',
      { rawBody: 'sku=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'unsupported-media-type',
      'content-type',
    ],
    [
      'a huge body',
      'POST',
      '/products',
      { rawBody: JSON.stringify({ sku: 'S', name: 'x'.repeat(MAX_BODY_BYTES), priceCents: 1 }) },
      413,
      'payload-too-large',
      'body',
    ],
    ['no lines', 'POST', '/orders', { body: { lines: [] } }, 400, 'validation-failed', 'lines'],
    ['lines not an array', 'POST', '/orders', { body: { lines: 'all' } }, 400, 'validation-failed', 'lines'],
    [
      'a negative quantity',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: -1 }] } },
      400,
      'validation-failed',
      'lines[0].quantity',
    ],
    [
      'a zero quantity',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: 0 }] } },
      400,
      'validation-failed',
      'lines[0].quantity',
    ],
    [
      'a string quantity',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: '1' }] } },
      400,
      'validation-failed',
      'lines[0].quantity',
    ],
    [
      'a missing product id',
      'POST',
      '/orders',
      { body: { lines: [{ quantity: 1 }] } },
      400,
      'validation-failed',
      'lines[0].productId',
    ],
    [
      'a client-side price',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: 1, unitPriceCents: 0 }] } },
      400,
      'validation-failed',
      'lines[0].unitPriceCents',
    ],
    [
      'a client-side total',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: 1 }], totalCents: 0 } },
      400,
      'validation-failed',
      'totalCents',
    ],
    [
      'the same product twice',
      'POST',
      '/orders',
      {
        body: {
          lines: [
            { productId: '{product}', quantity: 1 },
            { productId: '{product}', quantity: 1 },
          ],
        },
      },
      400,
      'validation-failed',
      'lines[1].productId',
    ],
    [
      'an unknown product after a good line',
      'POST',
      '/orders',
      {
        body: {
          lines: [
            { productId: '{product}', quantity: 1 },
            { productId: 999999, quantity: 1 },
          ],
        },
      },
      404,
      'not-found',
      'lines[1].productId',
    ],
    [
      'more than the stock',
      'POST',
      '/orders',
      { body: { lines: [{ productId: '{product}', quantity: 6 }] } },
      409,
      'insufficient-stock',
      'lines[0].quantity',
    ],
    ['an unknown order', 'POST', '/orders/999999/cancel', {}, 404, 'not-found', undefined],
    ['an order id with letters', 'GET', '/orders/1e3', {}, 400, 'validation-failed', 'id'],
  ];

  it.each(cases)('%s: %s %s', async (_name, method, path, options, status, type, field) => {
    const resolve = (text: string) => text.replace(/"\{product\}"|\{product\}/g, String(productId));
    const before = await snapshot();
    const body =
      options?.body === undefined
        ? undefined
        : (JSON.parse(resolve(JSON.stringify(options.body))) as unknown);
    const answer = await call(shopA.api, method, resolve(path), {
      ...options,
      ...(body === undefined ? {} : { body }),
      token: shopA.token,
    });
    expect(problemOf(answer)).toEqual({ status, type, field });
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(String(answer.body.detail)).toContain(field ?? '');
    expect(await snapshot()).toBe(before);
  });

  it('treats SQL and LIKE metacharacters in a search as text', async () => {
    const a = as(shopA);
    const names = ['50% off_deal', "O'Brien's; DROP TABLE products;--", 'plain \\ backslash'];
    for (const [i, name] of names.entries()) {
      expect((await a('POST', '/products', { sku: `META-${i}`, name, priceCents: 1 })).status).toBe(201);
    }
    const search = async (q: string) =>
      (
        (await a('GET', `/products?q=${encodeURIComponent(q)}&limit=100`)).body.items as { name: string }[]
      ).map((p) => p.name);
    expect(await search('%')).toEqual([names[0]]);
    expect(await search('_')).toEqual([names[0]]);
    expect(await search("'s; DROP")).toEqual([names[1]]);
    expect(await search('\\')).toEqual([names[2]]);
    expect(await search("' OR '1'='1")).toEqual([]);
    expect((await a('GET', '/products?limit=1')).status).toBe(200);
  });
});

async function tenantDb(shop: ShopTenant): Promise<Client> {
  const client = new Client({
    host: shop.secret.host,
    port: shop.secret.port,
    user: shop.secret.username,
    password: shop.secret.password,
    database: shop.secret.dbname,
  });
  await client.connect();
  return client;
}

describe('a connection lost with the answer to a write: the write is not made twice', () => {
  let proxy: LossyProxy;
  let shop: ShopTenant;
  let throughProxy = '';

  beforeAll(async () => {
    const own = await provision('shop-lossy');
    proxy = await startLossyProxy({ host: own.secret.host, port: Number(own.secret.port) });
    // The same tenant, its API reaching its database through the proxy.
    const secrets = new SecretsManagerClient({});
    const { ARN = '' } = await secrets.send(
      new CreateSecretCommand({
        Name: `tenants/${own.tenantId}/through-proxy`,
        SecretString: JSON.stringify({ ...own.secret, host: '127.0.0.1', port: proxy.port }),
      }),
    );
    secrets.destroy();
    throughProxy = ARN;
    await own.api.close();
    const api = checkedTenantApi(createTenantApi({ tenantId: own.tenantId, secretArn: ARN }), contract);
    shop = { ...own, api };
  });

  afterAll(async () => {
    await shop?.api.close();
    await proxy?.close();
    const secrets = new SecretsManagerClient({});
    await secrets
      .send(new DeleteSecretCommand({ SecretId: throughProxy, ForceDeleteWithoutRecovery: true }))
      .catch(() => undefined);
    secrets.destroy();
  });

  /** The tenant's rows, read as its own role straight from its database. */
  async function query<T extends object>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = await tenantClient(shop.tenantId);
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('a product whose INSERT answer was lost before its COMMIT: rolled back, made again on a new connection, once', async () => {
    const a = as(shop);
    proxy.loseAnswerOf('INSERT 0 1');
    const made = await a('POST', '/products', { sku: 'LOST-1', name: 'Lost', priceCents: 100 });
    expect(proxy.lost()).toBe(true);
    expect(made.status).toBe(201);
    expect(await query('SELECT id FROM products WHERE sku = $1', ['LOST-1'])).toHaveLength(1);
  });

  it('a product whose COMMIT answer was lost: 503, never made twice', async () => {
    const a = as(shop);
    proxy.loseAnswerOf('COMMIT');
    const lost = await a('POST', '/products', { sku: 'LOST-2', name: 'Lost', priceCents: 100 });
    expect(proxy.lost()).toBe(true);
    expect(problemOf(lost)).toMatchObject({ status: 503, type: 'database-unavailable' });
    expect(await query('SELECT id FROM products WHERE sku = $1', ['LOST-2'])).toHaveLength(1);
  });

  it('a pooled connection that ended unnoticed fails its BEGIN, which runs again on a new one: made once', async () => {
    const a = as(shop);
    expect((await a('GET', '/products')).status).toBe(200); // a pooled connection, idle now
    proxy.loseNextRequest();
    const made = await a('POST', '/products', { sku: 'STALE-1', name: 'Stale', priceCents: 100 });
    expect(proxy.lost()).toBe(true);
    expect(made.status).toBe(201);
    expect(await query('SELECT id FROM products WHERE sku = $1', ['STALE-1'])).toHaveLength(1);
  });

  it('a write sent alone is never sent again: its lost answer is a 503, and it was made once', async () => {
    const tenant = new Tenant({ tenantId: shop.tenantId, secretArn: throughProxy });
    try {
      proxy.loseAnswerOf('INSERT 0 1');
      await expect(
        tenant.withClient((client) =>
          client.query(`INSERT INTO products (sku, name, price_cents) VALUES ('ALONE-1', 'Alone', 100)`),
        ),
      ).rejects.toMatchObject({ status: 503, type: 'database-unavailable' });
      expect(proxy.lost()).toBe(true);
      expect(await query('SELECT id FROM products WHERE sku = $1', ['ALONE-1'])).toHaveLength(1);
    } finally {
      await tenant.close();
    }
  });

  it('a DELETE whose answer was lost before its COMMIT: deleted on a new connection, 204 (not 404)', async () => {
    const a = as(shop);
    const made = await a('POST', '/products', { sku: 'GONE-1', name: 'Gone', priceCents: 100 });
    proxy.loseAnswerOf('DELETE 1');
    const deleted = await a('DELETE', `/products/${String(made.body.id)}`);
    expect(proxy.lost()).toBe(true);
    expect(deleted.status).toBe(204);
    expect(await query('SELECT id FROM products WHERE sku = $1', ['GONE-1'])).toEqual([]);
  });

  it('a wrong password whose count was lost before its COMMIT counts once', async () => {
    const login = (password: string) =>
      call(shop.api, 'POST', '/auth/login', { body: { email: shop.secret.adminEmail, password } });
    const failures = async () =>
      (
        await query<{ n: number }>('SELECT failed_logins AS n FROM users WHERE email = $1', [
          shop.secret.adminEmail,
        ])
      )[0]?.n;
    proxy.loseAnswerOf('UPDATE 1');
    expect((await login('wrong-password-1')).status).toBe(401);
    expect(proxy.lost()).toBe(true);
    expect(await failures()).toBe(1);
  });
});

describe('the contract', () => {
  it('serves its OpenAPI document at GET /openapi.json, without a token', async () => {
    const served = await call(shopA.api, 'GET', '/openapi.json');
    expect([served.status, served.headers['content-type']]).toEqual([200, 'application/json']);
    expect(served.body).toEqual(contract.document);
  });

  it('was kept by every call of this file, and every operation of it was called', () => {
    expect(contract.checked).toBeGreaterThan(200);
    expect(contract.unexercised()).toEqual([]);
  });
});
