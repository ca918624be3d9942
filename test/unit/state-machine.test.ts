import { PERMANENT_ERROR_NAMES, TRANSIENT_ERROR_NAMES } from '../../common/errors';
import { RECORD_ROLLBACK_FAILURE, STEPS } from '../../common/steps';
import { allStates, localDefinitions, type AslDefinition } from '../../local/stepfunctions/asl';

type State = AslDefinition['States'][string] & {
  Next?: string;
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Retry?: {
    ErrorEquals: string[];
    MaxAttempts?: number;
    JitterStrategy?: string;
    MaxDelaySeconds?: number;
  }[];
  Choices?: { Next: string }[];
  Default?: string;
  TimeoutSeconds?: number;
  Branches?: AslDefinition[];
};

const definition = localDefinitions().onboarding;
const states = allStates(definition);
/** A state by name, top-level or in a branch (names are unique). */
const state = (name: string): State => {
  const s = states.get(name);
  if (!s) throw new Error(`no state ${name}`);
  return s;
};
/** The names along the default path from `start` (a Choice's Default), to the end of its level. */
const pathFrom = (start: string): string[] => {
  const visited: string[] = [];
  for (let name: string | undefined = start; name;) {
    visited.push(name);
    const s = state(name);
    name = s.Type === 'Choice' ? s.Default : s.Next;
  }
  return visited;
};

