import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { PlatformNames, TENANT_SIGNED_UP_PATTERN } from '../common/names';
import { TenantOnboarding } from './tenant-onboarding';

export interface PlatformStackProps extends StackProps {
  /**
   * Name of the secret holding `{ username, password }` of the shared PostgreSQL instance's master user.
   * @default 'platform/shared-db/master'
   */
  readonly sharedDbSecretName?: string;
  /** Endpoint of the shared PostgreSQL instance. */
  readonly sharedDatabase: { readonly host: string; readonly port: number };
  /**
   * ACM certificate ARN for tenant API custom domains.
   * @default - none: tenants with a domain are rolled back at "Attach domain"
   */
  readonly certificateArn?: string;
}

/**
 * The platform: artifact and site buckets, the distribution, the event bus with the `TenantSignedUp` rule,
 * and the onboarding state machine. (The shared RDS instance, VPC and alarms come with the "platform
 * stack" issue; until then the stack takes an existing instance's endpoint and master secret.)
 */
export class PlatformStack extends Stack {
  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const privateBucket = (name: string) =>
      new s3.Bucket(this, name, {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        versioned: name === 'ArtifactBucket',
        removalPolicy: RemovalPolicy.RETAIN,
      });
    const artifactBucket = privateBucket('ArtifactBucket');
    const siteBucket = privateBucket('SiteBucket');
    const distribution = new cloudfront.Distribution(this, 'SiteDistribution', {
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(siteBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      },
    });
    const eventBus = new events.EventBus(this, 'EventBus', { eventBusName: PlatformNames.eventBus });
    const masterSecret = secretsmanager.Secret.fromSecretNameV2(
      this,
      'SharedDbMasterSecret',
      props.sharedDbSecretName ?? 'platform/shared-db/master',
    );

    const onboarding = new TenantOnboarding(this, 'TenantOnboarding', {
      artifactBucket,
      siteBucket,
      distribution,
      eventBus,
      masterSecret,
      sharedDatabase: props.sharedDatabase,
      certificateArn: props.certificateArn,
    });

    new events.Rule(this, 'TenantSignedUpRule', {
      eventBus,
      description: 'Starts an onboarding for every TenantSignedUp event, with the event detail as input',
      eventPattern: { detailType: [...TENANT_SIGNED_UP_PATTERN['detail-type']] },
      targets: [
        new targets.SfnStateMachine(onboarding.stateMachine, {
          input: events.RuleTargetInput.fromEventPath('$.detail'),
        }),
      ],
    });

    new CfnOutput(this, 'StateMachineArn', { value: onboarding.stateMachine.stateMachineArn });
    new CfnOutput(this, 'EventBusName', { value: eventBus.eventBusName });
    new CfnOutput(this, 'ArtifactBucketName', { value: artifactBucket.bucketName });
    new CfnOutput(this, 'SiteBucketName', { value: siteBucket.bucketName });
    new CfnOutput(this, 'DistributionDomainName', { value: distribution.distributionDomainName });
  }
}
