import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { OffboardingStates as S } from '../common/offboarding';
import {
  refuseAt,
  databaseTasks,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';
import type { TenantOnboarding } from './tenant-onboarding';
import { permissions } from '../workflow-tasks/offboarding/permissions';
import { handlerGrants } from './step-permissions';

export interface TenantOffboardingProps extends TaskLambdaSettings {
  /** The removals run onboarding's undo code, with onboarding's undo permissions. */
  readonly onboarding: TenantOnboarding;
  /** The tenant API versions: suspending publishes a version from the live version's zip. */
  readonly artifactBucket: IBucket;
  /** Where the exports go. */
  readonly archiveBucket: IBucket;
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** Receives TenantOffboarded / TenantOffboardingFailed. */
  readonly eventBus: IEventBus;
}

/**
 * Offboards one tenant (input `{ "tenantId" }`): claim (ACTIVE or SUSPENDED only), suspend, export the
 * database to the archive bucket and verify the export against the database. A failure up to there resumes
 * the tenant as it was: nothing lost, nothing removed. From there on the removals (domain, frontend and its
 * cache, function with its API, role and log group, database or instance with a final snapshot, secret) only
 * go forward: each is idempotent and retried; one that still fails records OFFBOARDING_FAILED and emits
 * `TenantOffboardingFailed`, and running the offboarding again finishes the job. Then OFFBOARDED with the
 * export's key and retention date, and `TenantOffboarded`.
 */
export class TenantOffboarding extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantOffboardingProps) {
    super(scope, id);
    // What each handler may do (workflow-tasks/offboarding/permissions.ts).
    const grants = handlerGrants(permissions, (given, f) => props.onboarding.grant(given, f));
    const longTasks = new Set(['exportDatabase', 'verify']);
    const tasks = new WorkflowTasks(this, props, 'offboarding');
    this.taskFunctions = tasks.byState;
    // A large tenant's export streams for minutes: the most a Lambda may run.
    const task = databaseTasks(tasks, grants, (handler) => (longTasks.has(handler) ? 900 : 120));

    const claim = task(S.claim, 'claim', '$.results');
    refuseAt(this, claim, S.refused);

    // After the export is verified: forward only. A removal that fails after its retries is recorded.
    const failed = new sfn.Fail(this, S.failed, {
      stateName: S.failed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const recordFailure = task(S.recordFailure, 'recordFailure', undefined, 'undo');
    recordFailure.addCatch(failed, { resultPath: '$.recordError' });
    recordFailure.next(failed);
    const forwardOnly = (state: string, handler: string, resultPath?: string) => {
      const step = task(state, handler, resultPath, 'undo');
      step.addCatch(
        new sfn.Pass(this, `${state} failed`, {
          stateName: `${state} failed`,
          result: sfn.Result.fromString(state),
          resultPath: '$.failedStep',
        }).next(recordFailure),
        { resultPath: '$.error' },
      );
      return step;
    };
    const removals = forwardOnly(S.removeDomain, 'removeDomain');
    removals
      .next(forwardOnly(S.removeFrontend, 'removeFrontend', '$.results.invalidation'))
      .next(forwardOnly(S.removeFunction, 'removeFunction'))
      .next(forwardOnly(S.removeDatabase, 'removeDatabase', '$.results.database'))
      .next(forwardOnly(S.removeSecret, 'removeSecret'))
      .next(forwardOnly(S.markOffboarded, 'markOffboarded'))
      .next(new sfn.Succeed(this, S.offboarded, { stateName: S.offboarded }));

    // Up to the verified export: any failure resumes the tenant as it was.
    const resume = task(S.resume, 'resume', undefined, 'undo');
    resume.next(
      new sfn.Fail(this, S.kept, {
        stateName: S.kept,
        errorPath: '$.error.Error',
        causePath: '$.error.Cause',
      }),
    );
    resume.addCatch(
      new sfn.Pass(this, `${S.resume} failed`, {
        stateName: `${S.resume} failed`,
        result: sfn.Result.fromString(S.resume),
        resultPath: '$.failedStep',
      }).next(recordFailure),
      { resultPath: '$.rollbackError' },
    );
    const suspend = task(S.suspend, 'suspend', undefined, 'forward');
    const exportDatabase = task(S.export, 'exportDatabase', '$.results.export', 'forward');
    const verify = task(S.verify, 'verify', '$.results.export', 'forward');
    for (const step of [suspend, exportDatabase, verify]) step.addCatch(resume, { resultPath: '$.error' });
    suspend.next(exportDatabase).next(verify).next(removals);

    claim.next(
      new sfn.Choice(this, S.exported, { stateName: S.exported })
        .when(sfn.Condition.isPresent('$.results.export.verifiedAt'), removals)
        .otherwise(suspend),
    );
    this.stateMachine = workflowStateMachine(this, {
      start: claim,
      timeout: Duration.hours(2),
      comment:
        'Offboards one tenant: suspend, export and verify its database, then remove everything it had.',
      logRetention: props.logRetention,
    });
  }
}
