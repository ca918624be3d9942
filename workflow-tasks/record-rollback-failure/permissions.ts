import { USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** The registry row ROLLBACK_FAILED, and TenantRollbackFailed: only when an undo fails after its retries. */
export const permissions: StepPermissions = { run: [USES_REGISTRY, { putEvents: 'eventBus' }] };
