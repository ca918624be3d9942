import { readExecution, type HistoryEvent } from '../../console/app/fates';
import type { AslDefinition } from '../../console/app/asl';

let id = 0;
const at = (type: string, details: Partial<HistoryEvent> = {}): HistoryEvent => ({
  id: ++id,
  type,
  timestamp: 1_700_000_000_000 + id,
  ...details,
});
const entered = (type: string, name: string, input = '{}') =>
  at(`${type}StateEntered`, { stateEnteredEventDetails: { name, input } });
const exited = (type: string, name: string, output = '{}') =>
  at(`${type}StateExited`, { stateExitedEventDetails: { name, output } });
const failed = (error: string, cause = '') => at('TaskFailed', { taskFailedEventDetails: { error, cause } });

const definition = {
  StartAt: 'Work',
  States: {
    Work: { Type: 'Task' },
    Undo: { Type: 'Task' },
    Done: { Type: 'Succeed' },
    Failed: { Type: 'Fail' },
    Waves: { Type: 'Map', ItemsPath: '$.waves[0]' },
  },
};

describe("the console's reading of a history", () => {
  it('counts retries on the state, and a success after them is a success', () => {
    const view = readExecution(
      definition,
      [
        at('ExecutionStarted'),
        entered('Task', 'Work'),
        at('TaskScheduled'),
        failed('ServiceUnavailable'),
        at('TaskScheduled'),
        failed('Throttled'),
        at('TaskScheduled'),
        at('TaskSucceeded'),
        exited('Task', 'Work'),
        entered('Succeed', 'Done'),
        exited('Succeed', 'Done'),
        at('ExecutionSucceeded'),
      ],
      'SUCCEEDED',
    );
    expect(view.states.get('Work')).toMatchObject({ fate: 'succeeded', retries: 2, visits: 1 });
    expect(view.states.get('Done')?.fate).toBe('succeeded');
    expect(view.states.get('Undo')?.fate).toBe('not-started');
    expect([...view.taken]).toEqual(['Work -> Done']);
  });

  it('tells a caught error (the state is left for its Catch) from an uncaught one', () => {
    const caught = readExecution(
      definition,
      [
        entered('Task', 'Work'),
        at('TaskScheduled'),
        failed('InjectedFault', 'boom'),
        exited('Task', 'Work'),
        entered('Task', 'Undo'),
        at('TaskScheduled'),
        at('TaskSucceeded'),
        exited('Task', 'Undo'),
        entered('Fail', 'Failed'),
        at('ExecutionFailed', { executionFailedEventDetails: { error: 'InjectedFault', cause: 'boom' } }),
      ],
      'FAILED',
    );
    expect(caught.states.get('Work')).toMatchObject({
      fate: 'caught',
      error: 'InjectedFault',
      cause: 'boom',
    });
    expect(caught.states.get('Undo')?.fate).toBe('succeeded');
    expect(caught.states.get('Failed')?.fate).toBe('failed');

    const uncaught = readExecution(
      definition,
      [
        entered('Task', 'Work'),
        at('TaskScheduled'),
        failed('StepFailed', 'a bug'),
        at('ExecutionFailed', { executionFailedEventDetails: { error: 'StepFailed', cause: 'a bug' } }),
      ],
      'FAILED',
    );
    expect(uncaught.states.get('Work')).toMatchObject({ fate: 'failed', error: 'StepFailed' });
  });

  it('shows a state in progress, and cancelled once the execution is aborted', () => {
    const events = [entered('Task', 'Work'), at('TaskScheduled')];
    expect(readExecution(definition, events, 'RUNNING').states.get('Work')?.fate).toBe('running');
    expect(
      readExecution(definition, [...events, at('ExecutionAborted')], 'ABORTED').states.get('Work')?.fate,
    ).toBe('cancelled');
  });

  it("lists a Map's iterations per visit with the item each processed", () => {
    const view = readExecution(
      definition,
      [
        entered('Map', 'Waves', JSON.stringify({ waves: [['shop-a', 'shop-b']] })),
        at('MapIterationStarted', { mapIterationStartedEventDetails: { name: 'Waves', index: 0 } }),
        at('MapIterationStarted', { mapIterationStartedEventDetails: { name: 'Waves', index: 1 } }),
        // The iterations' own states are not top-level states.
        entered('Task', 'Migrate'),
        at('MapIterationSucceeded', { mapIterationSucceededEventDetails: { name: 'Waves', index: 1 } }),
        at('MapIterationFailed', { mapIterationFailedEventDetails: { name: 'Waves', index: 0 } }),
        exited('Map', 'Waves'),
        entered('Map', 'Waves', JSON.stringify({ waves: [['shop-c']] })),
        at('MapIterationStarted', { mapIterationStartedEventDetails: { name: 'Waves', index: 0 } }),
        at('MapIterationSucceeded', { mapIterationSucceededEventDetails: { name: 'Waves', index: 0 } }),
        exited('Map', 'Waves'),
      ],
      'SUCCEEDED',
    );
    expect(view.iterations.get('Waves')).toEqual([
      { run: 1, index: 0, item: 'shop-a', fate: 'failed' },
      { run: 1, index: 1, item: 'shop-b', fate: 'succeeded' },
      { run: 2, index: 0, item: 'shop-c', fate: 'succeeded' },
    ]);
    expect(view.states.get('Waves')).toMatchObject({ fate: 'succeeded', visits: 2 });
    expect(view.states.has('Migrate')).toBe(false);
  });

  it("reads a Parallel state's interleaved branches by previousEventId: the failed branch's step failed, the other stopped", () => {
    const parallel: AslDefinition = {
      StartAt: 'Build',
      States: {
        Build: {
          Type: 'Parallel',
          Next: 'Done',
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Undo' }],
          Branches: [
            { StartAt: 'Left', States: { Left: { Type: 'Task', End: true } } },
            {
              StartAt: 'Right',
              States: {
                Right: { Type: 'Task', Next: 'Right again' },
                'Right again': { Type: 'Task', End: true },
              },
            },
          ],
        },
        Undo: { Type: 'Task', End: true },
        Done: { Type: 'Succeed' },
      },
    };
    const build = entered('Parallel', 'Build');
    const left = entered('Task', 'Left');
    const right = entered('Task', 'Right');
    // Left's and Right's task events interleave; each points back at its own state's previous event (the
    // state entered last is Right, so without previousEventId Left's events would be counted as Right's).
    const rightScheduled = at('TaskScheduled', { previousEventId: right.id });
    const rightBlip = at('TaskFailed', {
      previousEventId: rightScheduled.id,
      taskFailedEventDetails: { error: 'ServiceUnavailable' },
    });
    const leftScheduled = at('TaskScheduled', { previousEventId: left.id });
    const leftFailedToo = at('TaskFailed', {
      previousEventId: leftScheduled.id,
      taskFailedEventDetails: { error: 'Throttled' },
    });
    const leftRetry = at('TaskScheduled', { previousEventId: leftFailedToo.id });
    const rightRetry = at('TaskScheduled', { previousEventId: rightBlip.id });
    const rightFailed = at('TaskFailed', {
      previousEventId: rightRetry.id,
      taskFailedEventDetails: { error: 'InjectedFault', cause: 'boom' },
    });
    const view = readExecution(
      parallel,
      [
        at('ExecutionStarted'),
        build,
        left,
        right,
        rightScheduled,
        rightBlip,
        leftScheduled,
        leftFailedToo,
        leftRetry,
        rightRetry,
        rightFailed,
        at('ParallelStateFailed', { previousEventId: build.id }),
        exited('Parallel', 'Build'),
        entered('Task', 'Undo'),
        exited('Task', 'Undo'),
        at('ExecutionFailed', { executionFailedEventDetails: { error: 'InjectedFault', cause: 'boom' } }),
      ],
      'FAILED',
    );
    expect(view.states.get('Right')).toMatchObject({ fate: 'failed', error: 'InjectedFault', retries: 1 });
    expect(view.states.get('Left')).toMatchObject({ fate: 'cancelled', retries: 1, error: 'Throttled' });
    expect(view.states.get('Right again')?.fate).toBe('not-started');
    expect(view.states.get('Build')?.fate).toBe('caught');
    expect([...view.taken]).toEqual(['Build -> Left', 'Build -> Right', 'Build -> Undo']);
  });
});
