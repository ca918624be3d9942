import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PermanentErrors } from '../common/errors';
import { MoveStates as S, ROUTING_WAIT_SECONDS, SYNC_WAIT_SECONDS } from '../common/move';
import { permissions } from '../workflow-tasks/move/permissions';
import { handlerGrants, StepGrants } from './step-permissions';
import {
  databaseTasks,
  refuseAt,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';

export interface TenantMoveProps extends TaskLambdaSettings {
  /** The tenant API versions: their migrations, and the suspended version's zip. */
  readonly artifactBucket: IBucket;
  /** The tenants' sites: a move to another account publishes the target's API in the tenant's config. */
  readonly siteBucket: IBucket;
  /** The tenant roles' boundary: a move to another account makes the tenant's role there under it. */
  readonly tenantRoleBoundary: iam.IManagedPolicy;
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** Receives TenantMoved. */
  readonly eventBus: IEventBus;
}

/**
 * Lambda's longest time: the copy's last part verifies every row on both sides (and a snapshot copy
 * streams them all); the copy while serving's first round makes the subscription, whose slot waits for
 * every transaction running on the source to end (another tenant's import may take minutes).
 */
const COPY_SECONDS = 900;
const SYNC_SECONDS = 900;

/**
 * Moves a shared tenant to another shared instance (input `{ "tenantId", "toInstance": "shared-<n>" }`, or
 * `"toCell": "cell-<n>"` for that cell's oldest instance with room;
 * workflow-tasks/move/steps.ts): the target's database is made and migrated (and, in another AWS account, the
 * tenant's secret, function and API) and the data copied (replicated) while the tenant serves; it is
 * suspended for the copy's last part, which is verified table by table; the secret and registry switch to
 * the target; it resumes there (in another account, its config names the target's API) and the old copy is
 * removed. Any failure before the resume puts everything back (the
 * tenant serving where it was, the target's copy dropped); after it, the cleanup finishes the move forward.
 */
export class TenantMove extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantMoveProps) {
    super(scope, id);
    const access = new StepGrants(this, props);
    const grants = handlerGrants(permissions, (given, f) => access.grantAll(given, f));
    const tasks = new WorkflowTasks(this, props, 'move');
    this.taskFunctions = tasks.byState;
    const task = databaseTasks(tasks, grants, (handler) =>
      handler === 'copy' ? COPY_SECONDS : handler === 'sync' ? SYNC_SECONDS : 60,
    );

    const claim = task(S.claim, 'claim', '$.move');
    refuseAt(this, claim, S.refused, [
      PermanentErrors.QuotaExceeded,
      PermanentErrors.NoCapacity,
      PermanentErrors.CellAccountChanged,
    ]);
    const failed = new sfn.Fail(this, S.failed, {
      stateName: S.failed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const undoSwitch = task(S.undoSwitch, 'undoSwitch', undefined, 'undo');
    undoSwitch
      .next(task(S.undoSuspend, 'undoSuspend', undefined, 'undo'))
      .next(task(S.undoDeploy, 'undoDeploy', undefined, 'undo'))
      .next(task(S.undoPrepare, 'undoPrepare', undefined, 'undo'))
      .next(task(S.undoClaim, 'undoClaim', undefined, 'undo'))
      .next(failed);

    // Copied while the tenant serves (replicated), round after round until every table follows the source.
    const prepare = task(S.prepare, 'prepare', '$.prepared');
    const deploy = task(S.deploy, 'deploy', '$.deployed');
    const sync = task(S.sync, 'sync', '$.sync');
    const suspend = task(S.suspend, 'suspend');
    const wait = new sfn.Wait(this, S.waitSync, {
      stateName: S.waitSync,
      time: sfn.WaitTime.duration(Duration.seconds(SYNC_WAIT_SECONDS)),
    });
    const copy = task(S.copy, 'copy', '$.copied');
    const switchOver = task(S.switchOver, 'switchOver', '$.switched');
    for (const step of [prepare, deploy, sync, suspend, copy, switchOver])
      step.addCatch(undoSwitch, { resultPath: '$.error' });
    // From the resume on, a failure ends the execution; the cleanup workflow finishes the move forward. The
    // resume runs again until the edge routes the tenant's domains to the target (another account's API).
    const resume = task(S.resume, 'resume', '$.resumed', 'undo');
    const removeOld = task(S.removeOld, 'removeOld', undefined, 'undo');
    const waitRouting = new sfn.Wait(this, S.waitRouting, {
      stateName: S.waitRouting,
      time: sfn.WaitTime.duration(Duration.seconds(ROUTING_WAIT_SECONDS)),
    });
    const routed = new sfn.Choice(this, S.routed, { stateName: S.routed })
      .when(sfn.Condition.booleanEquals('$.resumed.routed', true), removeOld)
      .otherwise(waitRouting.next(resume));
    claim.next(prepare).next(deploy).next(sync);
    sync.next(
      new sfn.Choice(this, S.synced, { stateName: S.synced })
        .when(sfn.Condition.booleanEquals('$.sync.ready', true), suspend)
        .otherwise(wait.next(sync)),
    );
    suspend.next(copy).next(switchOver).next(resume).next(routed);
    removeOld
      .next(task(S.markMoved, 'markMoved', '$.moved', 'undo'))
      .next(new sfn.Succeed(this, S.moved, { stateName: S.moved }));

    this.stateMachine = workflowStateMachine(this, {
      start: claim,
      timeout: Duration.hours(2),
      comment:
        'Moves a shared tenant to another shared instance: copied while serving, finished while suspended, verified, switched; a failure before it resumes there puts it back.',
      logRetention: props.logRetention,
    });
  }
}
