import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { permissions } from '../workflow-tasks/suspension/permissions';
import { handlerGrants, StepGrants } from './step-permissions';
import { SuspensionStates as S } from '../common/suspension';
import {
  refuseAt,
  databaseTasks,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';

export interface TenantSuspensionProps extends TaskLambdaSettings {
  /** The tenant API versions: a suspended version is published from the live version's zip. */
  readonly artifactBucket: IBucket;
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** Receives TenantSuspended / TenantResumed. */
  readonly eventBus: IEventBus;
}

/**
 * Suspends or resumes one tenant (input `{ "tenantId", "action": "suspend" | "resume" }`). Suspending: the
 * registry says SUSPENDED (no release touches it), alias `live` moves to a version of the same code that
 * answers 503 `tenant-suspended` on every route but /health, and `TenantSuspended` is emitted; a failure
 * moves `live` back and the tenant is ACTIVE again. Resuming: `live` goes back, ACTIVE, `TenantResumed`.
 * Nothing is deleted either way.
 */
export class TenantSuspension extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantSuspensionProps) {
    super(scope, id);
    // What each handler may do (workflow-tasks/suspension/permissions.ts).
    const access = new StepGrants(this, props);
    const grants = handlerGrants(permissions, (given, f) => access.grantAll(given, f));
    const tasks = new WorkflowTasks(this, props, 'suspension');
    this.taskFunctions = tasks.byState;
    // The undo path runs the same Lambdas as resuming.
    const task = databaseTasks(tasks, grants, () => 60);

    const claim = task(S.claim, 'claim');
    refuseAt(this, claim, S.refused);
    const failed = new sfn.Fail(this, S.suspensionFailed, {
      stateName: S.suspensionFailed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const undo = task(S.undoSwitch, 'switchBack', undefined, 'undo');
    undo.next(task(S.undoMarkActive, 'markActive', undefined, 'undo')).next(failed);

    const switchToSuspended = task(S.switchToSuspended, 'switchToSuspended', '$.switched');
    const announce = task(S.announce, 'announceSuspended');
    for (const step of [switchToSuspended, announce]) step.addCatch(undo, { resultPath: '$.error' });
    const suspend = switchToSuspended
      .next(announce)
      .next(new sfn.Succeed(this, S.suspended, { stateName: S.suspended }));

    const resume = task(S.switchBack, 'switchBack', '$.switchedBack')
      .next(task(S.markActive, 'markActive'))
      .next(new sfn.Succeed(this, S.resumed, { stateName: S.resumed }));

    claim.next(
      new sfn.Choice(this, S.which, { stateName: S.which })
        .when(sfn.Condition.stringEquals('$.action', 'suspend'), suspend)
        .otherwise(resume),
    );
    this.stateMachine = workflowStateMachine(this, {
      start: claim,
      timeout: Duration.minutes(30),
      comment:
        'Suspends or resumes one tenant: its API answers 503 but on /health while suspended; nothing is deleted.',
      logRetention: props.logRetention,
    });
  }
}
