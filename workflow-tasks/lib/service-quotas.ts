/**
 * The AWS quotas placement counts against (common/capacity.ts SERVICE_QUOTAS) as applied to the account
 * now, read from Service Quotas and kept for TaskEnv.serviceQuotasCacheSeconds. A quota that cannot be read
 * (none in this region or partition, a denied, throttled or failed call, a value that is not a count) is
 * left out, so the setting stands for it: reading a quota never fails a placement. Why is logged.
 */
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { SERVICE_QUOTAS, type QuotaName, type Quotas, type ServiceQuota } from '../../common/capacity';
import { TaskEnv } from '../../common/names';
import { aws } from './aws';
import { logger } from './logger';

const DEFAULT_CACHE_SECONDS = 60;

let kept: { readAt: number; quotas: Partial<Quotas> } | undefined;

export async function appliedQuotas(): Promise<Partial<Quotas>> {
  const given = Number(process.env[TaskEnv.serviceQuotasCacheSeconds] ?? DEFAULT_CACHE_SECONDS);
  const keepMs = (Number.isFinite(given) && given >= 0 ? given : DEFAULT_CACHE_SECONDS) * 1000;
  if (kept && Date.now() - kept.readAt < keepMs) return kept.quotas;
  const read = await Promise.all(
    (Object.entries(SERVICE_QUOTAS) as [QuotaName, ServiceQuota][]).map(
      async ([name, quota]) => [name, await appliedValue(quota)] as const,
    ),
  );
  const quotas: Partial<Quotas> = {};
  for (const [name, value] of read) if (value !== undefined) quotas[name] = value;
  kept = { readAt: Date.now(), quotas };
  return quotas;
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
