/**
 * Stands in for **API Gateway HTTP APIs and CloudFront**, by Host header: `api.<tenant>.localhost` and
 * `api.<domain>` invoke the tenant's function (alias `live`) with an HTTP API v2 event, `<tenant>.localhost`
 * and `<domain>` serve its site from the site bucket.
 *
 * `<domain>`, `www.<domain>` (a redirect to `<domain>`) and `api.<domain>` are served once their distribution
 * tenants' certificates are issued (local/cloudfront/).
 *
 * With cells in accounts of their own, a tenant's API is the one in the account its `config.json` names (what
 * its frontend calls on AWS; a move to another account switches it), else the first account with its function.
 *
 * Where the real thing differs: no TLS, no caching; CORS is read from the emulator's record of the API.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GetApiCommand, type Cors } from '@aws-sdk/client-apigatewayv2';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LocalPlatformNames, PlatformNames, tenantResourceNames } from '../../common/names';
import { tenantIdSchema } from '../../common/tenant-input';
import { aws, cellAccounts, cellAws, inCell } from '../../workflow-tasks/lib/aws';
import { CONFIG_FILE } from '../../workflow-tasks/publish-frontend/step';
import { LOCAL_ACCOUNT } from '../account';
import { findApi } from '../../workflow-tasks/deploy-function/step';
import { LOCAL_API_DISTRIBUTION_ID, type LocalSaasManager } from '../cloudfront/saas-manager';
import { LoopbackServer, readBody } from '../http';
import type { LocalFunctions } from '../lambda/functions';

const CORS_CACHE_MS = 5_000;
/** How long the API a tenant's `config.json` names is kept before it is read again. */
const CONFIG_CACHE_MS = 1_000;

/** API Gateway's limit on a request body (Lambda's synchronous payload limit). */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** A page server mounted on the gateway's bare host (the console). */
export interface PageHandler {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close?(): void;
}

type Route =
  /** `apiId`: the HTTP API a customer's domain is passed to (its API distribution tenant's `apiHost`). */
  | { kind: 'api'; tenantId: string; apiId?: string }
  | { kind: 'site'; tenantId: string }
  | { kind: 'redirect'; host: string }
  | { kind: 'home' }
  | { kind: 'unknown' };

/**
 * Serves tenants by Host, as API Gateway serves a custom domain and CloudFront the site:
 * `api.<tenantId>.localhost` and `api.<domain>` invoke the tenant's API function with an API Gateway
 * HTTP API v2 event; `<tenantId>.localhost` and `<domain>` serve its frontend from the site bucket; bare
 * `localhost` and `127.0.0.1` are whatever page server it is given (the console, under `tenantctl up`).
 */
export class LocalGateway extends LoopbackServer {
  private readonly cors = new Map<string, { at: number; cors: Cors | undefined }>();
  private readonly published = new Map<string, { at: number; apiId: string | undefined }>();
  private readonly apiAccounts = new Map<string, string>();

  constructor(
    /**
     * The tenants' API functions, invoked as the HTTP API invokes them, and the distribution tenants that
     * serve customers' own domains (local/cloudfront/).
     */
    private readonly platform: {
      readonly functions: LocalFunctions;
      readonly saasManager: Pick<LocalSaasManager, 'route'>;
    },
    private readonly log: (line: string) => void = () => undefined,
    /**
     * What answers on bare `localhost` and `127.0.0.1` (`tenantctl up` puts the console there, composed
     * in cli/services.ts). @default 404 Not Found
     */
    private readonly home?: PageHandler,
  ) {
    super();
  }