describe('the onboarding state machine (from the CDK construct)', () => {
  it('runs the steps of DESIGN.md, the database branch beside the web branch, then the domain (skipped without one)', () => {
    expect(pathFrom(definition.StartAt)).toEqual([
      'Validate input',
      'Import?',
      'Register tenant',
      'Store secret',
      'Build database and web',
      'Collect branch results',
      'Both branches built?',
      'Invalidate cache',
      'Activate tenant',
      'Has a domain?',
      'No domain to attach',
      'Imported?',
      'Tenant is live',
    ]);
    const branches = state('Build database and web').Branches!;
    expect(branches.map((b) => pathFrom(b.StartAt))).toEqual([
      ['Create database', 'Dedicated instance?', 'Apply schema'],
      ['Deploy function', 'Publish frontend'],
    ]);
    // The domain's workflow is started once the tenant is live (an import's rows verified), never before.
    expect(state('Has a domain?').Choices?.map((c) => c.Next)).toEqual(['Attach domain']);
    expect(state('Attach domain').Next).toBe('Imported?');
    for (const last of ['Apply schema', 'Publish frontend', 'Database branch failed', 'Web branch failed'])
      expect(state(last)).toMatchObject({ End: true });
  });

  it("merges both branches' results (and a failure) back under $.results", () => {
    expect(state('Build database and web')).toMatchObject({
      ResultPath: '$.results',
      ResultSelector: { 'merged.$': 'States.JsonMerge($[0].results, $[1].results, false)' },
    });
    expect(state('Collect branch results')).toMatchObject({
      Type: 'Pass',
      InputPath: '$.results.merged',
      ResultPath: '$.results',
    });
    expect(state('Both branches built?')).toMatchObject({
      Choices: [{ Variable: '$.results.failure', IsPresent: true, Next: 'Take the branch error' }],
      Default: 'Invalidate cache',
    });
    expect(state('Take the branch error')).toMatchObject({
      InputPath: '$.results.failure',
      ResultPath: '$.error',
      Next: 'Rollback: detach domain',
    });
  });

  it('waits for a dedicated instance in a Wait / Check / Choice loop, which stops when the web branch failed', () => {
    expect(state('Dedicated instance?').Choices).toEqual([
      { Variable: '$.results.tenant.tier', StringEquals: 'dedicated', Next: 'Wait for instance' },
    ]);
    expect(state('Wait for instance')).toMatchObject({ Type: 'Wait', Seconds: 30, Next: 'Check instance' });
    expect(state('Check instance')).toMatchObject({
      ResultPath: '$.results.instance',
      Next: 'Instance available?',
    });
    expect(state('Instance available?')).toMatchObject({
      Choices: [
        { Variable: '$.results.instance.status', StringEquals: 'available', Next: 'Apply schema' },
        {
          Variable: '$.results.instance.status',
          StringEquals: 'abandoned',
          Next: 'Stop waiting for instance',
        },
      ],
      Default: 'Wait for instance',
    });
    expect(state('Stop waiting for instance')).toMatchObject({ Type: 'Pass', End: true });
  });

  it("catches every forward step into its own undo, the nearest earlier one, or its branch's end", () => {
    const catchTarget = (name: string) => state(name).Catch?.[0];
    expect(catchTarget('Validate input')).toEqual({
      ErrorEquals: ['States.ALL'],
      Next: 'Invalid input',
    });
    expect(state('Invalid input')).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.Error',
      CausePath: '$.Cause',
    });
    const expected: Record<string, string> = {
      'Register tenant': 'Rollback: mark tenant rolled back',
      'Store secret': 'Rollback: delete secret',
      'Invalidate cache': 'Rollback: delete frontend',
      'Activate tenant': 'Rollback: delete frontend',
      'Attach domain': 'Rollback: detach domain',
    };
    for (const [name, undo] of Object.entries(expected)) {
      expect([name, catchTarget(name)]).toEqual([
        name,
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: undo },
      ]);
    }
    // A step in a branch ends its branch; the other branch runs to its end, so when the Parallel state
    // ends nothing of it runs and the undos start at once: no wait for interrupted steps.
    const inBranch = [...STEPS.filter((s) => s.branch), { stateName: 'Check instance', branch: 'database' }];
    for (const step of inBranch)
      expect([step.stateName, catchTarget(step.stateName)]).toEqual([
        step.stateName,
        {
          ErrorEquals: ['States.ALL'],
          ResultPath: '$.results.failure',
          Next: step.branch === 'database' ? 'Database branch failed' : 'Web branch failed',
        },
      ]);
    expect(state('Build database and web').Catch).toBeUndefined();
    expect(
      [...states.values()].filter((s) => s.Type === 'Wait').map((s) => (s as { Seconds?: number }).Seconds),
    ).toEqual([30]);
  });

  it('inspects an import source before anything is made, and deletes its credentials either way', () => {
    expect(state('Import?').Choices).toEqual([
      { Variable: '$.results.tenant.importFrom', IsPresent: true, Next: 'Inspect import source' },
    ]);
    // A refused source fails with nothing made: straight to the deletion of its credentials.
    expect(state('Inspect import source')).toMatchObject({
      Next: 'Register tenant',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Rollback: imported?', ResultPath: '$.error' }],
    });
    expect(state('Rollback: imported?').Choices?.map((c) => c.Next)).toEqual([
      'Rollback: delete import credentials',
    ]);
    expect(state('Rollback: delete import credentials').Next).toBe('Onboarding failed');
    expect(state('Imported?').Choices?.map((c) => c.Next)).toEqual(['Delete import credentials']);
    // Once the tenant is live, a failure to delete them does not undo it.
    expect(state('Delete import credentials')).toMatchObject({
      Next: 'Tenant is live',
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Import credentials not deleted' }],
    });
    expect(state('Import credentials not deleted').Next).toBe('Tenant is live');
  });

  it('chains the undos backwards to a Fail state carrying the original error', () => {
    const chain: string[] = [];
    for (let name: string | undefined = 'Rollback: detach domain'; name;) {
      chain.push(name);
      const s = state(name);
      name = s.Type === 'Choice' ? s.Default : s.Next;
    }
    expect(chain).toEqual([
      'Rollback: detach domain',
      'Rollback: delete frontend',
      'Rollback: delete function and API',
      'Rollback: drop database',
      'Rollback: delete secret',
      'Rollback: mark tenant rolled back',
      'Rollback: imported?',
      'Onboarding failed',
    ]);
    expect(state('Onboarding failed')).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  it('records an undo that fails and ends in a Fail state naming the step', () => {
    for (const step of STEPS.filter((s) => s.undoStateName)) {
      const undo = state(step.undoStateName!);
      expect(undo.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackError', Next: `${step.undoStateName} failed` },
      ]);
      expect(state(`${step.undoStateName} failed`)).toMatchObject({
        Type: 'Pass',
        Result: step.id,
        ResultPath: '$.failedUndo',
      });
    }
    expect(state(RECORD_ROLLBACK_FAILURE.stateName).Next).toBe('Rollback failed');
    expect(state('Rollback failed')).toMatchObject({
      Type: 'Fail',
      Error: 'RollbackFailed',
      CausePath: '$.rollbackFailure.cause',
    });
  });

  it('lets a burst wait for an onboarding slot (and a shared tenant for the next shared instance) at "Register tenant", with jittered backoff, for long', () => {
    expect(state('Register tenant').Retry).toContainEqual({
      ErrorEquals: ['OnboardingSlotsFull', 'CapacityPending'],
      IntervalSeconds: 1,
      MaxAttempts: 700,
      BackoffRate: 1.5,
      MaxDelaySeconds: 5,
      JitterStrategy: 'FULL',
    });
  });

  it('retries only transient errors, with full jitter and a capped delay, on every task; each task has a timeout', () => {
    const tasks = [...states].filter(([, s]) => s.Type === 'Task');
    // The steps, their undos, "Check instance", "Record rollback failure", and an import's inspection and
    // the deletion of its credentials (after the tenant is live, and at the end of a rollback).
    expect(tasks.length).toBe(STEPS.length + STEPS.filter((s) => s.undoStateName).length + 2 + 3);
    for (const [name, s] of tasks as [string, State][]) {
      const ours = s.Retry?.find((r) => r.ErrorEquals.includes('Throttled'));
      // Undos are idempotent, so a timed-out one is retried too; a timed-out forward step is rolled back.
      const undo = name.startsWith('Rollback: ') || name === 'Record rollback failure';
      expect([name, ours?.ErrorEquals]).toEqual([
        name,
        [...TRANSIENT_ERROR_NAMES, ...(undo ? ['States.Timeout'] : [])],
      ]);
      expect(ours?.JitterStrategy).toBe('FULL');
      expect(ours?.MaxAttempts).toBeGreaterThan(0);
      expect(ours?.MaxDelaySeconds).toBeGreaterThan(0);
      const retried = (s.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(
        retried.filter((e) => (PERMANENT_ERROR_NAMES as readonly string[]).includes(e) || e === 'States.ALL'),
      ).toEqual([]);
      expect(s.TimeoutSeconds).toBeGreaterThan(0);
    }
    expect(definition.TimeoutSeconds).toBe(3600);
  });
});
