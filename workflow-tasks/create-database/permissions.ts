import {
  ALARM_REMOVAL,
  inAccount,
  TenantArns,
  USES_REGISTRY,
  type StepPermissions,
} from '../../common/permissions';

const subnetGroup = inAccount('rds', 'subgrp:{dedicatedSubnetGroup}');
const readsTenantSecret = { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] };

/**
 * Shared tier: the master secret of the shared instance it is placed on (DDL there). Dedicated: the tenant's RDS instance,
 * created (or restored from its final snapshot) in the dedicated subnet group with the default parameter
 * and option groups, its master secret made by RDS; the undo deletes it and its CPU alarm.
 */
export const permissions: StepPermissions = {
  run: [
    USES_REGISTRY,
    readsTenantSecret,
    // A shared instance add-capacity made: its master secret is RDS's; a kept secret is pointed at it.
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.rdsSecrets] },
    { allow: ['secretsmanager:PutSecretValue'], on: [TenantArns.secrets] },
    { allow: ['rds:DescribeDBInstances', 'rds:AddTagsToResource'], on: [TenantArns.instances] },
    { allow: ['rds:CreateDBInstance'], on: [TenantArns.instances, subnetGroup] },
    // A restore with `fromSnapshot` starts from the tenant's final snapshot, which named its groups.
    {
      allow: ['rds:RestoreDBInstanceFromDBSnapshot'],
      on: [
        TenantArns.instances,
        TenantArns.snapshots,
        subnetGroup,
        inAccount('rds', 'pg:default.postgres*'),
        inAccount('rds', 'og:default:postgres*'),
      ],
    },
    // ManageMasterUserPassword: RDS creates the master secret, encrypted with the default key.
    { allow: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'], on: [TenantArns.rdsSecrets] },
  ],
  undo: [
    USES_REGISTRY,
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.rdsSecrets] },
    { allow: ['rds:DescribeDBInstances', 'rds:DeleteDBInstance'], on: [TenantArns.instances] },
    { allow: ALARM_REMOVAL, on: [TenantArns.alarms] },
  ],
};
