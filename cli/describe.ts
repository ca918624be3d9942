import type { ExecutionRecord, LocalPlatform } from '../local/runtime';
import type { StepResults } from '../workflow-tasks/lib/types';

/** What a tenant got, for a person: its resources and its API's answer to GET /health. */
export async function describeTenant(platform: LocalPlatform, record: ExecutionRecord): Promise<string> {
  const results = (record.output as { results?: StepResults } | null)?.results;
  if (!results) return '  (no results)';
  const health = await platform.functions
    .invoke(results.function.functionName, healthRequest())
    .then((response) => (response as { body?: string }).body ?? '')
    .catch((error: Error) => `failed: ${error.message}`);
  const rows: [string, string][] = [
    [
      'database',
      `${results.database.database} on ${results.database.host}:${results.database.port} (schema v${results.schema.schemaVersion}, admin ${results.schema.adminEmail})`,
    ],
    ['secret', results.secret.secretArn],
    ['function', results.function.functionArn],
    ['HTTP API', results.function.apiEndpoint],
    [
      'domain',
      results.domain.skipped
        ? '(none)'
        : `${results.domain.domainName} (mapping ${results.domain.apiMappingId})`,
    ],
    [
      'frontend',
      `s3://${results.frontend.siteBucket}/${results.frontend.sitePrefix} (${results.frontend.files.length} files + config.json)`,
    ],
    ['invalidation', `${results.invalidation.invalidationId} of ${results.invalidation.paths.join(', ')}`],
    ['GET /health', health],
  ];
  return rows.map(([key, value]) => `  ${key.padEnd(13)}${value}`).join('\n');
}

/** A minimal API Gateway HTTP API v2 event for `GET /health`. */
export function healthRequest(): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/health',
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method: 'GET', path: '/health' } },
    isBase64Encoded: false,
  };
}
