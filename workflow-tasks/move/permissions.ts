import { PlatformNames } from '../../common/names';
import {
  PlatformArns,
  READS_ACCOUNT_QUOTAS,
  TenantArns,
  USES_REGISTRY,
  type WorkflowPermissions,
} from '../../common/permissions';
import { permissions as deployFunction } from '../deploy-function/permissions';
import { permissions as storeSecret } from '../store-secret/permissions';
import { SWITCH_ACTIONS } from '../suspension/permissions';

const readsTenantSecret = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] };
/** DDL on a shared instance add-capacity made: its master secret is RDS's (the first one's is the registry's). */
const readsInstanceSecrets = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.rdsSecrets] };
const pointsTenantSecret = {
  allow: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
  on: [TenantArns.secrets],
};

/** The tenant's secret, function and API in one account, as offboarding removes them. */
const removesApi = [...(deployFunction.undo ?? []), ...(storeSecret.undo ?? [])];

/** What each handler of the move workflow may do (workflow-tasks/move/steps.ts). */
export const permissions: WorkflowPermissions = {
  // The target cell's AWS quotas are counted (a move to another cell takes a role there).
  claim: [USES_REGISTRY, ...READS_ACCOUNT_QUOTAS],
  // The target's role and database, migrated with the tenant's version's migrations (its zip).
  prepare: [
    USES_REGISTRY,
    readsTenantSecret,
    readsInstanceSecrets,
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  // To another account: the tenant's secret (its values, read in the source's account), function and API
  // made in the target's, as onboarding makes them (workflow-tasks/move/across-accounts.ts).
  deploy: [
    USES_REGISTRY,
    readsTenantSecret,
    readsInstanceSecrets,
    ...deployFunction.run,
    ...storeSecret.run,
    { allow: ['secretsmanager:PutSecretValue'], on: [TenantArns.secrets] },
  ],
  undoDeploy: [USES_REGISTRY, ...removesApi],
  // The source's tables published (its master, acting as the tenant's role) and the target subscribed (its master).
  sync: [USES_REGISTRY, readsInstanceSecrets],
  suspend: [
    USES_REGISTRY,
    { allow: SWITCH_ACTIONS.toSuspended, on: [TenantArns.functions] },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  // The source's role stopped (its master), then read as the master acting as the tenant's role; the
  // target verified as its master, or (a snapshot copy) written as the tenant's own role.
  copy: [USES_REGISTRY, readsTenantSecret, readsInstanceSecrets],
  switchOver: [USES_REGISTRY, pointsTenantSecret, readsInstanceSecrets],
  undoSwitch: [USES_REGISTRY, pointsTenantSecret, readsInstanceSecrets],
  // Within an account the function switches back; to another, the frontend's config and the API's
  // distribution tenants of the tenant's domains name the target's API.
  resume: [
    USES_REGISTRY,
    {
      allow: ['cloudfront:GetDistributionTenant', 'cloudfront:UpdateDistributionTenant'],
      on: [PlatformArns.distributionTenants],
    },
    { allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] },
    // The target's API (deploy-function's findApi: by its function's tag, else listed).
    {
      allow: ['apigateway:GET'],
      on: ['arn:{partition}:apigateway:{region}::/apis', 'arn:{partition}:apigateway:{region}::/apis/*'],
    },
    { allow: ['lambda:GetFunction'], on: [TenantArns.functions] },
    { put: 'siteBucket', keys: 'tenants/*' },
  ],
  undoSuspend: [USES_REGISTRY, { allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] }],
  // Not before CloudFront has deployed the domains' routing to the target (to another account).
  removeOld: [
    USES_REGISTRY,
    readsInstanceSecrets,
    ...removesApi,
    { allow: ['cloudfront:GetDistributionTenant'], on: [PlatformArns.distributionTenants] },
  ],
  undoPrepare: [USES_REGISTRY, readsInstanceSecrets],
  markMoved: [USES_REGISTRY, { putEvents: 'eventBus' }],
  undoClaim: [USES_REGISTRY],
};
