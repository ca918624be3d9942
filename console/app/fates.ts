import { edgesOf, graphStates, parallelOf, type AslDefinition } from './asl';

/**
 * What happened to each state of an execution, read from its history as the Step Functions console reads
 * it. Pure: the browser app and the tests use the same code.
 */

/** The contract's statuses (`data-status` of a state's node). */
export type Fate = 'succeeded' | 'failed' | 'caught' | 'running' | 'cancelled' | 'not-started';

/** A history event as GetExecutionHistory returns it (JSON), the fields read here. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId?: number;
  readonly type: string;
  readonly timestamp: string | number;
  readonly stateEnteredEventDetails?: { name?: string; input?: string };
  readonly stateExitedEventDetails?: { name?: string; output?: string };
  readonly taskFailedEventDetails?: { error?: string; cause?: string };
  readonly taskTimedOutEventDetails?: { error?: string; cause?: string };
  readonly lambdaFunctionFailedEventDetails?: { error?: string; cause?: string };
  readonly lambdaFunctionTimedOutEventDetails?: { error?: string; cause?: string };
  readonly executionFailedEventDetails?: { error?: string; cause?: string };
  readonly mapIterationStartedEventDetails?: { name?: string; index?: number };
  readonly mapIterationSucceededEventDetails?: { name?: string; index?: number };
  readonly mapIterationFailedEventDetails?: { name?: string; index?: number };
  readonly mapIterationAbortedEventDetails?: { name?: string; index?: number };
}

/** A state as the console shows it: its fate and what it saw on its last visit. */
export interface StateView {
  fate: Fate;
  /** Attempts beyond the first, over every visit (Retry). */
  retries: number;
  visits: number;
  input?: string;
  output?: string;
  error?: string;
  cause?: string;
}

export interface IterationView {
  /** Which visit of the Map state (a release runs its wave Map once per wave), from 1. */
  run: number;
  index: number;
  /** The item it processed (a release: the tenant id), as text. */
  item?: string;
  fate: Fate;
}

export interface ExecutionView {
  /** Every top-level state of the definition, in definition order. */
  states: Map<string, StateView>;
  /** `from -> to` for every transition the execution took between top-level states. */
  taken: Set<string>;
  /** Map states' iterations, by the Map state's name. */
  iterations: Map<string, IterationView[]>;
}

const FAILURE_DETAILS = [
  'taskFailedEventDetails',
  'taskTimedOutEventDetails',
  'lambdaFunctionFailedEventDetails',
  'lambdaFunctionTimedOutEventDetails',
] as const;

/**
 * Reads the history of an execution of `definition`. `status` is the execution's (RUNNING, SUCCEEDED,
 * FAILED, TIMED_OUT, ABORTED). The states of Parallel branches are read as the top-level ones; their events
 * are interleaved, so an event belongs to the state of the event it points back to (previousEventId).
 */
