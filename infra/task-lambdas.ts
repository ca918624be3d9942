import * as path from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PermanentErrors, TRANSIENT_ERROR_NAMES } from '../common/errors';
import { RETRY, type StepSpec } from '../common/steps';

const REPO_ROOT = path.join(__dirname, '..');
/**
 * A task waits this much longer than its Lambda may run: the function is stopped by Lambda first, so no step
 * can land its effect after Step Functions gave up on it and started undoing.
 */
const TASK_TIMEOUT_MARGIN_SECONDS = 10;
/** Runtime of the task Lambdas and of the tenant API functions deploy-function creates. */
export const TASK_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** Memory of every task Lambda (npm run cost reads it back from the synthesized template). */
const TASK_MEMORY_MB = 256;

/** What every task Lambda of a workflow shares: its environment, its log retention, the VPC of the database ones. */
export interface TaskLambdaSettings {
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly network: {
    readonly vpc: ec2.IVpc;
    readonly subnets: ec2.SubnetSelection;
    readonly databaseClients: ec2.ISecurityGroup;
  };
}

/**
 * One task Lambda: `workflow-tasks/<folder>/handler.ts`'s export `handler`, bundled by esbuild with the
 * migrations next to it (workflow-tasks/lib/migrate.ts finds them there), in the VPC when it uses a database.
 */
export function taskFunction(
  scope: Construct,
  id: string,
  settings: TaskLambdaSettings,
  task: { folder: string; handler: string; timeoutSeconds: number; usesDatabase: boolean },
): lambda.IFunction {
  return new NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, 'workflow-tasks', task.folder, 'handler.ts'),
    handler: task.handler,
    runtime: TASK_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: TASK_MEMORY_MB,
    timeout: Duration.seconds(task.timeoutSeconds),
    environment: settings.environment,
    // X-Ray: CDK grants xray:PutTraceSegments and PutTelemetryRecords on '*', used by the Lambda runtime, not
    // by the handlers (so `npm run iam-report` lists them as never used: the local endpoint never sees them).
    tracing: lambda.Tracing.ACTIVE,
    ...(task.usesDatabase
      ? {
          vpc: settings.network.vpc,
          vpcSubnets: settings.network.subnets,
          securityGroups: [settings.network.databaseClients],
        }
      : {}),
    logGroup: new logs.LogGroup(scope, `${id}-logs`, {
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
    bundling: {
      minify: true,
      sourceMap: true,
      target: 'node22',
      format: OutputFormat.CJS,
      // The Lambda runtime provides SDK v3; pg's optional native binding is never used.
      externalModules: ['@aws-sdk/*', 'pg-native'],
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        // The migration runner finds migrations/ next to the bundle (see workflow-tasks/lib/migrate.ts).
        afterBundling: (inputDir, outputDir) => [`cp -r "${inputDir}/migrations" "${outputDir}/migrations"`],
      },
    },
  });
}

/** A workflow task as its construct declares it: the handler export, its limits and its permissions. */
export interface WorkflowTaskSpec {
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly usesDatabase: boolean;
  readonly grant: (f: lambda.IFunction) => void;
}

/**
 * The Task states of one workflow whose Lambdas are the exports of `workflow-tasks/<folder>/handler.ts`:
 * one Lambda per handler (granted once), reused by every state that runs it, each retried on transient
 * errors. `byState` lists them by state name (the dashboard and cdk-nag read it).
 */
export class WorkflowTasks {
  readonly byState = new Map<string, lambda.IFunction>();
  private readonly byHandler = new Map<string, lambda.IFunction>();

  constructor(
    private readonly scope: Construct,
    private readonly settings: TaskLambdaSettings,
    private readonly folder: string,
  ) {}

  task(
    state: string,
    spec: WorkflowTaskSpec,
    resultPath: string | undefined,
    retry: Pick<StepSpec, 'retry'>,
    kind: 'forward' | 'undo' = 'forward',
  ): tasks.LambdaInvoke {
    let f = this.byHandler.get(spec.handler);
    if (!f) {
      f = taskFunction(this.scope, `${this.folder}-${spec.handler}`, this.settings, {
        folder: this.folder,
        handler: spec.handler,
        timeoutSeconds: spec.timeoutSeconds,
        usesDatabase: spec.usesDatabase,
      });
      spec.grant(f);
      this.byHandler.set(spec.handler, f);
    }
    this.byState.set(state, f);
    return retryTransient(invokeTask(this.scope, state, f, spec.timeoutSeconds, resultPath), retry, kind);
  }
}

/** The longest timeout of a workflow's task Lambdas: how long one may still run after its execution ended. */
export function longestTaskSeconds(functions: ReadonlyMap<string, lambda.IFunction>): number {
  return Math.max(
    0,
    ...[...functions.values()].map((f) => (f instanceof lambda.Function ? (f.timeout?.toSeconds() ?? 0) : 0)),
  );
}

