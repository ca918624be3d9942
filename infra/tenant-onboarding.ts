import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { PlatformNames, TaskEnv } from '../common/names';
import { WaitErrors } from '../common/errors';
import { ImportStates } from '../common/imports';
import {
  BRANCHES,
  DEDICATED_INSTANCE,
  IMPORT_SOURCE,
  ONBOARDING_SLOTS,
  ONBOARDING_TIMEOUT_SECONDS,
  RECORD_ROLLBACK_FAILURE,
  STEPS,
} from '../common/steps';
import type { Grant } from '../common/permissions';
import type { DomainSettings } from './domain-edge';
import { StepGrants } from './step-permissions';
import { domainStateMachineOf } from './tenant-domain';
import { capacityStateMachineOf } from './add-capacity';
import { DEFAULT_CAPACITY, type CapacitySettings } from '../common/capacity';
import { invokeTask, retryTransient, TASK_RUNTIME, taskFunction, workflowStateMachine } from './task-lambdas';

export interface TenantOnboardingProps {
  /** Holds the tenant API package and the frontend bundle (see PlatformNames). */
  readonly artifactBucket: IBucket;
  /** Tenant exports (offboarding writes them, an onboarding with `restoreFrom` reads one), and their retention. */
  readonly archive: { readonly bucket: IBucket; readonly retentionDays: number };
  /** Tenant frontends live under `tenants/<id>/` here. */
  readonly siteBucket: IBucket;
  /** Serves the site bucket; invalidated per tenant. */
  readonly distribution: IDistribution;
  /** Receives TenantProvisioned / TenantProvisioningFailed / TenantRollbackFailed. */
  readonly eventBus: IEventBus;
  /** `{ username, password }` of the shared PostgreSQL instance's master user. */
  readonly masterSecret: ISecret;
  /** Endpoint of the shared PostgreSQL instance. */
  readonly sharedDatabase: { readonly host: string; readonly port: number };
  /**
   * Customers' own domains (infra/domain-edge.ts, infra/tenant-domain.ts): the multi-tenant distributions and
   * connection group a domain is served through, and how long its records may take to come.
   */
  readonly domains: DomainSettings;
  /**
   * Longest an onboarding may run before Step Functions stops it.
   * @default ONBOARDING_TIMEOUT_SECONDS (one hour)
   */
  readonly timeout?: Duration;
  /**
   * How many onboardings may provision at once; the rest of a burst waits its turn at "Register tenant".
   * @default ONBOARDING_SLOTS.defaultMaxConcurrent (10)
   */
  readonly maxConcurrentOnboardings?: number;
  /**
   * The limits tenants are placed within (common/capacity.ts): "Register tenant" refuses a tenant over one
   * and starts the next shared instance (infra/add-capacity.ts) before the last is full.
   * @default the defaults of common/capacity.ts
   */
  readonly capacity?: CapacitySettings;
  /** Retention of every log group the construct creates (functions and the state machine). */
  readonly logRetention: logs.RetentionDays;
  /**
   * Where the Lambdas that use a database run: the task Lambdas of DATABASE_STEPS here, and every tenant
   * API function (deploy-function puts it in these subnets with this security group).
   */
  readonly network: {
    readonly vpc: ec2.IVpc;
    readonly subnets: ec2.SubnetSelection;
    readonly databaseClients: ec2.ISecurityGroup;
  };
  /** The ceiling of every tenant function role: deploy-function may only create roles under it. */
  readonly tenantRoleBoundary: iam.IManagedPolicy;
  /** Dedicated tier: instance class, and the DB subnet group and security group its instances get. */
  readonly dedicated: {
    readonly instanceClass: string;
    readonly subnetGroupName: string;
    readonly securityGroupId: string;
  };
}

/** Steps whose Lambdas connect to PostgreSQL (the registry or a tenant database), and so run in the VPC. */
export const DATABASE_STEPS: ReadonlySet<string> = new Set([
  'register-tenant',
  'create-database',
  'apply-schema',
  'check-instance',
  'invalidate-cache',
  'activate-tenant',
  'record-rollback-failure',
  // An import's inspection learns each schema version's tables on the registry's database.
  'inspect-source',
]);

/**
 * The onboarding state machine: one Lambda task per step of common/steps.ts. The steps both branches need
 * run first, each catching into its own undo; then the database branch and the web branch run side by side
 * in a Parallel state, each ending at its own failure (BRANCHES); a failure of either runs every undo once
 * both have ended; then the steps that need both, catching into the last undo. The undos chain backwards to a Fail state carrying the original error.
 * An undo that fails after its retries is recorded (ROLLBACK_FAILED + event) and ends in a Fail state
 * naming the step.
 */
