import * as z from 'zod/mini';
import { PROBLEM_TYPE_BASE, PROBLEMS, type ProblemType } from './http';
import { body, idString, integer, text } from './validate';

/**
 * What the tenant API takes and answers, as zod schemas: the handlers validate requests with these very
 * objects (`parse(newProduct, req.body)`), their answers are typed by them (`Product`), and the OpenAPI
 * document (openapi.ts) is generated from them. The schemas registered here under an id become the
 * document's `components.schemas`; a description registered without an id describes a field.
 */
export const registry = z.registry<{ id?: string; description: string }>();

function named<T extends z.ZodMiniType>(id: string, description: string, schema: T): T {
  registry.add(schema, { id, description });
  return schema;
}

function described<T extends z.ZodMiniType>(description: string, schema: T): T {
  registry.add(schema, { description });
  return schema;
}

const MAX_CENTS = 2_147_483_647;
const MAX_STOCK = 1_000_000_000;
const MAX_LINES = 100;
const MAX_QUANTITY = 10_000;
const MAX_SEARCH = 100;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

// Parameters (path and query): ids are `idString`, digits; a page's cursor is the id of its last item.

const limitError = { error: `must be an integer from 1 to ${MAX_LIMIT}` };
/** `?limit=`, after its digits are read as a number (pagination.ts). */
export const limit = z._default(
  z.int(limitError).check(z.gte(1, limitError), z.lte(MAX_LIMIT, limitError)),
  DEFAULT_LIMIT,
);
/** `?q=`: trimmed; matched against name and SKU as plain text. */
export const searchText = z
  .string({ error: 'must be a string' })
  .check(z.maxLength(MAX_SEARCH, { error: `must be at most ${MAX_SEARCH} characters` }), z.trim());

// Fields, shared by what is sent and what is answered.

const id = described('Assigned by the server.', integer(1, Number.MAX_SAFE_INTEGER));
const productFields = {
  sku: described('Unique within the shop; surrounding spaces are trimmed.', text(64)),
  name: described('Surrounding spaces are trimmed.', text(200)),
  priceCents: described('Price in cents.', integer(0, MAX_CENTS)),
  stock: described(
    'Units in stock; an order takes from it, a cancellation puts back.',
    integer(0, MAX_STOCK),
  ),
};
const lineFields = {
  productId: integer(1, Number.MAX_SAFE_INTEGER),
  quantity: integer(1, MAX_QUANTITY),
};
const timestamp = z.iso.datetime();
const cursor = described(
  'Pass as `?cursor=` for the next page; null on the last page.',
  z.nullable(idString),
);

// Request bodies: the objects the handlers parse with. Unknown fields are refused.

export const newProduct = named(
  'NewProduct',
  'A product to create; stock defaults to 0.',
  body({ ...productFields, stock: z.optional(productFields.stock) }),
);
export const productChanges = named(
  'ProductChanges',
  'Any of the fields of a product; those left out are unchanged.',
  body({
    sku: z.optional(productFields.sku),
    name: z.optional(productFields.name),
    priceCents: z.optional(productFields.priceCents),
    stock: z.optional(productFields.stock),
  }),
);
export const newOrder = named(
  'NewOrder',
  'The products and quantities to order, each product at most once. Prices and the total are the server’s.',
  body({
    lines: z
      .array(z.strictObject(lineFields, { error: 'must be an object' }), { error: 'must be an array' })
      .check(
        z.minLength(1, { error: 'must have at least one line' }),
        z.maxLength(MAX_LINES, { error: `must have at most ${MAX_LINES} lines` }),
      ),
  }),
);
export const credentials = named(
  'Credentials',
  'An e-mail (matched without regard to case) and its password.',
  body({
    email: z.string({ error: 'must be a string' }).check(z.maxLength(254, { error: 'is too long' })),
    password: z.string({ error: 'must be a string' }).check(z.maxLength(1024, { error: 'is too long' })),
  }),
);
export const passwordChange = named(
  'PasswordChange',
  'The current password and the new one (12 to 1024 characters).',
  body({
    currentPassword: z
      .string({ error: 'must be a string' })
      .check(z.maxLength(1024, { error: 'is too long' })),
    newPassword: z
      .string({ error: 'must be a string' })
      .check(
        z.minLength(12, { error: 'must be at least 12 characters' }),
        z.maxLength(1024, { error: 'must be at most 1024 characters' }),
      ),
  }),
);

// Responses: the handlers' answers are typed by these.

export const product = named('Product', 'A product.', z.strictObject({ id, ...productFields }));
export type Product = z.infer<typeof product>;

export const productList = named(
  'ProductList',
  'A page of products, by id.',
  z.strictObject({ items: z.array(product), nextCursor: cursor }),
);

const orderLine = named(
  'OrderLine',
  'A line of an order, at the price the product had when the order was placed.',
  z.strictObject({ ...lineFields, unitPriceCents: productFields.priceCents }),
);
export const order = named(
  'Order',
  'An order; its total is computed by the server.',
  z.strictObject({
    id,
    status: z.enum(['PLACED', 'CANCELLED']),
    totalCents: integer(0, Number.MAX_SAFE_INTEGER),
    lines: z.array(orderLine),
    createdAt: timestamp,
    cancelledAt: z.nullable(timestamp),
  }),
);
export type Order = z.infer<typeof order>;

export const orderList = named(
  'OrderList',
  'A page of orders, newest first.',
  z.strictObject({ items: z.array(order), nextCursor: cursor }),
);

export const token = named(
  'Token',
  'A bearer token (a JWT signed for this tenant) and when it expires (1 hour).',
  z.strictObject({ token: z.string(), expiresAt: timestamp }),
);
export type Token = z.infer<typeof token>;

export const health = named(
  'Health',
  'Whether the tenant’s database answers, at which schema version, and whether the tenant is suspended.',
  z.strictObject({
    tenantId: z.string(),
    database: z.enum(['ok', 'unreachable']),
    schemaVersion: z.nullable(z.int()),
    suspended: described(
      'While suspended every other operation answers 503 `tenant-suspended`.',
      z.boolean(),
    ),
  }),
);
export type Health = z.infer<typeof health>;

/** Every problem type's URI, as the `type` member says it. */
export const problemTypeUri = (type: ProblemType) => `${PROBLEM_TYPE_BASE}${type}`;

export const problem = named(
  'Problem',
  'An RFC 9457 problem (`application/problem+json`). `type` is stable: branch on it, not on `title` or `detail`.',
  z.strictObject({
    type: z.enum((Object.keys(PROBLEMS) as ProblemType[]).map(problemTypeUri)),
    title: z.string(),
    status: integer(400, 599),
    detail: z.string(),
    field: z.optional(described('The offending field, as `lines[1].quantity`.', z.string())),
    errors: z.optional(
      described(
        'Every invalid field, when a body fails validation.',
        z.array(z.strictObject({ field: z.string(), message: z.string() })),
      ),
    ),
  }),
);

export const openApiDocument = named(
  'OpenApiDocument',
  'This document.',
  z.looseObject({
    openapi: z.literal('3.1.0'),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.looseObject({})),
  }),
);
export type OpenApiDocument = z.infer<typeof openApiDocument>;
