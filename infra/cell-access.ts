/**
 * The task Lambdas' way into the cells that are AWS accounts of their own (common/cells.ts): each may assume
 * its own role's copy in each cell account (the same name, which the cell's stack makes with the same grants
 * and a trust policy naming this role, infra/cell-stack.ts), and its environment names its role
 * (TASK_ROLE_NAME), so it knows which copy is its own. What the cell's stack must find by name is named here
 * (the task roles, the tenant roles' permissions boundary, the dedicated instances' subnet group), and the
 * artifact bucket lets the copies read the tenant API versions (CreateFunction in a cell reads them there).
 * Nothing is added or named while every cell is in the platform's account.
 */
import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { cellRoleArn } from '../common/cells';
import { PlatformNames, TaskEnv } from '../common/names';

/** IAM's longest role name. */
const MAX_ROLE_NAME = 64;

/** The name of a task Lambda's role, and of its copy in each cell account: `<stack>-<function's id>`. */
export function cellTaskRoleName(stackName: string, functionId: string): string {
  const name = `${stackName}-${functionId}`;
  if (name.length <= MAX_ROLE_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_ROLE_NAME - hash.length - 1)}-${hash}`;
}

/** The tenant function roles' permissions boundary, the same name in the platform's and each cell's account. */
export function cellBoundaryName(stackName: string): string {
  return `${stackName}-tenant-role-boundary`;
}

/** The dedicated instances' subnet group, the same name in the platform's and each cell's account. */
export function cellSubnetGroupName(stackName: string): string {
  return `${stackName}-dedicated`.toLowerCase();
}

/** The task Lambdas (every function of the stack with a role), with their roles' names once named. */
export function taskFunctionsOf(scope: Construct): { fn: NodejsFunction; roleName: string }[] {
  const stack = Stack.of(scope);
  return scope.node
    .findAll()
    .flatMap((node) =>
      node instanceof NodejsFunction && node.role
        ? [{ fn: node, roleName: cellTaskRoleName(stack.stackName, node.node.id) }]
        : [],
    );
}

export function grantCellAccess(
  scope: Construct,
  cellAccounts: readonly string[],
  artifactBucket: IBucket,
): void {
  if (cellAccounts.length === 0) return;
  const { partition, stackName } = Stack.of(scope);
  for (const { fn, roleName } of taskFunctionsOf(scope)) {
    (fn.role?.node.defaultChild as iam.CfnRole).roleName = roleName;
    fn.addEnvironment(TaskEnv.taskRoleName, roleName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: cellAccounts.map((account) => cellRoleArn(account, roleName, partition)),
      }),
    );
  }
  // The copies are made after this stack (their trust names its roles): the account is the principal, and
  // only the copies' names (the stack's name, then the function's) are let in.
  artifactBucket.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      principals: cellAccounts.map((account) => new iam.AccountPrincipal(account)),
      resources: [artifactBucket.arnForObjects(`${PlatformNames.tenantApiArtifactPrefix}*`)],
      conditions: {
        ArnLike: {
          'aws:PrincipalArn': cellAccounts.map((account) =>
            cellRoleArn(account, `${stackName}-*`, partition),
          ),
        },
      },
    }),
  );
}
