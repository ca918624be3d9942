import { gatewayRequest } from '../../cli/describe';
import { LocalGateway } from '../../local/gateway/gateway';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { getTenant } from '../../workflow-tasks/records/registry';
import { OffboardingStates } from '../../common/offboarding';
import { eventSpy } from '../fixtures/event-spy';
import { reaching, tenantClient, tryWrite } from '../fixtures/executions';
import { everythingOf, footprint, nothingOf, startTestPlatform, tenantInput } from '../fixtures/platform';

type Kind = 'permanent' | 'after-effect' | 'transient' | 'timeout' | 'slow';
const fault = (tenantId: string, step: string, kind: Kind, times = 1) => ({ tenantId, step, kind, times });

// Before the export is verified: the tenant must end as it was, with everything in place.
const beforeVerified = ['offboarding:suspend', 'offboarding:export', 'offboarding:verify'].flatMap((step) =>
  (['permanent', 'after-effect', 'timeout'] as const).map((kind) => ({
    tenantId: `kept-${step.split(':')[1]}-${kind}`,
    step,
    kind,
  })),
);
// After it: the removals go forward only; one that fails leaves OFFBOARDING_FAILED, and a re-run converges.
const removals = [
  'remove-domain',
  'remove-frontend',
  'remove-function',
  'remove-database',
  'remove-secret',
  'mark-offboarded',
].flatMap((step) =>
  (['permanent', 'after-effect'] as const)
    // After its effect the tenant is OFFBOARDED: a test of its own below.
    .filter((kind) => step !== 'mark-offboarded' || kind === 'permanent')
    .map((kind) => ({
      tenantId: `gone-${step.replace('remove-', '').replace('mark-offboarded', 'mark')}-${kind}`,
      step: `offboarding:${step}`,
      kind,
    })),
);
const markedThenFailed = 'gone-mark-after-effect';
const paused = 'kept-suspended';
const retried = 'gone-retried';
const resumeFails = 'stuck-resume';
const lateWriter = 'late-writer';
const domainOf = (tenantId: string) => `${tenantId}.example`;

const faults = [
  ...beforeVerified.map((f) => fault(f.tenantId, f.step, f.kind)),
  ...removals.map((f) => fault(f.tenantId, f.step, f.kind)),
  fault(paused, 'offboarding:verify', 'permanent'),
  fault(markedThenFailed, 'offboarding:mark-offboarded', 'after-effect'),
  // Transient failures and timeouts of a removal are retried within the run.
  fault(retried, 'offboarding:remove-database', 'transient', 2),
  fault(retried, 'offboarding:remove-function', 'timeout', 1),
  // The export fails, and so does putting the tenant back: recorded, and a re-run finishes the offboarding.
  fault(resumeFails, 'offboarding:export', 'permanent'),
  fault(resumeFails, 'undo:offboarding:suspend', 'permanent'),
  // The removals start late: a connection opened before the offboarding tries to write meanwhile.
  fault(lateWriter, 'offboarding:remove-domain', 'slow'),
];

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let gatewayUrl: string;
let spy: Awaited<ReturnType<typeof eventSpy>>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({ faults, maxTaskTimeoutSeconds: 5 }));
  gateway = new LocalGateway(platform);
  gatewayUrl = `http://127.0.0.1:${await gateway.listen(0)}`;
  spy = await eventSpy();
  const tenants = [
    ...beforeVerified.map((f) => f.tenantId),
    ...removals.map((f) => f.tenantId),
    paused,
    retried,
    resumeFails,
    markedThenFailed,
    lateWriter,
  ];
  for (const tenantId of tenants) {
    const record = await platform.runExecution(tenantInput(tenantId, { domain: domainOf(tenantId) }));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
  const suspended = await platform.runExecution(
    { tenantId: paused, action: 'suspend' },
    { stateMachineArn: platform.stateMachines.suspension.arn },
  );
  if (suspended.status !== 'SUCCEEDED') throw new Error(`suspending: ${suspended.cause ?? ''}`);
}, 300_000);

afterAll(async () => {
  spy?.close();
  await gateway?.close();
  await cleanup?.();
});

function offboard(tenantId: string): Promise<ExecutionRecord> {
  return platform.runExecution({ tenantId }, { stateMachineArn: platform.stateMachines.offboarding.arn });
}

/** What the tenant's API answers without a token: 401 when it serves, 503 when suspended. */
async function apiStatus(tenantId: string): Promise<number> {
  return (await gatewayRequest(gatewayUrl, `api.${tenantId}.localhost`, '/products')).status;
}

