import { permissions as domain } from '../domain/permissions';
import { PlatformNames } from '../../common/names';
import {
  inAccount,
  PlatformArns,
  TenantArns,
  USES_REGISTRY,
  type WorkflowPermissions,
} from '../../common/permissions';
import { SWITCH_ACTIONS } from '../suspension/permissions';

const readsTenantSecret = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] };

/**
 * What each offboarding handler may do: the removals are onboarding's undos, with their permissions. The
 * export, and the removals of the domain, the frontend, the function and the secret, never read the
 * registry, so they cannot read its secret (the shared instance's master password) either.
 */
export const permissions: WorkflowPermissions = {
  // Taking over an offboarding whose execution is no longer running.
  claim: [USES_REGISTRY, { allow: ['states:DescribeExecution'], on: [inAccount('states', 'execution:*')] }],
  suspend: [
    USES_REGISTRY,
    { allow: SWITCH_ACTIONS.toSuspended, on: [TenantArns.functions] },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  exportDatabase: [readsTenantSecret, { put: 'archiveBucket', keys: 'exports/*' }],
  // Reads the export back and writes `latest.json`; never deletes (Object Lock would refuse anyway).
  verify: [
    USES_REGISTRY,
    readsTenantSecret,
    { read: 'archiveBucket', keys: 'exports/*' },
    { put: 'archiveBucket', keys: 'exports/*' },
  ],
  // resume and recordFailure run only when the offboarding fails (before, after the export is verified).
  resume: [USES_REGISTRY, readsTenantSecret, { allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] }],
  removeDomain: domain.detach ?? [],
  removeFrontend: [
    { asStep: 'publish-frontend', handler: 'undo' },
    { allow: ['cloudfront:CreateInvalidation'], on: [PlatformArns.distribution] },
  ],
  removeFunction: [{ asStep: 'deploy-function', handler: 'undo' }],
  removeDatabase: [
    { asStep: 'create-database', handler: 'undo' },
    // A dedicated instance is deleted with a final snapshot: CreateDBSnapshot is authorized on both the
    // instance and the snapshot (db* and snapshot* are both required resources of it). AddTagsToResource:
    // the instance copies its tags to the snapshot (CopyTagsToSnapshot); not asked for by the local check.
    {
      allow: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
      on: [TenantArns.instances, TenantArns.snapshots],
    },
  ],
  removeSecret: [{ asStep: 'store-secret', handler: 'undo' }],
  markOffboarded: [USES_REGISTRY, { putEvents: 'eventBus' }],
  recordFailure: [USES_REGISTRY, { putEvents: 'eventBus' }],
};
