import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  PlatformNames,
  TaskEnv,
  TENANT_DOMAIN_REQUESTED_PATTERN,
  TENANT_OFFBOARDING_REQUESTED_PATTERN,
  TENANT_SIGNED_UP_PATTERN,
} from '../common/names';
import { DEFAULT_ARCHIVE_RETENTION_DAYS } from '../common/offboarding';
import { TenantArchive, type ArchiveLockMode } from './archive';
import { tenantRoleBoundary as tenantRoleBoundaryPolicy } from './tenant-role-boundary';
import { TenantCleanup } from './tenant-cleanup';
import { taskFunction } from './task-lambdas';
import { ControlPlaneApi } from './control-plane';
import { PlatformNetwork } from './network';
import { PlatformOperations } from './operations';
import { SharedDatabase } from './shared-database';
import { DomainEdge } from './domain-edge';
import { TenantDomain } from './tenant-domain';
import { AddCapacity } from './add-capacity';
import { cellNames, grantCellAccess, type CellSource } from './cell-access';
import { letCellsPeer } from './cell-peering';
import type { CapacitySettings } from '../common/capacity';
import { TenantOffboarding } from './tenant-offboarding';
import { TenantOnboarding } from './tenant-onboarding';
import { TenantRelease } from './tenant-release';
import { TenantSuspension } from './tenant-suspension';
import { TenantMove } from './tenant-move';
import { PlatformWeb } from './web';

/** Everything a deployment may choose (CDK context keys of the same names, see infra/app.ts). */
export interface PlatformConfig {
  /**
   * The distribution's own domain: tenant frontends on `<domain>` and `*.<domain>` (needs `siteCertificateArn`,
   * an ACM certificate in us-east-1 covering both).
   * @default - the distribution's cloudfront.net domain
   */
  readonly platformDomain?: string;
  readonly siteCertificateArn?: string;
  /**
   * The Route53 hosted zone of `platformDomain`: the stack points `*.<platformDomain>` at the distribution,
   * so every tenant's site answers at once on `<tenantId>.<platformDomain>`.
   * @default - none: point `*.<platformDomain>` at the distribution yourself
   */
  readonly platformHostedZoneId?: string;
  /**
   * Hours a customer has to add its domain's records before the domain workflow gives up (ACM's own
   * validation limit is 72). @default 72
   */
  readonly domainValidationHours?: number;
  /** @default 't4g.micro' */
  readonly sharedInstanceClass?: string;
  /** Multi-AZ for the shared instance (every shared tenant's database). @default true */
  readonly sharedDbMultiAz?: boolean;
  /** @default 7 */
  readonly backupRetentionDays?: number;
  /** Days every log group keeps its logs (a CloudWatch Logs retention value). @default 30 */
  readonly logRetentionDays?: number;
  /** Subscribed to the alarm topic. @default - no subscription */
  readonly alarmEmail?: string;
  /** @default 1 */
  readonly natGateways?: number;
  /** Instance class of dedicated-tier tenants. @default 'db.t4g.micro' */
  readonly dedicatedInstanceClass?: string;
  /** Days a tenant's export is kept after offboarding (nobody can delete it before). @default 90 */
  readonly archiveRetentionDays?: number;
  /** Object Lock mode of the archive bucket (infra/archive.ts says who can bypass each). @default 'governance' */
  readonly archiveLockMode?: ArchiveLockMode;
  /** Onboardings that may provision at once; the rest of a signup burst waits its turn. @default 10 */
  readonly maxConcurrentOnboardings?: number;
  /**
   * The limits tenants are placed within (common/capacity.ts: `tenantsPerSharedInstance`, `tenantsPerCell`,
   * the AWS quotas by name; the context `quotas` is their JSON). @default the defaults there
   */
  readonly quotas?: CapacitySettings;
}

export type PlatformStackProps = StackProps & PlatformConfig;

/**
 * The platform: VPC, the shared PostgreSQL instance, the artifact and site buckets with the distribution,
 * the event bus with the `TenantSignedUp` rule (retried, dead-letter queue), the onboarding state machine
 * (logged, traced, bounded), alarms and a dashboard.
 */
