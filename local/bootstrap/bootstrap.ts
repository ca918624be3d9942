/**
 * Stands in for **`cdk deploy`** of the TenantPlatform stack: the platform's own resources made in the
 * emulator (buckets, distribution, event bus, alarm topic, master DB secret, the stack's outputs) and the
 * platform database; tenants.ts puts the live tenants' resources back into the emulator on each start.
 *
 * Where the real thing differs: no VPC, no task Lambdas deployed (they run in process, local/tasks/, and
 * their roles are checked by local/iam/); the artifact is the working tree's tenant API, built as CDK
 * bundles it.
 */
import type { CapacitySettings } from '../../common/capacity';
import {
  CreateDistributionCommand,
  ListDistributionsCommand,
  CloudFrontClient,
} from '@aws-sdk/client-cloudfront';
import { localDomainSettings } from '../cloudfront/saas-manager';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  IAMClient,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { tenantRoleBoundaryDocument, type PolicyDocument } from '../iam/roles';
import { LocalPlatformNames, PlatformNames, TaskEnv } from '../../common/names';
import { DEFAULT_ARCHIVE_RETENTION_DAYS } from '../../common/offboarding';
import { ONBOARDING_TIMEOUT_SECONDS } from '../../common/steps';
import { buildTenantApiArtifact, uploadKeptVersions, uploadTenantApiVersion } from './artifacts';
import { CONTROL_PLANE_PATH, LOCAL_ACCOUNT } from '../account';
import { ensureDatabase, type LocalPostgres } from '../rds/postgres';
import { operatorCredentialsIn } from '../iam/principal';

/** Everything the task Lambdas' environment names, as created in the emulator (no VPC locally). */
export type TaskEnvironment = Record<
  Exclude<
    (typeof TaskEnv)[keyof typeof TaskEnv],
    'DEDICATED_SECURITY_GROUP' | 'TENANT_SUBNET_IDS' | 'TENANT_SECURITY_GROUP_ID' | 'TASK_ROLE_NAME'
  >,
  string
>;

/**
 * What the domain workflow's tasks need locally: the stand-in's distributions and routing endpoint
 * (local/cloudfront/), the customer's time to add records (`TENANTCTL_DOMAIN_TIMEOUT_S`), and checks every
 * second at first, then every two: a user watching `tenantctl domain` sees the change at once.
 */
function localDomainEnvironment(domainStateMachineArn: string) {
  const settings = localDomainSettings();
  return {
    [TaskEnv.domainStateMachineArn]: domainStateMachineArn,
    [TaskEnv.siteTenantsDistributionId]: settings.tenantDistributions.site,
    [TaskEnv.apiTenantsDistributionId]: settings.tenantDistributions.api,
    [TaskEnv.connectionGroupId]: settings.connectionGroupId,
    [TaskEnv.routingEndpoint]: settings.routingEndpoint,
    [TaskEnv.domainValidationSeconds]: String(settings.validationTimeout.toSeconds()),
    [TaskEnv.domainCheckSeconds]: '1',
    [TaskEnv.domainCheckMaxSeconds]: '2',
  } as const;
}

/**
 * The local counterpart of `cdk deploy`: creates the platform's resources in the emulator (artifact bucket
 * with the working tree's tenant API version made current and the versions kept in `stateDir`, site bucket, distribution, event bus, alarm topic,
 * the master DB secret pointing at the local PostgreSQL, the stack's outputs) and the platform database.
 * Safe to run again.
 */
