/**
 * The AWS quotas placement counts against (common/capacity.ts SERVICE_QUOTAS) as the account has them now:
 * each one's applied value, read from Service Quotas, and what the account holds of it beside the
 * platform's tenants (its roles that are not a tenant function's, its RDS instances that are not the
 * platform's), kept together for TaskEnv.serviceQuotasCacheSeconds. What cannot be read (no quota in this
 * region or partition, a denied, throttled or failed call, a value that is not a count) is left out, so the
 * setting stands for a quota and nothing is counted beside the tenants: reading never fails a placement.
 * Why is logged.
 */
import { paginateListRoles } from '@aws-sdk/client-iam';
import { paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import {
  isPlatformInstance,
  SERVICE_QUOTAS,
  type QuotaName,
  type Quotas,
  type ServiceQuota,
  type UseBesideTenants,
} from '../../common/capacity';
import { isTenantFunctionRole, TaskEnv } from '../../common/names';
import { aws } from './aws';
import { logger } from './logger';

const DEFAULT_CACHE_SECONDS = 60;

/** The account's quotas as read: their applied values, and its use of them beside the tenants. */
export interface AccountQuotas {
  readonly applied: Partial<Quotas>;
  readonly besideTenants: UseBesideTenants;
}

let kept: { readAt: number; quotas: AccountQuotas } | undefined;

export async function accountQuotas(): Promise<AccountQuotas> {
  const given = Number(process.env[TaskEnv.serviceQuotasCacheSeconds] ?? DEFAULT_CACHE_SECONDS);
  const keepMs = (Number.isFinite(given) && given >= 0 ? given : DEFAULT_CACHE_SECONDS) * 1000;
  if (kept && Date.now() - kept.readAt < keepMs) return kept.quotas;
  const [read, iamRoles, rdsDbInstances] = await Promise.all([
    Promise.all(
      (Object.entries(SERVICE_QUOTAS) as [QuotaName, ServiceQuota][]).map(
        async ([name, quota]) => [name, await appliedValue(quota)] as const,
      ),
    ),
    countedOrUndefined('iamRoles', rolesBesideTenants),
    countedOrUndefined('rdsDbInstances', instancesBesidePlatform),
  ]);
  const applied: Partial<Quotas> = {};
  for (const [name, value] of read) if (value !== undefined) applied[name] = value;
  const besideTenants: UseBesideTenants = {};
  if (iamRoles !== undefined) besideTenants.iamRoles = iamRoles;
  if (rdsDbInstances !== undefined) besideTenants.rdsDbInstances = rdsDbInstances;
  kept = { readAt: Date.now(), quotas: { applied, besideTenants } };
  return kept.quotas;
}

async function appliedValue(quota: ServiceQuota): Promise<number | undefined> {
  const { serviceCode, quotaCode } = quota;
  const client = quota.global ? aws().globalServiceQuotas : aws().serviceQuotas;
  try {
    const { Quota } = await client.send(
      new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: quotaCode }),
    );
    const value = Quota?.Value;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 1) return Math.floor(value);
    logger.warn('Service Quotas gave no count for a quota; its setting stands', { serviceCode, quotaCode });
  } catch (error) {
    logger.warn('Service Quotas could not be read; the setting stands', {
      serviceCode,
      quotaCode,
      error: (error as Error).name,
    });
  }
  return undefined;
}

async function countedOrUndefined(
  quota: keyof UseBesideTenants,
  count: () => Promise<number>,
): Promise<number | undefined> {
  try {
    return await count();
  } catch (error) {
    logger.warn("the account's use beside the tenants could not be read; only the tenants count", {
      quota,
      error: (error as Error).name,
    });
    return undefined;
  }
}

/** The account's IAM roles that are not a tenant function's (ListRoles, every page). */
async function rolesBesideTenants(): Promise<number> {
  let count = 0;
  for await (const page of paginateListRoles({ client: aws().iam }, {}))
    count += (page.Roles ?? []).filter((r) => !isTenantFunctionRole(r.RoleName ?? '')).length;
  return count;
}

/** The region's RDS instances that are neither a shared instance nor a dedicated tenant's. */
async function instancesBesidePlatform(): Promise<number> {
  let count = 0;
  for await (const page of paginateDescribeDBInstances({ client: aws().rds }, {}))
    count += (page.DBInstances ?? []).filter((i) => !isPlatformInstance(i.DBInstanceIdentifier ?? '')).length;
  return count;
}
