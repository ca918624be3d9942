import { PlatformNames } from '../../common/names';
import { USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/**
 * The registry row; the run reads the current-version pointer (the version it starts on), the undo
 * publishes TenantProvisioningFailed.
 */
export const permissions: StepPermissions = {
  run: [USES_REGISTRY, { read: 'artifactBucket', keys: PlatformNames.tenantApiCurrentKey }],
  undo: [USES_REGISTRY, { putEvents: 'eventBus' }],
};
