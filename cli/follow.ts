import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/** Every history event of an execution, oldest first. */
export async function fullHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/**
 * The state each event of a history belongs to: its own, or that of the event it points back to
 * (`previousEventId`), up to the state's `...StateEntered` (a Parallel state's branches interleave).
 */
export function stateNamer(
  history: readonly HistoryEvent[],
): (event: HistoryEvent | undefined) => string | undefined {
  const byId = new Map(history.map((e) => [e.id, e]));
  return (event) => {
    for (let e = event; e; e = byId.get(e.previousEventId ?? -1))
      if (e.type?.endsWith('StateEntered')) return e.stateEnteredEventDetails?.name;
    return undefined;
  };
}

/**
 * Milliseconds from the first time state `from` was entered to the last time state `to` was left, in an
 * execution's history; undefined when it has neither.
 */
export function timeBetween(history: readonly HistoryEvent[], from: string, to: string): number | undefined {
  const entered = history.find((e) => e.stateEnteredEventDetails?.name === from)?.timestamp;
  const left = history.findLast((e) => e.stateExitedEventDetails?.name === to)?.timestamp;
  return entered && left ? left.getTime() - entered.getTime() : undefined;
}

/**
 * Follows an execution through GetExecutionHistory until it ends, handing each new event to `onEvent`
 * once; polls with a growing interval instead of sleeping a fixed time.
 */
export async function followExecution(
  sfn: SFNClient,
  executionArn: string,
  onEvent: (event: HistoryEvent) => void,
): Promise<DescribeExecutionCommandOutput> {
  let seen = 0;
  let delay = 100;
  for (;;) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await fullHistory(sfn, executionArn);
    for (const event of events) {
      if ((event.id ?? 0) > seen) {
        seen = event.id ?? seen;
        onEvent(event);
      }
    }
    if (described.status !== 'RUNNING') return described;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
  }
}
