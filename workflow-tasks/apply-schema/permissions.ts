import { PlatformNames } from '../../common/names';
import { TenantArns, type StepPermissions } from '../../common/permissions';
import { IMPORT_SECRETS } from '../inspect-source/permissions';

/**
 * The tenant's secret (where its database is), the version's zip (its migrations), for a restore the
 * tenant's export in the archive, and for an import the source's credentials or its uploaded dump. It connects as the tenant, never as the master: no registry secret.
 */
export const permissions: StepPermissions = {
  run: [
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
    { read: 'archiveBucket', keys: 'exports/*' },
    // Which versions of an export and its verified record there are (workflow-tasks/records/archive.ts).
    { listVersions: 'archiveBucket', keys: 'exports/*' },
    { allow: ['secretsmanager:GetSecretValue'], on: [IMPORT_SECRETS] },
    { read: 'archiveBucket', keys: 'imports/*' },
  ],
};
