import { Duration } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PermanentErrors } from '../common/errors';
import { RETRY, type StepSpec } from '../common/steps';
import { ReleaseStates as S } from '../common/release';
import { permissions } from '../workflow-tasks/release/permissions';
import { StepGrants } from './step-permissions';
import { workflowStateMachine, WorkflowTasks, type TaskLambdaSettings } from './task-lambdas';

export interface TenantReleaseProps extends TaskLambdaSettings {
  /** Holds the tenant API versions (`tenant-api/<version>.zip`). */
  readonly artifactBucket: IBucket;
  /** Tenant frontends live under `tenants/<id>/` here. */
  readonly siteBucket: IBucket;
  /** Invalidated once per wave. */
  readonly distribution: IDistribution;
  /** The registry's database (master user). */
  readonly masterSecret: ISecret;
}

/**
 * Task states of the release, what each needs, and the export of workflow-tasks/release/handler.ts it runs
 * (its permissions: workflow-tasks/release/permissions.ts, by that name).
 */
interface ReleaseTask {
  readonly state: string;
  readonly handler: string;
  readonly usesDatabase: boolean;
  readonly timeoutSeconds: number;
}

const { quick, slow } = RETRY;

/**
 * The release state machine: "Plan release" lists the tenants behind the version and cuts them into waves
 * (the canary first); each wave is a Distributed Map (child executions: no history limit, up to
 * `concurrency` tenants at once) whose iteration updates one tenant (claim, migrate, update code, check
 * health, move alias `live`, publish its frontend, prune its old versions, record) and, on any failure, keeps it on its old version;
 * "Close wave" invalidates the wave's frontends once and checks the failure budget; "Finish release"
 * records the outcome. A release that stopped (canary failure, budget spent) ends in "Release stopped".
 */
