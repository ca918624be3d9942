import { TenantArns, type StepPermissions } from '../../common/permissions';

/** The tenant's secret: created and tagged, or deleted. */
export const permissions: StepPermissions = {
  run: [
    {
      allow: ['secretsmanager:DescribeSecret', 'secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
      on: [TenantArns.secrets],
    },
  ],
  undo: [
    { allow: ['secretsmanager:DescribeSecret', 'secretsmanager:DeleteSecret'], on: [TenantArns.secrets] },
  ],
};
