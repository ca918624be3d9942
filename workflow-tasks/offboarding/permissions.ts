import { PlatformNames } from '../../common/names';
import { inAccount, TenantArns, type WorkflowPermissions } from '../../common/permissions';
import { SWITCH_ACTIONS } from '../suspension/permissions';

const readsTenantSecret = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] };

/**
 * What each offboarding handler may do besides reading the registry: the removals are onboarding's undos,
 * with their permissions.
 */
export const permissions: WorkflowPermissions = {
  // Taking over an offboarding whose execution is no longer running.
  claim: [{ allow: ['states:DescribeExecution'], on: [inAccount('states', 'execution:*')] }],
  suspend: [
    { allow: SWITCH_ACTIONS.toSuspended, on: [TenantArns.functions] },
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
  ],
  exportDatabase: [readsTenantSecret, { put: 'archiveBucket', keys: 'exports/*' }],
  // Reads the export back and writes `latest.json`; never deletes (Object Lock would refuse anyway).
  verify: [
    readsTenantSecret,
    { read: 'archiveBucket', keys: 'exports/*' },
    { put: 'archiveBucket', keys: 'exports/*' },
  ],
  resume: [{ allow: SWITCH_ACTIONS.back, on: [TenantArns.functions] }],
  removeDomain: [{ asStep: 'attach-domain', handler: 'undo' }],
  removeFrontend: [
    { asStep: 'publish-frontend', handler: 'undo' },
    { asStep: 'invalidate-cache', handler: 'run' },
  ],
  removeFunction: [{ asStep: 'deploy-function', handler: 'undo' }],
  removeDatabase: [
    { asStep: 'create-database', handler: 'undo' },
    // A dedicated instance is deleted with a final snapshot: CreateDBSnapshot is authorized on both the
    // instance and the snapshot (db* and snapshot* are both required resources of it).
    {
      allow: ['rds:CreateDBSnapshot', 'rds:AddTagsToResource'],
      on: [TenantArns.instances, TenantArns.snapshots],
    },
  ],
  removeSecret: [{ asStep: 'store-secret', handler: 'undo' }],
  markOffboarded: [{ putEvents: 'eventBus' }],
  recordFailure: [{ putEvents: 'eventBus' }],
};
