import { request, type Agent } from 'node:http';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { StepResults } from '../workflow-tasks/lib/types';
import type { Target } from './target';

/**
 * What an onboarded tenant got, for a person, from the onboarding execution that made it: its resources and
 * where it answers on the local gateway.
 */
export async function describeTenant(
  target: Target,
  executionArn: string,
  tenantId: string,
): Promise<string> {
  const execution = await target.sfn.send(new DescribeExecutionCommand({ executionArn }));
  const results =
    execution.status === 'SUCCEEDED' && execution.output
      ? (JSON.parse(execution.output) as { results?: StepResults }).results
      : undefined;
  if (!results) return `  (${execution.status ?? 'unknown'}: ${executionArn})`;
  const rows: [string, string][] = [
    [
      'database',
      `${results.database.database} (schema v${results.schema.schemaVersion}, admin ${results.schema.adminEmail})`,
    ],
    ['secret', results.secret.secretArn],
    ['function', results.function.functionArn],
    ['HTTP API', results.function.apiEndpoint],
    [
      'domain',
      results.domain.skipped
        ? '(none)'
        : `${results.domain.domain}: served once these records are in place (\`npm run tenantctl -- domain ${tenantId}\` shows where it is)`,
    ],
    ...(results.domain.skipped
      ? []
      : results.domain.records.map((r): [string, string] => ['', `${r.name} ${r.type} ${r.value}`])),
    ['frontend', `s3://${results.frontend.siteBucket}/${results.frontend.sitePrefix} + config.json`],
    ['invalidation', results.invalidation.invalidationId],
  ];
  const gateway = target.endpoints?.gateway;
  if (gateway) {
    const port = new URL(gateway).port;
    const health = await gatewayRequest(gateway, `api.${tenantId}.localhost`, '/health').then(
      (r) => `${r.status} ${r.body}`,
      (error: Error) => `failed: ${error.message}`,
    );
    rows.push(['site', `http://${tenantId}.localhost:${port}/`]);
    rows.push(['API', `http://api.${tenantId}.localhost:${port}/health -> ${health}`]);
    rows.push(['sign in', `POST /auth/login with \`npm run tenantctl -- admin-credentials ${tenantId}\``]);
  }
  return rows.map(([key, value]) => `  ${key.padEnd(13)}${value}`).join('\n');
}

/**
 * A request through the local gateway with a given Host: `*.localhost` names need no DNS this way (browsers
 * resolve them to 127.0.0.1 themselves; not every resolver does).
 */
export function gatewayRequest(
  gateway: string,
  host: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(gateway);
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers, host };
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method, headers, agent: options.agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
