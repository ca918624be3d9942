import type { StepPermissions } from '../../common/permissions';
import { permissions as domain } from '../domain/permissions';

/** Starting the tenant's domain workflow; undone, removing what it made (as a detach does). */
export const permissions: StepPermissions = {
  run: [{ allow: ['states:StartExecution'], on: ['{domainStateMachine}'] }],
  undo: domain.detach ?? [],
};
