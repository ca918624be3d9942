/**
 * The task Lambdas' way into the cells that are AWS accounts of their own (common/cells.ts), and what a cell's
 * stack copies of them (infra/cell-stack.ts). A task role with work in a cell (a grant on a tenant's resources
 * there) may assume its copy in each cell account: the same name, a trust policy naming this role, and the
 * grants of this role that are on tenant resources (`cellCopies`). Its environment names its role
 * (TASK_ROLE_NAME), so it knows which copy is its own, and the names of the cell's own boundary and subnet
 * group. The artifact bucket lets the copies that make or update functions read the tenant API versions
 * (CreateFunction in a cell reads them there). Nothing is added or named while every cell is in the
 * platform's account.
 */
import { createHash } from 'node:crypto';
import type { CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { cellRoleArn } from '../common/cells';
import { PlatformNames, TaskEnv } from '../common/names';
import type { PeeringSource } from './cell-peering';

/** IAM's longest role name. */
const MAX_ROLE_NAME = 64;

/** The name of a task Lambda's role, and of its copy in each cell account: `<stack>-<function's id>`. */
export function cellTaskRoleName(stackName: string, functionId: string): string {
  const name = `${stackName}-${functionId}`;
  if (name.length <= MAX_ROLE_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_ROLE_NAME - hash.length - 1)}-${hash}`;
}

/** The names of a cell's own tenant role boundary and dedicated subnet group (the tasks are told them). */
export interface CellNames {
  readonly boundary: string;
  readonly subnetGroup: string;
  /** The platform's role the cells' stacks peer their VPCs with its VPC through (infra/cell-peering.ts). */
  readonly peeringRole: string;
}

/** The names a cell's stack gives them, for a platform stack called `stackName`. */
export function cellNames(stackName: string): CellNames {
  return {
    boundary: `${stackName}-cell-tenant-role-boundary`,
    subnetGroup: `${stackName}-cell-dedicated`.toLowerCase(),
    peeringRole: `${stackName}-cell-peering`,
  };
}

/** The platform a cell copies: its stack, and what of it the cell has a counterpart of. */
export interface CellSource {
  readonly stack: Stack;
  /** The platform's tenant role boundary: a grant naming it names the cell's. */
  readonly boundary: IConstruct;
  /** The platform's dedicated subnet group, when it is one of the stack's: a grant naming it names the cell's. */
  readonly subnetGroup?: IConstruct;
  /** The names of the cell's own. */
  readonly names: CellNames;
  /** The platform's VPC, when it has cell accounts (a cell's stack peers with it). */
  readonly peering?: PeeringSource;
}

/** A policy statement, as the platform's template has it. */
export type Statement = Record<string, unknown>;

/** What a task role's copy in a cell grants, as the platform's template has it (`inCell` places it). */
export interface CellCopy {
  readonly roleName: string;
  readonly statements: readonly Statement[];
}

/**
 * The copies a cell has of the platform's task roles: each role's statements whose every action is one a
 * tenant's resources take (IAM, Lambda, API Gateway, Logs, CloudWatch, Secrets Manager, RDS, EC2, Service
 * Quotas), on the resources of a tenant in that account (CELL_RESOURCES; the rest of a statement's resources
 * dropped); a role with none of them has no copy. Nothing on the platform's own resources (the registry's
 * secret, the state machines, the buckets, the bus, the distributions) is copied, by name or by reference.
 */
export function cellCopies(source: CellSource): CellCopy[] {
  const { stack } = source;
  const counterparts = new Set(
    [source.boundary, ...(source.subnetGroup ? [source.subnetGroup] : [])].map((construct) =>
      logicalIdOf(stack, construct),
    ),
  );
  const policies = stack.node
    .findAll()
    .flatMap((node) => (node instanceof iam.CfnPolicy ? [node] : []))
    .map((policy) => ({
      roles: (stack.resolve(policy.roles) ?? []) as { Ref?: string }[],
      statements: (stack.resolve(policy.policyDocument) as { Statement: Statement[] }).Statement,
    }));
  return taskFunctionsOf(stack).flatMap(({ fn, roleName }) => {
    const id = logicalIdOf(stack, fn.role as IConstruct);
    const statements = policies
      .filter((p) => p.roles.some((r) => r.Ref === id))
      .flatMap((p) => p.statements)
      .flatMap((statement): Statement[] => {
        const cut = ofTenantResources(statement, counterparts);
        return cut ? [cut] : [];
      });
    return statements.length > 0 ? [{ roleName, statements }] : [];
  });
}

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
 * Names the task roles; lets those with a copy in the cells assume it and tells them its name and the cell's
 * own boundary and subnet group; lets the copies that make or update functions read the tenant API versions.
 */
export function grantCellAccess(
  source: CellSource,
  cellAccounts: readonly string[],
  artifactBucket: IBucket,
): void {
  if (cellAccounts.length === 0) return;
  const { partition } = source.stack;
  refuseSameNames(source);
  const copies = cellCopies(source);
  const withCopy = new Set(copies.map((c) => c.roleName));
  for (const { fn, roleName } of taskFunctionsOf(source.stack)) {
    (fn.role?.node.defaultChild as iam.CfnRole).roleName = roleName;
    if (!withCopy.has(roleName)) continue;
    fn.addEnvironment(TaskEnv.taskRoleName, roleName);
    fn.addEnvironment(TaskEnv.cellBoundaryName, source.names.boundary);
    fn.addEnvironment(TaskEnv.cellSubnetGroup, source.names.subnetGroup);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: cellAccounts.map((account) => cellRoleArn(account, roleName, partition)),
      }),
    );
  }
  // The copies are made after this stack (their trust names its roles): the account is the principal,
  // and the copies that read the versions are named (a condition needs no role to exist yet).
  const readers = copies.filter(readsVersions).map((c) => c.roleName);
  if (readers.length === 0) return;
  artifactBucket.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      principals: cellAccounts.map((account) => new iam.AccountPrincipal(account)),
      resources: [artifactBucket.arnForObjects(`${PlatformNames.tenantApiArtifactPrefix}*`)],
      conditions: {
        ArnEquals: {
          'aws:PrincipalArn': cellAccounts.flatMap((account) =>
            readers.map((name) => cellRoleArn(account, name, partition)),
          ),
        },
      },
    }),
  );
}

/**
 * Two task functions of one id in different constructs would name one role (and one copy in each cell):
 * CloudFormation would fail the deploy on the second. Refused at synth, naming both.
 */
function refuseSameNames(source: CellSource): void {
  const seen = new Map<string, string>([[source.names.peeringRole, 'the cell peering role']]);
  for (const { fn, roleName } of taskFunctionsOf(source.stack)) {
    const other = seen.get(roleName);
    if (other)
      throw new Error(`${fn.node.path} and ${other} would both have the role ${roleName}: rename one`);
    seen.set(roleName, fn.node.path);
  }
}

/** Whether a copy makes or updates functions from the artifact bucket's versions. */
export function readsVersions(copy: CellCopy): boolean {
  return copy.statements.some((st) =>
    actionsOf(st).some((a) => a === 'lambda:CreateFunction' || a === 'lambda:UpdateFunctionCode'),
  );
}

/** Whether a copy makes functions or instances, in the cell's network (workflow-tasks/lib/cell-network.ts). */
export function placesInNetwork(copy: CellCopy): boolean {
  return copy.statements.some((st) =>
    actionsOf(st).some(
      (a) =>
        a === 'lambda:CreateFunction' ||
        a === 'rds:CreateDBInstance' ||
        a === 'rds:RestoreDBInstanceFromDBSnapshot',
    ),
  );
}

/** The services whose actions a tenant's resources in a cell take. */
const CELL_SERVICES = new Set([
  'iam',
  'lambda',
  'apigateway',
  'logs',
  'cloudwatch',
  'secretsmanager',
  'rds',
  'ec2',
  'servicequotas',
]);

/**
 * A tenant's resources in a cell account, as a statement names them (partition, region and account
 * rendered `P`, `R`, `A`; a counterpart `X`): `*` for actions without resource-level permissions.
 */
const CELL_RESOURCES = [
  /^\*$/,
  /^arn:P:secretsmanager:R:A:secret:(tenants\/|rds!)/,
  /^arn:P:rds:R:A:(db:(tenant-|platform-shared-instance-|\*$)|snapshot:tenant-|subgrp:|pg:default|og:default|pg:platform-shared-)/,
  /^arn:P:lambda:R:A:function:tenant-/,
  /^arn:P:iam::A:role\/tenant-/,
  /^arn:P:logs:R:A:log-group:/,
  /^arn:P:cloudwatch:R:A:alarm:tenant-/,
  /^arn:P:apigateway:R::\/(apis|tags)/,
  /^arn:P:servicequotas:[^:]+:A:/,
];

const PSEUDO: Readonly<Record<string, string>> = {
  'AWS::Partition': 'P',
  'AWS::Region': 'R',
  'AWS::AccountId': 'A',
  'AWS::URLSuffix': 'U',
};

/**
 * `statement` cut to a tenant's resources in a cell (CELL_SERVICES, CELL_RESOURCES), or undefined when
 * nothing of it is; a statement naming any other of the platform's resources by reference is not copied.
 */
function ofTenantResources(statement: Statement, counterparts: ReadonlySet<string>): Statement | undefined {
  if (statement.Effect !== 'Allow' || 'NotAction' in statement || 'NotResource' in statement)
    throw new Error(
      `a task role's statement the cells cannot copy: ${JSON.stringify(statement).slice(0, 200)}`,
    );
  if (!actionsOf(statement).every((action) => CELL_SERVICES.has(action.split(':')[0] ?? '')))
    return undefined;
  const render = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null) return undefined;
    const token = value as Record<string, unknown>;
    if ('Ref' in token) {
      const ref = token.Ref as string;
      return PSEUDO[ref] ?? (counterparts.has(ref) ? 'X' : undefined);
    }
    if ('Fn::Join' in token) {
      const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
      const rendered = parts.map(render);
      return rendered.every((p) => p !== undefined) ? rendered.join(separator) : undefined;
    }
    return undefined; // another function of CloudFormation: one of the platform's resources
  };
  // arn:partition:service:region:account:resource, with its place fields as CELL_RESOURCES writes them.
  const placeless = (arn: string) =>
    arn
      .split(':')
      .map((field, i) => (i === 1 ? 'P' : i === 3 && field ? 'R' : i === 4 && field ? 'A' : field))
      .join(':');
  const resources = [statement.Resource].flat().filter((resource) => {
    const rendered = render(resource);
    return rendered !== undefined && CELL_RESOURCES.some((allowed) => allowed.test(placeless(rendered)));
  });
  if (resources.length === 0) return undefined;
  const condition = JSON.stringify(statement.Condition ?? {});
  const referenced = [...condition.matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1] ?? '');
  if (referenced.some((ref) => !PSEUDO[ref] && !counterparts.has(ref))) return undefined;
  return { ...statement, Resource: resources.length === 1 ? resources[0] : resources };
}

/**
 * `statement` (one of `cellCopies`) as the cell's stack grants it: the platform's account id the cell's and
 * the platform's counterparts (by logical id) the cell's own.
 */
export function inCell(
  statement: Statement,
  accounts: { platform: string; cell: string },
  counterparts: ReadonlyMap<string, unknown>,
): Statement {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replaceAll(`:${accounts.platform}:`, `:${accounts.cell}:`);
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const token = value as Record<string, unknown>;
    if ('Ref' in token && counterparts.has(token.Ref as string)) return counterparts.get(token.Ref as string);
    return Object.fromEntries(Object.entries(token).map(([key, v]) => [key, walk(v)]));
  };
  return walk(statement) as Statement;
}

/** The logical id of `construct`'s resource in `stack`. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  const resource = (construct.node.defaultChild ?? construct) as CfnResource;
  return stack.resolve(resource.logicalId) as string;
}

function actionsOf(statement: Statement): string[] {
  return [statement.Action].flat() as string[];
}
