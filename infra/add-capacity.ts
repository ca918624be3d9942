import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CAPACITY_WAIT, CapacityStates as S } from '../common/capacity';
import { permissions } from '../workflow-tasks/capacity/permissions';
import { handlerGrants, StepGrants } from './step-permissions';
import {
  databaseTasks,
  stateMachineNamed,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';

export interface AddCapacityProps extends TaskLambdaSettings {
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** The subnet group the shared instances go in (the dedicated tier's). */
  readonly subnetGroupName: string;
}

/**
 * The next shared PostgreSQL instance (input `{ "instanceId": "shared-<n>" }`, started by onboarding's
 * "Register tenant" when the free places run down to the headroom; common/capacity.ts): created on RDS,
 * awaited (Wait / check / Choice, a bounded number of rounds), registered AVAILABLE for placement. A
 * failure deletes the instance and records it FAILED.
 */
export class AddCapacity extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: AddCapacityProps) {
    super(scope, id);
    const access = new StepGrants(this, { ...props, dedicatedSubnetGroup: props.subnetGroupName });
    const grants = handlerGrants(permissions, (given, f) => access.grantAll(given, f));
    const tasks = new WorkflowTasks(this, props, 'capacity');
    this.taskFunctions = tasks.byState;
    const task = databaseTasks(tasks, grants, () => 60);

    const failed = new sfn.Fail(this, S.failed, {
      stateName: S.failed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const rollback = task(S.rollback, 'rollback', sfn.JsonPath.DISCARD, 'undo');
    rollback.next(failed);
    const create = task(S.create, 'create', sfn.JsonPath.DISCARD);
    const check = task(S.check, 'check', '$.check');
    const register = task(S.register, 'register', sfn.JsonPath.DISCARD);
    for (const step of [create, check, register]) step.addCatch(rollback, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, S.wait, {
      stateName: S.wait,
      time: sfn.WaitTime.duration(Duration.seconds(CAPACITY_WAIT.waitSeconds)),
    });
    create
      .next(check)
      .next(
        new sfn.Choice(this, S.available, { stateName: S.available })
          .when(
            sfn.Condition.stringEquals('$.check.status', 'available'),
            register.next(new sfn.Succeed(this, S.added, { stateName: S.added })),
          )
          .otherwise(wait.next(check)),
      );
    this.stateMachine = workflowStateMachine(this, {
      start: create,
      timeout: Duration.seconds(CAPACITY_WAIT.waitSeconds * CAPACITY_WAIT.maxRounds).plus(
        Duration.minutes(30),
      ),
      comment: 'Adds a shared PostgreSQL instance: created on RDS, awaited, registered for placement.',
      logRetention: props.logRetention,
      name: capacityStateMachineOf(this).name,
    });
  }
}

/** The add-capacity state machine's name and ARN (onboarding's "Register tenant" names it). */
export function capacityStateMachineOf(scope: Construct): { arn: string; name: string } {
  return stateMachineNamed(scope, 'capacity');
}
