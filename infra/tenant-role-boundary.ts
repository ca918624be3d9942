import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * The permissions boundary of every tenant API function role: the most such a role can do (its own
 * `tenants/*` secret, its `tenant-*` log group, a VPC function's network interfaces). "Deploy function" may
 * create a tenant role only with this boundary attached. The local platform creates the same policy in the
 * emulator (local/bootstrap).
 */
export function tenantRoleBoundary(
  scope: Construct,
  id: string,
  managedPolicyName?: string,
): iam.ManagedPolicy {
  const stack = Stack.of(scope);
  return new iam.ManagedPolicy(scope, id, {
    managedPolicyName,
    description: 'Permissions boundary of every tenant API function role: the most such a role can do',
    statements: [
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: 'tenants/*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws/lambda/tenant-*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    ],
  });
}
