import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { healthOf } from './health';

/**
 * The tenant's API Lambda (API Gateway HTTP API v2 events). Today it answers `GET /health`; the shop
 * routes come with the "tenant shop API" issue.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? '/';
  if (path === '/health') {
    if (method !== 'GET') return problem(405, 'method-not-allowed', `${method} is not allowed on /health`);
    const health = await healthOf();
    return json(health.database === 'ok' ? 200 : 503, health);
  }
  return problem(404, 'not-found', `No route for ${method} ${path.slice(0, 200)}`);
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

function problem(status: number, type: string, detail: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: `https://errors.tenant-platform.dev/${type}`, title: type, status, detail }),
  };
}