describe('a fault before the export is verified', () => {
  it.each(beforeVerified)(
    '$kind in $step: the tenant ends ACTIVE with everything in place and serving; running again offboards it',
    async ({ tenantId }) => {
      const record = await offboard(tenantId);
      expect(record.status).toBe('FAILED');
      expect(record.events.map((e) => e.stateEnteredEventDetails?.name)).toContain('Rollback: resume tenant');
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(everythingOf(true, tenantId));
      expect(await apiStatus(tenantId)).toBe(401);
      // Its database takes writes again (the export had stopped them).
      expect(await tryWrite(tenantId, `KEPT-${tenantId}`)).toBe('acknowledged');

      const again = await offboard(tenantId);
      expect({ status: again.status, cause: again.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(nothingOf('OFFBOARDED'));
    },
    60_000,
  );

  it('a suspended tenant goes back to SUSPENDED, still answering 503', async () => {
    const record = await offboard(paused);
    expect(record.status).toBe('FAILED');
    expect(await footprint(platform, paused, domainOf(paused))).toEqual({
      ...everythingOf(true, paused),
      registry: 'SUSPENDED',
    });
    expect(await apiStatus(paused)).toBe(503);
  }, 60_000);
});

describe('a fault after the export is verified', () => {
  it.each(removals)(
    '$kind in $step: OFFBOARDING_FAILED with an event, and running again converges',
    async ({ tenantId, step }) => {
      const record = await offboard(tenantId);
      expect(record.status).toBe('FAILED');
      expect(record.error).toBe('InjectedFault');
      const failed = await getTenant(tenantId);
      expect(failed?.status).toBe('OFFBOARDING_FAILED');
      expect(failed?.offboarding?.failure?.step).toMatch(/^(Remove|Mark) /);
      // Nothing is put back: the export is verified, the tenant stays suspended until the removals finish.
      expect(failed?.offboarding?.export?.key).toMatch(/^exports\//);
      const events = (await spy.events()).filter((e) => e.detail.tenantId === tenantId);
      expect(events.map((e) => e['detail-type'])).toContain('TenantOffboardingFailed');

      const again = await offboard(tenantId);
      expect({ status: again.status, cause: again.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
      // The re-run starts from the removals: no second export.
      expect(again.events.map((e) => e.stateEnteredEventDetails?.name)).not.toContain('Export database');
      expect(await footprint(platform, tenantId, domainOf(tenantId))).toEqual(nothingOf('OFFBOARDED'));
      expect((await getTenant(tenantId))?.offboarding?.export?.key).toBe(failed?.offboarding?.export?.key);
      expect(step).toMatch(/^offboarding:/);
    },
    60_000,
  );

  it('a failure after "Mark offboarded" took effect fails the run but leaves the tenant OFFBOARDED', async () => {
    const record = await offboard(markedThenFailed);
    expect(record.status).toBe('FAILED');
    expect(await footprint(platform, markedThenFailed, domainOf(markedThenFailed))).toEqual(
      nothingOf('OFFBOARDED'),
    );
    expect((await getTenant(markedThenFailed))?.offboarding?.failure).toBeUndefined();
    const events = (await spy.events()).filter((e) => e.detail.tenantId === markedThenFailed);
    // Its domain's own workflow runs beside its onboarding: its events are its own (domains.test.ts).
    const lifecycle = events.map((e) => e['detail-type']).filter((type) => !type.startsWith('TenantDomain'));
    expect(lifecycle).toEqual(['TenantProvisioned', 'TenantOffboarded']);
  }, 60_000);

  it('transient failures and timeouts of a removal are retried within the run', async () => {
    const record = await offboard(retried);
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(await footprint(platform, retried, domainOf(retried))).toEqual(nothingOf('OFFBOARDED'));
  }, 60_000);

  it('a resume that fails too is recorded; running again finishes the offboarding', async () => {
    const record = await offboard(resumeFails);
    expect(record.status).toBe('FAILED');
    expect((await getTenant(resumeFails))?.status).toBe('OFFBOARDING_FAILED');
    const again = await offboard(resumeFails);
    expect({ status: again.status, cause: again.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(await footprint(platform, resumeFails, domainOf(resumeFails))).toEqual(nothingOf('OFFBOARDED'));
  }, 60_000);

  it('no write lands after the export: a connection opened before is ended, a new one is read-only', async () => {
    // A warm function's pooled connection, opened before the offboarding.
    const early = await tenantClient(lateWriter);
    early.on('error', () => undefined);
    const started = await platform.startExecution(
      { tenantId: lateWriter },
      { stateMachineArn: platform.stateMachines.offboarding.arn },
    );
    // Exported and verified; the removals start two seconds late: the window a write would be lost in.
    await reaching(platform, started.executionArn, OffboardingStates.removeDomain);
    const onEarly = await tryWrite(lateWriter, 'LATE-EARLY', early);
    const onNew = await tryWrite(lateWriter, 'LATE-NEW');
    await early.end().catch(() => undefined);
    const record = await started.done;
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect({ onEarly, onNew }).toEqual({
      onEarly: expect.stringMatching(/^refused: /) as string,
      onNew: 'refused: cannot execute INSERT in a read-only transaction',
    });
  }, 60_000);
});
