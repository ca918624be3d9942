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
 * Every problem the API answers with: its status and title. The type URI (`PROBLEM_TYPE_BASE` + key) is part
 * of the contract: clients branch on it, so a key is never renamed. A type has one status, which `Problem`
 * holds every throw to (`new Problem(400, 'not-found', ...)` does not compile), and the OpenAPI document
 * (openapi.ts) lists each operation's problems under it.
 */
export const PROBLEMS = {
  'invalid-json': { status: 400, title: 'The body is not valid JSON' },
  'validation-failed': { status: 400, title: 'A field is invalid' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  'invalid-credentials': { status: 401, title: 'Wrong e-mail or password' },
  'not-found': { status: 404, title: 'No such resource' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'sku-taken': { status: 409, title: 'Another product has this SKU' },
  'product-in-use': { status: 409, title: 'The product is on orders' },
  'insufficient-stock': { status: 409, title: 'Not enough stock' },
  'order-not-cancellable': { status: 409, title: 'The order cannot be cancelled' },
  'payload-too-large': { status: 413, title: 'The body is too large' },
  'unsupported-media-type': { status: 415, title: 'The body must be application/json' },
  'too-many-attempts': { status: 429, title: 'Too many wrong passwords' },
  internal: { status: 500, title: 'Internal error' },
  'database-unavailable': { status: 503, title: 'The database is unavailable' },
  'tenant-suspended': { status: 503, title: 'This shop is suspended' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export const PROBLEM_TYPE_BASE = 'https://errors.tenant-platform.dev/';

/** An RFC 9457 problem: thrown by any route, answered as `application/problem+json`. */
export class Problem<T extends ProblemType = ProblemType> extends Error {
  constructor(
    readonly status: (typeof PROBLEMS)[T]['status'],
    readonly type: T,
    readonly detail: string,
    readonly extra: { field?: string; errors?: { field: string; message: string }[] } = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }
}

/** Whether `error` is a Problem (`instanceof` alone would type it `Problem<any>`). */
export function isProblem(error: unknown): error is Problem {
  return error instanceof Problem;
}

export function problemResponse(problem: Problem): ApiResponse {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...problem.headers },
    body: JSON.stringify({
      type: `${PROBLEM_TYPE_BASE}${problem.type}`,
      title: PROBLEMS[problem.type].title,
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
