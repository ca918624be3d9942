import { inAccount, TenantArns, type StepPermissions } from '../../common/permissions';

/**
 * The instance's status and managed master secret, the tenant's secret pointed at it, its CPU alarm, and
 * its own execution's history (has the web branch beside it failed?).
 */
export const permissions: StepPermissions = {
  run: [
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.secrets] },
    // Named, not referenced: the state machine refers to this function.
    {
      allow: ['states:GetExecutionHistory'],
      on: [inAccount('states', 'execution:{onboardingStateMachine}:*')],
    },
    { allow: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource'], on: [TenantArns.alarms] },
    { allow: ['rds:DescribeDBInstances'], on: [TenantArns.instances] },
    { allow: ['secretsmanager:GetSecretValue'], on: [TenantArns.rdsSecrets] },
    { allow: ['secretsmanager:PutSecretValue'], on: [TenantArns.secrets] },
  ],
};