export class TenantOnboarding extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** Every task Lambda by its state's name ("Create database", "Undo create database", ...). */
  public readonly taskFunctions = new Map<string, lambda.IFunction>();
  /** The environment of every task Lambda (the release workflow's tasks get the same). */
  public readonly taskEnvironment: Record<string, string>;
  /** Set by `sendTenantAlarmsTo`: the topic every tenant's own alarms notify. */
  private alarmTopic?: ITopic;
  private readonly permissions: StepGrants;

  constructor(scope: Construct, id: string, props: TenantOnboardingProps) {
    super(scope, id);
    const maxConcurrent = props.maxConcurrentOnboardings ?? ONBOARDING_SLOTS.defaultMaxConcurrent;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent <= 0)
      throw new Error(
        `TenantOnboarding: maxConcurrentOnboardings must be a positive integer, got ${maxConcurrent}`,
      );
    const timeout = props.timeout ?? Duration.seconds(ONBOARDING_TIMEOUT_SECONDS);
    if (!Number.isInteger(props.sharedDatabase.port) || props.sharedDatabase.port <= 0) {
      throw new Error(
        `TenantOnboarding: sharedDatabase.port must be a positive integer, got ${props.sharedDatabase.port}`,
      );
    }
    const environment: Record<string, string> = {
      [TaskEnv.masterSecretArn]: props.masterSecret.secretArn,
      [TaskEnv.sharedDbHost]: props.sharedDatabase.host,
      [TaskEnv.sharedDbPort]: String(props.sharedDatabase.port),
      [TaskEnv.platformDbName]: PlatformNames.platformDatabase,
      [TaskEnv.artifactBucket]: props.artifactBucket.bucketName,
      [TaskEnv.siteBucket]: props.siteBucket.bucketName,
      [TaskEnv.distributionId]: props.distribution.distributionId,
      [TaskEnv.eventBusName]: props.eventBus.eventBusName,
      [TaskEnv.archiveBucket]: props.archive.bucket.bucketName,
      [TaskEnv.archiveRetentionDays]: String(props.archive.retentionDays),
      [TaskEnv.maxConcurrentOnboardings]: String(maxConcurrent),
      [TaskEnv.onboardingTimeoutSeconds]: String(timeout.toSeconds()),
      [TaskEnv.domainStateMachineArn]: domainStateMachineOf(this).arn,
      [TaskEnv.capacity]: JSON.stringify(props.capacity ?? DEFAULT_CAPACITY),
      [TaskEnv.capacityStateMachineArn]: capacityStateMachineOf(this).arn,
      [TaskEnv.serviceQuotasCacheSeconds]: '60',
      [TaskEnv.siteTenantsDistributionId]: props.domains.tenantDistributions.site,
      [TaskEnv.apiTenantsDistributionId]: props.domains.tenantDistributions.api,
      [TaskEnv.connectionGroupId]: props.domains.connectionGroupId,
      [TaskEnv.routingEndpoint]: props.domains.routingEndpoint,
      [TaskEnv.domainValidationSeconds]: String(props.domains.validationTimeout.toSeconds()),
      // The first check a minute after the request, then every 2, 4, ... up to every hour.
      [TaskEnv.domainCheckSeconds]: '60',
      [TaskEnv.domainCheckMaxSeconds]: '3600',
      [TaskEnv.tenantFunctionRuntime]: TASK_RUNTIME.name,
      [TaskEnv.tenantSubnetIds]: props.network.vpc.selectSubnets(props.network.subnets).subnetIds.join(','),
      [TaskEnv.tenantSecurityGroupId]: props.network.databaseClients.securityGroupId,
      [TaskEnv.tenantRoleBoundaryArn]: props.tenantRoleBoundary.managedPolicyArn,
      [TaskEnv.tenantLogRetentionDays]: String(props.logRetention),
      [TaskEnv.dedicatedInstanceClass]: props.dedicated.instanceClass,
      [TaskEnv.dedicatedSubnetGroup]: props.dedicated.subnetGroupName,
      [TaskEnv.dedicatedSecurityGroup]: props.dedicated.securityGroupId,
      // The platform's alarm topic is made after this construct (its alarms watch these tasks).
      [TaskEnv.alarmTopicArn]: Lazy.string({
        produce: () => {
          if (!this.alarmTopic) throw new Error('TenantOnboarding: call sendTenantAlarmsTo(topic)');
          return this.alarmTopic.topicArn;
        },
      }),
    };
    const permissions = new StepGrants(this, {
      ...props,
      archiveBucket: props.archive.bucket,
      dedicatedSubnetGroup: props.dedicated.subnetGroupName,
      onboardingStateMachine: onboardingStateMachineName(this),
      domainStateMachine: domainStateMachineOf(this),
      capacityStateMachine: capacityStateMachineOf(this),
    });
    this.permissions = permissions;
    this.taskEnvironment = environment;
    const settings = { environment, logRetention: props.logRetention, network: props.network };
    const fn = (
      stateName: string,
      stepId: string,
      handler: 'run' | 'undo',
      timeoutSeconds: number,
    ): lambda.IFunction => {
      const f = taskFunction(this, `${stepId}-${handler}`, settings, {
        folder: stepId,
        handler,
        timeoutSeconds,
        usesDatabase: DATABASE_STEPS.has(stepId),
      });
      permissions.grantStep(stepId, handler, f);
      this.taskFunctions.set(stateName, f);
      return f;
    };
    const invoke = (stateName: string, f: lambda.IFunction, timeoutSeconds: number, resultPath?: string) =>
      invokeTask(this, stateName, f, timeoutSeconds, resultPath);

    // Failure paths first: forward steps catch into them.
    const onboardingFailed = new sfn.Fail(this, 'Onboarding failed', {
      stateName: 'Onboarding failed',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const invalidInput = new sfn.Fail(this, 'Invalid input', {
      stateName: 'Invalid input',
      errorPath: '$.Error',
      causePath: '$.Cause',
    });
    const rollbackFailed = new sfn.Fail(this, 'Rollback failed', {
      stateName: 'Rollback failed',
      error: 'RollbackFailed',
      causePath: '$.rollbackFailure.cause',
    });
    const recordFailure = retryTransient(
      invoke(
        RECORD_ROLLBACK_FAILURE.stateName,
        fn(
          RECORD_ROLLBACK_FAILURE.stateName,
          RECORD_ROLLBACK_FAILURE.id,
          'run',
          RECORD_ROLLBACK_FAILURE.timeoutSeconds,
        ),
        RECORD_ROLLBACK_FAILURE.timeoutSeconds,
        '$.rollbackFailure',
      ),
      { retry: { maxAttempts: 4, intervalSeconds: 1, maxDelaySeconds: 8 } },
      'undo',
    );
    recordFailure.addCatch(
      new sfn.Fail(this, 'Rollback failed (not recorded)', {
        stateName: 'Rollback failed (not recorded)',
        error: 'RollbackFailed',
        cause: 'An undo failed and the failure could not be recorded in the registry',
      }),
      { resultPath: '$.recordError' },
    );
    recordFailure.next(rollbackFailed);

    // An import's source credentials are deleted at the end of a rollback (IMPORT_SOURCE). A failure to
    // delete them keeps the original error: tenantctl import deletes them again when the execution ends.
    const forgetSource = fn(ImportStates.undoForget, IMPORT_SOURCE.id, 'undo', 30);
    const undoForget = retryTransient(
      invoke(ImportStates.undoForget, forgetSource, 30, undefined),
      IMPORT_SOURCE,
      'undo',
    );
    undoForget.addCatch(onboardingFailed, { resultPath: '$.importCleanupError' });
    undoForget.next(onboardingFailed);
    const rollbackImported = new sfn.Choice(this, ImportStates.rollbackImported, {
      stateName: ImportStates.rollbackImported,
    })
      .when(sfn.Condition.isPresent('$.results.tenant.importFrom'), undoForget)
      .otherwise(onboardingFailed);

    // Undo chain, built from the first step forwards so each undo knows the one before it.
    let previousUndo: sfn.IChainable = rollbackImported;
    const undoFor = new Map<string, sfn.IChainable>();
    for (const step of STEPS) {
      if (step.undoStateName) {
        const undo = retryTransient(
          invoke(
            step.undoStateName,
            fn(step.undoStateName, step.id, 'undo', step.timeoutSeconds),
            step.timeoutSeconds,
            undefined,
          ),
          step,
          'undo',
        );
        undo.addCatch(
          new sfn.Pass(this, `${step.undoStateName} failed`, {
            stateName: `${step.undoStateName} failed`,
            result: sfn.Result.fromString(step.id),
            resultPath: '$.failedUndo',
          }).next(recordFailure),
          { resultPath: '$.rollbackError' },
        );
        undo.next(previousUndo);
        previousUndo = undo;
      }
      undoFor.set(step.id, previousUndo);
    }
    const undoAll = previousUndo;

    // Forward steps. Those outside the branches catch into their own undo; inside a branch a failure ends
    // the branch (BRANCHES), and the undos start once the other branch has ended too.
    const branchFailed = Object.fromEntries(
      BRANCHES.order.map((branch) => [
        branch,
        new sfn.Pass(this, BRANCHES.failedStateName[branch], { stateName: BRANCHES.failedStateName[branch] }),
      ]),
    ) as Record<(typeof BRANCHES.order)[number], sfn.Pass>;
    const catchInBranch = (task: tasks.LambdaInvoke, branch: (typeof BRANCHES.order)[number]) =>
      task.addCatch(branchFailed[branch], { resultPath: '$.results.failure' });
    const forward = new Map<string, tasks.LambdaInvoke>();
    for (const step of STEPS) {
      const task = retryTransient(
        invoke(
          step.stateName,
          fn(step.stateName, step.id, 'run', step.timeoutSeconds),
          step.timeoutSeconds,
          `$.results.${step.resultKey}`,
        ),
        step,
      );
      if (step.id === 'validate-input') {
        // Nothing exists yet: straight to a Fail state. The error replaces the state (no ResultPath), because
        // an input that is not even a JSON object has no field to put it in.
        task.addCatch(invalidInput);
      } else if (step.branch) {
        catchInBranch(task, step.branch);
      } else {
        task.addCatch(undoFor.get(step.id) ?? onboardingFailed, { resultPath: '$.error' });
      }
      forward.set(step.id, task);
    }
    const get = (id: string): tasks.LambdaInvoke => {
      const task = forward.get(id);
      if (!task) throw new Error(`no task for step ${id}`);
      return task;
    };
    // A burst waits for onboarding slots here (ONBOARDING_SLOTS), with backoff, instead of failing; so does
    // a shared tenant while the shared instance it will go to is being added (common/capacity.ts).
    const { retry: slotRetry } = ONBOARDING_SLOTS;
    get('register-tenant').addRetry({
      errors: [WaitErrors.OnboardingSlotsFull, WaitErrors.CapacityPending],
      interval: Duration.seconds(slotRetry.intervalSeconds),
      maxDelay: Duration.seconds(slotRetry.maxDelaySeconds),
      maxAttempts: slotRetry.maxAttempts,
      backoffRate: slotRetry.backoffRate,
      jitterStrategy: sfn.JitterType.FULL,
    });

    // The database branch. Dedicated tier: wait for the RDS instance (Wait / Check / Choice, bounded by the
    // check's round count).
    const { check } = DEDICATED_INSTANCE;
    const checkInstance = retryTransient(
      invoke(
        check.stateName,
        fn(check.stateName, check.id, 'run', check.timeoutSeconds),
        check.timeoutSeconds,
        `$.results.${check.resultKey}`,
      ),
      check,
    );
    catchInBranch(checkInstance, 'database');
    const waitForInstance = new sfn.Wait(this, DEDICATED_INSTANCE.waitStateName, {
      stateName: DEDICATED_INSTANCE.waitStateName,
      time: sfn.WaitTime.duration(Duration.seconds(DEDICATED_INSTANCE.waitSeconds)),
    });
    waitForInstance.next(checkInstance).next(
      new sfn.Choice(this, DEDICATED_INSTANCE.availableStateName, {
        stateName: DEDICATED_INSTANCE.availableStateName,
      })
        .when(
          sfn.Condition.stringEquals(`$.results.${check.resultKey}.status`, 'available'),
          get('apply-schema'),
        )
        // The web branch failed: the rollback removes the instance; waiting for it helps nobody.
        .when(
          sfn.Condition.stringEquals(`$.results.${check.resultKey}.status`, DEDICATED_INSTANCE.abandoned),
          new sfn.Pass(this, DEDICATED_INSTANCE.abandonedStateName, {
            stateName: DEDICATED_INSTANCE.abandonedStateName,
          }),
        )
        .otherwise(waitForInstance),
    );
    const databaseBranch = get('create-database').next(
      new sfn.Choice(this, DEDICATED_INSTANCE.choiceStateName, {
        stateName: DEDICATED_INSTANCE.choiceStateName,
      })
        .when(sfn.Condition.stringEquals('$.results.tenant.tier', 'dedicated'), waitForInstance)
        .otherwise(get('apply-schema')),
    );

    // The web branch.
    const webBranch = get('deploy-function').next(get('publish-frontend'));

    // Side by side. Each branch returns the whole state with its own results added (and a failure, if it
    // had one): they are merged back into `$.results`, then a failure goes into every undo (the undos
    // succeed when there is nothing to undo). The instance check's rounds are left behind: no later step
    // reads them.
    const build = new sfn.Parallel(this, BRANCHES.stateName, {
      stateName: BRANCHES.stateName,
      resultPath: '$.results',
      resultSelector: {
        merged: sfn.JsonPath.jsonMerge(
          sfn.JsonPath.objectAt('$[0].results'),
          sfn.JsonPath.objectAt('$[1].results'),
        ),
      },
    })
      .branch(databaseBranch)
      .branch(webBranch);
    const collect = new sfn.Pass(this, BRANCHES.collectStateName, {
      stateName: BRANCHES.collectStateName,
      inputPath: '$.results.merged',
      resultPath: '$.results',
    });
    const takeError = new sfn.Pass(this, BRANCHES.takeErrorStateName, {
      stateName: BRANCHES.takeErrorStateName,
      inputPath: '$.results.failure',
      resultPath: '$.error',
    }).next(undoAll);
    // After the tenant is live, an import's source credentials are deleted (a failure to delete them does
    // not undo the tenant: it is said in the output, and tenantctl import deletes them again).
    const live = new sfn.Succeed(this, 'Tenant is live', { stateName: 'Tenant is live' });
    this.taskFunctions.set(ImportStates.forget, forgetSource);
    const forget = retryTransient(invoke(ImportStates.forget, forgetSource, 30, undefined), IMPORT_SOURCE);
    forget.addCatch(
      new sfn.Pass(this, ImportStates.forgetNotDone, { stateName: ImportStates.forgetNotDone }).next(live),
      { resultPath: '$.importCleanupError' },
    );
    forget.next(live);
    // Once the tenant is live, its domain's own workflow is started (the onboarding does not wait for the
    // customer's DNS); without a domain, "Attach domain" is skipped, and its result still says so.
    const imported = new sfn.Choice(this, ImportStates.imported, { stateName: ImportStates.imported })
      .when(sfn.Condition.isPresent('$.results.tenant.importFrom'), forget)
      .otherwise(live);
    const hasDomain = new sfn.Choice(this, 'Has a domain?', { stateName: 'Has a domain?' })
      .when(sfn.Condition.isPresent('$.results.tenant.domain'), get('attach-domain'))
      .otherwise(
        new sfn.Pass(this, 'No domain to attach', {
          stateName: 'No domain to attach',
          result: sfn.Result.fromObject({ skipped: true }),
          resultPath: '$.results.domain',
        }).next(imported),
      );
    get('attach-domain').next(imported);
    get('invalidate-cache').next(get('activate-tenant')).next(hasDomain);
    build
      .next(collect)
      .next(
        new sfn.Choice(this, BRANCHES.builtStateName, { stateName: BRANCHES.builtStateName })
          .when(sfn.Condition.isPresent('$.results.failure'), takeError)
          .otherwise(get('invalidate-cache')),
      );

    // An import reads its source before anything is made: a refused source leaves nothing.
    const inspect = retryTransient(
      invoke(
        IMPORT_SOURCE.stateName,
        fn(IMPORT_SOURCE.stateName, IMPORT_SOURCE.id, 'run', IMPORT_SOURCE.timeoutSeconds),
        IMPORT_SOURCE.timeoutSeconds,
        `$.results.${IMPORT_SOURCE.resultKey}`,
      ),
      IMPORT_SOURCE,
    );
    inspect.addCatch(rollbackImported, { resultPath: '$.error' });
    inspect.next(get('register-tenant'));
    get('register-tenant').next(get('store-secret')).next(build);
    const definition = get('validate-input').next(
      new sfn.Choice(this, ImportStates.importing, { stateName: ImportStates.importing })
        .when(sfn.Condition.isPresent('$.results.tenant.importFrom'), inspect)
        .otherwise(get('register-tenant')),
    );

    this.stateMachine = workflowStateMachine(this, {
      start: definition,
      timeout,
      comment: 'Onboards one tenant; a failure anywhere undoes what was created, in reverse order.',
      name: onboardingStateMachineName(this),
      logRetention: props.logRetention,
    });
  }

  /**
   * Gives another workflow's Lambda its grants, in which one of these steps' `run` or `undo` may be named
   * (offboarding removes a tenant with the undo code, and so with the undo permissions).
   */
  grant(grants: readonly Grant[], f: lambda.IFunction): void {
    this.permissions.grantAll(grants, f);
  }

  /** The topic the tenants' own alarms (function errors, a dedicated instance's CPU) notify. */
  sendTenantAlarmsTo(topic: ITopic): void {
    this.alarmTopic = topic;
  }
}

/** The onboarding state machine's name: the stack's, so that two stacks in one account never collide. */
export function onboardingStateMachineName(scope: Construct): string {
  return `${Stack.of(scope).stackName}-onboarding`;
}
