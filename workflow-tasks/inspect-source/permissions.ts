import { PlatformNames } from '../../common/names';
import { inAccount, USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/** The import's own secrets (tenantctl import makes one per attempt): read by the run, deleted by the undo. */
export const IMPORT_SECRETS = inAccount('secretsmanager', 'secret:tenant-imports/*');

/**
 * The run reads the source's credentials or the uploaded dump, and the current version's migrations, which
 * it applies in a rolled-back transaction on the registry's database to learn each version's tables. The
 * undo deletes the credentials (unless the registry shows another execution importing the tenant).
 */
export const permissions: StepPermissions = {
  run: [
    USES_REGISTRY,
    { allow: ['secretsmanager:GetSecretValue'], on: [IMPORT_SECRETS] },
    { read: 'archiveBucket', keys: 'imports/*' },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  undo: [USES_REGISTRY, { allow: ['secretsmanager:DeleteSecret'], on: [IMPORT_SECRETS] }],
};