  override async close(): Promise<void> {
    await super.close();
    this.home?.close?.();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const route = await this.route(hostOf(req));
      if (route.kind === 'api') return await this.invoke(route.tenantId, req, res, route.apiId);
      if (route.kind === 'site') return await this.site(route.tenantId, req, res);
      if (route.kind === 'redirect') {
        const port = /:\d+$/.exec(String(req.headers.host ?? ''))?.[0] ?? '';
        res.writeHead(301, { location: `http://${route.host}${port}${req.url ?? '/'}` });
        return void res.end();
      }
      if (route.kind === 'home' && this.home) return await this.home.handle(req, res);
      send(res, 404, { message: 'Not Found' });
    } catch (error) {
      this.log(`gateway: ${(error as Error).message}`);
      send(res, 500, { message: 'Internal Server Error' });
    }
  }

  private async route(host: string): Promise<Route> {
    if (host === 'localhost' || host === '127.0.0.1') return { kind: 'home' };
    if (host.endsWith('.localhost')) {
      const api = host.startsWith('api.');
      const candidate = (api ? host.slice(4) : host).slice(0, -'.localhost'.length);
      if (!tenantIdSchema.safeParse(candidate).success) return { kind: 'unknown' };
      return { kind: api ? 'api' : 'site', tenantId: candidate };
    }
    // A customer's domain: the distribution tenant serving it (once its certificate is issued), as
    // CloudFront routes it; `www.<domain>` answers with a redirect, as the site distribution's function does.
    const served = await this.platform.saasManager.route(host);
    const tenantId = served?.parameters.tenantId;
    if (!served || !tenantId) return { kind: 'unknown' };
    if (served.distributionId === LOCAL_API_DISTRIBUTION_ID) {
      const apiId = served.parameters.apiHost?.split('.')[0];
      return { kind: 'api', tenantId, ...(apiId ? { apiId } : {}) };
    }
    if (host.startsWith('www.')) return { kind: 'redirect', host: host.slice(4) };
    return { kind: 'site', tenantId };
  }

  private async invoke(
    tenantId: string,
    req: IncomingMessage,
    res: ServerResponse,
    apiId?: string,
  ): Promise<void> {
    const { functionName } = tenantResourceNames(tenantId);
    const account = await this.accountOf(tenantId, apiId);
    if (!account) return send(res, 502, { message: 'Bad Gateway' });
    // CORS as an HTTP API with a CorsConfiguration answers it: preflights without calling the function.
    const origin = req.headers.origin;
    const cors = origin ? await this.corsOf(tenantId, account) : undefined;
    const allowOrigin = cors?.AllowOrigins?.includes('*')
      ? '*'
      : origin && cors?.AllowOrigins?.includes(origin)
        ? origin
        : undefined;
    const corsHeaders: Record<string, string> = allowOrigin
      ? { 'access-control-allow-origin': allowOrigin }
      : {};
    if (cors && req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        ...corsHeaders,
        ...(allowOrigin
          ? {
              'access-control-allow-methods': (cors.AllowMethods ?? []).join(','),
              'access-control-allow-headers': (cors.AllowHeaders ?? []).join(','),
              'access-control-max-age': String(cors.MaxAge ?? 0),
            }
          : {}),
      });
      res.end();
      return;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return send(res, 413, { message: 'Request Entity Too Large' });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      // As the tenant's HTTP API does: its integration invokes the alias `live`.
      result = (await this.platform.functions.invoke(
        functionName,
        apiGatewayEvent({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body,
          apiId: tenantId,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress,
        }),
        PlatformNames.liveAlias,
        account,
      )) as APIGatewayProxyStructuredResultV2;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException')
        return send(res, 404, { message: 'Not Found' });
      this.log(`gateway: ${tenantId}: ${(error as Error).name}: ${(error as Error).message}`);
      return send(res, 500, { message: 'Internal Server Error' });
    }
    const headers: Record<string, string | string[]> = { ...corsHeaders };
    for (const [key, value] of Object.entries(result.headers ?? {})) headers[key] = String(value);
    if (result.cookies?.length) headers['set-cookie'] = result.cookies;
    res.writeHead(result.statusCode ?? 200, headers);
    res.end(
      result.body === undefined ? '' : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'),
    );
  }

  private async site(tenantId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://site').pathname);
    if (path.split('/').some((segment) => segment === '..'))
      return send(res, 400, { message: 'Bad Request' });
    const relative = path.endsWith('/') ? `${path}index.html` : path;
    const Key = `${tenantResourceNames(tenantId).sitePrefix}${relative.replace(/^\/+/, '')}`;
    try {
      const object = await aws().s3.send(
        new GetObjectCommand({ Bucket: LocalPlatformNames.siteBucket, Key }),
      );
      res.writeHead(200, {
        'content-type': object.ContentType ?? 'application/octet-stream',
        ...(object.CacheControl ? { 'cache-control': object.CacheControl } : {}),
      });
      res.end(Buffer.from((await object.Body?.transformToByteArray()) ?? []));
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return send(res, 404, { message: 'Not Found' });
      throw error;
    }
  }

  /**
   * The account of the tenant's API (common/cells.ts), as the edge routes: the one of the HTTP API `routedTo`
   * (a customer's domain's), else of the one its `config.json` names (what its frontend calls); a move to
   * another account switches both at its point of no return. Without either, the first account that has
   * its function. Undefined: the domain's API is in no account (CloudFront would find no origin).
   */
  private async accountOf(tenantId: string, routedTo?: string): Promise<string | undefined> {
    const accounts = cellAccounts();
    if (accounts.length === 0) return LOCAL_ACCOUNT;
    if (routedTo) return this.accountOfApi(routedTo, accounts);
    const apiId = await this.publishedApi(tenantId);
    const account = apiId ? await this.accountOfApi(apiId, accounts) : undefined;
    return account ?? this.platform.functions.locate(tenantResourceNames(tenantId).functionName, accounts);
  }

  /** The id of the HTTP API the tenant's `config.json` names (read again after CONFIG_CACHE_MS). */
  private async publishedApi(tenantId: string): Promise<string | undefined> {
    const cached = this.published.get(tenantId);
    if (cached && Date.now() - cached.at < CONFIG_CACHE_MS) return cached.apiId;
    const Key = `${tenantResourceNames(tenantId).sitePrefix}${CONFIG_FILE}`;
    let apiId: string | undefined;
    try {
      const object = await aws().s3.send(
        new GetObjectCommand({ Bucket: LocalPlatformNames.siteBucket, Key }),
      );
      const { apiUrl } = JSON.parse((await object.Body?.transformToString()) ?? '{}') as { apiUrl?: unknown };
      apiId = typeof apiUrl === 'string' ? new URL(apiUrl).hostname.split('.')[0] : undefined;
    } catch (error) {
      if ((error as Error).name !== 'NoSuchKey') throw error;
    }
    this.published.set(tenantId, { at: Date.now(), apiId });
    return apiId;
  }

  /** The account an HTTP API is in (an API's id is never reused, so the answer is kept). */
  private async accountOfApi(ApiId: string, accounts: readonly string[]): Promise<string | undefined> {
    const known = this.apiAccounts.get(ApiId);
    if (known) return known;
    for (const account of [LOCAL_ACCOUNT, ...accounts]) {
      const cell = account === LOCAL_ACCOUNT ? undefined : account;
      const found = await inCell(cell, () => cellAws().apigw.send(new GetApiCommand({ ApiId }))).then(
        () => true,
        (error: Error) => {
          if (error.name === 'NotFoundException') return false;
          throw error;
        },
      );
      if (found) {
        this.apiAccounts.set(ApiId, account);
        return account;
      }
    }
    return undefined;
  }

  /** The CORS configuration of the tenant's HTTP API, as the emulator records it (cached for a few seconds). */
  private async corsOf(tenantId: string, account: string): Promise<Cors | undefined> {
    const cached = this.cors.get(tenantId);
    if (cached && Date.now() - cached.at < CORS_CACHE_MS) return cached.cors;
    const cell = account === LOCAL_ACCOUNT ? undefined : account;
    const cors = (await inCell(cell, () => findApi(tenantId)))?.CorsConfiguration;
    this.cors.set(tenantId, { at: Date.now(), cors });
    return cors;
  }
}

