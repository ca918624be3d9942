/**
 * What an operator may do to a tenant from its console page, by its registry state (the lifecycle table,
 * workflow-tasks/records/lifecycle.ts, the same rule the workflows' claims enforce): suspend, resume,
 * offboard, restore from its latest export, retry a rolled-back onboarding. Each is one execution of the
 * workflow `tenantctl` starts for it, named the way `tenantctl` names it.
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { allows, type LifecycleState } from '../workflow-tasks/records/lifecycle';
import { startAttempt } from '../cli/attempts';
import type { TenantDetail } from './registry';

export const TENANT_ACTIONS = ['suspend', 'resume', 'offboard', 'restore', 'retry'] as const;
export type TenantAction = (typeof TENANT_ACTIONS)[number];

/** An action the page offers: its button, and what the confirmation says will happen. */
export interface ActionOffer {
  action: TenantAction;
  label: string;
  consequence: string;
}

/** The actions the tenant's state allows (retry: a rolled-back onboarding or restore, started again). */
export function actionsFor(tenant: TenantDetail): ActionOffer[] {
  const state = tenant.status as LifecycleState;
  const id = tenant.tenantId;
  const offers: ActionOffer[] = [];
  if (allows(state, 'suspend'))
    offers.push({
      action: 'suspend',
      label: 'Suspend',
      consequence: `${id}'s API will answer 503 on every route but /health; nothing is deleted.`,
    });
  if (allows(state, 'resume'))
    offers.push({
      action: 'resume',
      label: 'Resume',
      consequence: `${id} will serve again on the version it ran.`,
    });
  if (allows(state, 'offboard'))
    offers.push({
      action: 'offboard',
      label: tenant.status === 'OFFBOARDING_FAILED' ? 'Offboard again' : 'Offboard',
      consequence: `${id}'s data will be exported and verified, then its database, function, API and site deleted. Restore brings it back from the export.`,
    });
  if (allows(state, 'restore') && tenant.offboarding?.export)
    offers.push({
      action: 'restore',
      label: 'Restore',
      consequence: `${id} will be onboarded again from its export ${tenant.offboarding.export.key}: its rows, users and passwords.`,
    });
  if (tenant.status === 'ROLLED_BACK')
    offers.push({
      action: 'retry',
      label: 'Retry onboarding',
      consequence: `${id}'s last onboarding will be started again with the same input.`,
    });
  return offers;
}

/**
 * Starts `action` on the tenant (which must allow it now): the execution's ARN. `workflows` are the
 * platform's state machines by workflow name.
 */
export async function startAction(
  sfn: SFNClient,
  workflows: Readonly<Record<string, string>>,
  tenant: TenantDetail,
  action: TenantAction,
): Promise<string> {
  if (!actionsFor(tenant).some((offer) => offer.action === action))
    throw new ActionRefused(`${tenant.tenantId} is ${tenant.status}: ${action} is not possible now`);
  const { workflow, operation, input } = await plan(sfn, tenant, action);
  const stateMachineArn = workflows[workflow];
  if (!stateMachineArn) throw new ActionRefused(`the ${workflow} state machine is not known to this console`);
  return startAttempt(sfn, stateMachineArn, operation, input);
}

export class ActionRefused extends Error {
  override name = 'ActionRefused';
}

async function plan(
  sfn: SFNClient,
  tenant: TenantDetail,
  action: TenantAction,
): Promise<{ workflow: string; operation: string; input: Record<string, unknown> }> {
  const tenantId = tenant.tenantId;
  switch (action) {
    case 'suspend':
    case 'resume':
      return { workflow: 'suspension', operation: action, input: { tenantId, action } };
    case 'offboard':
      return { workflow: 'offboarding', operation: 'offboard', input: { tenantId } };
    case 'restore':
      // The export its offboarding verified; the identity the registry holds (tenantctl restore may use
      // the dedicated tier's final snapshot instead: the console loads the export).
      return {
        workflow: 'onboarding',
        operation: 'restore',
        input: {
          tenantId,
          companyName: tenant.companyName,
          adminEmail: tenant.adminEmail,
          tier: tenant.tier,
          ...(tenant.domain ? { domain: tenant.domain } : {}),
          restoreFrom: tenant.offboarding?.export?.key,
        },
      };
    case 'retry': {
      const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: tenant.executionArn }));
      const again = JSON.parse(input ?? '{}') as Record<string, unknown>;
      const operation = again.restoreFrom ? 'restore' : again.importFrom ? 'import' : 'onboard';
      return { workflow: 'onboarding', operation, input: again };
    }
  }
}
