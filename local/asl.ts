import { App, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { TenantOnboarding } from '../infra/tenant-onboarding';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { LOCAL_ACCOUNT } from './bootstrap';

/** An Amazon States Language document, as the interpreter takes it. */
export interface AslDefinition {
  StartAt: string;
  States: Record<string, { Type: string; [field: string]: unknown }>;
  [field: string]: unknown;
}

/**
 * The state machine definition of the CDK construct, exactly as `cdk synth` renders it, with the
 * CloudFormation tokens (function ARNs, partition) replaced by local values. Bundling is skipped: the
 * local runtime calls the handlers in-process.
 */
export function localDefinition(): AslDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Local', {
    env: { account: LOCAL_ACCOUNT, region: LocalPlatformNames.region },
  });
  const onboarding = new TenantOnboarding(stack, 'TenantOnboarding', {
    artifactBucket: s3.Bucket.fromBucketName(stack, 'Artifacts', LocalPlatformNames.artifactBucket),
    siteBucket: s3.Bucket.fromBucketName(stack, 'Site', LocalPlatformNames.siteBucket),
    distribution: cloudfront.Distribution.fromDistributionAttributes(stack, 'Distribution', {
      distributionId: 'LOCAL',
      domainName: 'local.cloudfront.net',
    }),
    eventBus: events.EventBus.fromEventBusName(stack, 'Bus', PlatformNames.eventBus),
    masterSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', LocalPlatformNames.masterSecret),
    sharedDatabase: { host: '127.0.0.1', port: 5432 },
    // Only the definition is used: the network, boundary and log settings never reach the local runtime.
    logRetention: logs.RetentionDays.ONE_DAY,
    network: {
      vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
        vpcId: 'vpc-local',
        availabilityZones: [`${LocalPlatformNames.region}a`],
        privateSubnetIds: ['subnet-local'],
      }),
      subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      databaseClients: ec2.SecurityGroup.fromSecurityGroupId(stack, 'Clients', 'sg-local'),
    },
    tenantRoleBoundary: iam.ManagedPolicy.fromManagedPolicyName(stack, 'Boundary', 'local-boundary'),
    dedicated: { instanceClass: 'db.t4g.micro', subnetGroupName: 'local', securityGroupId: 'sg-local' },
  });
  const cfn = onboarding.stateMachine.node.defaultChild as CfnStateMachine;
  const resolved = stack.resolve(cfn.definitionString) as unknown;
  return JSON.parse(renderTokens(resolved)) as AslDefinition;
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
