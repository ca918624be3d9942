import { USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** The registry row ROLLBACK_FAILED, and TenantRollbackFailed. */
export const permissions: StepPermissions = { run: [USES_REGISTRY, { putEvents: 'eventBus' }] };
