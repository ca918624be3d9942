import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { allStates, type AslDefinition } from './asl';

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
  /** The last event of each state's current visit: its next event points back at it (previousEventId). */
  private readonly last = new Map<string, number>();
  private readonly states: ReturnType<typeof allStates>;

  constructor(
    definition: AslDefinition,
    private readonly region: string,
    private readonly roleArn: string,
  ) {
    this.states = allStates(definition);
  }

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
        this.last.delete(key);
        const entered = this.make(
          at,
          `${kind}StateEntered`,
          {
            stateEnteredEventDetails: {
              name,
              input: json(event.state?.input),
              inputDetails: { truncated: false },
            },
          },
          key,
        );
        if (kind === 'Task') return [entered, ...this.attempt(at, name, key)];
        if (kind === 'Parallel') return [entered, this.make(at, 'ParallelStateStarted', {}, key)];
        return [entered];
      }
      case 'StateFailed':
        this.failed.add(key);
        if (kind === 'Parallel') return [this.make(at, 'ParallelStateFailed', {}, key)];
        if (kind !== 'Task') return [];
        return [
          this.make(
            at,
            event.Error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed',
            {
              [event.Error === 'States.Timeout' ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: {
                ...LAMBDA,
                error: event.Error,
                cause: text(event.Cause),
              },
            },
            key,
          ),
        ];
      case 'StateRetried':
        this.failed.delete(key);
        return kind === 'Task' ? this.attempt(at, name, key) : [];
      case 'StateExited': {
        if (kind === 'Fail') return [];
        const output = json(event.state?.output);
        const events: AwsHistoryEvent[] = [];
        if (kind === 'Task' && !this.failed.has(key)) {
          events.push(
            this.make(
              at,
              'TaskSucceeded',
              {
                taskSucceededEventDetails: { ...LAMBDA, output, outputDetails: { truncated: false } },
              },
              key,
            ),
          );
        }
        if (kind === 'Parallel' && !this.failed.has(key))
          events.push(this.make(at, 'ParallelStateSucceeded', {}, key));
        events.push(
          this.make(
            at,
            `${kind}StateExited`,
            {
              stateExitedEventDetails: { name, output, outputDetails: { truncated: false } },
            },
            key,
          ),
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

  private attempt(at: number, name: string, key: string): AwsHistoryEvent[] {
    const timeout = this.states.get(name)?.TimeoutSeconds as number | undefined;
    return [
      this.make(
        at,
        'TaskScheduled',
        {
          taskScheduledEventDetails: {
            ...LAMBDA,
            region: this.region,
            parameters: '{}',
            timeoutInSeconds: timeout,
          },
        },
        key,
      ),
      this.make(at, 'TaskStarted', { taskStartedEventDetails: { ...LAMBDA } }, key),
    ];
  }

  /**
   * The next event. As in Step Functions, an event of a state's visit points back at that visit's previous
   * event, so the events of branches running side by side can be told apart; others at the one before.
   */
  private make(
    timestamp: number,
    type: string,
    details: Record<string, unknown>,
    key?: string,
  ): AwsHistoryEvent {
    const id = this.nextId++;
    const previousEventId = (key !== undefined ? this.last.get(key) : undefined) ?? id - 1;
    if (key !== undefined) this.last.set(key, id);
    return { timestamp, type, id, previousEventId, ...details };
  }
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}
