import { domainView, tenantDomains } from '../records/domains';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { tenantIdSchema } from '../../common/tenant-input';
import { logger } from '../lib/logger';
import { getTenant, listTenants, tenantView, withRegistry } from '../records/registry';
import { recentReleases, tenantReleases } from '../records/release-ledger';
import { capacityInForce, cellViews, type CellView } from '../records/capacity';

/**
 * The control-plane API: the registry, read-only, behind an IAM-authorized HTTP API (the registry lives in
 * the platform's private database, so on AWS this is how `tenantctl tenants --aws` and the console see it).
 * `GET /tenants`: every tenant as `tenantctl tenants --json` shows it; `GET /tenants/{tenantId}`: one, with
 * the ids of its resources and the releases that concerned it; `GET /releases`: the newest releases with
 * their counts, as `tenantctl releases --json` shows them; `GET /cells`: each cell's use against the limits
 * placement goes by (the deployed settings, and the AWS quotas Service Quotas has for the account), as
 * `tenantctl cells --json` shows them. Nothing here writes.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = (event.rawPath ?? '/').replace(/\/+$/, '') || '/';
  try {
    if (method !== 'GET') return answer(405, { message: 'The control-plane API only reads' });
    if (path === '/tenants') return answer(200, { tenants: (await listTenants()).map(tenantView) });
    const one = /^\/tenants\/([^/]+)$/.exec(path);
    if (one) {
      const tenantId = decodeURIComponent(one[1]!);
      if (!tenantIdSchema.safeParse(tenantId).success)
        return answer(400, { message: 'tenantId: not a tenant id' });
      const tenant = await getTenant(tenantId);
      if (!tenant) return answer(404, { message: `there is no tenant ${tenantId}` });
      return answer(200, {
        ...tenantView(tenant),
        adminEmail: tenant.adminEmail,
        executionArn: tenant.executionArn,
        resources: tenant.resources,
        domains: (await tenantDomains(tenantId)).map(domainView),
        releases: await tenantReleases(tenantId),
      });
    }
    if (path === '/releases') {
      return answer(200, { releases: await recentReleases() });
    }
    if (path === '/cells') return answer(200, { cells: await cellsInForce() });
    return answer(404, { message: 'Not Found: GET /tenants, /tenants/{tenantId}, /releases or /cells' });
  } catch (error) {
    logger.error('control-plane request failed', { path, errorName: (error as Error).name });
    return answer(500, { message: 'The registry could not be read' });
  }
}

/** Each cell's view against the limits in force. */
async function cellsInForce(): Promise<CellView[]> {
  const settings = await capacityInForce();
  return withRegistry((client) => cellViews(client, settings));
}

function answer(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
