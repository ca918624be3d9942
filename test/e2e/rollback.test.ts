import { STEPS, type StepId } from '../../common/steps';
import { SLOW_FAULT_MS, type Fault } from '../../local/tasks/faults';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { getTenant } from '../../workflow-tasks/records/registry';
import { eventSpy, type PlatformEvent } from '../fixtures/event-spy';
import { everythingOf, footprint, nothingOf, startTestPlatform, tenantInput } from '../fixtures/platform';

// Faults are given to the platform when it starts, so every case of this file is planned up front.
const FORWARD: StepId[] = STEPS.map((s) => s.id);
const KINDS = ['permanent', 'after-effect', 'timeout'] as const;
const failureCases = FORWARD.flatMap((step) =>
  KINDS.map((kind) => ({ step, kind, tenantId: `rb-${kind}-${step}`.slice(0, 32) })),
);
const transientCases = FORWARD.map((step) => ({ step, tenantId: `tr-${step}` }));
const domainOf = (tenantId: string) => `${tenantId}.example.com`;
// Task timeouts are capped so that "timeout" faults take seconds, not minutes; a few executions run at a
// time so that the steps without a fault stay well inside the cap on a 2-core machine.
const TASK_TIMEOUT = 5;
const AT_A_TIME = 6;

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size)
    results.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return results;
}

const faults: Fault[] = [
  ...failureCases.map(({ step, kind, tenantId }) => ({ tenantId, step, kind, times: 1 })),
  ...transientCases.map(({ step, tenantId }) => ({ tenantId, step, kind: 'transient' as const, times: 2 })),
  // An undo that keeps failing, and one that fails twice and then works.
  { tenantId: 'undo-stuck', step: 'apply-schema', kind: 'permanent', times: 1 },
  { tenantId: 'undo-stuck', step: 'undo:create-database', kind: 'permanent', times: 1 },
  { tenantId: 'undo-blip', step: 'apply-schema', kind: 'permanent', times: 1 },
  { tenantId: 'undo-blip', step: 'undo:create-database', kind: 'transient', times: 2 },
  // A branch failing at its second step while the other branch's first step (surely started by then) is
  // still running: that step lands its effect late.
  { tenantId: 'interrupted-web', step: 'apply-schema', kind: 'permanent', times: 1 },
  { tenantId: 'interrupted-web', step: 'deploy-function', kind: 'slow', times: 1 },
  { tenantId: 'interrupted-db', step: 'publish-frontend', kind: 'permanent', times: 1 },
  { tenantId: 'interrupted-db', step: 'create-database', kind: 'slow', times: 1 },
  // The dedicated tier's wait loop failing: the RDS instance is deleted.
  { tenantId: 'dedicated-rb', step: 'check-instance', kind: 'permanent', times: 1 },
  // The web branch failing while a dedicated instance is still being asked for: the wait loop stops.
  { tenantId: 'dedicated-web', step: 'deploy-function', kind: 'permanent', times: 1 },
  { tenantId: 'dedicated-web', step: 'create-database', kind: 'slow', times: 1 },
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let spy: Awaited<ReturnType<typeof eventSpy>>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults, maxTaskTimeoutSeconds: TASK_TIMEOUT }));
  spy = await eventSpy();
});

afterAll(async () => {
  spy.close();
  await cleanup();
});

const onboard = (tenantId: string) =>
  platform.runExecution(tenantInput(tenantId, { domain: domainOf(tenantId) }));

async function eventsOf(tenantId: string, type: string): Promise<PlatformEvent[]> {
  return (await spy.events()).filter((e) => e['detail-type'] === type && e.detail.tenantId === tenantId);
}

/**
 * The history events of one state's visit, from its TaskStateEntered to its TaskStateExited, following
 * previousEventId (the events of branches running side by side are interleaved).
 */
