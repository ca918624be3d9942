import {
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { TaskEnv } from '../../common/names';
import { cellAws, ignoreNotFound, isAlreadyExists } from '../lib/aws';
import { ownedBy, tenantTags } from '../lib/tags';
import type { ValidatedTenant } from '../lib/types';

const DEFAULT_RETENTION_DAYS = 30;

/** The log group Lambda writes the tenant function's logs to. */
function logGroupNameFor(tenant: ValidatedTenant): string {
  return `/aws/lambda/${tenant.names.functionName}`;
}

/**
 * Creates the function's log group before the function exists, tagged for the tenant and with the
 * platform's retention (left to Lambda, it would keep the logs forever). One that exists is adopted: the
 * name is this tenant's, and Lambda may have made it for an earlier function of the tenant.
 */
export async function ensureLogGroup(tenant: ValidatedTenant): Promise<void> {
  const { logs } = cellAws();
  const logGroupName = logGroupNameFor(tenant);
  const tags = tenantTags(tenant.tenantId);
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName, tags }));
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await describe(logGroupName);
    if (existing) await logs.send(new TagResourceCommand({ resourceArn: existing.arn, tags }));
  }
  const retentionInDays = Number(process.env[TaskEnv.tenantLogRetentionDays] ?? DEFAULT_RETENTION_DAYS);
  await logs.send(new PutRetentionPolicyCommand({ logGroupName, retentionInDays }));
}

/** Deletes the function's log group, only if it carries this tenant's tag. */
export async function deleteLogGroup(tenant: ValidatedTenant): Promise<void> {
  const { logs } = cellAws();
  const logGroupName = logGroupNameFor(tenant);
  const existing = await describe(logGroupName);
  if (!existing) return;
  const { tags } = await logs.send(new ListTagsForResourceCommand({ resourceArn: existing.arn }));
  if (ownedBy(tags, tenant.tenantId))
    await ignoreNotFound(logs.send(new DeleteLogGroupCommand({ logGroupName })));
}

async function describe(logGroupName: string): Promise<{ arn: string } | undefined> {
  const out = await cellAws().logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroupName }));
  const group = out.logGroups?.find((g) => g.logGroupName === logGroupName);
  const arn = group?.logGroupArn ?? group?.arn?.replace(/:\*$/, '');
  return arn ? { arn } : undefined;
}
