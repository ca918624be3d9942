import { PlatformNames } from '../../common/names';
import {
  PlatformArns,
  TenantArns,
  USES_REGISTRY,
  type Grant,
  type WorkflowPermissions,
} from '../../common/permissions';

const versions: Grant = { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` };
const tenantSecrets: Grant = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] };
/** On the tenant functions (`tenant-*`, their versions and alias included). */
const onFunctions = (...actions: string[]): Grant => ({ allow: actions, on: [TenantArns.functions] });
const frontends: Grant[] = [versions, { put: 'siteBucket', keys: 'tenants/*' }];

/** What each release handler may do, on the tenant resources common/names.ts names. */
export const permissions: WorkflowPermissions = {
  plan: [USES_REGISTRY, versions],
  claim: [USES_REGISTRY, onFunctions('lambda:GetAlias')],
  migrateDatabase: [tenantSecrets, versions],
  // Lambda reads the zip with the caller's permissions. PublishVersion: the update publishes (Publish: true);
  // kept for AWS's authorization of that, which the local check does not ask for.
  updateFunctionCode: [onFunctions('lambda:UpdateFunctionCode', 'lambda:PublishVersion'), versions],
  checkHealth: [onFunctions('lambda:InvokeFunction')],
  moveAlias: [onFunctions('lambda:UpdateAlias')],
  publishFrontend: frontends,
  // Deletes versions by their qualified ARN: the grant cannot delete a function.
  pruneVersions: [
    onFunctions('lambda:ListVersionsByFunction', 'lambda:ListAliases'),
    { allow: ['lambda:DeleteFunction'], on: [TenantArns.functionVersions] },
  ],
  recordTenantUpdated: [USES_REGISTRY],
  // Puts back what the failed wave changed: the alias and the frontend only when they had been moved.
  keepOldVersion: [
    USES_REGISTRY,
    tenantSecrets,
    ...frontends,
    onFunctions('lambda:GetAlias', 'lambda:UpdateAlias'),
  ],
  closeWave: [USES_REGISTRY, { allow: ['cloudfront:CreateInvalidation'], on: [PlatformArns.distribution] }],
  finish: [USES_REGISTRY],
};
