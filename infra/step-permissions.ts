import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Grant, PlatformResource, StepPermissions, WorkflowPermissions } from '../common/permissions';
import type { StepId } from '../common/steps';
import { permissions as activateTenant } from '../workflow-tasks/activate-tenant/permissions';
import { permissions as applySchema } from '../workflow-tasks/apply-schema/permissions';
import { permissions as attachDomain } from '../workflow-tasks/attach-domain/permissions';
import { permissions as checkInstance } from '../workflow-tasks/check-instance/permissions';
import { permissions as createDatabase } from '../workflow-tasks/create-database/permissions';
import { permissions as deployFunction } from '../workflow-tasks/deploy-function/permissions';
import { permissions as inspectSource } from '../workflow-tasks/inspect-source/permissions';
import { permissions as invalidateCache } from '../workflow-tasks/invalidate-cache/permissions';
import { permissions as publishFrontend } from '../workflow-tasks/publish-frontend/permissions';
import { permissions as recordRollbackFailure } from '../workflow-tasks/record-rollback-failure/permissions';
import { permissions as registerTenant } from '../workflow-tasks/register-tenant/permissions';
import { permissions as storeSecret } from '../workflow-tasks/store-secret/permissions';
import { permissions as validateInput } from '../workflow-tasks/validate-input/permissions';

/** Every onboarding step's permissions, from its folder (`workflow-tasks/<step>/permissions.ts`). */
export const STEP_PERMISSIONS: Readonly<
  Record<StepId | 'check-instance' | 'record-rollback-failure' | 'inspect-source', StepPermissions>
> = {
  'validate-input': validateInput,
  'register-tenant': registerTenant,
  'store-secret': storeSecret,
  'create-database': createDatabase,
  'check-instance': checkInstance,
  'apply-schema': applySchema,
  'deploy-function': deployFunction,
  'attach-domain': attachDomain,
  'publish-frontend': publishFrontend,
  'invalidate-cache': invalidateCache,
  'activate-tenant': activateTenant,
  'record-rollback-failure': recordRollbackFailure,
  'inspect-source': inspectSource,
};

/**
 * The platform's resources a step's or a workflow's permissions may name (the onboarding construct's props
 * have them all; another workflow gives those its grants use).
 */
export interface StepResources {
  readonly masterSecret?: ISecret;
  readonly eventBus?: IEventBus;
  readonly artifactBucket?: IBucket;
  readonly siteBucket?: IBucket;
  readonly archiveBucket?: IBucket;
  readonly distribution?: IDistribution;
  readonly dedicatedSubnetGroup?: string;
  readonly tenantRoleBoundary?: iam.IManagedPolicy;
  readonly onboardingStateMachine?: string;
  /** Customers' domains: the domain state machine (onboarding starts it). */
  readonly domainStateMachine?: { arn: string; name: string };
  /** Capacity: the add-capacity state machine (onboarding's "Register tenant" starts it). */
  readonly capacityStateMachine?: { arn: string; name: string };
}

/**
 * Turns permissions (common/permissions.ts) into a Lambda's role statements: ARN templates filled with
 * the stack's partition, region and account and the platform's own resources, the CDK grants of the
 * buckets, the registry's secret and the event bus, and an onboarding step's grants where another
 * workflow runs that step's code.
 */
export class StepGrants {
  private readonly stack: Stack;

  constructor(
    scope: Construct,
    private readonly resources: StepResources,
  ) {
    this.stack = Stack.of(scope);
  }

  /** What an onboarding step's `run` or `undo` may do. */
  grantStep(stepId: string, handler: 'run' | 'undo', f: lambda.IFunction): void {
    const spec = STEP_PERMISSIONS[stepId as keyof typeof STEP_PERMISSIONS];
    if (!spec) throw new Error(`no permissions for step ${stepId}`);
    this.grantAll((handler === 'run' ? spec.run : spec.undo) ?? [], f);
  }

  grantAll(grants: readonly Grant[], f: lambda.IFunction): void {
    for (const grant of grants) this.apply(grant, f);
  }

