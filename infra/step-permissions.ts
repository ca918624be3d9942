import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { Grant, PlatformResource, StepPermissions } from '../common/permissions';
import type { StepId } from '../common/steps';
import { permissions as activateTenant } from '../workflow-tasks/activate-tenant/permissions';
import { permissions as applySchema } from '../workflow-tasks/apply-schema/permissions';
import { permissions as attachDomain } from '../workflow-tasks/attach-domain/permissions';
import { permissions as checkInstance } from '../workflow-tasks/check-instance/permissions';
import { permissions as createDatabase } from '../workflow-tasks/create-database/permissions';
import { permissions as deployFunction } from '../workflow-tasks/deploy-function/permissions';
import { permissions as invalidateCache } from '../workflow-tasks/invalidate-cache/permissions';
import { permissions as publishFrontend } from '../workflow-tasks/publish-frontend/permissions';
import { permissions as recordRollbackFailure } from '../workflow-tasks/record-rollback-failure/permissions';
import { permissions as registerTenant } from '../workflow-tasks/register-tenant/permissions';
import { permissions as storeSecret } from '../workflow-tasks/store-secret/permissions';
import { permissions as validateInput } from '../workflow-tasks/validate-input/permissions';

/** Every onboarding step's permissions, from its folder (`workflow-tasks/<step>/permissions.ts`). */
export const STEP_PERMISSIONS: Readonly<
  Record<StepId | 'check-instance' | 'record-rollback-failure', StepPermissions>
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
};

/** The platform's resources a step's permissions may name (the onboarding construct's props have them). */
export interface StepResources {
  readonly masterSecret: ISecret;
  readonly eventBus: IEventBus;
  readonly artifactBucket: IBucket;
  readonly siteBucket: IBucket;
  readonly archive: { readonly bucket: IBucket };
  readonly distribution: IDistribution;
  readonly dedicated: { readonly subnetGroupName: string };
  readonly tenantRoleBoundary: iam.IManagedPolicy;
}

/**
 * Turns a step's permissions (common/permissions.ts) into its Lambda's role statements: ARN templates
 * filled with the stack's partition, region and account and the platform's own resources, and the CDK
 * grants of the buckets, the registry's secret and the event bus.
 */
export class StepGrants {
  private readonly stack: Stack;

  constructor(
    scope: Construct,
    private readonly props: StepResources,
    private readonly onboardingStateMachine: string,
  ) {
    this.stack = Stack.of(scope);
  }

  grant(stepId: string, handler: 'run' | 'undo', f: lambda.IFunction): void {
    const spec = STEP_PERMISSIONS[stepId as keyof typeof STEP_PERMISSIONS];
    if (!spec) throw new Error(`no permissions for step ${stepId}`);
    for (const grant of (handler === 'run' ? spec.run : spec.undo) ?? []) this.apply(grant, f);
  }

  private apply(grant: Grant, f: lambda.IFunction): void {
    const { props } = this;
    if ('allow' in grant) {
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
    } else if ('putEvents' in grant) props.eventBus.grantPutEventsTo(f);
    else if ('put' in grant) props.siteBucket.grantPut(f, grant.keys);
    else if ('delete' in grant) props.siteBucket.grantDelete(f, grant.keys);
    else if (grant.read === 'masterSecret') props.masterSecret.grantRead(f);
    else if (grant.read === 'artifactBucket') props.artifactBucket.grantRead(f, grant.keys);
    else props.archive.bucket.grantRead(f, grant.keys);
  }

  /** `{partition}`, `{region}`, `{account}` and the platform's resources, in an ARN template. */
  private fill(template: string): string {
    const { partition, region, account } = this.stack;
    const values: Record<'partition' | 'region' | 'account' | PlatformResource, string> = {
      partition,
      region,
      account,
      distributionId: this.props.distribution.distributionId,
      dedicatedSubnetGroup: this.props.dedicated.subnetGroupName,
      onboardingStateMachine: this.onboardingStateMachine,
      siteBucketArn: this.props.siteBucket.bucketArn,
      tenantRoleBoundary: this.props.tenantRoleBoundary.managedPolicyArn,
    };
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const value = values[name as keyof typeof values];
      if (value === undefined) throw new Error(`unknown {${name}} in the permission ${template}`);
      return value;
    });
  }
}
