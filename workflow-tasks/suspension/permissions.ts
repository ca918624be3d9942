import { PlatformNames } from '../../common/names';
import { TenantArns, USES_REGISTRY, type WorkflowPermissions } from '../../common/permissions';

/**
 * The Lambda calls of switching a tenant's alias `live` to a suspended version and back, on tenant functions
 * (offboarding suspends the same way, and the cleanup switches back).
 */
export const SWITCH_ACTIONS = {
  toSuspended: [
    'lambda:GetAlias',
    'lambda:UpdateAlias',
    'lambda:GetFunctionConfiguration',
    'lambda:UpdateFunctionConfiguration',
    'lambda:UpdateFunctionCode',
    'lambda:PublishVersion',
  ],
  back: ['lambda:UpdateAlias', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionConfiguration'],
} as const;

/** What each suspension handler may do; announcing the suspension is the only one not reading the registry. */
export const permissions: WorkflowPermissions = {
  claim: [USES_REGISTRY],
  switchToSuspended: [
    USES_REGISTRY,
    { allow: SWITCH_ACTIONS.toSuspended, on: [TenantArns.functions] },
    // Lambda reads the zip with the caller's permissions.
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  switchBack: [USES_REGISTRY, { allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] }],
  announceSuspended: [{ putEvents: 'eventBus' }],
  markActive: [USES_REGISTRY, { putEvents: 'eventBus' }],
};
