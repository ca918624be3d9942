import { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { TaskEnv } from '../../common/names';
import { aws } from '../lib/aws';
import { requiredEnv } from '../../common/env';
import { tenantOf } from '../lib/handler';
import { getTenant, recordResources } from '../records/registry';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Invalidates the tenant's paths on the distribution. CloudFront deduplicates on CallerReference; the id is
 * also recorded in the registry, so a re-run returns the first invalidation even where that is not honoured.
 */
export async function run(event: TaskEvent): Promise<StepResults['invalidation']> {
  const tenant = tenantOf(event);
  const distributionId = requiredEnv(TaskEnv.distributionId);
  const paths = [`/${tenant.names.sitePrefix}*`];

  const registered = await getTenant(tenant.tenantId);
  const recorded =
    registered?.executionArn === event.executionArn ? registered.resources.invalidationId : undefined;
  if (typeof recorded === 'string') return { distributionId, invalidationId: recorded, paths };

  const out = await aws().cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: distributionId,
      InvalidationBatch: {
        CallerReference: `${tenant.tenantId}:${event.executionArn.split(':').pop() ?? ''}`,
        Paths: { Quantity: paths.length, Items: paths },
      },
    }),
  );
  const invalidationId = out.Invalidation?.Id ?? '';
  await recordResources(tenant.tenantId, event.executionArn, { invalidationId });
  return { distributionId, invalidationId, paths };
}
