/**
 * Stands in for **AWS Step Functions** (Standard workflows): the synthesized ASL run by
 * `aws-local-stepfunctions`, each Task calling its in-process handler, executions and their AWS-shaped
 * histories kept in PostgreSQL (execution-store.ts) so they outlive the process. api.ts serves it on the
 * one AWS endpoint.
 *
 * Where the real thing differs: Wait states named in `waitTimeOverrides` are shortened; an execution cannot
 * be redriven; Distributed Map, `HeartbeatSeconds` and `Credentials` are not emulated (see DESIGN.md).
 */
import { randomUUID } from 'node:crypto';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import { LocalPlatformNames } from '../../common/names';
import { LOCAL_ACCOUNT } from '../account';
import { mapTasks, type AslDefinition } from './asl';
import type { ExecutionStatus, ExecutionStore } from './execution-store';
import { HistoryBuilder, type AwsHistoryEvent } from './history';

export type { ExecutionStatus } from './execution-store';

/** An execution as the local platform reports it: AWS-shaped history events, parsed output. */
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
  /** The history, as GetExecutionHistory returns it. */
  readonly events: AwsHistoryEvent[];
}

export interface StartOptions {
  /** The state machine to run. @default the onboarding one */
  readonly stateMachineArn?: string;
  /** Execution name; unique per state machine. @default a random UUID */
  readonly name?: string;
  /** Called for each history event as it happens (live progress). */
  readonly onEvent?: (event: AwsHistoryEvent) => void;
}

/** A Task state's in-process handler: the Lambda's JSON input in, its JSON result out. */
/** A started execution: `done` settles when it ends, whatever the outcome. */
export interface StartedExecution {
  executionArn: string;
  startDate: Date;
  done: Promise<ExecutionRecord>;
}

export type JsonHandler = (input: never) => Promise<unknown>;

/** A state machine of the platform, as DescribeStateMachine shows it. */
export interface LocalStateMachine {
  readonly arn: string;
  readonly name: string;
  readonly definition: AslDefinition;
}

/**
 * The platform's state machines: onboarding (the one tenantctl onboard starts), release, suspension,
 * offboarding, the cleanup after an interrupted one of them, a customer's domain, the addition of a
 * shared instance, and a tenant's move to another.
 */
export interface LocalStateMachines {
  readonly onboarding: LocalStateMachine;
  readonly release: LocalStateMachine;
  readonly suspension: LocalStateMachine;
  readonly offboarding: LocalStateMachine;
  readonly cleanup: LocalStateMachine;
  readonly domain: LocalStateMachine;
  readonly capacity: LocalStateMachine;
  readonly move: LocalStateMachine;
}

/** Told of every execution once it has ended and its end is recorded (Step Functions' status change event). */
export type ExecutionEnded = (record: ExecutionRecord, stateMachine: LocalStateMachine) => void;

/** One state machine to run: its name, its definition, and a handler for each of its Task states. */
export interface WorkflowToRun {
  readonly name: string;
  readonly definition: AslDefinition;
  readonly handlers: (definition: AslDefinition) => Record<string, JsonHandler>;
}

export interface EngineOptions {
  readonly store: ExecutionStore;
  readonly workflows: Record<keyof LocalStateMachines, WorkflowToRun>;
  /** Wait state name -> milliseconds it waits locally instead of its Seconds. */
  readonly waitTimeOverrides: Record<string, number>;
  /** Caps every Task's TimeoutSeconds (tests exercise timeouts without waiting minutes). */
  readonly maxTaskTimeoutSeconds?: number;
}

interface Running {
  readonly record: ExecutionRecord;
  readonly abort: () => void;
  done: Promise<ExecutionRecord>;
  /** Set by StopExecution before it aborts the run. */
  stopReason?: { error?: string; cause?: string };
}

