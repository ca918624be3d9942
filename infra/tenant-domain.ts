import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DomainStates as S } from '../common/domain-workflow';
import { PermanentErrors } from '../common/errors';
import { permissions } from '../workflow-tasks/domain/permissions';
import type { DomainSettings } from './domain-edge';
import { handlerGrants, StepGrants } from './step-permissions';
import {
  databaseTasks,
  refuseAt,
  stateMachineNamed,
  workflowStateMachine,
  WorkflowTasks,
  type TaskLambdaSettings,
} from './task-lambdas';

export interface TenantDomainProps extends TaskLambdaSettings {
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
  /** Receives TenantDomainPending / Active / Failed / Removed. */
  readonly eventBus: IEventBus;
  /** The edge a domain is served through (infra/domain-edge.ts), and how long its records may take. */
  readonly domains: DomainSettings;
}

/**
 * A customer's own domain (input `{ "tenantId", "domain" }`, or `{ "tenantId", "action": "detach" }`):
 * claimed, its certificates requested, then a Wait / check / Choice loop on a growing interval until the
 * records resolve and the certificates are issued (served: ACTIVE, a replaced domain removed) or the
 * deadline passes (nothing left: FAILED). A failure after the claim removes what was made. The tenant is
 * live on its platform address all along.
 */
export class TenantDomain extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantDomainProps) {
    super(scope, id);
    const machine = domainStateMachineOf(this);
    const access = new StepGrants(this, { ...props, domainStateMachine: machine });
    const grants = handlerGrants(permissions, (given, f) => access.grantAll(given, f));
    const tasks = new WorkflowTasks(this, props, 'domain');
    this.taskFunctions = tasks.byState;
    const task = databaseTasks(tasks, grants, () => 60);

    const claim = task(S.claim, 'claim', '$.claim');
    refuseAt(this, claim, S.refused);
    claim.addCatch(
      new sfn.Fail(this, S.held, { stateName: S.held, errorPath: '$.Error', causePath: '$.Cause' }),
      { errors: [PermanentErrors.ResourceConflict] },
    );
    const failed = new sfn.Fail(this, S.failed, {
      stateName: S.failed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const rollback = task(S.rollback, 'rollback', sfn.JsonPath.DISCARD, 'undo');
    rollback.next(failed);

    const request = task(S.request, 'requestCertificates', '$.request');
    const check = task(S.check, 'check', '$.check');
    const activate = task(S.activate, 'activate', sfn.JsonPath.DISCARD);
    for (const step of [request, check, activate]) step.addCatch(rollback, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, S.wait, {
      stateName: S.wait,
      time: sfn.WaitTime.secondsPath('$.check.waitSeconds'),
    });
    const giveUp = task(S.giveUp, 'giveUp', '$.error');
    giveUp.addCatch(rollback, { resultPath: '$.error' });
    giveUp.next(failed);
    const active = activate
      .next(task(S.removeReplaced, 'removeReplaced', sfn.JsonPath.DISCARD))
      .next(new sfn.Succeed(this, S.active, { stateName: S.active }));
    request
      .next(check)
      .next(
        new sfn.Choice(this, S.ready, { stateName: S.ready })
          .when(sfn.Condition.stringEquals('$.check.outcome', 'ready'), active)
          .when(sfn.Condition.stringEquals('$.check.outcome', 'expired'), giveUp)
          .otherwise(wait.next(check)),
      );

    const attach = new sfn.Choice(this, S.alreadyActive, { stateName: S.alreadyActive })
      .when(
        sfn.Condition.booleanEquals('$.claim.alreadyActive', true),
        new sfn.Succeed(this, S.nothingToDo, { stateName: S.nothingToDo }),
      )
      .otherwise(request);
    const detach = task(S.detach, 'detach', '$.detached').next(
      new sfn.Succeed(this, S.detached, { stateName: S.detached }),
    );
    claim.next(
      new sfn.Choice(this, S.which, { stateName: S.which })
        .when(sfn.Condition.stringEquals('$.claim.action', 'detach'), detach)
        .otherwise(attach),
    );
    this.stateMachine = workflowStateMachine(this, {
      start: claim,
      // The validation deadline, and the work either side of it.
      timeout: props.domains.validationTimeout.plus(Duration.hours(1)),
      comment:
        "Attaches or detaches a customer's own domain: certificates requested, the records awaited, then served; the tenant stays live on its platform address.",
      logRetention: props.logRetention,
      name: machine.name,
    });
  }
}

/** The domain state machine's name and ARN (its own tasks, and onboarding's "Attach domain", name it). */
export function domainStateMachineOf(scope: Construct): { arn: string; name: string } {
  return stateMachineNamed(scope, 'domain');
}
