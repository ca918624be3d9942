/**
 * The task Lambdas' way into the cells that are AWS accounts of their own (common/cells.ts): each may assume
 * its own role's copy in each cell account (the same name, which the cell's stack makes with the same grants
 * and a trust policy naming this role), and its environment names its role (TASK_ROLE_NAME), so it knows
 * which copy is its own. Nothing is added while every cell is in the platform's account.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { TaskEnv } from '../common/names';

export function grantCellAccess(scope: Construct, cellAccounts: readonly string[]): void {
  if (cellAccounts.length === 0) return;
  const { partition } = Stack.of(scope);
  for (const node of scope.node.findAll()) {
    if (!(node instanceof NodejsFunction) || !node.role) continue;
    const { roleName } = node.role;
    node.addEnvironment(TaskEnv.taskRoleName, roleName);
    node.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: cellAccounts.map((account) => `arn:${partition}:iam::${account}:role/${roleName}`),
      }),
    );
  }
}