/**
 * The Task state calling a task Lambda. Every handler gets the same shape: the execution's id and the whole
 * state (see workflow-tasks/lib/handler.ts); its result goes to `resultPath` (`$`: it becomes the state;
 * undefined: discarded).
 */
export function invokeTask(
  scope: Construct,
  stateName: string,
  f: lambda.IFunction,
  lambdaTimeoutSeconds: number,
  resultPath: string | undefined,
): tasks.LambdaInvoke {
  return new tasks.LambdaInvoke(scope, stateName, {
    stateName,
    lambdaFunction: f,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
      state: sfn.JsonPath.entirePayload,
    }),
    // '$' (the result replaces the state) is the default, left out: written out, interpreters differ on it.
    resultPath: resultPath === '$' ? undefined : (resultPath ?? sfn.JsonPath.DISCARD),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(lambdaTimeoutSeconds + TASK_TIMEOUT_MARGIN_SECONDS)),
  });
}

/**
 * Transient errors are retried everywhere. Undos also retry a timeout: they are idempotent, so running one
 * again is safe, while a forward step that timed out is rolled back instead.
 */
export function retryTransient(
  task: tasks.LambdaInvoke,
  step: Pick<StepSpec, 'retry'>,
  kind: 'forward' | 'undo' = 'forward',
): tasks.LambdaInvoke {
  task.addRetry({
    errors: kind === 'undo' ? [...TRANSIENT_ERROR_NAMES, sfn.Errors.TIMEOUT] : [...TRANSIENT_ERROR_NAMES],
    interval: Duration.seconds(step.retry.intervalSeconds),
    maxDelay: Duration.seconds(step.retry.maxDelaySeconds),
    maxAttempts: step.retry.maxAttempts,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/**
 * A workflow's state machine: traced, with every event logged with its input and output (the states hold
 * ARNs and ids, never a password) to a log group with the platform's retention.
 */
export function workflowStateMachine(
  scope: Construct,
  props: {
    start: sfn.IChainable;
    timeout: Duration;
    comment: string;
    logRetention: logs.RetentionDays;
    /** A name its own tasks can know it by (a reference to it from their policies would be a cycle). */
    name?: string;
  },
): sfn.StateMachine {
  return new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.name,
    definitionBody: sfn.DefinitionBody.fromChainable(props.start),
    timeout: props.timeout,
    comment: props.comment,
    tracingEnabled: true,
    logs: {
      destination: new logs.LogGroup(scope, 'StateMachineLogs', {
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      level: sfn.LogLevel.ALL,
      includeExecutionData: true,
    },
  });
}

/**
 * The Task states of a workflow whose Lambdas reach the platform's databases (suspension, offboarding,
 * cleanup): each handler's Lambda gets its own `grants` (the registry's secret only where they name it:
 * USES_REGISTRY); forward states retry quickly, undo (and forward-only removal) states slowly.
 */
export function databaseTasks(
  tasks: WorkflowTasks,
  grants: Readonly<Record<string, (f: lambda.IFunction) => void>>,
  timeoutSeconds: (handler: string) => number,
): (state: string, handler: string, resultPath?: string, kind?: 'forward' | 'undo') => tasks.LambdaInvoke {
  return (state, handler, resultPath, kind = 'forward') =>
    tasks.task(
      state,
      {
        handler,
        timeoutSeconds: timeoutSeconds(handler),
        usesDatabase: true,
        grant: (f) => grants[handler]?.(f),
      },
      resultPath,
      kind === 'undo' ? RETRY.slow : RETRY.quick,
      kind,
    );
}

/**
 * A state machine's name (`<stack>-<suffix>`) and ARN, known without a reference to it: its own tasks and
 * the workflows that start it name it in their environment and policies (a reference would be a cycle).
 */
export function stateMachineNamed(scope: Construct, suffix: string): { arn: string; name: string } {
  const name = `${Stack.of(scope).stackName}-${suffix}`;
  const arn = Stack.of(scope).formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return { arn, name };
}

/**
 * A claim that refuses a bad request or a tenant in the wrong state (or `alsoRefusing`) ends at once in
 * `stateName`.
 */
export function refuseAt(
  scope: Construct,
  claim: tasks.LambdaInvoke,
  stateName: string,
  alsoRefusing: readonly string[] = [],
): void {
  claim.addCatch(new sfn.Fail(scope, stateName, { stateName, errorPath: '$.Error', causePath: '$.Cause' }), {
    errors: [PermanentErrors.InvalidInput, PermanentErrors.TenantStateConflict, ...alsoRefusing],
  });
}
