import type * as z from 'zod/mini';
import type { ProblemType } from './http';
import * as schemas from './schemas';
import { idString } from './validate';

/** Bodies over this are refused with 413 before they are parsed (API Gateway allows up to 10 MB). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A response header an operation may send, as the document names it. */
export type HeaderName = 'Location' | 'Retry-After' | 'WWW-Authenticate';

/**
 * One operation of the tenant API. The router is built from these (app.ts gives each its handler), and
 * the OpenAPI document (openapi.ts) from the same entries, so a route cannot exist without its contract.
 */
export interface Operation {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** `/products/{id}`: a `{name}` segment matches one path segment; its schema is in PATH_PARAMETERS. */
  readonly path: string;
  readonly summary: string;
  readonly tag: 'shop' | 'auth' | 'products' | 'orders';
  /** Needs `Authorization: Bearer <token>` (answers 401 `unauthorized` without a valid one). */
  readonly auth: boolean;
  /** Answered while the tenant is suspended; every other operation answers 503 `tenant-suspended`. */
  readonly whileSuspended?: boolean;
  readonly query?: Readonly<Record<string, { readonly schema: z.ZodMiniType; readonly description: string }>>;
  /** The JSON body it takes, parsed with this schema. Operations without one ignore a body. */
  readonly body?: z.ZodMiniType;
  /** Its answers other than problems, by status: a registered schema, or none (204). */
  readonly responses: Readonly<
    Record<
      number,
      {
        readonly description: string;
        readonly schema?: z.ZodMiniType;
        readonly headers?: readonly HeaderName[];
      }
    >
  >;
  /**
   * The problems it answers with beyond those that follow from the entry (see `problemsOf`): `not-found`
   * for a missing resource, the conflicts, `database-unavailable` when it reads the database.
   */
  readonly problems: readonly ProblemType[];
}

/** The schema of each path parameter, by name. */
export const PATH_PARAMETERS: Readonly<Record<string, { schema: z.ZodMiniType; description: string }>> = {
  id: { schema: idString, description: 'The id, as the resource states it.' },
};

const page = {
  limit: { schema: schemas.limit, description: 'How many items, 1 to 100.' },
  cursor: {
    schema: idString,
    description: 'The `nextCursor` of the previous page; leave out for the first.',
  },
} as const;

const located = ['Location'] as const;

