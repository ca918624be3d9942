import { App, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { TenantOnboarding } from '../../infra/tenant-onboarding';
import { TenantRelease } from '../../infra/tenant-release';
import { TenantSuspension } from '../../infra/tenant-suspension';
import { TenantOffboarding } from '../../infra/tenant-offboarding';
import { TenantCleanup } from '../../infra/tenant-cleanup';
import { TenantDomain } from '../../infra/tenant-domain';
import { AddCapacity } from '../../infra/add-capacity';
import { TenantMove } from '../../infra/tenant-move';
import { localDomainSettings } from '../cloudfront/saas-manager';
import { LocalPlatformNames, PlatformNames } from '../../common/names';
import { DEFAULT_ARCHIVE_RETENTION_DAYS } from '../../common/offboarding';
import { LOCAL_ACCOUNT } from '../account';
import { cellRoleCopies, taskRoles, type LocalRole, type TaskRoles } from '../iam/roles';
import { cellNames, grantCellAccess } from '../../infra/cell-access';
import { CellStack, cellCidr } from '../../infra/cell-stack';
import { tenantRoleBoundary } from '../../infra/tenant-role-boundary';

/** An Amazon States Language document, as the interpreter takes it. */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, { Type: string; [field: string]: unknown }>;
  [field: string]: unknown;
}

/** The definitions of the platform's state machines, by their local names (common/names.ts). */
export interface LocalDefinitions {
  readonly onboarding: AslDefinition;
  readonly release: AslDefinition;
  readonly suspension: AslDefinition;
  readonly offboarding: AslDefinition;
  readonly cleanup: AslDefinition;
  readonly domain: AslDefinition;
  readonly capacity: AslDefinition;
  readonly move: AslDefinition;
  /** The task Lambdas' roles, by function logical id (the last part of a Task state's Resource). */
  readonly roles: TaskRoles;
  /** Each cell account's copies of them (infra/cell-stack.ts), by account. */
  readonly cellRoles: ReadonlyMap<string, readonly LocalRole[]>;
}

/**
 * The state machine definitions of the CDK constructs, exactly as `cdk synth` renders them, with the
 * CloudFormation tokens (function ARNs, partition) replaced by local values. Bundling is skipped: the
 * local runtime calls the handlers in-process. The release's Distributed Map runs as an inline Map here
 * (the same states, iterations in this process instead of child executions).
 */
