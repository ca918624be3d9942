import { createHash } from 'node:crypto';
import { domainExecutionName, domainRecords } from '../../common/domain-workflow';
import { requiredEnv } from '../../common/env';
import { TaskEnv } from '../../common/names';
import { startExecutionOnce } from '../lib/aws';
import { tenantOf } from '../lib/handler';
import type { StepResults, TaskEvent } from '../lib/types';
import { removeTenantDomains } from '../domain/steps';

/**
 * Starts the tenant's domain workflow (workflow-tasks/domain) and goes on: the tenant is live on its
 * platform address at once, its domain once the customer's records are in place. Named for this
 * onboarding and domain, so a retried step starts it once. The records to add come back with the result.
 */
export async function run(event: TaskEvent): Promise<StepResults['domain']> {
  const tenant = tenantOf(event);
  if (!tenant.domain) return { skipped: true };
  const stateMachineArn = requiredEnv(TaskEnv.domainStateMachineArn);
  // One per onboarding execution and domain.
  const key = createHash('sha256').update(`${event.executionArn}\n${tenant.domain}`).digest('hex');
  const name = domainExecutionName(tenant.tenantId, 'attach', key.slice(0, 12));
  const executionArn = await startExecutionOnce(stateMachineArn, name, {
    tenantId: tenant.tenantId,
    domain: tenant.domain,
  });
  return {
    skipped: false,
    domain: tenant.domain,
    executionArn,
    records: domainRecords(tenant.domain, requiredEnv(TaskEnv.routingEndpoint)),
  };
}

/**
 * Removes what the domain workflow this onboarding started has made. That workflow is left to run: its
 * next step finds the domain no longer its own (or the tenant no longer live) and removes whatever it made
 * meanwhile itself (workflow-tasks/domain/steps.ts), which stopping it would not.
 */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  if (tenant.domain) await removeTenantDomains(tenant.tenantId);
}
