/**
 * Names shared by the CDK stack, the task Lambdas and the local bootstrap. Anything that two of them must
 * agree on (a bucket prefix, an event type, an environment variable, a tenant resource's name) lives here,
 * so that a rename happens in one place.
 */

/** Source of every event the platform emits, and of `TenantSignedUp` events that start an onboarding. */
export const EVENT_SOURCE = 'tenant-onboarding';

export const EventTypes = {
  TenantSignedUp: 'TenantSignedUp',
  /** Starts an import (an onboarding whose detail has `importFrom`), by the same rule as a signup. */
  TenantImportRequested: 'TenantImportRequested',
  TenantProvisioned: 'TenantProvisioned',
  TenantProvisioningFailed: 'TenantProvisioningFailed',
  TenantRollbackFailed: 'TenantRollbackFailed',
  TenantSuspended: 'TenantSuspended',
  TenantResumed: 'TenantResumed',
  /** Starts an offboarding (detail `{ "tenantId" }`), as the deployed rule does. */
  TenantOffboardingRequested: 'TenantOffboardingRequested',
  TenantOffboarded: 'TenantOffboarded',
  /** A removal still failed after its retries: the tenant is OFFBOARDING_FAILED; running again converges. */
  TenantOffboardingFailed: 'TenantOffboardingFailed',
  /** Starts the domain workflow (detail `{ "tenantId", "domain" }`, or `"action": "detach"`). */
  TenantDomainRequested: 'TenantDomainRequested',
  /** The customer's domain awaits its DNS records (detail: the records to add). */
  TenantDomainPending: 'TenantDomainPending',
  TenantDomainActive: 'TenantDomainActive',
  /** The records never came before the deadline (or the workflow failed): the tenant keeps its platform address. */
  TenantDomainFailed: 'TenantDomainFailed',
  TenantDomainRemoved: 'TenantDomainRemoved',
  /** A shared tenant serves from another shared instance (detail `{ "tenantId", "from", "to" }`). */
  TenantMoved: 'TenantMoved',
} as const;

/**
 * The EventBridge pattern of the rule that starts an onboarding (deployed rule and local runtime alike): a
 * signup, or an import of an existing customer (its detail names the source, common/imports.ts).
 */
export const TENANT_SIGNED_UP_PATTERN = {
  'detail-type': [EventTypes.TenantSignedUp, EventTypes.TenantImportRequested],
} as const;

/** The EventBridge pattern of the rule that starts an offboarding. */
export const TENANT_OFFBOARDING_REQUESTED_PATTERN = {
  'detail-type': [EventTypes.TenantOffboardingRequested],
} as const;

/** The EventBridge pattern of the rule that starts the domain workflow. */
export const TENANT_DOMAIN_REQUESTED_PATTERN = {
  'detail-type': [EventTypes.TenantDomainRequested],
} as const;

/** Platform-level resource names (one platform per account and region). */
export const PlatformNames = {
  stateMachine: 'tenant-onboarding',
  /** The release state machine's name in the local platform (on AWS, CloudFormation names it). */
  releaseStateMachine: 'tenant-release',
  /** The suspension state machine's name in the local platform (suspend and resume). */
  suspensionStateMachine: 'tenant-suspension',
  /** The offboarding state machine's name in the local platform. */
  offboardingStateMachine: 'tenant-offboarding',
  /** The cleanup state machine's name in the local platform (after stopped, timed-out or crashed executions). */
  cleanupStateMachine: 'tenant-cleanup',
  /** The domain state machine's name in the local platform (a customer's own domain, attached or detached). */
  domainStateMachine: 'tenant-domain',
  /** The state machine that adds a shared PostgreSQL instance (common/capacity.ts). */
  capacityStateMachine: 'tenant-capacity',
  /** The state machine that moves a shared tenant to another shared instance (workflow-tasks/move). */
  moveStateMachine: 'tenant-move',
  eventBus: 'tenant-platform',
  platformDatabase: 'platform',
  /**
   * Versions of the tenant API in the artifact bucket: `<prefix><version>.zip` (common/versions.ts), and
   * the pointer to the one new tenants get.
   */
  tenantApiArtifactPrefix: 'tenant-api/',
  tenantApiCurrentKey: 'tenant-api/current.json',
  /** The alias of every tenant function that its HTTP API invokes: the version that takes traffic. */
  liveAlias: 'live',
  /** Tag every tenant resource carries; undo steps check it before deleting. */
  tenantTag: 'tenant',
  managedByTag: 'managed-by',
  /**
   * The shared instances' parameter group (infra/shared-database.ts): logical replication on, which a move
   * copies a tenant with while it serves.
   */
  sharedParameterGroup: 'platform-shared-postgres18',
  /**
   * The tag a cell account's stack puts on its network (infra/cell-stack.ts), which the tasks find it by
   * (workflow-tasks/lib/cell-network.ts): `tenant-functions` on the tenant functions' subnets and security
   * group, `databases` on the tenant instances' security group.
   */
  cellNetworkTag: 'tenant-platform:cell-network',
  /**
   * The tag the platform's stack puts on its network when it has cell accounts (infra/cell-peering.ts), which
   * the cells' stacks find it by: `vpc` on the VPC, `task-functions` on its task Lambdas' subnets and their
   * route tables.
   */
  platformNetworkTag: 'tenant-platform:platform-network',
} as const;

