import {
  PlatformArns,
  TenantArns,
  USES_REGISTRY,
  type Grant,
  type WorkflowPermissions,
} from '../../common/permissions';

/** Reading a distribution tenant (a retried create finds its own; a removal reads the ETag it needs). */
const READ: Grant = { allow: ['cloudfront:GetDistributionTenant'], on: [PlatformArns.distributionTenants] };

/** Disabling and deleting the tenant's distribution tenants (their managed certificates go with them). */
const REMOVE: readonly Grant[] = [
  USES_REGISTRY,
  READ,
  {
    allow: ['cloudfront:UpdateDistributionTenant', 'cloudfront:DeleteDistributionTenant'],
    on: [PlatformArns.distributionTenants],
  },
  { putEvents: 'eventBus' },
];

/** What each handler of the domain workflow may do (workflow-tasks/domain/steps.ts). */
export const permissions: WorkflowPermissions = {
  // A request under way whose execution ended unfinished is taken over (DescribeExecution says so); another
  // domain it left is removed.
  claim: [
    ...REMOVE,
    {
      allow: ['states:DescribeExecution'],
      on: ['arn:{partition}:states:{region}:{account}:execution:{domainStateMachineName}:*'],
    },
  ],
  requestCertificates: [
    USES_REGISTRY,
    READ,
    // A distribution tenant, tagged with its tenant: the service authorization reference lists no
    // resource type for CreateDistributionTenant, so it is only authorized on `*`.
    { allow: ['cloudfront:CreateDistributionTenant'], on: ['*'] },
    // The tenant's HTTP API, whose host the API's distribution tenant passes requests to (its function's
    // tag names it: deploy-function's findApi).
    { allow: ['lambda:GetFunction'], on: [TenantArns.functions] },
    {
      allow: ['apigateway:GET'],
      on: ['arn:{partition}:apigateway:{region}::/apis', 'arn:{partition}:apigateway:{region}::/apis/*'],
    },
    { putEvents: 'eventBus' },
  ],
  check: [
    USES_REGISTRY,
    {
      allow: ['cloudfront:GetManagedCertificateDetails', 'cloudfront:VerifyDnsConfiguration'],
      on: [PlatformArns.distributionTenants],
    },
  ],
  activate: [USES_REGISTRY, { putEvents: 'eventBus' }],
  removeReplaced: REMOVE,
  giveUp: REMOVE,
  rollback: REMOVE,
  detach: REMOVE,
};
