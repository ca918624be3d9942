import type { ExecutionRecord } from '../local/platform';

/** A history event as the Step Functions API shapes it; `timestamp` in milliseconds or as a Date. */
export interface ProgressEvent {
  readonly type?: string;
  readonly timestamp?: number | Date;
  readonly stateEnteredEventDetails?: { name?: string };
  readonly stateExitedEventDetails?: { name?: string };
  readonly taskFailedEventDetails?: { error?: string; cause?: string };
  readonly taskTimedOutEventDetails?: { error?: string; cause?: string };
}

/**
 * Prints each state as it is entered and left, with durations, retries and errors, from the execution's
 * history events: the same output whether they come in-process or from GetExecutionHistory.
 */
export function progressPrinter(write: (line: string) => void): (event: ProgressEvent) => void {
  const entered = new Map<string, number>();
  const failures = new Map<string, number>();
  let currentTask = '';
  return (event) => {
    const at = event.timestamp instanceof Date ? event.timestamp.getTime() : (event.timestamp ?? Date.now());
    const type = event.type ?? '';
    if (type.endsWith('StateEntered')) {
      const name = event.stateEnteredEventDetails?.name ?? '';
      entered.set(name, at);
      failures.delete(name);
      if (type === 'TaskStateEntered') {
        currentTask = name;
        write(`  … ${name}`);
      }
    } else if (type === 'TaskScheduled' && failures.has(currentTask)) {
      write(`  ↻ ${currentTask}: retry ${failures.get(currentTask) ?? 0}`);
    } else if (type === 'TaskFailed' || type === 'TaskTimedOut') {
      const details = event.taskFailedEventDetails ?? event.taskTimedOutEventDetails;
      failures.set(currentTask, (failures.get(currentTask) ?? 0) + 1);
      write(`  ✗ ${currentTask}: ${details?.error ?? 'Error'}: ${errorMessage(details?.cause)}`);
    } else if (type === 'TaskSucceeded') {
      failures.delete(currentTask);
    } else if (type === 'TaskStateExited' || type === 'ChoiceStateExited') {
      const name = event.stateExitedEventDetails?.name ?? '';
      // A failed state's error is already printed; what runs next (a "Rollback: ..." state, or nothing,
      // when a request was refused) says what follows.
      if (!failures.has(name)) write(`  ✓ ${name} (${at - (entered.get(name) ?? at)} ms)`);
    }
  };
}

/** The human part of a Step Functions Cause: Lambda errors carry `{errorType, errorMessage, trace}` JSON. */
export function errorMessage(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined || cause === null ? '' : JSON.stringify(cause);
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is already a message
  }
  return cause;
}

/** The `--json` shape of an execution: what scripts rely on. */
export function executionSummary(
  record: Pick<
    ExecutionRecord,
    'status' | 'executionArn' | 'startDate' | 'stopDate' | 'output' | 'error' | 'cause'
  >,
): Record<string, unknown> {
  return {
    status: record.status,
    executionArn: record.executionArn,
    startDate: record.startDate.toISOString(),
    stopDate: record.stopDate?.toISOString(),
    output: record.output ?? null,
    ...(record.status === 'SUCCEEDED' ? {} : { error: record.error, cause: errorMessage(record.cause) }),
  };
}