export async function bootstrapPlatform(
  stateDir: string,
  endpoint: string,
  pg: LocalPostgres,
  stateMachineArns: {
    onboarding: string;
    release: string;
    suspension: string;
    offboarding: string;
    cleanup: string;
    domain: string;
    capacity: string;
    move: string;
  },
  maxConcurrentOnboardings: number,
  /** The limits tenants are placed within (bootstrap/capacity.ts). */
  capacity: CapacitySettings,
  /** The tenant function roles' permissions boundary, as the stack synthesizes it. */
  tenantRoleBoundary: PolicyDocument,
): Promise<TaskEnvironment> {
  const config = { endpoint, region: LocalPlatformNames.region };
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const secrets = new SecretsManagerClient(config);
  const events = new EventBridgeClient(config);
  const cloudfront = new CloudFrontClient(config);
  const sns = new SNSClient(config);
  const cloudformation = new CloudFormationClient(config);
  const iam = new IAMClient(config);
  try {
    for (const Bucket of [LocalPlatformNames.artifactBucket, LocalPlatformNames.siteBucket]) {
      await ignoreExists(s3.send(new CreateBucketCommand({ Bucket })));
    }
    await ensureArchiveBucket(s3);
    // Versions released before a restart (tenants may run them), then the working tree's as a version, and
    // the pointer that makes it the one onboarding deploys.
    await uploadKeptVersions(s3, stateDir);
    await uploadTenantApiVersion(s3, await buildTenantApiArtifact());
    await ignoreExists(events.send(new CreateEventBusCommand({ Name: PlatformNames.eventBus })));

    const master = JSON.stringify({ username: pg.user, password: pg.password });
    let masterSecretArn: string | undefined;
    try {
      masterSecretArn = (
        await secrets.send(
          new CreateSecretCommand({ Name: LocalPlatformNames.masterSecret, SecretString: master }),
        )
      ).ARN;
    } catch (error) {
      if ((error as Error).name !== 'ResourceExistsException') throw error;
      masterSecretArn = (
        await secrets.send(
          new PutSecretValueCommand({ SecretId: LocalPlatformNames.masterSecret, SecretString: master }),
        )
      ).ARN;
    }
    const boundaryArn = await ensureManagedPolicy(
      iam,
      LocalPlatformNames.tenantRoleBoundary,
      tenantRoleBoundary,
    );
    await bootstrapCellAccounts(endpoint, capacity);
    const distributionId = await ensureDistribution(cloudfront);
    await ensureDatabase(pg, PlatformNames.platformDatabase);
    // CreateTopic returns the existing topic's ARN when it exists.
    const alarmTopicArn =
      (await sns.send(new CreateTopicCommand({ Name: LocalPlatformNames.alarmTopic }))).TopicArn ?? '';
    await recordStack(cloudformation, {
      StateMachineArn: stateMachineArns.onboarding,
      ReleaseStateMachineArn: stateMachineArns.release,
      SuspensionStateMachineArn: stateMachineArns.suspension,
      OffboardingStateMachineArn: stateMachineArns.offboarding,
      CleanupStateMachineArn: stateMachineArns.cleanup,
      DomainStateMachineArn: stateMachineArns.domain,
      CapacityStateMachineArn: stateMachineArns.capacity,
      MoveStateMachineArn: stateMachineArns.move,
      ArchiveBucketName: LocalPlatformNames.archiveBucket,
      ControlPlaneUrl: `${endpoint}${CONTROL_PLANE_PATH}`,
      EventBusName: PlatformNames.eventBus,
      DistributionId: distributionId,
      ArtifactBucketName: LocalPlatformNames.artifactBucket,
      SiteBucketName: LocalPlatformNames.siteBucket,
      SharedDbEndpoint: pg.host,
      AlarmTopicArn: alarmTopicArn,
    });

    return {
      [TaskEnv.masterSecretArn]: masterSecretArn ?? LocalPlatformNames.masterSecret,
      [TaskEnv.sharedDbHost]: pg.host,
      [TaskEnv.sharedDbPort]: String(pg.port),
      [TaskEnv.platformDbName]: PlatformNames.platformDatabase,
      [TaskEnv.artifactBucket]: LocalPlatformNames.artifactBucket,
      [TaskEnv.siteBucket]: LocalPlatformNames.siteBucket,
      [TaskEnv.distributionId]: distributionId,
      [TaskEnv.eventBusName]: PlatformNames.eventBus,
      [TaskEnv.archiveBucket]: LocalPlatformNames.archiveBucket,
      [TaskEnv.archiveRetentionDays]: String(DEFAULT_ARCHIVE_RETENTION_DAYS),
      [TaskEnv.maxConcurrentOnboardings]: String(maxConcurrentOnboardings),
      [TaskEnv.onboardingTimeoutSeconds]: String(ONBOARDING_TIMEOUT_SECONDS),
      [TaskEnv.onboardingStateMachineArn]: stateMachineArns.onboarding,
      ...localDomainEnvironment(stateMachineArns.domain),
      [TaskEnv.capacity]: JSON.stringify(capacity),
      [TaskEnv.capacityStateMachineArn]: stateMachineArns.capacity,
      // The endpoint answers Service Quotas in-process: read every time, so a raised quota counts at once.
      [TaskEnv.serviceQuotasCacheSeconds]: '0',
      [TaskEnv.tenantFunctionRuntime]: 'nodejs22.x',
      [TaskEnv.dedicatedInstanceClass]: 'db.t4g.micro',
      [TaskEnv.tenantLogRetentionDays]: '7',
      [TaskEnv.alarmTopicArn]: alarmTopicArn,
      [TaskEnv.tenantRoleBoundaryArn]: boundaryArn,
      [TaskEnv.dedicatedSubnetGroup]: LocalPlatformNames.dedicatedSubnetGroup,
      // A cell account's own (bootstrapCellAccounts; the local cell stacks name them the same).
      [TaskEnv.cellBoundaryName]: LocalPlatformNames.tenantRoleBoundary,
      [TaskEnv.cellSubnetGroup]: LocalPlatformNames.dedicatedSubnetGroup,
    };
  } finally {
    for (const client of [s3, secrets, events, cloudfront, sns, cloudformation, iam]) client.destroy();
  }
}

