import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { paginateGetExecutionHistory } from '@aws-sdk/client-sfn';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { BRANCHES, DEDICATED_INSTANCE } from '../../common/steps';
import { describeInstance } from '../create-database/step';
import { putTenantAlarm } from '../lib/alarms';
import { aws, awsFor } from '../lib/aws';
import { readCredentialsSecret, withClient } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { ensureTenantDatabase, readTenantSecret } from '../lib/tenant-db';
import type { StepResults, TaskEvent } from '../lib/types';

/** RDS states an instance does not leave by itself: waiting longer cannot help. */
export const DEAD_ENDS = new Set([
  'failed',
  'incompatible-network',
  'incompatible-option-group',
  'incompatible-parameters',
  'incompatible-restore',
  'inaccessible-encryption-credentials',
  'storage-full',
  'deleting',
]);

/**
 * One round of the dedicated tier's wait loop: reads the instance's status. Not yet available: the loop
 * waits and asks again, for a bounded number of rounds, unless the web branch beside it has failed (the
 * rollback removes the instance, so the loop stops: `abandoned`). Available: the tenant's role and database are set
 * up on it (as on the shared instance), the tenant's secret is pointed at its endpoint, and the instance
 * gets its CPU alarm (removed with the instance by the undo of "Create database").
 */
export async function run(event: TaskEvent): Promise<StepResults['instance']> {
  const tenant = tenantOf(event);
  const rounds = (event.state.results?.instance?.rounds ?? 0) + 1;
  const instance = await describeInstance(tenant.names.instanceId);
  const status = instance?.DBInstanceStatus ?? 'missing';
  if (!instance || DEAD_ENDS.has(status)) {
    throw new OnboardingError(
      PermanentErrors.InstanceFailed,
      `RDS instance ${tenant.names.instanceId} is ${status}`,
    );
  }
  if (status !== 'available') {
    if (rounds >= DEDICATED_INSTANCE.maxRounds) {
      throw new OnboardingError(
        PermanentErrors.InstanceNotReadyInTime,
        `RDS instance ${tenant.names.instanceId} is still ${status} after ${rounds} checks`,
      );
    }
    if (await webBranchFailed(event.executionArn)) return { status: DEDICATED_INSTANCE.abandoned, rounds };
    return { status, rounds };
  }

  const host = instance.Endpoint?.Address ?? '';
  const port = instance.Endpoint?.Port ?? 5432;
  const masterSecretArn = instance.MasterUserSecret?.SecretArn;
  if (!masterSecretArn) {
    throw new OnboardingError(
      PermanentErrors.InstanceFailed,
      `RDS instance ${tenant.names.instanceId} has no managed master secret`,
    );
  }
  const master = await readCredentialsSecret(masterSecretArn);
  const { secretArn } = resultOf(event, 'secret');
  const secret = await readTenantSecret(secretArn);
  await withClient({ host, port, database: 'postgres', ...master }, (client) =>
    // Its own instance: its connections are its instance's max_connections.
    ensureTenantDatabase(client, tenant.names, secret.password, 'unlimited'),
  );
  await awsFor(secretArn).secrets.send(
    new PutSecretValueCommand({
      SecretId: secretArn,
      SecretString: JSON.stringify({ ...secret, host, port }),
    }),
  );
  await putTenantAlarm(tenant, 'db-cpu');
  return { status, rounds, host, port };
}

/** Whether this execution's web branch has ended in its failure state (read from the execution's history). */
async function webBranchFailed(executionArn: string): Promise<boolean> {
  const pages = paginateGetExecutionHistory(
    { client: aws().sfn },
    { executionArn, reverseOrder: true, includeExecutionData: false, maxResults: 1000 },
  );
  for await (const page of pages) {
    if (page.events?.some((e) => e.stateEnteredEventDetails?.name === BRANCHES.failedStateName.web))
      return true;
  }
  return false;
}
