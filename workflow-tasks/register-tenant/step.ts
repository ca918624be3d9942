import { capacityExecutionName, type CapacitySettings } from '../../common/capacity';
import { requiredEnv } from '../../common/env';
import { EventTypes, TaskEnv } from '../../common/names';
import { currentTenantApi } from '../lib/artifact';
import { executionArnOf, executionRunning, startExecutionOnce } from '../lib/aws';
import { publishEvent } from '../lib/events';
import { tenantOf } from '../lib/handler';
import {
  capacityInForce,
  capacityPending,
  instanceOfTenant,
  placementOf,
  placeTenant,
  planCapacity,
} from '../records/capacity';
import { claimTenant, markRolledBack } from '../records/registry';
import type { StepResults, TaskEvent, ValidatedTenant } from '../lib/types';

/**
 * Registry row `PROVISIONING`, owned by this execution; another execution's tenant is refused untouched.
 * The tenant is placed first (common/capacity.ts): in the first cell whose limits leave room for it,
 * refused when none does (QuotaExceeded, naming each cell's limit), and a shared tenant goes on that cell's
 * oldest shared instance with a free place. When the free places run down to the headroom (looked at before and after the placement) the
 * next shared instance is started (`add-capacity`); with none free the step fails with CapacityPending,
 * which the state machine retries (as a wait for an onboarding slot) until that instance is there. Picks
 * the tenant API version the tenant starts on (the platform's current one), once, so that the database
 * branch and the web branch, which run side by side after this, install the same version.
 */
export async function run(event: TaskEvent): Promise<StepResults['registration']> {
  const tenant = tenantOf(event);
  // The current version is read while the account's quotas are (neither waits for the other); awaited
  // only once the tenant is placed.
  const current = currentTenantApi();
  current.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const settings = await capacityInForce();
  await makeRoom(tenant, event.executionArn, settings);
  await claimTenant(tenant, event.executionArn, (client) => placeTenant(client, tenant, settings));
  if (tenant.tier === 'shared') await makeRoom(tenant, event.executionArn, settings, true);
  const [{ version }, placement, sharedInstance] = await Promise.all([
    current,
    placementOf(tenant.tenantId),
    tenant.tier === 'shared' ? instanceOfTenant(tenant.tenantId) : undefined,
  ]);
  return {
    tenantId: tenant.tenantId,
    status: 'PROVISIONING',
    executionArn: event.executionArn,
    tenantApiVersion: version,
    ...placement,
    ...(sharedInstance ? { sharedInstance } : {}),
  };
}

/** Plans capacity (records/capacity.ts) and starts the instance it asks for; waits when there is no place. */
async function makeRoom(
  tenant: ValidatedTenant,
  executionArn: string,
  settings: CapacitySettings,
  placed = false,
): Promise<void> {
  const stateMachineArn = requiredEnv(TaskEnv.capacityStateMachineArn);
  const plan = await planCapacity(tenant, {
    executionArn,
    settings,
    executionArnOf: (instanceId) => executionArnOf(stateMachineArn, capacityExecutionName(instanceId)),
    running: executionRunning,
    placed,
  });
  // Made in the account of the cell it is for (common/cells.ts).
  if (plan.add) {
    const { instanceId, cellAccount } = plan.add;
    await startExecutionOnce(stateMachineArn, capacityExecutionName(instanceId), {
      instanceId,
      ...(cellAccount ? { cellAccount } : {}),
    });
  }
  if (plan.wait) throw capacityPending(settings);
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
