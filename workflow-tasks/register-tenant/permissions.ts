import { PlatformNames } from '../../common/names';
import { USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** The registry row and its events; the run reads the current-version pointer (the version it starts on). */
export const permissions: StepPermissions = {
  run: [
    USES_REGISTRY,
    { putEvents: 'eventBus' },
    { read: 'artifactBucket', keys: PlatformNames.tenantApiCurrentKey },
  ],
  undo: [USES_REGISTRY, { putEvents: 'eventBus' }],
};