/** The ARN a local state machine of this name has (the same shape as on AWS). */
export function localStateMachineArn(name: string): string {
  return `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
}

/** The state machines in the order ListStateMachines gives them. */
export function allOf({
  onboarding,
  release,
  suspension,
  offboarding,
  cleanup,
  domain,
  capacity,
  move,
}: LocalStateMachines): LocalStateMachine[] {
  return [onboarding, release, suspension, offboarding, cleanup, domain, capacity, move];
}

/** Runs the platform's state machines; knows nothing of what their tasks do. */
export class StepFunctionsEngine {
  readonly stateMachines: LocalStateMachines;
  readonly store: ExecutionStore;
  private readonly running = new Map<string, Running>();
  private readonly interpreters = new Map<
    string,
    { machine: StateMachine; handlers: Record<string, JsonHandler> }
  >();
  private readonly waitTimeOverrides: Record<string, number>;
  private readonly ended = new Set<ExecutionEnded>();
  /** Starts under way (their record being created); `stopAll` waits for them, then stops them too. */
  private readonly starting = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.waitTimeOverrides = options.waitTimeOverrides;
    const machineOf = ({ name, definition }: WorkflowToRun): LocalStateMachine => ({
      arn: localStateMachineArn(name),
      name,
      definition: capTimeouts(definition, options.maxTaskTimeoutSeconds),
    });
    const { workflows } = options;
    this.stateMachines = {
      onboarding: machineOf(workflows.onboarding),
      release: machineOf(workflows.release),
      suspension: machineOf(workflows.suspension),
      offboarding: machineOf(workflows.offboarding),
      cleanup: machineOf(workflows.cleanup),
      domain: machineOf(workflows.domain),
      capacity: machineOf(workflows.capacity),
      move: machineOf(workflows.move),
    };
    for (const key of Object.keys(workflows) as (keyof LocalStateMachines)[]) {
      const m = this.stateMachines[key];
      this.interpreters.set(m.arn, {
        machine: new StateMachine(m.definition as never, {
          validationOptions: { checkPaths: true, checkArn: true },
        }),
        handlers: workflows[key].handlers(m.definition),
      });
    }
  }

  /** Calls `listener` after every execution's end (what EventBridge gets from Step Functions on AWS). */
  onEnded(listener: ExecutionEnded): void {
    this.ended.add(listener);
  }

  /** The state machine with this ARN, if the platform has it. */
  stateMachine(arn: unknown): LocalStateMachine | undefined {
    return allOf(this.stateMachines).find((m) => m.arn === arn);
  }

  /** The role the state machines would run as; reported in ExecutionStarted events. */
  get roleArn(): string {
    return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${this.stateMachines.onboarding.name}`;
  }

  /**
   * Starts an execution; `done` settles when it ends, whatever the outcome. A name already used throws
   * `ExecutionAlreadyExists`; once `stopAll` has begun, nothing starts (the cleanup a failed execution's end
   * announces may arrive then).
   */
  async startExecution(input: unknown, options: StartOptions = {}): Promise<StartedExecution> {
    if (this.stopping)
      throw Object.assign(new Error('The local platform is stopping: no execution starts any more'), {
        name: 'ServiceUnavailable',
      });
    const starting = this.start(input, options);
    this.starting.add(starting);
    try {
      return await starting;
    } finally {
      this.starting.delete(starting);
    }
  }

  private async start(input: unknown, options: StartOptions): Promise<StartedExecution> {
    const name = options.name ?? randomUUID();
    const stateMachine = this.stateMachine(options.stateMachineArn ?? this.stateMachines.onboarding.arn);
    const interpreter = stateMachine && this.interpreters.get(stateMachine.arn);
    if (!stateMachine || !interpreter)
      throw Object.assign(new Error(`State Machine Does Not Exist: '${String(options.stateMachineArn)}'`), {
        name: 'StateMachineDoesNotExist',
      });
    const executionArn = `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:execution:${stateMachine.name}:${name}`;
    const startDate = new Date();
    const created = await this.store.create({
      executionArn,
      stateMachineArn: stateMachine.arn,
      name,
      input: JSON.stringify(input),
      startDate,
    });
    if (!created) {
      throw Object.assign(new Error(`Execution Already Exists: '${executionArn}'`), {
        name: 'ExecutionAlreadyExists',
      });
    }
    const record: ExecutionRecord = { executionArn, name, input, startDate, status: 'RUNNING', events: [] };
    const history = new HistoryBuilder(stateMachine.definition, LocalPlatformNames.region, this.roleArn);
    const run = interpreter.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: interpreter.handlers as never,
        waitTimeOverrides: this.waitTimeOverrides,
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input as never,
          StartTime: startDate.toISOString(),
        },
        StateMachine: { Id: stateMachine.arn, Name: stateMachine.name },
      },
    });
    // History is written in order: what arrives while a write is under way goes in the next one, so an
    // onboarding's ~70 events take a few commits (each waits for the WAL to reach the disk), not ~70.
    let unwritten: AwsHistoryEvent[] = [];
    let writing: Promise<void> | undefined;
    const writeAll = async () => {
      while (unwritten.length > 0) {
        const batch = unwritten;
        unwritten = [];
        await this.store.appendEvents(executionArn, batch);
      }
      writing = undefined;
    };
    const recorded = (async () => {
      for await (const event of run.eventLogs) {
        const events = history.add(event);
        record.events.push(...events);
        for (const e of events) options.onEvent?.(e);
        unwritten.push(...events);
        writing ??= writeAll();
      }
    })();
    const entry: Running = { record, abort: run.abort, done: Promise.resolve(record) };
    const done = run.result
      .then(
        (output: unknown) => {
          record.status = 'SUCCEEDED';
          record.output = output;
        },
        (error: unknown) => {
          if (error instanceof ExecutionTimeoutError) record.status = 'TIMED_OUT';
          else if (error instanceof ExecutionAbortedError) record.status = 'ABORTED';
          else record.status = 'FAILED';
          const caught = error instanceof ExecutionError ? (error.cause as Error) : (error as Error);
          record.error = entry.stopReason?.error ?? (record.status === 'FAILED' ? caught?.name : undefined);
          record.cause =
            entry.stopReason?.cause ?? (record.status === 'FAILED' ? caught?.message : undefined);
        },
      )
      .then(() => recorded)
      .then(() => writing)
      .then(async () => {
        record.stopDate = new Date();
        await this.store.finish(executionArn, {
          status: record.status,
          output: record.status === 'SUCCEEDED' ? JSON.stringify(record.output ?? null) : undefined,
          error: record.error,
          cause: record.cause,
          stopDate: record.stopDate,
        });
        this.running.delete(executionArn);
        for (const listener of this.ended) listener(record, stateMachine);
        return record;
      });
    entry.done = done;
    this.running.set(executionArn, entry);
    return { executionArn, startDate, done };
  }

  /** Stops a running execution (no undo runs, as on AWS); false when it is not running here. */
  async stopExecution(
    executionArn: string,
    reason: { error?: string; cause?: string } = {},
  ): Promise<boolean> {
    const entry = this.running.get(executionArn);
    if (!entry) return false;
    entry.stopReason = reason;
    entry.abort();
    await entry.done;
    return true;
  }

  /** Stops every running execution with this reason; returns the ones it stopped, once they have ended. */
  async stopAll(reason: { error: string; cause: string }): Promise<ExecutionRecord[]> {
    this.stopping = true;
    await Promise.allSettled([...this.starting]);
    const running = [...this.running.values()];
    for (const entry of running) {
      entry.stopReason = reason;
      entry.abort();
    }
    await Promise.allSettled(running.map((e) => e.done));
    return running.map((e) => e.record);
  }
}

function capTimeouts(definition: AslDefinition, cap: number | undefined): AslDefinition {
  if (cap === undefined) return definition;
  return mapTasks(definition, (task) =>
    typeof task.TimeoutSeconds === 'number'
      ? { ...task, TimeoutSeconds: Math.min(task.TimeoutSeconds, cap) }
      : task,
  );
}
