/**
 * What a step's Lambda may call, as data: each step folder's `permissions.ts` says it for its `run` and
 * its `undo`, beside their code, and the saga builder (infra/step-permissions.ts) turns it into the
 * statements of the Lambda's role. Resources are ARN templates: `{partition}`, `{region}` and
 * `{account}` are the stack's; the other `{...}` names are the platform's own resources, filled in by
 * the builder (see `PlatformResource`).
 */
import { SERVICE_QUOTAS } from './capacity';
import type { StepId } from './steps';

/** The platform resources a template may name: `{distributionId}`, `{onboardingStateMachine}`, ... */
export type PlatformResource =
  | 'distributionId'
  | 'domainStateMachine'
  | 'domainStateMachineName'
  | 'capacityStateMachine'
  | 'capacityStateMachineName'
  | 'dedicatedSubnetGroup'
  | 'onboardingStateMachine'
  | 'siteBucketArn'
  | 'tenantRoleBoundary';

/**
 * One grant: a statement, one of the CDK grants of a platform resource (bucket keys, the secret, the bus),
 * or everything an onboarding step's run or undo may do (another workflow running that step's code).
 */
export type Grant =
  | {
      readonly allow: readonly string[];
      readonly on: readonly string[];
      /** IAM conditions; their values may be templates too. */
      readonly when?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    }
  | { readonly read: 'masterSecret' }
  | { readonly putEvents: 'eventBus' }
  | { readonly read: 'artifactBucket' | 'archiveBucket'; readonly keys: string }
  | { readonly listVersions: 'archiveBucket'; readonly keys: string }
  | { readonly put: 'siteBucket' | 'archiveBucket'; readonly keys: string }
  | { readonly delete: 'siteBucket'; readonly keys: string }
  | { readonly asStep: StepId | 'check-instance' | 'inspect-source'; readonly handler: 'run' | 'undo' };

/** A step's grants: its `run` handler's, and its `undo` handler's (absent: it has none). */
export interface StepPermissions {
  readonly run: readonly Grant[];
  readonly undo?: readonly Grant[];
}

/** The grants of a workflow's handlers, by handler name (the registry's secret comes with every one). */
export type WorkflowPermissions = Readonly<Record<string, readonly Grant[]>>;

/** `arn:{partition}:<service>:{region}:{account}:<resource>`. */
export const inAccount = (service: string, resource: string): string =>
  `arn:{partition}:${service}:{region}:{account}:${resource}`;

/** The names common/names.ts gives tenants' resources: the only ones a step may touch. */
export const TenantArns = {
  secrets: inAccount('secretsmanager', 'secret:tenants/*'),
  /** The master secrets RDS manages for dedicated instances. */
  rdsSecrets: inAccount('secretsmanager', 'secret:rds!*'),
  instances: inAccount('rds', 'db:tenant-*'),
  snapshots: inAccount('rds', 'snapshot:tenant-*'),
  functions: inAccount('lambda', 'function:tenant-*'),
  /** Their published versions (and aliases) only: a qualified ARN, never the function itself. */
  functionVersions: inAccount('lambda', 'function:tenant-*:*'),
  roles: 'arn:{partition}:iam::{account}:role/tenant-*',
  alarms: inAccount('cloudwatch', 'alarm:tenant-*'),
  logGroups: inAccount('logs', 'log-group:/aws/lambda/tenant-*'),
} as const;

/** The platform's own resources a grant may name. */
export const PlatformArns = {
  distribution: 'arn:{partition}:cloudfront::{account}:distribution/{distributionId}',
  /** Distribution tenants: their ids are CloudFront's (`dt_...`), so every one of the account. */
  distributionTenants: 'arn:{partition}:cloudfront::{account}:distribution-tenant/*',
  /** The shared instances add-capacity makes (common/capacity.ts), never the deployed `platform-shared-db`. */
  sharedInstances: inAccount('rds', 'db:platform-shared-instance-*'),
} as const;

/** An undo deletes a tenant alarm only after reading its tags (workflow-tasks/lib/alarms.ts). */
export const ALARM_REMOVAL = [
  'cloudwatch:DescribeAlarms',
  'cloudwatch:ListTagsForResource',
  'cloudwatch:DeleteAlarms',
] as const;

/** The registry's database: its master secret (the steps that read or write the registry). */
export const USES_REGISTRY: Grant = { read: 'masterSecret' };

/**
 * The AWS quotas placement counts against as the account has them (workflow-tasks/lib/service-quotas.ts):
 * their applied values in Service Quotas (a global service's in us-east-1), and what the account holds of
 * them beside the tenants: its roles (ListRoles has no resource-level permission) and its RDS instances.
 */
export const READS_ACCOUNT_QUOTAS: readonly Grant[] = [
  {
    allow: ['servicequotas:GetServiceQuota'],
    on: Object.values(SERVICE_QUOTAS).map(
      (q) =>
        `arn:{partition}:servicequotas:${q.global ? 'us-east-1' : '{region}'}:{account}:${q.serviceCode}/${q.quotaCode}`,
    ),
  },
  { allow: ['iam:ListRoles'], on: ['*'] },
  { allow: ['rds:DescribeDBInstances'], on: [inAccount('rds', 'db:*')] },
];