/** Names of the platform's buckets and secret in the local platform (on AWS, CloudFormation names them). */
export const LocalPlatformNames = {
  region: 'us-east-1',
  artifactBucket: 'tenant-platform-artifacts',
  siteBucket: 'tenant-platform-site',
  /** Tenant exports (versioned, Object Lock): `exports/<tenantId>/...`. */
  archiveBucket: 'tenant-platform-archive',
  masterSecret: 'platform/shared-db/master',
  alarmTopic: 'tenant-platform-alarms',
  /** The permissions boundary every tenant function role is created with (infra/tenant-role-boundary.ts). */
  tenantRoleBoundary: 'tenant-role-boundary',
  /** The dedicated instances' subnet group (a name only: the local RDS has no network). */
  dedicatedSubnetGroup: 'tenant-dedicated',
  /** The CloudFormation stack the local bootstrap records (outputs only), as `cdk deploy` names it. */
  stack: 'TenantPlatform',
} as const;

/** Environment variables of the task Lambdas: set by the CDK construct on AWS and by the local runtime. */
export const TaskEnv = {
  masterSecretArn: 'MASTER_SECRET_ARN',
  sharedDbHost: 'SHARED_DB_HOST',
  sharedDbPort: 'SHARED_DB_PORT',
  platformDbName: 'PLATFORM_DB_NAME',
  artifactBucket: 'ARTIFACT_BUCKET',
  siteBucket: 'SITE_BUCKET',
  distributionId: 'DISTRIBUTION_ID',
  eventBusName: 'EVENT_BUS_NAME',
  /** The archive bucket, where offboarding exports a tenant and onboarding restores one from. */
  archiveBucket: 'ARCHIVE_BUCKET',
  /** Days an export is kept: the date the registry records (the bucket enforces it). */
  archiveRetentionDays: 'ARCHIVE_RETENTION_DAYS',
  /**
   * How many onboardings may provision at once (registered, not yet live or rolled back); more wait for a
   * slot. And the onboarding state machine's timeout: a registration older than that is no longer running.
   */
  maxConcurrentOnboardings: 'MAX_CONCURRENT_ONBOARDINGS',
  onboardingTimeoutSeconds: 'ONBOARDING_TIMEOUT_SECONDS',
  /**
   * Customers' domains (workflow-tasks/domain): the domain state machine, the two multi-tenant
   * distributions a tenant's domain gets a distribution tenant of (its site; its API), the connection
   * group's routing endpoint the customer's records point at, how long validation may take, and the first
   * and longest wait between two checks (the wait doubles from the first).
   */
  domainStateMachineArn: 'DOMAIN_STATE_MACHINE_ARN',
  siteTenantsDistributionId: 'SITE_TENANTS_DISTRIBUTION_ID',
  apiTenantsDistributionId: 'API_TENANTS_DISTRIBUTION_ID',
  connectionGroupId: 'CONNECTION_GROUP_ID',
  routingEndpoint: 'ROUTING_ENDPOINT',
  domainValidationSeconds: 'DOMAIN_VALIDATION_SECONDS',
  domainCheckSeconds: 'DOMAIN_CHECK_SECONDS',
  domainCheckMaxSeconds: 'DOMAIN_CHECK_MAX_SECONDS',
  tenantFunctionRuntime: 'TENANT_FUNCTION_RUNTIME',
  /** Dedicated tier: instance class, and optionally the subnet group and security group of the instances. */
  dedicatedInstanceClass: 'DEDICATED_INSTANCE_CLASS',
  dedicatedSubnetGroup: 'DEDICATED_SUBNET_GROUP',
  dedicatedSecurityGroup: 'DEDICATED_SECURITY_GROUP',
  /**
   * Tenant API functions on AWS: the private subnets (comma-separated) and security group they run in, so
   * they reach the database, and the permissions boundary every tenant function role is created under.
   * Unset locally: no VPC, no boundary.
   */
  tenantSubnetIds: 'TENANT_SUBNET_IDS',
  tenantSecurityGroupId: 'TENANT_SECURITY_GROUP_ID',
  tenantRoleBoundaryArn: 'TENANT_ROLE_BOUNDARY_ARN',
  /** Days the tenant functions' log groups keep their logs. */
  tenantLogRetentionDays: 'TENANT_LOG_RETENTION_DAYS',
  /** The platform's alarm topic: every tenant alarm notifies it. */
  alarmTopicArn: 'ALARM_TOPIC_ARN',
  /**
   * Capacity (common/capacity.ts): the limits in force (JSON, `tenantctl up --quotas`, the CDK context
   * `quotas`; unset: the defaults), and the state machine that adds a shared instance.
   */
  capacity: 'PLATFORM_CAPACITY',
  capacityStateMachineArn: 'CAPACITY_STATE_MACHINE_ARN',
  /**
   * How long a task Lambda keeps the AWS quotas it read from Service Quotas (seconds; unset: 60). The local
   * platform answers Service Quotas itself, in-process: 0, so a raised quota counts at once.
   */
  serviceQuotasCacheSeconds: 'SERVICE_QUOTAS_CACHE_SECONDS',
  /** The onboarding state machine: what a `TenantSignedUp` event starts (workflow-tasks/signup). */
  onboardingStateMachineArn: 'ONBOARDING_STATE_MACHINE_ARN',
  /**
   * The name of the task Lambda's own role, which each cell account has a copy of (common/cells.ts). Unset
   * locally, where the calling task's role is known in-process (lib/process-scope.ts).
   */
  taskRoleName: 'TASK_ROLE_NAME',
  /**
   * In a cell that is an AWS account of its own, the names of its tenant role boundary and dedicated subnet
   * group (infra/cell-stack.ts); at home, the platform's own (TENANT_ROLE_BOUNDARY_ARN, DEDICATED_SUBNET_GROUP).
   */
  cellBoundaryName: 'CELL_BOUNDARY_NAME',
  cellSubnetGroup: 'CELL_SUBNET_GROUP',
} as const;

