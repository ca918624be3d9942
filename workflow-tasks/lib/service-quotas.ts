/**
 * The AWS quotas placement counts against (common/capacity.ts SERVICE_QUOTAS) as an account has them now
 * (the platform's, or a cell's own: common/cells.ts):
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
  type AccountRead,
  type QuotaName,
  type Quotas,
  type ServiceQuota,
} from '../../common/capacity';
import { TaskEnv } from '../../common/names';
import { awsIn, type AwsClients } from './aws';
import { logger } from './logger';

const DEFAULT_CACHE_SECONDS = 60;

/** What was read of each account (by its id, '' for the platform's), and when. */
const kept = new Map<string, { readAt: number; quotas: AccountRead }>();
/** The lists last read: a list that cannot be read now is taken as it was then (IAM throttles lists). */
const lastListed = new Map<string, { roles?: readonly string[]; instances?: readonly string[] }>();

/** The quotas of `account` (undefined: the platform's), read with the task's role there. */
export async function accountQuotas(account?: string): Promise<AccountRead> {
  const given = Number(process.env[TaskEnv.serviceQuotasCacheSeconds] ?? DEFAULT_CACHE_SECONDS);
  const keepMs = (Number.isFinite(given) && given >= 0 ? given : DEFAULT_CACHE_SECONDS) * 1000;
  const key = account ?? '';
  const found = kept.get(key);
  if (found && Date.now() - found.readAt < keepMs) return found.quotas;
  const clients = awsIn(account);
  const last = lastListed.get(key) ?? {};
  lastListed.set(key, last);
  const [read, roles, instances] = await Promise.all([
    Promise.all(
      (Object.entries(SERVICE_QUOTAS) as [QuotaName, ServiceQuota][]).map(
        async ([name, quota]) => [name, await appliedValue(clients, quota)] as const,
      ),
    ),
    listed(last, 'roles', () => roleNames(clients)),
    listed(last, 'instances', () => instanceIds(clients)),
  ]);
  const applied: Partial<Quotas> = {};
  for (const [name, value] of read) if (value !== undefined) applied[name] = value;
  const inventory = { ...(roles ? { roles } : {}), ...(instances ? { instances } : {}) };
  const quotas = { applied, account: inventory };
  kept.set(key, { readAt: Date.now(), quotas });
  return quotas;
}

async function appliedValue(clients: AwsClients, quota: ServiceQuota): Promise<number | undefined> {
  const { serviceCode, quotaCode } = quota;
  const client = quota.global ? clients.globalServiceQuotas : clients.serviceQuotas;
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
  last: { roles?: readonly string[]; instances?: readonly string[] },
  what: 'roles' | 'instances',
  list: () => Promise<string[]>,
): Promise<readonly string[] | undefined> {
  try {
    last[what] = await list();
  } catch (error) {
    logger.warn(
      "the account's use could not be listed; the last list read stands, else only the registry's",
      {
        what,
        error: (error as Error).name,
      },
    );
  }
  return last[what];
}

/** Every IAM role of the account, by name (ListRoles, every page). */
async function roleNames(clients: AwsClients): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListRoles({ client: clients.iam }, {}))
    names.push(...(page.Roles ?? []).map((r) => r.RoleName ?? ''));
  return names;
}

/** Every RDS instance of the region, by identifier (DescribeDBInstances, every page). */
async function instanceIds(clients: AwsClients): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of paginateDescribeDBInstances({ client: clients.rds }, {}))
    ids.push(...(page.DBInstances ?? []).map((i) => i.DBInstanceIdentifier ?? ''));
  return ids;
}