/**
 * What a cell's stack makes in its own account (common/cells.ts, infra/cell-stack.ts) that the emulator
 * must hold: the tenant roles' permissions boundary, synthesized for that account as its stack makes it. (The
 * copies of the tasks' roles are held by the IAM check, local/iam/enforcer.ts.)
 */
async function bootstrapCellAccounts(endpoint: string, capacity: CapacitySettings): Promise<void> {
  for (const account of Object.values(capacity.cellAccounts)) {
    const iam = new IAMClient({
      endpoint,
      region: LocalPlatformNames.region,
      credentials: operatorCredentialsIn(account),
    });
    try {
      const document = tenantRoleBoundaryDocument(
        { account, region: LocalPlatformNames.region },
        LocalPlatformNames.tenantRoleBoundary,
      );
      await ensureManagedPolicy(iam, LocalPlatformNames.tenantRoleBoundary, document, account);
    } finally {
      iam.destroy();
    }
  }
}

/** A managed policy with this document (a persistent emulator's older one gets it as its default version). */
async function ensureManagedPolicy(
  iam: IAMClient,
  name: string,
  document: PolicyDocument,
  account = LOCAL_ACCOUNT,
): Promise<string> {
  const PolicyDocument = JSON.stringify(document);
  const arn = `arn:aws:iam::${account}:policy/${name}`;
  try {
    return (await iam.send(new CreatePolicyCommand({ PolicyName: name, PolicyDocument }))).Policy?.Arn ?? arn;
  } catch (error) {
    if (
      (error as Error).name !== 'EntityAlreadyExistsException' &&
      (error as Error).name !== 'EntityAlreadyExists'
    )
      throw error;
  }
  // At most five versions: the older ones go before the new default.
  const { Versions = [] } = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
  for (const version of Versions)
    if (!version.IsDefaultVersion)
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: version.VersionId }));
  await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument, SetAsDefault: true }));
  return arn;
}

/**
 * The `TenantPlatform` stack as `cdk deploy` leaves it, outputs only (its template holds a wait condition
 * handle, the one resource that needs nothing), so `tenantctl --aws` finds the state machine the same way
 * against the local endpoint as on AWS. One recorded by an earlier start (a persistent emulator) is kept.
 */
async function recordStack(
  cloudformation: CloudFormationClient,
  outputs: Record<string, string>,
): Promise<void> {
  const TemplateBody = JSON.stringify({
    Resources: { Recorded: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([key, value]) => [key, { Value: value }])),
  });
  try {
    await cloudformation.send(new CreateStackCommand({ StackName: LocalPlatformNames.stack, TemplateBody }));
  } catch (error) {
    if ((error as Error).name !== 'AlreadyExistsException') throw error;
  }
}

/**
 * The archive bucket as the CDK stack makes it: versioned, Object Lock in governance mode for the retention
 * period, encrypted, exports expiring when the retention ends.
 */
async function ensureArchiveBucket(s3: S3Client): Promise<void> {
  const Bucket = LocalPlatformNames.archiveBucket;
  await ignoreExists(s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true })));
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: DEFAULT_ARCHIVE_RETENTION_DAYS } },
      },
    }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    }),
  );
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'exports-expire-after-retention',
            Status: 'Enabled',
            Filter: { Prefix: 'exports/' },
            Expiration: { Days: DEFAULT_ARCHIVE_RETENTION_DAYS },
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          },
        ],
      },
    }),
  );
}

const SITE_ORIGIN = 'site-bucket';

async function ensureDistribution(cloudfront: CloudFrontClient): Promise<string> {
  const listed = await cloudfront.send(new ListDistributionsCommand({}));
  const existing = listed.DistributionList?.Items?.find((d) => d.Comment === PlatformNames.stateMachine);
  if (existing?.Id) return existing.Id;
  const created = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: {
        CallerReference: 'tenant-platform-site',
        Comment: PlatformNames.stateMachine,
        Enabled: true,
        Origins: {
          Quantity: 1,
          Items: [
            {
              Id: SITE_ORIGIN,
              DomainName: `${LocalPlatformNames.siteBucket}.s3.${LocalPlatformNames.region}.amazonaws.com`,
              S3OriginConfig: { OriginAccessIdentity: '' },
            },
          ],
        },
        DefaultCacheBehavior: {
          TargetOriginId: SITE_ORIGIN,
          ViewerProtocolPolicy: 'redirect-to-https',
          MinTTL: 0,
          ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
        },
      },
    }),
  );
  const id = created.Distribution?.Id;
  if (!id) throw new Error('The emulator created a distribution without an id');
  return id;
}

async function ignoreExists(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    const name = (error as Error).name;
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists', 'ResourceAlreadyExistsException'].includes(name))
      throw error;
  }
}
