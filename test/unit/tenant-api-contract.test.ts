import { createHash } from 'node:crypto';
import { compileErrors, validate } from '@readme/openapi-parser';
import * as fc from 'fast-check';
import type * as z from 'zod/mini';
import { createTenantApi } from '../../tenant-api/app';
import { OPERATIONS } from '../../tenant-api/contract';
import { openApiDocument } from '../../tenant-api/openapi';
import * as schemas from '../../tenant-api/schemas';
import { ContractChecker, exchangeOf, type Exchange } from '../fixtures/api-contract';
import { apiEvent } from '../fixtures/events';

const document = openApiDocument();
const contract = new ContractChecker(document);

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, by @readme/openapi-parser', async () => {
    // validate() dereferences its argument in place: it gets a copy.
    const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid');
    expect(result.warnings).toEqual([]);
    expect(document.openapi).toBe('3.1.0');
  });

  it('has every schema compile with ajv in strict mode (the checker compiles them all when it is made)', () => {
    expect(() => new ContractChecker(document)).not.toThrow();
  });

  it('names every operation of the route table, with its parameters, body, answers and problems', () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => [
        (operation as { operationId: string }).operationId,
        `${method.toUpperCase()} ${path}`,
      ]),
    );
    expect(Object.fromEntries(documented)).toEqual(
      Object.fromEntries(Object.entries(OPERATIONS).map(([id, op]) => [id, `${op.method} ${op.path}`])),
    );
    const createOrder = document.paths['/orders']?.post as Record<string, unknown>;
    expect(createOrder).toMatchObject({
      requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/NewOrder' } } } },
      responses: {
        201: { headers: { Location: { required: true } } },
        409: {
          content: {
            'application/problem+json': {
              schema: {
                properties: { type: { enum: ['https://errors.tenant-platform.dev/insufficient-stock'] } },
              },
            },
          },
        },
      },
    });
    expect(Object.keys(createOrder.responses as object)).toEqual([
      '201',
      '400',
      '401',
      '404',
      '409',
      '413',
      '415',
      '500',
      '503',
    ]);
    // Health and this document need no token and are answered while the tenant is suspended.
    expect(document.paths['/health']?.get).toMatchObject({ security: [] });
    expect(Object.keys((document.paths['/openapi.json']?.get as { responses: object }).responses)).toEqual([
      '200',
      '500',
    ]);
    const listProducts = document.paths['/products']?.get as { parameters: unknown[] };
    expect(listProducts.parameters).toContainEqual(
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
      }),
    );
  });

  it('is versioned by its own content', () => {
    const unversioned = { ...document, info: { ...document.info, version: '' } };
    expect(document.info.version).toBe(
      createHash('sha256').update(JSON.stringify(unversioned)).digest('hex').slice(0, 16),
    );
  });
});

describe('request bodies in the document', () => {
  /** Mostly plausible values near the limits; now and then spaces, control or astral characters, or junk. */
  const plain = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', 'é', '😀'), maxLength: 70 });
  const hostile = fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\n', '\u0000', '😀'), maxLength: 260 });
  const text = fc.oneof({ weight: 6, arbitrary: plain }, { weight: 1, arbitrary: hostile });
  const password = fc.oneof(text, fc.string({ minLength: 10, maxLength: 40 }));
  const int = fc.oneof(
    fc.integer({ min: -2, max: 20_000 }),
    fc.constantFrom(2_147_483_647, 2_147_483_648, 1e9 + 1),
  );
  const anything = fc.oneof(text, int, fc.double(), fc.constant(null), fc.boolean(), fc.constant([]));
  const field = <T>(likely: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 9, arbitrary: likely }, { weight: 1, arbitrary: anything });
  /** Any of the fields, sometimes with one the schema does not know. */
  const object = (shape: Record<string, fc.Arbitrary<unknown>>) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.record(shape) },
      { weight: 3, arbitrary: fc.record(shape, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.record({ ...shape, unknown: anything }, { requiredKeys: [] }) },
    );
  const bodies: [string, z.ZodMiniType, fc.Arbitrary<unknown>][] = [
    [
      'NewProduct',
      schemas.newProduct,
      object({ sku: field(text), name: field(text), priceCents: field(int), stock: field(int) }),
    ],
    [
      'ProductChanges',
      schemas.productChanges,
      object({ sku: field(text), priceCents: field(int), stock: field(int) }),
    ],
    [
      'NewOrder',
      schemas.newOrder,
      object({
        lines: field(fc.array(object({ productId: field(int), quantity: field(int) }), { maxLength: 3 })),
      }),
    ],
    ['Credentials', schemas.credentials, object({ email: field(text), password: field(text) })],
    [
      'PasswordChange',
      schemas.passwordChange,
      object({ currentPassword: field(text), newPassword: field(password) }),
    ],
  ];

  it.each(bodies)('%s refuses nothing the schema the handler parses with accepts', (id, schema, body) => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (value) => {
        if (!schema.safeParse(value).success) return;
        accepted++;
        expect(contract.schemaErrors(`/components/schemas/${id}`, value, id)).toEqual([]);
      }),
      { seed: 27, numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(5);
  });
});