/**
 * The execution a `TenantSignedUp` event starts: `onboard-<tenantId>-<12 characters of the event id>`
 * (`import-...` for a `TenantImportRequested`, whose detail has `importFrom`), so an
 * event delivered twice (EventBridge delivers at least once) names the same execution and starts it once,
 * while two different signups for one id are two executions (of which the registry lets one proceed).
 */
export function signupExecutionName(detail: unknown, eventId: string): string {
  const tenantId = (detail as { tenantId?: unknown } | null)?.tenantId;
  const label = typeof tenantId === 'string' && /^[a-z0-9-]{1,40}$/.test(tenantId) ? tenantId : 'invalid';
  const operation = (detail as { importFrom?: unknown } | null)?.importFrom ? 'import' : 'onboard';
  return `${operation}-${label}-${eventId
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 12)
    .toLowerCase()}`;
}

/** Environment variables of a tenant's API Lambda. */
export const TenantApiEnv = {
  tenantId: 'TENANT_ID',
  /** The tenant's secret (see common/tenant-secret.ts): database credentials and the token key. */
  secretArn: 'TENANT_SECRET_ARN',
  /** `true` in the function version a suspension publishes (see workflow-tasks/suspension). */
  suspended: 'TENANT_SUSPENDED',
} as const;

/** Everything a tenant owns is named from its id by these functions, and nowhere else. */
export interface TenantResourceNames {
  /** PostgreSQL database (and its owner role): dashes become underscores. */
  readonly database: string;
  readonly role: string;
  /** The tenant's one secret: database credentials, the admin's initial password, the token key. */
  readonly secretName: string;
  readonly functionName: string;
  readonly functionRoleName: string;
  readonly apiName: string;
  /** RDS instance of a dedicated-tier tenant. */
  readonly instanceId: string;
  /** CloudWatch alarms: the API function's errors, and a dedicated instance's CPU. */
  readonly apiErrorsAlarm: string;
  readonly instanceCpuAlarm: string;
  /** Prefix of the tenant's frontend in the site bucket, with a trailing slash so `a/` never matches `a-b/`. */
  readonly sitePrefix: string;
}

export function tenantResourceNames(tenantId: string): TenantResourceNames {
  const database = tenantId.replace(/-/g, '_');
  return {
    database,
    role: database,
    secretName: `tenants/${tenantId}/credentials`,
    functionName: `tenant-${tenantId}-api`,
    functionRoleName: `tenant-${tenantId}-api-role`,
    apiName: `tenant-${tenantId}-api`,
    instanceId: `tenant-${tenantId}`,
    apiErrorsAlarm: `tenant-${tenantId}-api-errors`,
    instanceCpuAlarm: `tenant-${tenantId}-db-cpu`,
    sitePrefix: `tenants/${tenantId}/`,
  };
}

/**
 * The final snapshot an offboarding of a dedicated tenant keeps of its instance, named for the offboarding
 * (its claim's start, the stamp of the export it wrote): `tenant-<id>-final-<yyyymmddthhmmssz>`.
 */
export function finalSnapshotId(tenantId: string, offboardingStartedAt: string): string {
  return `${tenantResourceNames(tenantId).instanceId}-final-${offboardingStartedAt.toLowerCase()}`;
}