export class TenantRelease extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** Every task Lambda by its state's name. */
  public readonly taskFunctions: ReadonlyMap<string, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: TenantReleaseProps) {
    super(scope, id);
    const access = new StepGrants(this, props);
    const tasks = new WorkflowTasks(this, props, 'release');
    this.taskFunctions = tasks.byState;
    const task = (
      spec: ReleaseTask,
      resultPath: string | undefined,
      retry: Pick<StepSpec, 'retry'> = quick,
    ) =>
      tasks.task(
        spec.state,
        {
          ...spec,
          grant: (f) => {
            const grants = permissions[spec.handler];
            if (!grants) throw new Error(`release: no permissions for handler ${spec.handler}`);
            access.grantAll(grants, f);
          },
        },
        resultPath,
        retry,
      );

    // One tenant: each step's result under its own key; any failure keeps the tenant on its old version.
    const keepOld = task(TASKS.keepOld, '$', slow);
    keepOld.addCatch(
      new sfn.Pass(this, S.keepOldFailed, {
        stateName: S.keepOldFailed,
        parameters: {
          'tenantId.$': '$.tenantId',
          outcome: 'failed',
          rollbackFailed: true,
          'error.$': "States.Format('could not keep the old version: {}', $.keepOldError.Error)",
        },
      }),
      { resultPath: '$.keepOldError' },
    );
    const steps = [
      task(TASKS.migrate, '$.migration', slow),
      task(TASKS.updateCode, '$.code', slow),
      task(TASKS.checkHealth, '$.health'),
      task(TASKS.moveAlias, '$.alias'),
      task(TASKS.publishFrontend, '$.frontend'),
    ];
    for (const step of steps) step.addCatch(keepOld, { resultPath: '$.error' });
    const recordUpdated = task(TASKS.recordUpdated, '$');
    // The tenant runs the new version by now: a failure to prune is recorded, and the next release prunes.
    const prune = task(TASKS.pruneVersions, '$.pruned');
    prune.addCatch(recordUpdated, { resultPath: '$.pruned' });
    const updateTenant = sfn.Chain.start(steps[0]!);
    steps.slice(1).forEach((step, i) => steps[i]!.next(step));
    steps[steps.length - 1]!.next(prune).next(recordUpdated);
    const claim = task(TASKS.claim, '$.claim');
    claim.addCatch(keepOld, { resultPath: '$.error' });
    const perTenant = claim.next(
      new sfn.Choice(this, S.claimed, { stateName: S.claimed })
        .when(sfn.Condition.booleanEquals('$.claim.claimed', true), updateTenant)
        .otherwise(
          new sfn.Pass(this, S.notUpdated, {
            stateName: S.notUpdated,
            parameters: {
              'tenantId.$': '$.tenantId',
              'outcome.$': '$.claim.outcome',
              'reason.$': '$.claim.reason',
            },
          }),
        ),
    );

    const wave = new sfn.DistributedMap(this, S.wave, {
      stateName: S.wave,
      itemsPath: '$.waves[0]',
      itemSelector: { 'release.$': '$.release', 'tenantId.$': '$$.Map.Item.Value' },
      maxConcurrencyPath: '$.release.concurrency',
      resultPath: '$.waveResults',
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'ReleaseWave',
    });
    wave.itemProcessor(perTenant);

    const finish = task(TASKS.finish, '$.summary');
    const failed = new sfn.Fail(this, S.releaseFailed, {
      stateName: S.releaseFailed,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    finish.addCatch(failed, { resultPath: '$.error' });
    finish.next(
      new sfn.Choice(this, S.stopped, { stateName: S.stopped })
        .when(
          sfn.Condition.isPresent('$.summary.stopReason'),
          new sfn.Fail(this, S.releaseStopped, {
            stateName: S.releaseStopped,
            error: 'ReleaseStopped',
            causePath: '$.summary.stopReason',
          }),
        )
        .otherwise(new sfn.Succeed(this, S.done, { stateName: S.done, outputPath: '$.summary' })),
    );
    const closeWave = task(TASKS.closeWave, '$');
    closeWave.addCatch(finish, { resultPath: '$.error' });
    wave.addCatch(finish, { resultPath: '$.error' });
    wave
      .next(closeWave)
      .next(
        new sfn.Choice(this, S.goOn, { stateName: S.goOn })
          .when(sfn.Condition.isPresent('$.stopReason'), finish)
          .when(sfn.Condition.isPresent('$.waves[0]'), wave)
          .otherwise(finish),
      );

    const plan = task(TASKS.plan, '$');
    plan.addCatch(
      new sfn.Fail(this, S.invalid, { stateName: S.invalid, errorPath: '$.Error', causePath: '$.Cause' }),
      { errors: [PermanentErrors.InvalidInput, PermanentErrors.VersionNotFound] },
    );
    plan.addCatch(failed, { resultPath: '$.error' });
    plan.next(
      new sfn.Choice(this, S.anything, { stateName: S.anything })
        .when(sfn.Condition.isPresent('$.waves[0]'), wave)
        .otherwise(finish),
    );

    this.stateMachine = workflowStateMachine(this, {
      start: plan,
      timeout: Duration.hours(12),
      comment:
        'Rolls a tenant API version out to every tenant: canary, then waves; a failing tenant stays on its old version.',
      logRetention: props.logRetention,
    });
  }
}

const TASKS = {
  plan: {
    state: S.plan,
    handler: 'plan',
    usesDatabase: true,
    timeoutSeconds: 60,
  },
  claim: {
    state: S.claim,
    handler: 'claim',
    usesDatabase: true,
    timeoutSeconds: 30,
  },
  migrate: {
    state: S.migrate,
    handler: 'migrateDatabase',
    usesDatabase: true,
    timeoutSeconds: 300,
  },
  updateCode: {
    state: S.updateCode,
    handler: 'updateFunctionCode',
    usesDatabase: false,
    timeoutSeconds: 120,
  },
  checkHealth: {
    state: S.checkHealth,
    handler: 'checkHealth',
    usesDatabase: false,
    timeoutSeconds: 60,
  },
  moveAlias: {
    state: S.moveAlias,
    handler: 'moveAlias',
    usesDatabase: false,
    timeoutSeconds: 30,
  },
  publishFrontend: {
    state: S.publishFrontend,
    handler: 'publishFrontend',
    usesDatabase: false,
    timeoutSeconds: 120,
  },
  pruneVersions: {
    state: S.pruneVersions,
    handler: 'pruneVersions',
    usesDatabase: false,
    timeoutSeconds: 120,
  },
  recordUpdated: {
    state: S.recordUpdated,
    handler: 'recordTenantUpdated',
    usesDatabase: true,
    timeoutSeconds: 30,
  },
  keepOld: {
    state: S.keepOld,
    handler: 'keepOldVersion',
    usesDatabase: true,
    timeoutSeconds: 120,
  },
  closeWave: {
    state: S.closeWave,
    handler: 'closeWave',
    usesDatabase: true,
    timeoutSeconds: 60,
  },
  finish: {
    state: S.finish,
    handler: 'finish',
    usesDatabase: true,
    timeoutSeconds: 60,
  },
} satisfies Record<string, ReleaseTask>;
