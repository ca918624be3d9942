import { PlatformNames } from '../../common/names';
import { ALARM_REMOVAL, TenantArns, type StepPermissions } from '../../common/permissions';

const on = (...paths: string[]) => paths.map((path) => `arn:{partition}:apigateway:{region}::${path}`);
/**
 * The tenant's HTTP API, found by the id its function's tag records (GetApi), or, when a step stopped
 * between creating the API and tagging the function, by listing (GetApis): a re-run and the undo need both.
 */
const findApi = { allow: ['apigateway:GET'], on: on('/apis', '/apis/*') };
// DescribeLogGroups has no resource-level permissions (the service authorization reference): only `*`.
const describeLogGroups = { allow: ['logs:DescribeLogGroups'], on: ['*'] };

/**
 * The tenant's function (its role, log group, versions, alias, error alarm) and HTTP API. A tenant role can
 * only be created, and given a policy, under the boundary: whatever the step writes into it, the role can
 * never do more than the boundary allows; it is passed to Lambda only.
 */
export const permissions: StepPermissions = {
  run: [
    {
      allow: ['iam:CreateRole', 'iam:PutRolePolicy'],
      on: [TenantArns.roles],
      when: { StringEquals: { 'iam:PermissionsBoundary': '{tenantRoleBoundary}' } },
    },
    // The Get* and Describe* calls: a re-run (after a retry, or a restart) finds what it made and goes on.
    { allow: ['iam:GetRole', 'iam:TagRole'], on: [TenantArns.roles] },
    {
      allow: ['iam:PassRole'],
      on: [TenantArns.roles],
      when: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    },
    // CreateFunction with a VpcConfig checks that the caller may describe the subnets and group; these EC2
    // actions have no resource-level permissions.
    { allow: ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'], on: ['*'] },
    // The tenant function's log group (created with its retention before the function).
    {
      allow: ['logs:CreateLogGroup', 'logs:TagResource', 'logs:PutRetentionPolicy'],
      on: [TenantArns.logGroups],
    },
    describeLogGroups,
    {
      allow: [
        'lambda:GetFunction',
        'lambda:CreateFunction',
        'lambda:TagResource',
        'lambda:AddPermission',
        'lambda:PublishVersion',
        'lambda:GetAlias',
        'lambda:CreateAlias',
        'lambda:GetFunctionConfiguration',
      ],
      on: [TenantArns.functions],
    },
    findApi,
    // CreateApi (tagged: tags are POSTs on /tags/*, as TagResource is), its integration, route and stage.
    { allow: ['apigateway:POST'], on: on('/apis', '/apis/*', '/tags/*') },
    // The current-version pointer and the version it names (any `tenant-api/<version>.zip`).
    { read: 'artifactBucket', keys: `${PlatformNames.tenantApiArtifactPrefix}*` },
    { allow: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource'], on: [TenantArns.alarms] },
  ],
  undo: [
    { allow: ['iam:GetRole', 'iam:DeleteRolePolicy', 'iam:DeleteRole'], on: [TenantArns.roles] },
    { allow: ['logs:ListTagsForResource', 'logs:DeleteLogGroup'], on: [TenantArns.logGroups] },
    describeLogGroups,
    { allow: ['lambda:GetFunction', 'lambda:DeleteFunction'], on: [TenantArns.functions] },
    findApi,
    { allow: ['apigateway:DELETE'], on: on('/apis/*') },
    { allow: ALARM_REMOVAL, on: [TenantArns.alarms] },
  ],
};
