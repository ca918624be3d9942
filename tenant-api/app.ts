import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { authenticate, changePassword, login, type User } from './auth';
import { MAX_BODY_BYTES, OPERATIONS, type OperationId } from './contract';
import { health } from './health';
import { isProblem, json, Problem, problemResponse, type ApiRequest, type ApiResponse } from './http';
import { openApiDocument } from './openapi';
import { cancelOrder, createOrder, getOrder, listOrders } from './orders';
import { createProduct, deleteProduct, getProduct, listProducts, updateProduct } from './products';
import { Router, type RouteHandler } from './router';
import { Tenant, type TenantConfig } from './tenant';

export { MAX_BODY_BYTES } from './contract';

/** The handler of every operation of the contract: one missing, or one without a contract, does not compile. */
const HANDLERS: { readonly [Id in OperationId]: RouteHandler } = {
  getHealth: (tenant) => health(tenant),
  getOpenApiDocument: () => Promise.resolve(json(200, openApiDocument())),
  login,
  changePassword,
  listProducts,
  createProduct,
  getProduct,
  updateProduct,
  deleteProduct,
  listOrders,
  createOrder,
  getOrder,
  cancelOrder,
};

const router = new Router(
  (Object.keys(OPERATIONS) as OperationId[]).map((id) => ({
    operation: OPERATIONS[id],
    handle: HANDLERS[id],
  })),
);

const logger = new Logger({ serviceName: 'tenant-api' });

export interface TenantApi {
  /** Answers one API Gateway HTTP API (payload 2.0) event. */
  handle(event: APIGatewayProxyEventV2): Promise<ApiResponse>;
  /** Closes the database pool (tests and the local platform; Lambda just freezes). */
  close(): Promise<void>;
}

/** The shop API of one tenant. Whether it runs in Lambda or locally, it sees only the event. */
export function createTenantApi(config: TenantConfig): TenantApi {
  const tenant = new Tenant(config);
  return {
    async handle(event) {
      try {
        const method = event.requestContext.http.method.toUpperCase();
        const path = event.rawPath;
        const match = router.match(method, path);
        if (match.kind === 'not-found')
          throw new Problem(404, 'not-found', `No route for ${method} ${path.slice(0, 200)}`);
        if (match.kind === 'method-not-allowed')
          throw new Problem(
            405,
            'method-not-allowed',
            `${method} is not allowed here`,
            {},
            {
              allow: match.allowed.join(', '),
            },
          );
        const { operation } = match.route;
        // Suspended is the expected answer, not a failure: answered, not thrown (nothing is logged).
        if (config.suspended && !operation.whileSuspended)
          return problemResponse(
            new Problem(
              503,
              'tenant-suspended',
              `${tenant.id} is suspended: its data is kept`,
              {},
              {
                'retry-after': '3600',
              },
            ),
          );
        // HTTP APIs (payload 2.0) send header names in lower case.
        const headers = event.headers ?? {};
        const request: ApiRequest = {
          method,
          path,
          headers,
          query: event.queryStringParameters ?? {},
          params: match.params,
          body: undefined,
        };
        // Who asks comes first: a caller without a valid token learns nothing about its body.
        // Routes without auth (health, login) never look at the user.
        const user = operation.auth ? await authenticate(tenant, request) : (undefined as unknown as User);
        // An operation that takes no body ignores one (RFC 9110 gives it no meaning), as its contract says.
        const body = operation.body ? bodyOf(event, headers['content-type']) : undefined;
        return await match.route.handle(tenant, { ...request, body }, user);
      } catch (error) {
        if (isProblem(error)) {
          if (error.status >= 500)
            logger.error('request failed', {
              requestId: event.requestContext.requestId,
              error: error.cause ?? error,
            });
          return problemResponse(error);
        }
        logger.error('request failed', { requestId: event.requestContext.requestId, error });
        return problemResponse(new Problem(500, 'internal', 'Something went wrong; it has been logged'));
      }
    },
    close: () => tenant.close(),
  };
}

/** The request's JSON body: 413 over the limit, 415 when declared as something else, 400 when malformed. */
function bodyOf(event: APIGatewayProxyEventV2, contentType: string | undefined): unknown {
  if (event.body === undefined || event.body === '') return undefined;
  const bytes = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES)
    throw new Problem(413, 'payload-too-large', `body: must be at most ${MAX_BODY_BYTES} bytes`, {
      field: 'body',
    });
  if (contentType && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType))
    throw new Problem(
      415,
      'unsupported-media-type',
      `content-type: must be application/json, got ${contentType.slice(0, 100)}`,
      {
        field: 'content-type',
      },
    );
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new Problem(400, 'invalid-json', `body: ${(error as Error).message.slice(0, 200)}`, {
      field: 'body',
    });
  }
}
