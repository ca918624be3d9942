import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { TenantApiEnv } from '../common/names';
import { createTenantApi, type TenantApi } from './app';

let api: TenantApi | undefined;

/** The tenant's API Lambda: its tenant and secret come from the function's environment. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  api ??= createTenantApi({ tenantId: env(TenantApiEnv.tenantId), secretArn: env(TenantApiEnv.secretArn) });
  return api.handle(event);
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