  private apply(grant: Grant, f: lambda.IFunction): void {
    if ('asStep' in grant) this.grantStep(grant.asStep, grant.handler, f);
    else if ('allow' in grant) {
      const conditions = grant.when
        ? Object.fromEntries(
            Object.entries(grant.when).map(([operator, values]) => [
              operator,
              Object.fromEntries(Object.entries(values).map(([key, value]) => [key, this.fill(value)])),
            ]),
          )
        : undefined;
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [...grant.allow],
          resources: grant.on.map((template) => this.fill(template)),
          ...(conditions ? { conditions } : {}),
        }),
      );
    } else if ('putEvents' in grant) this.need('eventBus').grantPutEventsTo(f);
    else if ('put' in grant)
      // Not CDK's grantPut: it adds PutObjectLegalHold, PutObjectRetention and the tagging actions, and on
      // the archive a legal hold lifted or a retention changed is an export no longer kept. An export is a
      // multipart upload (lib-storage), aborted when it fails.
      this.onObjects(f, grant.put, grant.keys, [
        's3:PutObject',
        ...(grant.put === 'archiveBucket' ? ['s3:AbortMultipartUpload'] : []),
      ]);
    else if ('delete' in grant) this.onObjects(f, 'siteBucket', grant.keys, ['s3:DeleteObject']);
    else if ('listVersions' in grant)
      f.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucketVersions'],
          resources: [this.need(grant.listVersions).bucketArn],
          conditions: { StringLike: { 's3:prefix': grant.keys } },
        }),
      );
    else if (grant.read === 'masterSecret')
      // CDK's grantRead: GetSecretValue, and DescribeSecret (metadata; no task calls it, `npm run iam-report`).
      this.need('masterSecret').grantRead(f);
    else {
      // Not CDK's grantRead (GetObject*, GetBucket*, List*): GetObject, and GetObjectVersion of the exports
      // (read by their pinned version); ListBucket, because S3 answers a caller without it 403 AccessDenied
      // for a key that is not there, where the tasks need NoSuchKey ("no verified export", VersionNotFound).
      this.onObjects(f, grant.read, grant.keys, [
        's3:GetObject',
        ...(grant.read === 'archiveBucket' ? ['s3:GetObjectVersion'] : []),
      ]);
      f.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.need(grant.read).bucketArn] }),
      );
    }
  }

  private onObjects(
    f: lambda.IFunction,
    bucket: 'artifactBucket' | 'archiveBucket' | 'siteBucket',
    keys: string,
    actions: string[],
  ): void {
    f.addToRolePolicy(
      new iam.PolicyStatement({ actions, resources: [this.need(bucket).arnForObjects(keys)] }),
    );
  }

  private need<K extends keyof StepResources>(name: K): NonNullable<StepResources[K]> {
    const value = this.resources[name];
    if (value === undefined)
      throw new Error(`a permission names the ${name}, which this workflow was not given`);
    return value;
  }

  /** `{partition}`, `{region}`, `{account}` and the platform's resources, in an ARN template. */
  private fill(template: string): string {
    const { partition, region, account } = this.stack;
    const values: Record<'partition' | 'region' | 'account' | PlatformResource, () => string> = {
      partition: () => partition,
      region: () => region,
      account: () => account,
      distributionId: () => this.need('distribution').distributionId,
      dedicatedSubnetGroup: () => this.need('dedicatedSubnetGroup'),
      onboardingStateMachine: () => this.need('onboardingStateMachine'),
      domainStateMachine: () => this.need('domainStateMachine').arn,
      domainStateMachineName: () => this.need('domainStateMachine').name,
      capacityStateMachine: () => this.need('capacityStateMachine').arn,
      capacityStateMachineName: () => this.need('capacityStateMachine').name,
      siteBucketArn: () => this.need('siteBucket').bucketArn,
      tenantRoleBoundary: () => this.need('tenantRoleBoundary').managedPolicyArn,
    };
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = values[name as keyof typeof values];
      if (value === undefined) throw new Error(`unknown {${name}} in the permission ${template}`);
      return value();
    });
  }
}

/** A workflow's permissions (`workflow-tasks/<workflow>/permissions.ts`) as its constructs' grant functions. */
export function handlerGrants(
  permissions: WorkflowPermissions,
  grant: (grants: readonly Grant[], f: lambda.IFunction) => void,
): Record<string, (f: lambda.IFunction) => void> {
  return Object.fromEntries(
    Object.entries(permissions).map(([handler, grants]) => [
      handler,
      (f: lambda.IFunction) => grant(grants, f),
    ]),
  );
}