describe('the contract check', () => {
  const product = { id: 7, sku: 'PEN-1', name: 'Blue pen', priceCents: 250, stock: 100 };
  const created = (
    body: unknown,
    headers: Record<string, string> = { location: '/products/7' },
  ): Exchange => ({
    method: 'POST',
    url: '/products',
    headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'PEN-1', name: 'Blue pen', priceCents: 250, stock: 100 }),
    response: {
      status: 201,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    },
  });
  const problem = (status: number, type: string, extra: object = {}) =>
    JSON.stringify({
      type: `https://errors.tenant-platform.dev/${type}`,
      title: 't',
      status,
      detail: 'd',
      ...extra,
    });

  it('passes an answer as documented', () => {
    expect(contract.violations(created(product))).toEqual([]);
  });

  it('reports a field the document does not have, naming the call and the field', () => {
    const exchange = created({ ...product, costCents: 100 });
    expect(contract.violations(exchange)).toEqual(['response body: costCents is not in the document']);
    expect(() => contract.assertConforms(exchange)).toThrow(
      /POST \/products -> 201 .*does not match the OpenAPI document:\n {2}- response body: costCents is not in the document/,
    );
  });

  it('reports a field of the wrong type, a missing one and a missing required header', () => {
    const noStock: Record<string, unknown> = { ...product };
    delete noStock.stock;
    expect(contract.violations(created({ ...noStock, priceCents: '250' }, {}))).toEqual([
      'response header Location is required but missing',
      "response body: must have required property 'stock'",
      'response body/priceCents: must be integer',
    ]);
  });

  it('reports an undocumented status, an undocumented content type and a problem of the wrong type', () => {
    const answer = (status: number, contentType: string, body: string): Exchange => ({
      ...created(product),
      response: { status, headers: { 'content-type': contentType }, body },
    });
    expect(contract.violations(answer(418, 'application/json', '{}'))).toEqual([
      'status 418 is not documented for createProduct (documented: 201, 400, 401, 409, 413, 415, 500, 503)',
    ]);
    expect(contract.violations(answer(409, 'application/json', problem(409, 'sku-taken')))).toEqual([
      'content-type application/json is not documented for 409 (documented: application/problem+json)',
    ]);
    expect(
      contract.violations(answer(409, 'application/problem+json', problem(409, 'product-in-use'))),
    ).toEqual([
      'response body/type: must be equal to one of the allowed values ["https://errors.tenant-platform.dev/sku-taken"]',
    ]);
    expect(
      contract.violations(answer(409, 'application/problem+json', problem(409, 'sku-taken', { hint: 'x' }))),
    ).toEqual(['response body: hint is not in the document']);
  });

  it('requires a request the document refuses to be answered with a problem, not accepted', () => {
    const invalid = {
      ...created(product),
      body: JSON.stringify({ sku: 'PEN-1', name: 'Blue pen', priceCents: -1 }),
    };
    expect(contract.violations(invalid)).toEqual([
      'the request is outside the contract (request body/priceCents: must be >= 0), yet it was answered 201',
    ]);
    const refused: Exchange = {
      ...invalid,
      response: {
        status: 400,
        headers: { 'content-type': 'application/problem+json' },
        body: problem(400, 'validation-failed', { field: 'priceCents' }),
      },
    };
    expect(contract.violations(refused)).toEqual([]);
  });

  it('holds unknown paths to 404 and unknown methods to 405 with the documented Allow', () => {
    const unknown = (
      method: string,
      url: string,
      status: number,
      type: string,
      allow?: string,
    ): Exchange => ({
      method,
      url,
      headers: {},
      response: {
        status,
        headers: { 'content-type': 'application/problem+json', ...(allow ? { allow } : {}) },
        body: problem(status, type),
      },
    });
    expect(contract.violations(unknown('GET', '/nothing', 404, 'not-found'))).toEqual([]);
    expect(
      contract.violations(unknown('PUT', '/products/1', 405, 'method-not-allowed', 'GET, PATCH, DELETE')),
    ).toEqual([]);
    expect(contract.violations(unknown('PUT', '/products/1', 405, 'method-not-allowed', 'GET'))).toEqual([
      'Allow is "GET", the document has DELETE, GET, PATCH',
    ]);
  });
});

describe('GET /openapi.json', () => {
  it('answers the document without a token, also while the tenant is suspended, whose other routes answer 503', async () => {
    const api = createTenantApi({
      tenantId: 'contract-shop',
      secretArn: 'tenants/contract-shop/credentials',
      suspended: true,
    });
    try {
      const event = apiEvent('GET', '/openapi.json');
      const served = await api.handle(event);
      expect([served.statusCode, served.headers?.['content-type']]).toEqual([200, 'application/json']);
      expect(JSON.parse(served.body ?? '')).toEqual(document);
      expect(contract.violations(exchangeOf(event, served))).toEqual([]);

      const products = apiEvent('POST', '/products', {
        token: 'any',
        body: { sku: 'A', name: 'A', priceCents: 1 },
      });
      const refused = await api.handle(products);
      expect(JSON.parse(refused.body ?? '')).toMatchObject({
        type: 'https://errors.tenant-platform.dev/tenant-suspended',
      });
      expect(contract.violations(exchangeOf(products, refused))).toEqual([]);
    } finally {
      await api.close();
    }
  });
});
