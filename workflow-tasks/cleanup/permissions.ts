import {
  inAccount,
  TenantArns,
  USES_REGISTRY,
  type Grant,
  type WorkflowPermissions,
} from '../../common/permissions';
import { IMPORT_SOURCE, STEPS } from '../../common/steps';
import { permissions as capacityPermissions } from '../capacity/permissions';
import { permissions as movePermissions } from '../move/permissions';
import { SWITCH_ACTIONS } from '../suspension/permissions';

/** The move handlers releaseMoveOf runs: the rollback's, or the steps after the point of no return. */
const MOVE_RELEASE = [
  'undoSwitch',
  'undoSuspend',
  'undoDeploy',
  'undoPrepare',
  'undoClaim',
  'resume',
  'removeOld',
  'markMoved',
] as const;

/**
 * Every onboarding undo (the last publishes TenantProvisioningFailed) and the deletion of an import's
 * credentials, a tenant's switch back (an
 * offboarding or a suspension put back), a move's rollback or its finish (workflow-tasks/move), an
 * unregistered shared instance's deletion (workflow-tasks/capacity), and whether the execution has ended (looked up by the ARN the
 * event names, as offboarding's claim does; its input says which suspension it was).
 */
export const permissions: WorkflowPermissions = {
  cleanUp: [
    USES_REGISTRY,
    ...STEPS.filter((step) => step.undoStateName).map((step): Grant => ({
      asStep: step.id,
      handler: 'undo',
    })),
    { asStep: IMPORT_SOURCE.id, handler: 'undo' },
    { allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] },
    ...MOVE_RELEASE.flatMap((handler) => movePermissions[handler] ?? []),
    // An addition of a shared instance never registered: its rollback.
    ...(capacityPermissions.rollback ?? []),
    { allow: ['states:DescribeExecution'], on: [inAccount('states', 'execution:*')] },
  ],
};
