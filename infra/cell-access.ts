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
import { type CfnResource, type Stack } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
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

/**
 * What a cell account has by the platform's names: the tenant function roles' permissions boundary and the
 * dedicated instances' subnet group.
 */
export interface CellNames {
  readonly boundary: string;
  readonly subnetGroup: string;
}

/** The names a platform stack called `stackName` gives them when it has cell accounts. */
export function cellNames(stackName: string): CellNames {
  return {
    boundary: `${stackName}-tenant-role-boundary`,
    subnetGroup: `${stackName}-dedicated`.toLowerCase(),
  };
}

/** The logical ids of `platform`'s boundary and subnet group so named, where it has them. */
export function sameNamed(platform: Stack, names: CellNames): { boundary?: string; subnetGroup?: string } {
  const found: { boundary?: string; subnetGroup?: string } = {};
  for (const node of platform.node.findAll()) {
    const logicalId = () => platform.resolve((node as CfnResource).logicalId) as string;
    if (node instanceof iam.CfnManagedPolicy && node.managedPolicyName === names.boundary)
      found.boundary = logicalId();
    if (node instanceof rds.CfnDBSubnetGroup && node.dbSubnetGroupName === names.subnetGroup)
      found.subnetGroup = logicalId();
  }
  return found;
}

/** A policy statement, as the platform's template has it. */
export type Statement = Record<string, unknown>;

/** The task Lambdas (every function of the stack with a role), with their roles' names. */
export function taskFunctionsOf(stack: Stack): { fn: NodejsFunction; roleName: string }[] {
  return stack.node
    .findAll()
    .flatMap((node) =>
      node instanceof NodejsFunction && node.role
        ? [{ fn: node, roleName: cellTaskRoleName(stack.stackName, node.node.id) }]
        : [],
    );
}

/**
 * Names the task roles, and lets those with work in a cell (a statement its copy has, cell-stack.ts)
 * assume their copies; the copies read the tenant API versions.
 */
export function grantCellAccess(
  stack: Stack,
  cellAccounts: readonly string[],
  artifactBucket: IBucket,
  names: CellNames = cellNames(stack.stackName),
): void {
  if (cellAccounts.length === 0) return;
  const { partition, stackName, account } = stack;
  const { boundary, subnetGroup } = sameNamed(stack, names);
  const sameInCell = new Map([boundary, subnetGroup].flatMap((id) => (id ? [[id, id] as const] : [])));
  const withCellWork = new Set(
    taskRoleStatements(stack).flatMap(({ roleName, statements }) =>
      statements.some((st) => inCell(st, { platform: account, cell: account }, sameInCell)) ? [roleName] : [],
    ),
  );
  for (const { fn, roleName } of taskFunctionsOf(stack)) {
    (fn.role?.node.defaultChild as iam.CfnRole).roleName = roleName;
    if (!withCellWork.has(roleName)) continue;
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

/** Each task role of the platform's stack, by name, with its policies' statements as synthesized. */
export function taskRoleStatements(platform: Stack): { roleName: string; statements: Statement[] }[] {
  const policies = platform.node
    .findAll()
    .flatMap((node) => (node instanceof iam.CfnPolicy ? [node] : []))
    .map((policy) => ({
      roles: (platform.resolve(policy.roles) ?? []) as { Ref?: string }[],
      statements: (platform.resolve(policy.policyDocument) as { Statement: Statement[] }).Statement,
    }));
  return taskFunctionsOf(platform).map(({ fn, roleName }) => {
    const role = fn.role?.node.defaultChild as iam.CfnRole;
    const id = platform.resolve(role.logicalId) as string;
    return {
      roleName,
      statements: policies.filter((p) => p.roles.some((r) => r.Ref === id)).flatMap((p) => p.statements),
    };
  });
}

/** CloudFormation's pseudo parameters: in the cell's template, the cell's account and region. */
const PSEUDO = new Set(['AWS::Partition', 'AWS::Region', 'AWS::AccountId', 'AWS::URLSuffix']);

/**
 * `statement` as the same grant in the cell: its resources named by pattern, with the platform's account
 * id the cell's and the platform resources the cell has by the same name (`sameInCell`, by logical id)
 * the cell's; undefined when it names another of the platform's resources.
 */
export function inCell(
  statement: Statement,
  accounts: { platform: string; cell: string },
  sameInCell: ReadonlyMap<string, unknown>,
): Statement | undefined {
  // The Lambda runtime's own (X-Ray) and the way into the cells are the platform's alone.
  const actions = [statement.Action].flat() as string[];
  if (actions.every((action) => action.startsWith('xray:') || action === 'sts:AssumeRole')) return undefined;
  let foreign = false;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll(`:${accounts.platform}:`, `:${accounts.cell}:`);
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const token = value as Record<string, unknown>;
    const named =
      'Ref' in token ? token.Ref : 'Fn::GetAtt' in token ? (token['Fn::GetAtt'] as string[])[0] : undefined;
    if (typeof named === 'string') {
      if ('Ref' in token && PSEUDO.has(named)) return token;
      if (sameInCell.has(named)) return sameInCell.get(named);
      foreign = true;
      return token;
    }
    if ('Fn::ImportValue' in token || 'Fn::Sub' in token) foreign = true;
    return Object.fromEntries(Object.entries(token).map(([key, v]) => [key, walk(v)]));
  };
  const copied = walk(statement) as Statement;
  return foreign ? undefined : copied;
}
