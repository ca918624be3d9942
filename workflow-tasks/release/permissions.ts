import { PlatformNames } from '../../common/names';
import { TenantArns, USES_REGISTRY, type Grant, type WorkflowPermissions } from '../../common/permissions';

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
  // Lambda reads the zip with the caller's permissions.
  updateFunctionCode: [onFunctions('lambda:UpdateFunctionCode', 'lambda:PublishVersion'), versions],
  checkHealth: [onFunctions('lambda:InvokeFunction')],
  moveAlias: [onFunctions('lambda:UpdateAlias')],
  publishFrontend: frontends,
  recordTenantUpdated: [USES_REGISTRY],
  keepOldVersion: [
    USES_REGISTRY,
    tenantSecrets,
    ...frontends,
    onFunctions('lambda:GetAlias', 'lambda:UpdateAlias'),
  ],
  closeWave: [
    USES_REGISTRY,
    {
      allow: ['cloudfront:CreateInvalidation'],
      on: ['arn:{partition}:cloudfront::{account}:distribution/{distributionId}'],
    },
  ],
  finish: [USES_REGISTRY],
};
