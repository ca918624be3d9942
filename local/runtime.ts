import './polyfill';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { RECORD_ROLLBACK_FAILURE, STEPS } from '../common/steps';
import { closePools } from '../workflow-tasks/lib/db';
import type { TaskHandler } from '../workflow-tasks/lib/handler';
import type { TaskEvent } from '../workflow-tasks/lib/types';
import { STEP_HANDLERS } from '../workflow-tasks';
import { localDefinition, type AslDefinition } from './asl';
import { bootstrapPlatform, LOCAL_ACCOUNT, type TaskEnvironment } from './bootstrap';
import { startEmulator, type LocalEmulator } from './emulator';
import { LocalFunctions } from './functions';
import { startPostgres, type LocalPostgres } from './postgres';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One event of an execution, as aws-local-stepfunctions reports it (StateEntered, StateRetried, ...). */
export type ExecutionEvent = { type: string; timestamp: number; [field: string]: unknown };

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly input: unknown;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  readonly events: ExecutionEvent[];
}

export interface StartOptions {
  /** Execution name; unique per platform. @default a random UUID */
  readonly name?: string;
  /** Called for each event as it happens (live progress). */
  readonly onEvent?: (event: ExecutionEvent) => void;
}

type JsonHandler = (input: TaskEvent) => Promise<unknown>;

/**
 * The embedded platform: PostgreSQL, the AWS emulator, the bootstrapped platform resources, and the CDK
 * construct's state machine run by aws-local-stepfunctions with every Task calling its Lambda handler
 * in-process, under the environment it has in Lambda.
 */
export class LocalPlatform {
  private readonly executions = new Map<
    string,
    { record: ExecutionRecord; abort: () => void; done: Promise<ExecutionRecord> }
  >();
  /** The tenants' API functions, run as the emulator recorded them. */
  readonly functions: LocalFunctions;

  private constructor(
    readonly stateDir: string,
    readonly postgres: LocalPostgres,
    readonly emulator: LocalEmulator,
    readonly environment: TaskEnvironment,
    readonly definition: AslDefinition,
    private readonly machine: StateMachine,
    private readonly handlers: Record<string, JsonHandler>,
  ) {
    this.functions = new LocalFunctions(stateDir, emulator.endpoint);
  }

  static async start(options: { stateDir: string }): Promise<LocalPlatform> {
    await mkdir(options.stateDir, { recursive: true });
    const [postgres, emulator] = await Promise.all([startPostgres(options.stateDir), startEmulator()]);
    try {
      setAwsEnvironment(emulator);
      const environment = await bootstrapPlatform(emulator.endpoint, postgres);
      Object.assign(process.env, environment);
      const definition = localDefinition();
      const handlers = taskHandlers(definition);
      const machine = new StateMachine(definition as never, {
        validationOptions: { checkPaths: true, checkArn: true },
      });
      return new LocalPlatform(
        options.stateDir,
        postgres,
        emulator,
        environment,
        definition,
        machine,
        handlers,
      );
    } catch (error) {
      await Promise.allSettled([postgres.stop(), emulator.stop()]);
      throw error;
    }
  }

  /** ARN of the local state machine (the same shape as on AWS). */
  get stateMachineArn(): string {
    return `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:stateMachine:${PlatformNames.stateMachine}`;
  }

