import { PlatformNames } from '../../common/names';
import { READS_ACCOUNT_QUOTAS, USES_REGISTRY, type StepPermissions } from '../../common/permissions';

/**
 * The registry row; the run reads the AWS quotas placement counts against, the current-version pointer (the
 * version it starts on) and starts the next shared instance when placement asks for one (reading whether an
 * earlier one still runs), the undo publishes TenantProvisioningFailed.
 */
export const permissions: StepPermissions = {
  run: [
    USES_REGISTRY,
    ...READS_ACCOUNT_QUOTAS,
    { read: 'artifactBucket', keys: PlatformNames.tenantApiCurrentKey },
    { allow: ['states:StartExecution'], on: ['{capacityStateMachine}'] },
    {
      allow: ['states:DescribeExecution'],
      on: ['arn:{partition}:states:{region}:{account}:execution:{capacityStateMachineName}:*'],
    },
  ],
  undo: [USES_REGISTRY, { putEvents: 'eventBus' }],
};