function hostOf(req: IncomingMessage): string {
  return String(req.headers.host ?? '')
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/\.$/, '');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The body, or undefined when it is over the limit. */
const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|problem\+json))/;

/** An HTTP request, as much of it as an API Gateway event carries. */
export interface GatewayRequest {
  readonly method: string;
  /** Path and query string. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** The HTTP API's id (locally: the tenant id). */
  readonly apiId: string;
  readonly protocol?: string;
  readonly sourceIp?: string;
}

/**
 * The API Gateway HTTP API payload format 2.0 event for a request: what the gateway sends a tenant
 * function (and what tests and benchmarks send the handler directly).
 */
export function apiGatewayEvent(request: GatewayRequest): APIGatewayProxyEventV2 {
  const url = new URL(request.url, 'http://gateway');
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(request.headers)) {
    if (key !== 'cookie' && value !== undefined)
      headers[key.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const cookie = request.headers.cookie;
  const cookies = (Array.isArray(cookie) ? cookie.join(';') : cookie)
    ?.split(';')
    .map((c) => c.trim())
    .filter(Boolean);
  const { body } = request;
  const textual = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: request.apiId,
      domainName: headers.host ?? '',
      domainPrefix: (headers.host ?? '').split('.')[0] ?? '',
      http: {
        method: request.method,
        path: url.pathname,
        protocol: request.protocol ?? 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: body.toString(textual ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}