  /** Starts an execution; `done` settles when it ends, whatever the outcome. */
  startExecution(
    input: unknown,
    options: StartOptions = {},
  ): { executionArn: string; done: Promise<ExecutionRecord> } {
    const name = options.name ?? randomUUID();
    const executionArn = `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:execution:${PlatformNames.stateMachine}:${name}`;
    if (this.executions.has(executionArn)) {
      throw Object.assign(new Error(`Execution already exists: '${executionArn}'`), {
        name: 'ExecutionAlreadyExists',
      });
    }
    const record: ExecutionRecord = {
      executionArn,
      name,
      input,
      startDate: new Date(),
      status: 'RUNNING',
      events: [],
    };
    const run = this.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: this.handlers as never },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input as never,
          StartTime: record.startDate.toISOString(),
        },
        StateMachine: { Id: this.stateMachineArn, Name: PlatformNames.stateMachine },
      },
    });
    const events = (async () => {
      for await (const event of run.eventLogs) {
        const e = event as unknown as ExecutionEvent;
        record.events.push(e);
        options.onEvent?.(e);
      }
    })();
    const done = run.result
      .then(
        (output: unknown) => {
          record.status = 'SUCCEEDED';
          record.output = output;
        },
        (error: unknown) => {
          record.status =
            error instanceof ExecutionTimeoutError
              ? 'TIMED_OUT'
              : error instanceof ExecutionAbortedError
                ? 'ABORTED'
                : 'FAILED';
          const caught = error instanceof ExecutionError ? (error.cause as Error) : (error as Error);
          record.error = caught?.name ?? 'Error';
          record.cause = caught?.message ?? String(error);
        },
      )
      .then(() => events)
      .then(() => {
        record.stopDate = new Date();
        return record;
      });
    this.executions.set(executionArn, { record, abort: run.abort, done });
    return { executionArn, done };
  }

  /** Starts an execution and waits for its end. */
  async runExecution(input: unknown, options: StartOptions = {}): Promise<ExecutionRecord> {
    return this.startExecution(input, options).done;
  }

  execution(executionArn: string): ExecutionRecord | undefined {
    return this.executions.get(executionArn)?.record;
  }

  /** Stops running executions, closes the task Lambdas' connections, stops what this platform started. */
  async stop(): Promise<void> {
    for (const { record, abort } of this.executions.values()) if (record.status === 'RUNNING') abort();
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
    await this.functions.stop();
    await closePools();
    await Promise.allSettled([this.postgres.stop(), this.emulator.stop()]);
  }
}

/**
 * Points every SDK client of this process at the emulator. Credentials are placeholders: the emulator
 * accepts any key, and real credentials must never travel to it.
 */
function setAwsEnvironment(emulator: LocalEmulator): void {
  process.env.AWS_ENDPOINT_URL = emulator.endpoint;
  process.env.AWS_REGION = LocalPlatformNames.region;
  if (emulator.owned || !process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }
}

/** State name -> in-process handler, for every Task state of the definition (a missing one is a bug). */
function taskHandlers(definition: AslDefinition): Record<string, JsonHandler> {
  const byState = new Map<string, TaskHandler<unknown>>();
  for (const step of STEPS) {
    const handlers = STEP_HANDLERS[step.id];
    byState.set(step.stateName, handlers.run);
    if (step.undoStateName && handlers.undo) byState.set(step.undoStateName, handlers.undo);
  }
  byState.set(RECORD_ROLLBACK_FAILURE.stateName, STEP_HANDLERS[RECORD_ROLLBACK_FAILURE.id].run);

  const overrides: Record<string, JsonHandler> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const handler = byState.get(stateName);
    // Without an override the interpreter would call real AWS Lambda.
    if (!handler) throw new Error(`Task state "${stateName}" has no local handler`);
    overrides[stateName] = asLambda(handler);
  }
  return overrides;
}

/**
 * Calls a handler as Lambda would and reports its failure as Step Functions sees a Lambda error: the error
 * name is the `errorType`, and the Cause is the JSON `{errorType, errorMessage, trace}`, so undo steps read
 * errors the same way locally and on AWS.
 */
function asLambda(handler: TaskHandler<unknown>): (input: TaskEvent) => Promise<unknown> {
  return async (input) => {
    try {
      // Lambda hands the function a JSON copy of its input; so do we.
      return JSON.parse(
        JSON.stringify((await handler(JSON.parse(JSON.stringify(input)) as TaskEvent)) ?? null),
      ) as unknown;
    } catch (error) {
      const e = error as Error;
      const lambdaError = new Error(
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }),
      );
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
}
