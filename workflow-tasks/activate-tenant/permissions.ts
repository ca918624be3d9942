import { USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** The registry row ACTIVE, and TenantProvisioned. */
export const permissions: StepPermissions = { run: [USES_REGISTRY, { putEvents: 'eventBus' }] };
