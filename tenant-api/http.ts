import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type ApiResponse = APIGatewayProxyStructuredResultV2;

/** One request as the routes see it: the API Gateway v2 event, normalised. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Path parameters captured by the route, by name. */
  readonly params: Readonly<Record<string, string>>;
  /** The JSON body, parsed (undefined when the request had none). */
  readonly body: unknown;
}

/**
 * Every problem the API answers with, and its title. The type URI (`PROBLEM_TYPE_BASE` + key) is part of
 * the contract: clients branch on it, so a key is never renamed.
 */
const PROBLEMS = {
  'invalid-json': 'The body is not valid JSON',
  'unsupported-media-type': 'The body must be application/json',
  'payload-too-large': 'The body is too large',
  'validation-failed': 'A field is invalid',
  unauthorized: 'A valid bearer token is required',
  'invalid-credentials': 'Wrong e-mail or password',
  'too-many-attempts': 'Too many wrong passwords',
  'not-found': 'No such resource',
  'method-not-allowed': 'Method not allowed',
  'sku-taken': 'Another product has this SKU',
  'product-in-use': 'The product is on orders',
  'insufficient-stock': 'Not enough stock',
  'order-not-cancellable': 'The order cannot be cancelled',
  'database-unavailable': 'The database is unavailable',
  'tenant-suspended': 'This shop is suspended',
  internal: 'Internal error',
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export const PROBLEM_TYPE_BASE = 'https://errors.tenant-platform.dev/';

/** An RFC 9457 problem: thrown by any route, answered as `application/problem+json`. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly type: ProblemType,
    readonly detail: string,
    readonly extra: { field?: string; errors?: { field: string; message: string }[] } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }
}

export function problemResponse(problem: Problem): ApiResponse {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...problem.headers },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE_BASE}${problem.type}`,
      title: PROBLEMS[problem.type],
      status: problem.status,
      detail: problem.detail,
      ...problem.extra,
    }),
  };
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

export function noContent(): ApiResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
}

export function notFound(what: string): Problem {
  return new Problem(404, 'not-found', `${what} does not exist`);
}