export function readExecution(
  definition: AslDefinition,
  events: readonly HistoryEvent[],
  status: string,
): ExecutionView {
  const all = graphStates(definition);
  const stateNames = Object.keys(all);
  const stateTypes = Object.fromEntries(stateNames.map((n) => [n, all[n]!.Type]));
  const parallelOfState = parallelOf(definition);
  const into = new Map<string, Set<string>>();
  for (const edge of edgesOf(definition)) into.set(edge.to, (into.get(edge.to) ?? new Set()).add(edge.from));
  const states = new Map<string, StateView>(
    stateNames.map((name) => [name, { fate: 'not-started', retries: 0, visits: 0 }]),
  );
  const taken = new Set<string>();
  const iterations = new Map<string, IterationView[]>();
  /** States entered and not yet left: an event that points back at no known event belongs to the last. */
  const open: string[] = [];
  /** A failure not (yet) followed by a retry: caught if the state is then left, failed if not. */
  const failing = new Set<string>();
  /** States in the order they were entered: a transition comes from the latest one with an edge here. */
  const enteredSoFar: string[] = [];
  /** The state each event belongs to, by event id. */
  const stateOfEvent = new Map<number, string>();
  /** Visits of each Map state so far: its iterations belong to the latest, whose items are these. */
  const mapRuns = new Map<string, { run: number; items: unknown[] }>();

  for (const event of events) {
    const entered = event.stateEnteredEventDetails?.name;
    const exited = event.stateExitedEventDetails?.name;
    const pointedAt =
      event.previousEventId === undefined ? undefined : stateOfEvent.get(event.previousEventId);
    const current = entered ?? exited ?? pointedAt ?? open.at(-1);
    if (current !== undefined) stateOfEvent.set(event.id, current);
    if (entered !== undefined && event.type.endsWith('StateEntered')) {
      open.push(entered);
      failing.delete(entered);
      const view = states.get(entered);
      if (!view) continue; // a state inside a Map's iterations
      view.visits += 1;
      if (stateTypes[entered] === 'Map')
        mapRuns.set(entered, {
          run: view.visits,
          items: itemsAt(event.stateEnteredEventDetails?.input, all[entered]?.ItemsPath),
        });
      view.input = event.stateEnteredEventDetails?.input;
      view.output = undefined;
      view.fate = stateTypes[entered] === 'Fail' ? 'failed' : 'running';
      if (stateTypes[entered] === 'Succeed') view.fate = 'succeeded';
      const sources = into.get(entered);
      const from = sources ? enteredSoFar.findLast((name) => sources.has(name)) : enteredSoFar.at(-1);
      if (from !== undefined) taken.add(`${from} -> ${entered}`);
      enteredSoFar.push(entered);
    } else if (exited !== undefined && event.type.endsWith('StateExited')) {
      const at = open.lastIndexOf(exited);
      if (at !== -1) open.splice(at, 1);
      const view = states.get(exited);
      if (!view) continue;
      view.output = event.stateExitedEventDetails?.output;
      if (view.fate !== 'failed') view.fate = failing.has(exited) ? 'caught' : 'succeeded';
      failing.delete(exited);
    } else if (event.type === 'TaskScheduled' || event.type === 'LambdaFunctionScheduled') {
      if (current === undefined) continue;
      const view = states.get(current);
      // The first attempt of a visit is scheduled right after it is entered; later ones are retries.
      if (view && failing.has(current)) view.retries += 1;
      failing.delete(current);
    } else if (event.type === 'ParallelStateFailed') {
      if (current === undefined) continue;
      failing.add(current);
      // The failed branch's state failed; the other branches were stopped where they were.
      for (const [name, view] of states)
        if (parallelOfState.get(name) === current && view.fate === 'running')
          view.fate = failing.has(name) ? 'failed' : 'cancelled';
    } else if (FAILURE_DETAILS.some((key) => event[key])) {
      if (current === undefined) continue;
      failing.add(current);
      const details = FAILURE_DETAILS.map((key) => event[key]).find(Boolean);
      const view = states.get(current);
      if (view) {
        view.error = details?.error;
        view.cause = details?.cause;
      }
    } else if (event.type.startsWith('MapIteration')) {
      const details =
        event.mapIterationStartedEventDetails ??
        event.mapIterationSucceededEventDetails ??
        event.mapIterationFailedEventDetails ??
        event.mapIterationAbortedEventDetails;
      if (details?.name === undefined || details.index === undefined) continue;
      const list = iterations.get(details.name) ?? [];
      iterations.set(details.name, list);
      const { run, items } = mapRuns.get(details.name) ?? { run: 1, items: [] };
      let item = list.find((i) => i.run === run && i.index === details.index);
      if (!item) {
        item = { run, index: details.index, item: label(items[details.index]), fate: 'running' };
        list.push(item);
        list.sort((a, b) => a.run - b.run || a.index - b.index);
      }
      item.fate = event.type.endsWith('Succeeded')
        ? 'succeeded'
        : event.type.endsWith('Failed')
          ? 'failed'
          : event.type.endsWith('Aborted')
            ? 'cancelled'
            : 'running';
    } else if (event.type === 'ExecutionFailed') {
      const details = event.executionFailedEventDetails;
      for (const [name, view] of states)
        if (view.fate === 'running') {
          view.fate = 'failed';
          if (failing.has(name) || !view.error) {
            view.error ??= details?.error;
            view.cause ??= details?.cause;
          }
        }
    }
  }
  if (status === 'ABORTED' || status === 'TIMED_OUT')
    for (const view of states.values()) if (view.fate === 'running') view.fate = 'cancelled';
  for (const list of iterations.values())
    for (const item of list)
      if (item.fate === 'running' && status !== 'RUNNING')
        item.fate = status === 'SUCCEEDED' ? 'succeeded' : 'cancelled';
  return { states, taken, iterations };
}

/** The Map's items: its ItemsPath (`$`, `.field`, `[n]` steps) applied to the state's input. */
function itemsAt(input: string | undefined, itemsPath = '$'): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(input ?? 'null');
  } catch {
    return [];
  }
  for (const [, field, index] of itemsPath.slice(1).matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)) {
    if (value === null || typeof value !== 'object') return [];
    value = (value as Record<string, unknown>)[field ?? Number(index)];
  }
  return Array.isArray(value) ? value : [];
}

function label(item: unknown): string | undefined {
  if (item === undefined) return undefined;
  if (typeof item === 'string') return item;
  const tenantId: unknown =
    typeof item === 'object' && item !== null ? Reflect.get(item, 'tenantId') : undefined;
  return typeof tenantId === 'string' ? tenantId : JSON.stringify(item).slice(0, 80);
}