function visit(record: ExecutionRecord, stateName: string): string[] {
  const entered = record.events.find(
    (e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === stateName,
  );
  const chain = entered ? [entered] : [];
  for (const e of record.events) {
    const last = chain.at(-1);
    if (!last || last.type === 'TaskStateExited') break;
    if (e.previousEventId === last.id && e.id > last.id && !e.type.endsWith('StateEntered')) chain.push(e);
  }
  return chain.map((e) => e.type);
}

describe('a step that fails permanently, after its effect, or by timing out', () => {
  const records = new Map<string, ExecutionRecord>();

  beforeAll(async () => {
    const done = await inBatches(
      failureCases,
      AT_A_TIME,
      async (c) => [c.tenantId, await onboard(c.tenantId)] as const,
    );
    for (const [tenantId, record] of done) records.set(tenantId, record);
  });

  it.each(failureCases)(
    '$step ($kind): fails with the injected error and leaves nothing behind',
    async ({ step, kind, tenantId }) => {
      const record = records.get(tenantId)!;
      expect({ status: record.status, error: record.error }).toEqual({
        status: 'FAILED',
        error: kind === 'timeout' ? 'States.Timeout' : 'InjectedFault',
      });
      const expectedCause = kind === 'timeout' ? 'States.Timeout' : `injected ${kind} fault in ${step}`;
      expect(record.cause).toContain(expectedCause);

      // Validation fails before anything exists, so there is nothing to register or roll back.
      const registered = step !== 'validate-input';
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(
        nothingOf(registered ? 'ROLLED_BACK' : undefined),
      );
      const failedEvents = await eventsOf(tenantId, 'TenantProvisioningFailed');
      expect(failedEvents.map((e) => e.detail.error)).toEqual(registered ? [record.error] : []);
      const recorded = (await getTenant(tenantId))?.error as { Error?: string } | null | undefined;
      expect(recorded?.Error ?? null).toBe(registered ? record.error : null);
    },
  );
});

describe('a transient failure', () => {
  it.each(transientCases)(
    'in $step, twice, is retried and the onboarding succeeds',
    async ({ step, tenantId }) => {
      const record = await onboard(tenantId);
      expect(record.status).toBe('SUCCEEDED');
      const stateName = STEPS.find((s) => s.id === step)!.stateName;
      const events = visit(record, stateName);
      expect(events.filter((t) => t === 'TaskFailed')).toHaveLength(2);
      expect(events.filter((t) => t === 'TaskScheduled')).toHaveLength(3);
      expect(events.at(-2)).toBe('TaskSucceeded');
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(everythingOf(true, tenantId));
    },
  );
});

describe('an undo that fails', () => {
  it('after its retries: ROLLBACK_FAILED, a TenantRollbackFailed event, and a Fail state naming the step', async () => {
    const record = await onboard('undo-stuck');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('RollbackFailed');
    expect(record.cause).toBe('Could not undo create-database: InjectedFault');
    expect(record.events.at(-2)?.stateEnteredEventDetails?.name).toBe('Rollback failed');
    expect(await getTenant('undo-stuck')).toMatchObject({
      status: 'ROLLBACK_FAILED',
      error: {
        failedUndo: 'create-database',
        original: { Error: 'InjectedFault' },
        undoError: { Error: 'InjectedFault' },
      },
    });
    const alarms = await eventsOf('undo-stuck', 'TenantRollbackFailed');
    expect(alarms.map((e) => e.detail.failedUndo)).toEqual(['create-database']);
  });

  it('twice with a transient error is retried, and the rollback completes', async () => {
    const record = await onboard('undo-blip');
    expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
    expect(visit(record, 'Rollback: drop database').filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(await footprint(platform, 'undo-blip', domainOf('undo-blip'))).toEqual(nothingOf('ROLLED_BACK'));
  });
});

describe('the dedicated tier', () => {
  it('deletes the RDS instance when waiting for it fails', async () => {
    const record = await platform.runExecution(tenantInput('dedicated-rb', { tier: 'dedicated' }));
    expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
    const states = record.events
      .filter((e) => e.type.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    // The database branch's path (the web branch runs beside it), then the rollback, which drops the database.
    const databaseBranch = ['Create database', 'Dedicated instance?', 'Wait for instance', 'Check instance'];
    expect(states.filter((s) => databaseBranch.includes(s!))).toEqual(databaseBranch);
    const rollback = states.slice(states.indexOf('Take the branch error'));
    expect(rollback).toContain('Rollback: drop database');
    expect(states.indexOf('Check instance')).toBeLessThan(states.indexOf('Take the branch error'));
    expect(await footprint(platform, 'dedicated-rb')).toEqual(nothingOf('ROLLED_BACK'));
  });

  it('stops waiting for the instance when the web branch has failed, and rolls back', async () => {
    const record = await platform.runExecution(tenantInput('dedicated-web', { tier: 'dedicated' }));
    expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
    const entered = record.events
      .filter((e) => e.type.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    // "Web branch failed" was entered before the first check (Create database ran SLOW_FAULT_MS late).
    expect(entered.indexOf('Web branch failed')).toBeLessThan(entered.indexOf('Check instance'));
    const checks = record.events
      .filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Check instance')
      .map(
        (e) =>
          (JSON.parse(e.stateExitedEventDetails!.output!) as { results: { instance: { status: string } } })
            .results.instance.status,
      );
    expect(checks).toEqual(['abandoned']);
    expect(entered).toContain('Stop waiting for instance');
    expect(entered).not.toContain('Apply schema');
    expect(entered.slice(entered.indexOf('Take the branch error'))).toContain('Rollback: drop database');
    expect(await footprint(platform, 'dedicated-web')).toEqual(nothingOf('ROLLED_BACK'));
  });
});

describe('a branch that fails while the other branch is still running a step', () => {
  it.each([
    ['interrupted-web', 'Deploy function', 'Rollback: delete function and API'],
    ['interrupted-db', 'Create database', 'Rollback: drop database'],
  ])(
    '%s: the rollback starts once "%s" has landed its effect (its branch ran on), then removes it',
    async (tenantId, interrupted, undo) => {
      const record = await onboard(tenantId);
      expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
      const enteredAt = (name: string) =>
        record.events.find((e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === name)
          ?.timestamp;
      // The interrupted step started before the branch beside it failed, and landed its effect SLOW_FAULT_MS
      // later; its undo started only after that.
      const started = enteredAt(interrupted)!;
      expect(enteredAt(undo)! - started).toBeGreaterThanOrEqual(SLOW_FAULT_MS);
      // The branch beside the failure ran on to its end: the step had ended before the undos began.
      const exited = record.events.find(
        (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === interrupted,
      );
      expect(exited?.timestamp).toBeLessThanOrEqual(enteredAt(undo)!);
      expect(record.events.some((e) => e.type === 'WaitStateEntered')).toBe(false);
      // Nothing is left, now that the late effect has certainly landed.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + SLOW_FAULT_MS - Date.now())));
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(nothingOf('ROLLED_BACK'));
    },
  );
});

describe('two executions for the same tenant started at the same moment', () => {
  it('leave exactly one complete tenant; the other fails at registration and deletes nothing', async () => {
    const tenantId = 'same-moment';
    const [a, b] = await Promise.all([onboard(tenantId), onboard(tenantId)]);
    const winner = [a, b].find((r) => r.status === 'SUCCEEDED');
    const loser = [a, b].find((r) => r !== winner);
    expect(winner).toBeDefined();
    expect({ status: loser?.status, error: loser?.error }).toEqual({
      status: 'FAILED',
      error: 'TenantAlreadyRegistered',
    });
    expect(
      loser!.events.filter((e) => e.type === 'TaskStateEntered').map((e) => e.stateEnteredEventDetails?.name),
    ).toEqual(['Validate input', 'Register tenant', 'Rollback: mark tenant rolled back']);
    expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(everythingOf(true, tenantId));
    expect(await getTenant(tenantId)).toMatchObject({ status: 'ACTIVE', executionArn: winner!.executionArn });
  });
});
