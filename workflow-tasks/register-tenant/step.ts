import { EventTypes } from '../../common/names';
import { currentTenantApi } from '../lib/artifact';
import { publishEvent } from '../lib/events';
import { tenantOf } from '../lib/handler';
import { claimTenant, markRolledBack } from '../records/registry';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Registry row `PROVISIONING`, owned by this execution; another execution's tenant is refused untouched.
 * Picks the tenant API version the tenant starts on (the platform's current one), once, so that the
 * database branch and the web branch, which run side by side after this, install the same version.
 */
export async function run(event: TaskEvent): Promise<StepResults['registration']> {
  const tenant = tenantOf(event);
  // Claimed first: an onboarding that waits for a slot reads nothing else while it waits.
  await claimTenant(tenant, event.executionArn);
  const { version } = await currentTenantApi();
  return {
    tenantId: tenant.tenantId,
    status: 'PROVISIONING',
    executionArn: event.executionArn,
    tenantApiVersion: version,
  };
}

/**
 * Last undo of the chain: marks the tenant `ROLLED_BACK` with the error and tells the bus. Only the row this
 * execution owns is touched, so a losing duplicate execution changes nothing of the winner's; when the
 * registration itself failed before writing, the failed signup is recorded as a `ROLLED_BACK` row.
 */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  const owned = await markRolledBack(tenant, event.executionArn, event.state.error ?? null);
  if (!owned) return;
  await publishEvent(EventTypes.TenantProvisioningFailed, {
    tenantId: tenant.tenantId,
    executionArn: event.executionArn,
    error: event.state.error?.Error ?? 'Unknown',
    cause: event.state.error?.Cause ?? '',
  });
}
