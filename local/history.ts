import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { AslDefinition } from './asl';

/** An event as aws-local-stepfunctions reports it. */
export interface InterpreterEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: { name: string; type: string; input?: unknown; output?: unknown };
  readonly input?: unknown;
  readonly output?: unknown;
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly retry?: { attempt: number };
  /** Inside a Map: the iteration's index (and, on MapIteration* events, the Map state). */
  readonly index?: number;
  readonly parentState?: { name: string; type: string };
}

/** A history event as the Step Functions API returns it (timestamps in epoch milliseconds until sent). */
export type AwsHistoryEvent = Omit<HistoryEvent, 'timestamp' | 'type' | 'id'> & {
  timestamp: number;
  type: string;
  id: number;
};

const LAMBDA = { resourceType: 'lambda', resource: 'invoke' } as const;

/**
 * Turns the interpreter's events into the history Step Functions records for the same run: ids with
 * previous ids, `TaskStateEntered` / `TaskScheduled` / `TaskStarted` / `TaskSucceeded` or `TaskFailed` /
 * `TaskStateExited` for tasks (a retry shows as a new TaskScheduled after a TaskFailed), `ExecutionFailed`
 * with the Fail state's error and cause, and so on. One instance per execution.
 */
export class HistoryBuilder {
  private nextId = 1;
  private readonly failed = new Set<string>();

  constructor(
    private readonly definition: AslDefinition,
    private readonly region: string,
    private readonly roleArn: string,
  ) {}

  add(event: InterpreterEvent): AwsHistoryEvent[] {
    const at = event.timestamp;
    const name = event.state?.name ?? '';
    const kind = event.state?.type ?? '';
    // Iterations of a Map run the same states at once: a state's failure is tracked per iteration.
    const key = `${event.index ?? ''}:${name}`;
    switch (event.type) {
      case 'ExecutionStarted':
        return [
          this.make(at, 'ExecutionStarted', {
            executionStartedEventDetails: {
              input: json(event.input),
              inputDetails: { truncated: false },
              roleArn: this.roleArn,
            },
          }),
        ];
      case 'StateEntered': {
        this.failed.delete(key);
        const entered = this.make(at, `${kind}StateEntered`, {
          stateEnteredEventDetails: {
            name,
            input: json(event.state?.input),
            inputDetails: { truncated: false },
          },
        });
        return kind === 'Task' ? [entered, ...this.attempt(at, name)] : [entered];
      }
      case 'StateFailed':
        if (kind !== 'Task') return [];
        this.failed.add(key);
        return [
          this.make(at, event.Error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', {
            [event.Error === 'States.Timeout' ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: {
              ...LAMBDA,
              error: event.Error,
              cause: text(event.Cause),
            },
          }),
        ];
      case 'StateRetried':
        this.failed.delete(key);
        return kind === 'Task' ? this.attempt(at, name) : [];
      case 'StateExited': {
        if (kind === 'Fail') return [];
        const output = json(event.state?.output);
        const events: AwsHistoryEvent[] = [];
        if (kind === 'Task' && !this.failed.has(key)) {
          events.push(
            this.make(at, 'TaskSucceeded', {
              taskSucceededEventDetails: { ...LAMBDA, output, outputDetails: { truncated: false } },
            }),
          );
        }
        events.push(
          this.make(at, `${kind}StateExited`, {
            stateExitedEventDetails: { name, output, outputDetails: { truncated: false } },
          }),
        );
        return events;
      }
      case 'ExecutionSucceeded':
        return [
          this.make(at, 'ExecutionSucceeded', {
            executionSucceededEventDetails: {
              output: json(event.output),
              outputDetails: { truncated: false },
            },
          }),
        ];
      case 'ExecutionFailed':
        return [
          this.make(at, 'ExecutionFailed', {
            executionFailedEventDetails: { error: event.Error, cause: text(event.Cause) },
          }),
        ];
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = `${event.type[0]!.toLowerCase()}${event.type.slice(1)}EventDetails`;
        return [
          this.make(at, event.type, { [details]: { name: event.parentState?.name, index: event.index } }),
        ];
      }
      case 'ExecutionAborted':
        return [this.make(at, 'ExecutionAborted', { executionAbortedEventDetails: {} })];
      case 'ExecutionTimeout':
        return [this.make(at, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} })];
      default:
        // StateCaught: Step Functions records no event of its own for a catch.
        return [];
    }
  }

  private attempt(at: number, name: string): AwsHistoryEvent[] {
    const timeout = (this.definition.States[name] as { TimeoutSeconds?: number } | undefined)?.TimeoutSeconds;
    return [
      this.make(at, 'TaskScheduled', {
        taskScheduledEventDetails: {
          ...LAMBDA,
          region: this.region,
          parameters: '{}',
          timeoutInSeconds: timeout,
        },
      }),
      this.make(at, 'TaskStarted', { taskStartedEventDetails: { ...LAMBDA } }),
    ];
  }

  private make(timestamp: number, type: string, details: Record<string, unknown>): AwsHistoryEvent {
    const id = this.nextId++;
    return { timestamp, type, id, previousEventId: id - 1, ...details };
  }
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}
