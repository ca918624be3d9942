import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { requiredEnv } from '../common/env';
import { TenantApiEnv } from '../common/names';
import { createTenantApi, type TenantApi } from './app';

let api: TenantApi | undefined;

/** The tenant's API Lambda: its tenant and secret come from the function's environment. */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  api ??= createTenantApi({
    tenantId: requiredEnv(TenantApiEnv.tenantId),
    secretArn: requiredEnv(TenantApiEnv.secretArn),
    suspended: process.env[TenantApiEnv.suspended] === 'true',
  });
  return api.handle(event);
}
