/**
 * The task Lambdas' roles as CDK synthesizes them: for each function of the local stack (the same
 * constructs the platform stack deploys), its role's identity policies, read from the resolved
 * CloudFormation of the stack's `AWS::IAM::Policy` and `AWS::IAM::Role` resources, not restated here.
 * The CloudFormation functions in them (Fn::Join, Ref, Fn::GetAtt, Fn::Split, Fn::Select) are resolved
 * to the local account's values.
 */
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import type { CellStack } from '../../infra/cell-stack';
import { tenantRoleBoundary } from '../../infra/tenant-role-boundary';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** An IAM policy document, as the template has it. */
export type PolicyDocument = { readonly Version?: string; readonly Statement: readonly unknown[] };

/** A role of the local stack (`arn:aws:iam::<account>:role/<name>`). */
export interface LocalRole {
  readonly name: string;
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  /** The permissions boundary's document, when the role has one. */
  readonly boundary?: PolicyDocument;
}

/** Function logical id -> its role. */
export type TaskRoles = ReadonlyMap<string, LocalRole>;

/** The pseudo parameters of the local account. */
interface LocalAccount {
  readonly account: string;
  readonly region: string;
}

/** Every Lambda function's role in `stack`, keyed by the function's logical id. */
export function taskRoles(stack: Stack, local: LocalAccount): TaskRoles {
  const roles = stackRoles(stack, local);
  const byFunction = new Map<string, LocalRole>();
  for (const fn of stack.node.findAll().flatMap((c) => (c instanceof lambda.CfnFunction ? [c] : []))) {
    const role = stack.resolve(fn.role) as { 'Fn::GetAtt'?: [string, string] };
    const found = role['Fn::GetAtt'] && roles.get(role['Fn::GetAtt'][0]);
    if (!found)
      throw new Error(`function ${String(stack.resolve(fn.logicalId))}: its role is not one of the stack's`);
    byFunction.set(String(stack.resolve(fn.logicalId)), found);
  }
  return byFunction;
}

/**
 * A cell's copies of the task roles (infra/cell-stack.ts), as its stack synthesizes them for its account:
 * what a task may do there.
 */
export function cellRoleCopies(cell: CellStack, local: LocalAccount): LocalRole[] {
  const copies = new Set<iam.CfnRole>(cell.roles.values());
  return [...stackRoles(cell, local, (role) => copies.has(role)).values()];
}

/** The roles of `stack` (those `wanted`) with their identity policies, keyed by the role's logical id. */
function stackRoles(
  stack: Stack,
  local: LocalAccount,
  wanted: (role: iam.CfnRole) => boolean = () => true,
): Map<string, LocalRole> {
  const all = stack.node.findAll();
  const cfn = <T extends CfnResource>(type: abstract new (...args: never[]) => T): T[] =>
    all.flatMap<T>((c) => (c instanceof type ? [c] : []));
  const logicalId = (resource: CfnResource) => stack.resolve(resource.logicalId) as string;
  const arns = new Map<string, string>();
  for (const fn of cfn(lambda.CfnFunction))
    arns.set(logicalId(fn), `arn:aws:lambda:${local.region}:${local.account}:function:${logicalId(fn)}`);
  for (const machine of cfn(sfn.CfnStateMachine))
    arns.set(
      logicalId(machine),
      `arn:aws:states:${local.region}:${local.account}:stateMachine:${String(stack.resolve(machine.stateMachineName))}`,
    );
  for (const policy of cfn(iam.CfnManagedPolicy))
    if (policy.managedPolicyName)
      arns.set(logicalId(policy), `arn:aws:iam::${local.account}:policy/${policy.managedPolicyName}`);
  // A Ref to a role is its name: the one the stack gives it (cells in accounts of their own need one,
  // infra/cell-access.ts), else its logical id.
  const nameOf = (role: iam.CfnRole) => {
    const given: unknown = stack.resolve(role.roleName); // an unnamed role's is a token of nothing
    return typeof given === 'string' ? given : logicalId(role);
  };
  const names = new Map(cfn(iam.CfnRole).map((role) => [logicalId(role), nameOf(role)]));
  const resolve = (value: unknown) => resolveTokens(stack.resolve(value), local, arns, names);

  const kept = new Set(cfn(iam.CfnRole).filter(wanted).map(logicalId));
  const policiesOf = new Map<string, { name: string; document: PolicyDocument }[]>();
  for (const policy of cfn(iam.CfnPolicy)) {
    const attached = ((stack.resolve(policy.roles) ?? []) as { Ref?: string }[]).flatMap((role) =>
      role.Ref && kept.has(role.Ref) ? [role.Ref] : [],
    );
    if (attached.length === 0) continue;
    const document = resolve(policy.policyDocument) as PolicyDocument;
    for (const role of attached)
      policiesOf.set(role, [...(policiesOf.get(role) ?? []), { name: logicalId(policy), document }]);
  }
  const roles = new Map<string, LocalRole>();
  for (const role of cfn(iam.CfnRole).filter(wanted)) {
    // The construct's own properties (CfnRole.PolicyProperty), not the template's.
    const inline = (
      (stack.resolve(role.policies) ?? []) as { policyName: string; policyDocument: unknown }[]
    ).map((p) => ({ name: p.policyName, document: resolve(p.policyDocument) as PolicyDocument }));
    const id = logicalId(role);
    roles.set(id, { name: nameOf(role), policies: [...inline, ...(policiesOf.get(id) ?? [])] });
  }
  return roles;
}

/** The tenant function roles' permissions boundary as the platform stack synthesizes it, named `name`. */
export function tenantRoleBoundaryDocument(local: LocalAccount, name: string): PolicyDocument {
  const stack = new Stack(new App(), 'Boundary', { env: local });
  const policy = tenantRoleBoundary(stack, 'Boundary', name).node.defaultChild as iam.CfnManagedPolicy;
  return resolveTokens(stack.resolve(policy.policyDocument), local, new Map()) as PolicyDocument;
}

/** A resolved template value with its CloudFormation functions evaluated to local values. */
function resolveTokens(
  value: unknown,
  local: LocalAccount,
  arns: ReadonlyMap<string, string>,
  names: ReadonlyMap<string, string> = new Map(),
): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const token = v as Record<string, unknown>;
    if ('Fn::Join' in token) {
      const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
      return (walk(parts) as unknown[]).map(String).join(separator);
    }
    if ('Fn::Split' in token) {
      const [separator, source] = token['Fn::Split'] as [string, unknown];
      return String(walk(source)).split(separator);
    }
    if ('Fn::Select' in token) {
      const [index, list] = token['Fn::Select'] as [number, unknown];
      return (walk(list) as unknown[])[Number(index)];
    }
    if ('Ref' in token || 'Fn::GetAtt' in token) {
      const ref = 'Ref' in token ? (token.Ref as string) : (token['Fn::GetAtt'] as [string, string])[0];
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': local.region,
        'AWS::AccountId': local.account,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      const found = pseudo[ref] ?? ('Ref' in token ? names.get(ref) : undefined) ?? arns.get(ref);
      if (found === undefined)
        throw new Error(`a role's policy names ${JSON.stringify(token)}: unknown locally`);
      return found;
    }
    return Object.fromEntries(Object.entries(token).map(([k, x]) => [k, walk(x)]));
  };
  return walk(value);
}