export function localDefinitions(
  distributionId = 'LOCAL',
  /** The cells that are AWS accounts of their own: cell -> account (common/cells.ts). */
  cellAccounts: Readonly<Record<string, string>> = {},
): LocalDefinitions {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Local', {
    env: { account: LOCAL_ACCOUNT, region: LocalPlatformNames.region },
    // The onboarding state machine is named `<stack>-onboarding`: so named, it is the local one.
    stackName: PlatformNames.stateMachine.replace(/-onboarding$/, ''),
  });
  const artifactBucket = s3.Bucket.fromBucketName(stack, 'Artifacts', LocalPlatformNames.artifactBucket);
  const siteBucket = s3.Bucket.fromBucketName(stack, 'Site', LocalPlatformNames.siteBucket);
  const archiveBucket = s3.Bucket.fromBucketName(stack, 'Archive', LocalPlatformNames.archiveBucket);
  const distribution = cloudfront.Distribution.fromDistributionAttributes(stack, 'Distribution', {
    distributionId,
    domainName: 'local.cloudfront.net',
  });
  const masterSecret = secretsmanager.Secret.fromSecretNameV2(
    stack,
    'Master',
    LocalPlatformNames.masterSecret,
  );
  // Only the definitions are used: the network, boundary and log settings never reach the local runtime.
  const logRetention = logs.RetentionDays.ONE_DAY;
  const network = {
    vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-local',
      availabilityZones: [`${LocalPlatformNames.region}a`],
      privateSubnetIds: ['subnet-local'],
    }),
    subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    databaseClients: ec2.SecurityGroup.fromSecurityGroupId(stack, 'Clients', 'sg-local'),
  };
  const eventBus = events.EventBus.fromEventBusName(stack, 'Bus', PlatformNames.eventBus);
  const domains = localDomainSettings();
  const boundary = tenantRoleBoundary(stack, 'Boundary', LocalPlatformNames.tenantRoleBoundary);
  const onboarding = new TenantOnboarding(stack, 'TenantOnboarding', {
    domains,
    artifactBucket,
    siteBucket,
    distribution,
    eventBus,
    archive: { bucket: archiveBucket, retentionDays: DEFAULT_ARCHIVE_RETENTION_DAYS },
    masterSecret,
    sharedDatabase: { host: '127.0.0.1', port: 5432 },
    logRetention,
    network,
    tenantRoleBoundary: boundary,
    dedicated: {
      instanceClass: 'db.t4g.micro',
      subnetGroupName: LocalPlatformNames.dedicatedSubnetGroup,
      securityGroupId: 'sg-local',
    },
  });
  const release = new TenantRelease(stack, 'TenantRelease', {
    environment: {},
    logRetention,
    network,
    artifactBucket,
    siteBucket,
    distribution,
    masterSecret,
  });
  const suspension = new TenantSuspension(stack, 'TenantSuspension', {
    environment: {},
    logRetention,
    network,
    artifactBucket,
    masterSecret,
    eventBus,
  });
  const move = new TenantMove(stack, 'TenantMove', {
    environment: {},
    logRetention,
    network,
    artifactBucket,
    siteBucket,
    tenantRoleBoundary: boundary,
    masterSecret,
    eventBus,
  });
  const offboarding = new TenantOffboarding(stack, 'TenantOffboarding', {
    environment: {},
    logRetention,
    network,
    onboarding,
    artifactBucket,
    archiveBucket,
    masterSecret,
    eventBus,
  });
  const domain = new TenantDomain(stack, 'TenantDomain', {
    environment: {},
    logRetention,
    network,
    masterSecret,
    eventBus,
    domains,
  });
  const capacity = new AddCapacity(stack, 'AddCapacity', {
    environment: {},
    logRetention,
    network,
    masterSecret,
    subnetGroupName: LocalPlatformNames.dedicatedSubnetGroup,
  });
  const cleanup = new TenantCleanup(stack, 'TenantCleanup', {
    environment: {},
    logRetention,
    network,
    onboarding,
    // Its waits are zeroed locally (local/platform.ts): the status change comes once the tasks have ended.
    watched: { onboarding, release, suspension, offboarding, move, capacity },
    masterSecret,
    deadLetterQueue: sqs.Queue.fromQueueArn(
      stack,
      'DeadLetters',
      `arn:aws:sqs:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:local-dead-letters`,
    ),
  });
  // A cell account's boundary and subnet group are named as the platform's are locally (bootstrap); no VPC
  // to peer with here.
  const source = {
    stack,
    boundary,
    names: {
      ...cellNames(stack.stackName),
      boundary: LocalPlatformNames.tenantRoleBoundary,
      subnetGroup: LocalPlatformNames.dedicatedSubnetGroup,
    },
  };
  grantCellAccess(source, Object.values(cellAccounts), artifactBucket);
  // Each cell account's stack, as `cdk deploy` makes it there: its copies of the roles are what the tasks
  // may do in it (the IAM check's roles there).
  const cellRoles = new Map(
    Object.entries(cellAccounts).map(([cell, account]) => {
      const env = { account, region: LocalPlatformNames.region };
      const cellStack = new CellStack(app, `Local-${cell}`, {
        env,
        platform: source,
        cell,
        cidr: cellCidr(cell),
      });
      return [account, cellRoleCopies(cellStack, env)] as const;
    }),
  );
  const definitionOf = (machine: sfn.StateMachine) => {
    const cfn = machine.node.defaultChild as CfnStateMachine;
    return JSON.parse(renderTokens(stack.resolve(cfn.definitionString) as unknown)) as AslDefinition;
  };
  return {
    onboarding: definitionOf(onboarding.stateMachine),
    release: inlineMaps(definitionOf(release.stateMachine)),
    suspension: definitionOf(suspension.stateMachine),
    offboarding: definitionOf(offboarding.stateMachine),
    cleanup: definitionOf(cleanup.stateMachine),
    domain: definitionOf(domain.stateMachine),
    capacity: definitionOf(capacity.stateMachine),
    move: definitionOf(move.stateMachine),
    roles: taskRoles(stack, { account: LOCAL_ACCOUNT, region: LocalPlatformNames.region }),
    cellRoles,
  };
}

