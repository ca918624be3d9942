/**
 * The AWS quotas placement counts against (common/capacity.ts SERVICE_QUOTAS) as the account has them now:
 * each one's applied value, read from Service Quotas, and what the account holds of them (every role's
 * name, every RDS instance's identifier: AccountInventory), kept together for
 * TaskEnv.serviceQuotasCacheSeconds. A quota that cannot be read (none in this region or partition, a
 * denied, throttled or failed call, a value that is not a count) is left out, so its setting stands; a list
 * that cannot be read is the last one read, or none (only the registry's use counts): reading never fails a
 * placement. Why is logged.
 */
import { paginateListRoles } from '@aws-sdk/client-iam';
import { paginateDescribeDBInstances } from '@aws-sdk/client-rds';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import {
  SERVICE_QUOTAS,
  type AccountInventory,
  type QuotaName,
  type Quotas,
  type ServiceQuota,
} from '../../common/capacity';
import { TaskEnv } from '../../common/names';
import { aws } from './aws';
import { logger } from './logger';

const DEFAULT_CACHE_SECONDS = 60;

/** The account's quotas as read: their applied values, and what it holds of them. */
export interface AccountQuotas {
  readonly applied: Partial<Quotas>;
  readonly account: AccountInventory;
}

let kept: { readAt: number; quotas: AccountQuotas } | undefined;
/** The lists last read: a list that cannot be read now is taken as it was then (IAM throttles lists). */
const lastListed: { roles?: readonly string[]; instances?: readonly string[] } = {};

export async function accountQuotas(): Promise<AccountQuotas> {
  const given = Number(process.env[TaskEnv.serviceQuotasCacheSeconds] ?? DEFAULT_CACHE_SECONDS);
  const keepMs = (Number.isFinite(given) && given >= 0 ? given : DEFAULT_CACHE_SECONDS) * 1000;
  if (kept && Date.now() - kept.readAt < keepMs) return kept.quotas;
  const [read, roles, instances] = await Promise.all([
    Promise.all(
      (Object.entries(SERVICE_QUOTAS) as [QuotaName, ServiceQuota][]).map(
        async ([name, quota]) => [name, await appliedValue(quota)] as const,
      ),
    ),
    listed('roles', roleNames),
    listed('instances', instanceIds),
  ]);
  const applied: Partial<Quotas> = {};
  for (const [name, value] of read) if (value !== undefined) applied[name] = value;
  const account = { ...(roles ? { roles } : {}), ...(instances ? { instances } : {}) };
  kept = { readAt: Date.now(), quotas: { applied, account } };
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

async function listed(
  what: keyof typeof lastListed,
  list: () => Promise<string[]>,
): Promise<readonly string[] | undefined> {
  try {
    lastListed[what] = await list();
  } catch (error) {
    logger.warn(
      "the account's use could not be listed; the last list read stands, else only the registry's",
      {
        what,
        error: (error as Error).name,
      },
    );
  }
  return lastListed[what];
}

/** Every IAM role of the account, by name (ListRoles, every page). */
async function roleNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListRoles({ client: aws().iam }, {}))
    names.push(...(page.Roles ?? []).map((r) => r.RoleName ?? ''));
  return names;
}

/** Every RDS instance of the region, by identifier (DescribeDBInstances, every page). */
async function instanceIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of paginateDescribeDBInstances({ client: aws().rds }, {}))
    ids.push(...(page.DBInstances ?? []).map((i) => i.DBInstanceIdentifier ?? ''));
  return ids;
}