export class PlatformStack extends Stack {
  readonly network: PlatformNetwork;
  readonly database: SharedDatabase;
  readonly web: PlatformWeb;
  readonly tenantRoleBoundary: iam.ManagedPolicy;
  readonly onboarding: TenantOnboarding;
  readonly release: TenantRelease;
  readonly suspension: TenantSuspension;
  readonly move: TenantMove;
  readonly archive: TenantArchive;
  readonly offboarding: TenantOffboarding;
  /** Customers' own domains: the edge they are served through, and the workflow that attaches them. */
  readonly domainEdge: DomainEdge;
  readonly domain: TenantDomain;
  /** Adds a shared PostgreSQL instance when the ones there fill up. */
  readonly capacity: AddCapacity;
  readonly cleanup: TenantCleanup;
  /** The `TenantSignedUp` rule's target: starts one onboarding per event. */
  readonly signupStarter: lambda.IFunction;
  readonly controlPlane: ControlPlaneApi;
  readonly deadLetterQueue: sqs.Queue;
  readonly operations: PlatformOperations;
  /** What a cell's own stack copies of this one (infra/cell-stack.ts). */
  readonly cellSource: CellSource;

  constructor(scope: Construct, id: string, props: PlatformStackProps = {}) {
    super(scope, id, props);
    const logRetention = retentionOf(props.logRetentionDays ?? 30);
    if (Boolean(props.platformDomain) !== Boolean(props.siteCertificateArn))
      throw new Error('PlatformStack: platformDomain and siteCertificateArn go together');

    const network = new PlatformNetwork(this, 'Network', {
      natGateways: props.natGateways ?? 1,
      logRetention,
    });
    this.network = network;
    const database = new SharedDatabase(this, 'SharedDatabase', {
      network,
      instanceClass: props.sharedInstanceClass ?? 't4g.micro',
      multiAz: props.sharedDbMultiAz ?? true,
      backupRetentionDays: props.backupRetentionDays ?? 7,
      logRetention,
    });
    this.database = database;
    const web = new PlatformWeb(this, 'Web', {
      logRetention,
      accessLogDays: props.logRetentionDays ?? 30,
      siteDomain:
        props.platformDomain && props.siteCertificateArn
          ? {
              domainName: props.platformDomain,
              certificateArn: props.siteCertificateArn,
              hostedZoneId: props.platformHostedZoneId,
            }
          : undefined,
    });
    this.web = web;
    const eventBus = new events.EventBus(this, 'EventBus', { eventBusName: PlatformNames.eventBus });
    const archive = new TenantArchive(this, 'Archive', {
      retentionDays: props.archiveRetentionDays ?? DEFAULT_ARCHIVE_RETENTION_DAYS,
      lockMode: props.archiveLockMode,
      accessLogs: web.accessLogs,
    });
    this.archive = archive;
    const tenantRoleBoundary = tenantRoleBoundaryPolicy(this, 'TenantFunctionBoundary');
    this.tenantRoleBoundary = tenantRoleBoundary;

    const domainEdge = new DomainEdge(this, 'DomainEdge', {
      siteBucket: web.siteBucket,
      accessLogs: web.accessLogs,
    });
    this.domainEdge = domainEdge;
    const domains = domainEdge.settings(Duration.hours(props.domainValidationHours ?? 72));

    const lambdaNetwork = {
      vpc: network.vpc,
      subnets: network.lambdaSubnets,
      databaseClients: network.databaseClients,
    };
    this.onboarding = new TenantOnboarding(this, 'TenantOnboarding', {
      artifactBucket: web.artifactBucket,
      siteBucket: web.siteBucket,
      distribution: web.distribution,
      eventBus,
      archive: { bucket: archive.bucket, retentionDays: archive.retentionDays },
      masterSecret: database.masterSecret,
      sharedDatabase: {
        host: database.instance.dbInstanceEndpointAddress,
        port: 5432,
      },
      domains,
      maxConcurrentOnboardings: props.maxConcurrentOnboardings,
      capacity: props.quotas,
      logRetention,
      network: lambdaNetwork,
      tenantRoleBoundary,
      dedicated: {
        instanceClass: props.dedicatedInstanceClass ?? 'db.t4g.micro',
        subnetGroupName: database.dedicatedSubnetGroup.subnetGroupName,
        securityGroupId: network.databases.securityGroupId,
      },
    });
    const { stateMachine } = this.onboarding;
    // The other workflows' tasks run like onboarding's: same environment, logs and network.
    const workflowTasks = {
      environment: this.onboarding.taskEnvironment,
      logRetention,
      network: lambdaNetwork,
    };
    this.release = new TenantRelease(this, 'TenantRelease', {
      ...workflowTasks,
      artifactBucket: web.artifactBucket,
      siteBucket: web.siteBucket,
      distribution: web.distribution,
      masterSecret: database.masterSecret,
    });

    this.suspension = new TenantSuspension(this, 'TenantSuspension', {
      ...workflowTasks,
      artifactBucket: web.artifactBucket,
      masterSecret: database.masterSecret,
      eventBus,
    });

    this.move = new TenantMove(this, 'TenantMove', {
      ...workflowTasks,
      artifactBucket: web.artifactBucket,
      siteBucket: web.siteBucket,
      tenantRoleBoundary,
      masterSecret: database.masterSecret,
      eventBus,
    });

    this.capacity = new AddCapacity(this, 'AddCapacity', {
      ...workflowTasks,
      masterSecret: database.masterSecret,
      subnetGroupName: database.dedicatedSubnetGroup.subnetGroupName,
    });

    this.domain = new TenantDomain(this, 'TenantDomain', {
      ...workflowTasks,
      masterSecret: database.masterSecret,
      eventBus,
      domains,
    });

    this.offboarding = new TenantOffboarding(this, 'TenantOffboarding', {
      ...workflowTasks,
      onboarding: this.onboarding,
      artifactBucket: web.artifactBucket,
      archiveBucket: archive.bucket,
      masterSecret: database.masterSecret,
      eventBus,
    });

    this.controlPlane = new ControlPlaneApi(this, 'ControlPlane', {
      ...workflowTasks,
      masterSecret: database.masterSecret,
    });

    const deadLetterQueue = new sqs.Queue(this, 'SignupDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = deadLetterQueue;
    // The rule's target names the execution for the event (a Step Functions target cannot), so an event
    // EventBridge delivers twice starts one onboarding (workflow-tasks/signup/handler.ts).
    this.signupStarter = taskFunction(
      this,
      'signup',
      {
        ...workflowTasks,
        environment: { [TaskEnv.onboardingStateMachineArn]: stateMachine.stateMachineArn },
      },
      { folder: 'signup', handler: 'handler', timeoutSeconds: 10, usesDatabase: false },
    );
    stateMachine.grantStartExecution(this.signupStarter);
    // EventBridge invokes it asynchronously: an event whose start still fails (throttled) goes to the
    // dead-letter queue too, not away.
    new lambda.EventInvokeConfig(this, 'SignupStartFailures', {
      function: this.signupStarter,
      retryAttempts: 2,
      maxEventAge: Duration.hours(2),
      onFailure: new destinations.SqsDestination(deadLetterQueue),
    });
    new events.Rule(this, 'TenantSignedUpRule', {
      eventBus,
      description:
        'Starts an onboarding for every TenantSignedUp or TenantImportRequested event (one per event id), with the event detail as input',
      eventPattern: { detailType: [...TENANT_SIGNED_UP_PATTERN['detail-type']] },
      targets: [
        new targets.LambdaFunction(this.signupStarter, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue,
        }),
      ],
    });

    new events.Rule(this, 'TenantOffboardingRequestedRule', {
      eventBus,
      description: 'Starts an offboarding for every TenantOffboardingRequested event ({ "tenantId" })',
      eventPattern: { detailType: [...TENANT_OFFBOARDING_REQUESTED_PATTERN['detail-type']] },
      targets: [
        new targets.SfnStateMachine(this.offboarding.stateMachine, {
          input: events.RuleTargetInput.fromEventPath('$.detail'),
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue,
        }),
      ],
    });

    new events.Rule(this, 'TenantDomainRequestedRule', {
      eventBus,
      description:
        'Starts the domain workflow for every TenantDomainRequested event ({ "tenantId", "domain" } or { "tenantId", "action": "detach" })',
      eventPattern: { detailType: [...TENANT_DOMAIN_REQUESTED_PATTERN['detail-type']] },
      targets: [
        new targets.SfnStateMachine(this.domain.stateMachine, {
          input: events.RuleTargetInput.fromEventPath('$.detail'),
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue,
        }),
      ],
    });

    this.cleanup = new TenantCleanup(this, 'TenantCleanup', {
      ...workflowTasks,
      onboarding: this.onboarding,
      watched: {
        onboarding: this.onboarding,
        release: this.release,
        suspension: this.suspension,
        offboarding: this.offboarding,
        move: this.move,
        capacity: this.capacity,
      },
      masterSecret: database.masterSecret,
      deadLetterQueue,
    });

    const operations = new PlatformOperations(this, 'Operations', {
      stateMachine,
      releaseStateMachine: this.release.stateMachine,
      cleanupStateMachine: this.cleanup.stateMachine,
      eventBus,
      deadLetterQueue,
      taskFunctions: this.onboarding.taskFunctions,
      alarmEmail: props.alarmEmail,
    });
    this.operations = operations;
    this.onboarding.sendTenantAlarmsTo(operations.alarmTopic);
    const cellAccounts = Object.values(props.quotas?.cellAccounts ?? {});
    const names = cellNames(this.stackName);
    this.cellSource = {
      stack: this,
      boundary: tenantRoleBoundary,
      subnetGroup: database.dedicatedSubnetGroup,
      names,
      ...(cellAccounts.length > 0 ? { peering: letCellsPeer(network, names.peeringRole, cellAccounts) } : {}),
    };
    grantCellAccess(this.cellSource, cellAccounts, web.artifactBucket);

    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn });
    new CfnOutput(this, 'DomainStateMachineArn', { value: this.domain.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CapacityStateMachineArn', { value: this.capacity.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DomainRoutingEndpoint', {
      description: "What every customer's domain records point at (the connection group's routing endpoint)",
      value: domains.routingEndpoint,
    });
    new CfnOutput(this, 'ReleaseStateMachineArn', { value: this.release.stateMachine.stateMachineArn });
    new CfnOutput(this, 'SuspensionStateMachineArn', { value: this.suspension.stateMachine.stateMachineArn });
    new CfnOutput(this, 'MoveStateMachineArn', { value: this.move.stateMachine.stateMachineArn });
    new CfnOutput(this, 'OffboardingStateMachineArn', {
      value: this.offboarding.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'CleanupStateMachineArn', { value: this.cleanup.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ControlPlaneUrl', { value: this.controlPlane.url });
    new CfnOutput(this, 'ArchiveBucketName', { value: archive.bucket.bucketName });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'DistributionDomainName', { value: web.distribution.distributionDomainName });
    new CfnOutput(this, 'DistributionId', { value: web.distribution.distributionId });
    new CfnOutput(this, 'ArtifactBucketName', { value: web.artifactBucket.bucketName });
    new CfnOutput(this, 'SiteBucketName', { value: web.siteBucket.bucketName });
    new CfnOutput(this, 'SharedDbEndpoint', { value: database.instance.dbInstanceEndpointAddress });
    new CfnOutput(this, 'AlarmTopicArn', { value: operations.alarmTopic.topicArn });
  }
}

/** A CloudWatch Logs retention in days, checked against the values CloudWatch accepts. */
function retentionOf(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days))
    throw new Error(
      `logRetentionDays must be one of ${allowed.sort((a, b) => a - b).join(', ')}; got ${days}`,
    );
  return days;
}
