import { PlatformNames } from '../../common/names';
import type { StepPermissions } from '../../common/permissions';

/** The version's frontend (in its zip) into the site bucket's `tenants/` prefix; the undo empties it. */
export const permissions: StepPermissions = {
  run: [
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
    { put: 'siteBucket', keys: 'tenants/*' },
  ],
  undo: [
    { delete: 'siteBucket', keys: 'tenants/*' },
    { allow: ['s3:ListBucket'], on: ['{siteBucketArn}'] },
  ],
};
