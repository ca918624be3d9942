import type { ExecutionEvent, ExecutionRecord } from '../local/runtime';

interface StateInfo {
  state?: { name?: string; type?: string };
  retry?: { attempt?: number };
  Error?: string;
  Cause?: unknown;
}

/** Prints each state as it is entered and left, with durations, retries and errors: live progress. */
export function progressPrinter(write: (line: string) => void): (event: ExecutionEvent) => void {
  const entered = new Map<string, number>();
  const caught = new Set<string>();
  return (event) => {
    const info = event as ExecutionEvent & StateInfo;
    const name = info.state?.name ?? '';
    const type = info.state?.type ?? '';
    switch (event.type) {
      case 'StateEntered':
        entered.set(name, event.timestamp);
        caught.delete(name);
        if (type === 'Task') write(`  … ${name}`);
        break;
      case 'StateExited': {
        const started = entered.get(name) ?? event.timestamp;
        // A state whose error was caught also "exits" (into its Catch target): it did not succeed.
        if (caught.has(name)) break;
        if (type === 'Task' || type === 'Choice') write(`  ✓ ${name} (${event.timestamp - started} ms)`);
        break;
      }
      case 'StateRetried':
        write(`  ↻ ${name}: retry ${info.retry?.attempt ?? '?'}`);
        break;
      case 'StateFailed':
        write(`  ✗ ${name}: ${info.Error ?? 'Error'}: ${errorMessage(info.Cause)}`);
        break;
      case 'StateCaught':
        caught.add(name);
        write(`  ↩ ${name} failed: rolling back`);
        break;
      default:
        break;
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
export function executionSummary(record: ExecutionRecord): Record<string, unknown> {
  return {
    status: record.status,
    executionArn: record.executionArn,
    startDate: record.startDate.toISOString(),
    stopDate: record.stopDate?.toISOString(),
    output: record.output ?? null,
    ...(record.status === 'SUCCEEDED' ? {} : { error: record.error, cause: errorMessage(record.cause) }),
  };
}