type AslState = AslDefinition['States'][string];

/** The state machines nested in a state: a Parallel state's branches, a Map's iteration. */
function nestedIn(state: AslState): AslDefinition[] {
  const branches = (state.Branches ?? []) as AslDefinition[];
  const processor = (state.ItemProcessor ?? state.Iterator) as AslDefinition | undefined;
  return processor ? [...branches, processor] : branches;
}

/** Every state of a definition by name, those inside Parallel branches and Map iterations included. */
export function allStates(definition: AslDefinition): Map<string, AslState> {
  const states = new Map<string, AslState>();
  const visit = (d: AslDefinition) => {
    for (const [name, state] of Object.entries(d.States)) {
      states.set(name, state);
      nestedIn(state).forEach(visit);
    }
  };
  visit(definition);
  return states;
}

/** The definition with every Task state, nested ones included, replaced by `change(state)`. */
export function mapTasks(definition: AslDefinition, change: (task: AslState) => AslState): AslDefinition {
  const mapped = (d: AslDefinition): AslDefinition => ({
    ...d,
    States: Object.fromEntries(
      Object.entries(d.States).map(([name, state]) => {
        if (state.Type === 'Task') return [name, change(state)];
        if (state.Branches)
          return [name, { ...state, Branches: (state.Branches as AslDefinition[]).map(mapped) }];
        for (const field of ['ItemProcessor', 'Iterator'] as const)
          if (state[field]) return [name, { ...state, [field]: mapped(state[field] as AslDefinition) }];
        return [name, state];
      }),
    ),
  });
  return mapped(definition);
}

/** Fields only a Distributed Map has; an inline Map runs the same ItemProcessor without them. */
const DISTRIBUTED_ONLY = [
  'Label',
  'ToleratedFailureCount',
  'ToleratedFailurePercentage',
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
];

function inlineMaps(definition: AslDefinition): AslDefinition {
  const states: AslDefinition['States'] = Object.fromEntries(
    Object.entries(definition.States).map(([name, state]): [string, AslDefinition['States'][string]] => {
      if (state.Type !== 'Map') return [name, state];
      const processor = state.ItemProcessor as { ProcessorConfig?: object } & Record<string, unknown>;
      const inline = Object.fromEntries(
        Object.entries(state).filter(([field]) => !DISTRIBUTED_ONLY.includes(field)),
      );
      return [
        name,
        { ...inline, Type: 'Map', ItemProcessor: { ...processor, ProcessorConfig: { Mode: 'INLINE' } } },
      ];
    }),
  );
  return { ...definition, States: states };
}

function renderTokens(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null)
    throw new Error(`Unexpected token ${JSON.stringify(value)}`);
  const token = value as Record<string, unknown>;
  if ('Fn::Join' in token) {
    const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
    return parts.map(renderTokens).join(separator);
  }
  if ('Fn::GetAtt' in token) {
    const [logicalId] = token['Fn::GetAtt'] as [string, string];
    return `arn:aws:lambda:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:function:${logicalId}`;
  }
  if ('Ref' in token) {
    const ref = token.Ref as string;
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': LocalPlatformNames.region,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[ref] ?? ref;
  }
  throw new Error(
    `Unsupported CloudFormation token in the state machine definition: ${JSON.stringify(value)}`,
  );
}
