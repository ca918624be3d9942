import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CLEANED_UP_WORKFLOWS,
  CleanupStates as S,
  executionInterruptedPattern,
  waitStateOf,
  type CleanedUpWorkflow,
} from '../common/cleanup';
import {
  longestTaskSeconds,
  databaseTasks,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';
import type { TenantOnboarding } from './tenant-onboarding';
import { permissions } from '../workflow-tasks/cleanup/permissions';
import { handlerGrants } from './step-permissions';

export interface TenantCleanupProps extends TaskLambdaSettings {
  readonly onboarding: TenantOnboarding;
  /**
   * The workflows whose interrupted executions are cleaned up after: their state machines, and their task
   * Lambdas, whose longest timeout is how long one may still run after its execution ended.
   */
  readonly watched: Readonly<
    Record<
      CleanedUpWorkflow,
      {
        readonly stateMachine: sfn.IStateMachine;
        readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;
      }
    >
  >;
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** Where an event the rule could not deliver goes. */
  readonly deadLetterQueue: IQueue;
}

/**
 * Cleans up after an execution that ended without compensating itself: stopped (`StopExecution`), timed
 * out, or failed where no rollback ran. A rule on Step Functions' own "Execution Status Change" event (the
 * account's default bus) starts it with the event's detail. It first waits out the longest task of the
 * workflow that ended (Step Functions cannot stop a Lambda it invoked: one still running could create
 * something after the undo), then undoes what the execution still owns (workflow-tasks/cleanup/steps.ts): a tenant left
 * PROVISIONING is rolled back by onboarding's own undo code, a release stopped, an offboarding put back.
 * An execution whose own rollback ran owns nothing any more: the cleanup then changes nothing.
 */
export class TenantCleanup extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantCleanupProps) {
    super(scope, id);
    const watched = CLEANED_UP_WORKFLOWS.map((workflow) => ({
      workflow,
      stateMachine: props.watched[workflow].stateMachine,
      longestTaskSeconds: longestTaskSeconds(props.watched[workflow].taskFunctions),
    }));
    const tasks = new WorkflowTasks(this, props, 'cleanup');
    this.taskFunctions = tasks.byState;
    const task = databaseTasks(
      tasks,
      // workflow-tasks/cleanup/permissions.ts: every onboarding undo, a switch back, the execution's end.
      handlerGrants(permissions, (given, f) => props.onboarding.grant(given, f)),
      // Every undo in one call: as long as a Lambda may run.
      () => 900,
    );
    const cleanUp = task(S.cleanUp, 'cleanUp', '$.cleanup', 'undo');
    cleanUp.next(new sfn.Succeed(this, S.done, { stateName: S.done }));
    const which = new sfn.Choice(this, S.which, { stateName: S.which });
    watched.forEach(({ workflow, stateMachine, longestTaskSeconds }) => {
      const wait = new sfn.Wait(this, waitStateOf(workflow), {
        stateName: waitStateOf(workflow),
        time: sfn.WaitTime.duration(Duration.seconds(longestTaskSeconds + 10)),
      });
      which.when(
        sfn.Condition.stringEquals('$.stateMachineArn', stateMachine.stateMachineArn),
        wait.next(cleanUp),
      );
    });
    // Started by hand without a state machine: the longest wait of all.
    which.otherwise(
      new sfn.Wait(this, S.wait, {
        stateName: S.wait,
        time: sfn.WaitTime.duration(
          Duration.seconds(Math.max(...watched.map((w) => w.longestTaskSeconds)) + 10),
        ),
      }).next(cleanUp),
    );
    const start = which;
    this.stateMachine = workflowStateMachine(this, {
      start,
      timeout: Duration.hours(1),
      comment:
        'Cleans up after a stopped, timed-out or crashed execution: undoes what it still owns, frees its slot.',
      logRetention: props.logRetention,
    });
    const pattern = executionInterruptedPattern(watched.map((w) => w.stateMachine.stateMachineArn));
    new events.Rule(this, 'InterruptedRule', {
      description:
        'Starts a cleanup for every execution of the tenant workflows that ended ABORTED, TIMED_OUT or FAILED',
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromEventPath('$.detail'),
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });
  }
}