/** Every operation, by operationId. Matched in this order. */
export const OPERATIONS = {
  getHealth: {
    method: 'GET',
    path: '/health',
    summary: 'Whether the tenant’s database answers',
    tag: 'shop',
    auth: false,
    whileSuspended: true,
    responses: {
      200: { description: 'The database answers.', schema: schemas.health },
      503: { description: 'The database does not answer.', schema: schemas.health },
    },
    problems: [],
  },
  getOpenApiDocument: {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'shop',
    auth: false,
    whileSuspended: true,
    responses: { 200: { description: 'The OpenAPI 3.1 document.', schema: schemas.openApiDocument } },
    problems: [],
  },
  login: {
    method: 'POST',
    path: '/auth/login',
    summary: 'Signs in: a token for one hour. Five wrong passwords in a row lock the account for 15 minutes',
    tag: 'auth',
    auth: false,
    body: schemas.credentials,
    responses: { 200: { description: 'Signed in.', schema: schemas.token } },
    problems: ['invalid-credentials', 'too-many-attempts', 'database-unavailable'],
  },
  changePassword: {
    method: 'POST',
    path: '/auth/password',
    summary: 'Changes the password: every older token stops working, a new one is answered',
    tag: 'auth',
    auth: true,
    body: schemas.passwordChange,
    responses: { 200: { description: 'Changed; the new token.', schema: schemas.token } },
    problems: ['database-unavailable'],
  },
  listProducts: {
    method: 'GET',
    path: '/products',
    summary: 'Lists products by id, optionally those whose name or SKU contains a text',
    tag: 'products',
    auth: true,
    query: {
      q: { schema: schemas.searchText, description: 'Name or SKU contains this, as plain text.' },
      ...page,
    },
    responses: { 200: { description: 'A page of products.', schema: schemas.productList } },
    problems: ['database-unavailable'],
  },
  createProduct: {
    method: 'POST',
    path: '/products',
    summary: 'Creates a product',
    tag: 'products',
    auth: true,
    body: schemas.newProduct,
    responses: { 201: { description: 'Created.', schema: schemas.product, headers: located } },
    problems: ['sku-taken', 'database-unavailable'],
  },
  getProduct: {
    method: 'GET',
    path: '/products/{id}',
    summary: 'A product',
    tag: 'products',
    auth: true,
    responses: { 200: { description: 'The product.', schema: schemas.product } },
    problems: ['not-found', 'database-unavailable'],
  },
  updateProduct: {
    method: 'PATCH',
    path: '/products/{id}',
    summary: 'Changes any of a product’s fields (orders placed keep their prices)',
    tag: 'products',
    auth: true,
    body: schemas.productChanges,
    responses: { 200: { description: 'The product as changed.', schema: schemas.product } },
    problems: ['not-found', 'sku-taken', 'database-unavailable'],
  },
  deleteProduct: {
    method: 'DELETE',
    path: '/products/{id}',
    summary: 'Deletes a product no order names (otherwise set its stock to 0)',
    tag: 'products',
    auth: true,
    responses: { 204: { description: 'Deleted.' } },
    problems: ['not-found', 'product-in-use', 'database-unavailable'],
  },
  listOrders: {
    method: 'GET',
    path: '/orders',
    summary: 'Lists orders, newest first',
    tag: 'orders',
    auth: true,
    query: page,
    responses: { 200: { description: 'A page of orders.', schema: schemas.orderList } },
    problems: ['database-unavailable'],
  },
  createOrder: {
    method: 'POST',
    path: '/orders',
    summary:
      'Places an order: prices from the products, the total computed, the stock taken in one transaction (short stock changes nothing)',
    tag: 'orders',
    auth: true,
    body: schemas.newOrder,
    responses: { 201: { description: 'Placed.', schema: schemas.order, headers: located } },
    problems: ['not-found', 'insufficient-stock', 'database-unavailable'],
  },
  getOrder: {
    method: 'GET',
    path: '/orders/{id}',
    summary: 'An order',
    tag: 'orders',
    auth: true,
    responses: { 200: { description: 'The order.', schema: schemas.order } },
    problems: ['not-found', 'database-unavailable'],
  },
  cancelOrder: {
    method: 'POST',
    path: '/orders/{id}/cancel',
    summary: 'Cancels a placed order and puts its stock back, once',
    tag: 'orders',
    auth: true,
    responses: { 200: { description: 'The order, cancelled.', schema: schemas.order } },
    problems: ['not-found', 'order-not-cancellable', 'database-unavailable'],
  },
} as const satisfies Record<string, Operation>;

export type OperationId = keyof typeof OPERATIONS;

/** The path parameter names of a path: `/orders/{id}/cancel` -> `['id']`. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '');
}

/**
 * Every problem an operation can answer with: its own, plus those that follow from its entry (a body can be
 * malformed, too large or of another type; anything validated can fail validation; a token can be missing;
 * a suspended tenant refuses it; anything can fail unexpectedly).
 */
export function problemsOf(operation: Operation): ProblemType[] {
  const validated = operation.body || operation.query || pathParameters(operation.path).length > 0;
  const problems = new Set<ProblemType>([
    ...(operation.body ? (['invalid-json', 'payload-too-large', 'unsupported-media-type'] as const) : []),
    ...(validated ? (['validation-failed'] as const) : []),
    ...(operation.auth ? (['unauthorized'] as const) : []),
    ...operation.problems,
    ...(operation.whileSuspended ? [] : (['tenant-suspended'] as const)),
    'internal',
  ]);
  return [...problems];
}
