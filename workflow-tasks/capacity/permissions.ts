import { PlatformNames } from '../../common/names';
import {
  inAccount,
  PlatformArns,
  TenantArns,
  USES_REGISTRY,
  type WorkflowPermissions,
} from '../../common/permissions';

/** What each handler of the add-capacity workflow may do (workflow-tasks/capacity/steps.ts). */
export const permissions: WorkflowPermissions = {
  // The instance in the tenants' subnet group with the shared instances' parameter group (logical
  // replication) and the default option group; RDS makes its master secret.
  create: [
    {
      allow: ['rds:CreateDBInstance', 'rds:AddTagsToResource'],
      on: [
        PlatformArns.sharedInstances,
        inAccount('rds', 'subgrp:{dedicatedSubnetGroup}'),
        inAccount('rds', `pg:${PlatformNames.sharedParameterGroup}`),
      ],
    },
    { allow: ['rds:DescribeDBInstances'], on: [PlatformArns.sharedInstances] },
    { allow: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'], on: [TenantArns.rdsSecrets] },
  ],
  check: [{ allow: ['rds:DescribeDBInstances'], on: [PlatformArns.sharedInstances] }],
  register: [USES_REGISTRY],
  rollback: [
    USES_REGISTRY,
    { allow: ['rds:DescribeDBInstances', 'rds:DeleteDBInstance'], on: [PlatformArns.sharedInstances] },
  ],
};
