import { PlatformNames } from '../../common/names';
import { TenantArns, USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/**
 * The tenant's secret (where its database is), the version's zip (its migrations), and for a restore the
 * tenant's export in the archive.
 */
export const permissions: StepPermissions = {
  run: [
    USES_REGISTRY,
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
    { read: 'archiveBucket', keys: 'exports/*' },
  ],
};
