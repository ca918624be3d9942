import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { PlatformNames, TenantApiEnv, tenantResourceNames } from '../../common/names';
import { SuspensionStates } from '../../common/suspension';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import { cleanupAfter, reaching } from '../fixtures/executions';
import { awsCli } from '../fixtures/processes';
import { everythingOf, footprint, nothingOf, startTestPlatform, tenantInput } from '../fixtures/platform';

/**
 * Executions that end without compensating themselves: `StopExecution` on a running onboarding (through
 * the platform and through the aws CLI), and one that failed after its rollback ran. Step Functions'
 * "Execution Status Change" event starts the cleanup workflow, which undoes what the execution still owns.
 */
const SHARED = 'stopped-shop';
const DEDICATED = 'stopped-dedicated';
const FAILED = 'failed-shop';
const PAUSING = 'pausing-shop';
const RESUMING = 'resuming-shop';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({
    // "Apply schema" starts late (2 s, or 10 s for the aws CLI's two starts, which take seconds on a busy
    // machine: CI once saw the onboarding end before the CLI stopped it): it is still running when stopped.
    faults: [
      { tenantId: SHARED, step: 'apply-schema', kind: 'slow', times: 1 },
      { tenantId: DEDICATED, step: 'apply-schema', kind: 'slow', times: 1, lateMs: 10_000 },
      { tenantId: FAILED, step: 'activate-tenant', kind: 'permanent', times: 1 },
      // A suspend, and a resume, still switching the tenant's function when they are stopped.
      { tenantId: PAUSING, step: 'suspension:switch-to-suspended', kind: 'slow', times: 1 },
      { tenantId: RESUMING, step: 'suspension:switch-back', kind: 'slow', times: 1 },
    ],
  }));
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

describe('an onboarding stopped while it runs', () => {
  it('is cleaned up within 30 s: nothing left, ROLLED_BACK, and onboarding it again succeeds', async () => {
    const domain = `${SHARED}.example`;
    const started = await platform.startExecution(tenantInput(SHARED, { domain }), {
      name: `onboard-${SHARED}`,
    });
    await reaching(platform, started.executionArn, 'Apply schema');
    const stoppedAt = Date.now();
    expect(
      await platform.stopExecution(started.executionArn, { error: 'Operator', cause: 'stopped by hand' }),
    ).toBe(true);
    expect((await started.done).status).toBe('ABORTED');

    const cleaned = await cleanupAfter(platform, started.executionArn);
    expect({ status: cleaned.status, output: JSON.parse(cleaned.output ?? 'null') as unknown }).toMatchObject(
      {
        status: 'SUCCEEDED',
        output: { cleanup: { executionArn: started.executionArn, rolledBack: [SHARED] } },
      },
    );
    console.log(`stopped onboarding cleaned up ${Date.now() - stoppedAt} ms after StopExecution`);
    expect(await footprint(platform, SHARED, domain)).toEqual(nothingOf('ROLLED_BACK'));
    expect((await getTenant(SHARED))?.error).toMatchObject({ Error: 'Operator', Cause: 'stopped by hand' });

    const again = await platform.runExecution(tenantInput(SHARED, { domain }), {
      name: `onboard-${SHARED}-2`,
    });
    expect({ status: again.status, cause: again.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(await footprint(platform, SHARED, domain)).toEqual(everythingOf(true, SHARED));
  }, 120_000);

  it('through the aws CLI, on the dedicated tier: its instance and secret go too', async () => {
    const { stateMachineArn } = platform;
    const { executionArn } = (await awsCli(platform.endpointUrl, [
      'stepfunctions',
      'start-execution',
      '--state-machine-arn',
      stateMachineArn,
      '--name',
      `onboard-${DEDICATED}`,
      '--input',
      JSON.stringify(tenantInput(DEDICATED, { tier: 'dedicated' })),
    ])) as { executionArn: string };
    await reaching(platform, executionArn, 'Apply schema');
    await awsCli(platform.endpointUrl, ['stepfunctions', 'stop-execution', '--execution-arn', executionArn]);
    const described = (await awsCli(platform.endpointUrl, [
      'stepfunctions',
      'describe-execution',
      '--execution-arn',
      executionArn,
    ])) as { status: string };
    expect(described.status).toBe('ABORTED');
    expect((await cleanupAfter(platform, executionArn)).status).toBe('SUCCEEDED');
    expect(await footprint(platform, DEDICATED)).toEqual(nothingOf('ROLLED_BACK'));
    const again = await platform.runExecution(tenantInput(DEDICATED, { tier: 'dedicated' }));
    expect({ status: again.status, cause: again.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
  }, 180_000);
});

describe('an onboarding that failed and rolled itself back', () => {
  it('gets a cleanup too, which finds nothing of it left and changes nothing', async () => {
    const record = await platform.runExecution(tenantInput(FAILED));
    expect(record.status).toBe('FAILED');
    const before = await getTenant(FAILED);
    const cleaned = await cleanupAfter(platform, record.executionArn);
    expect({ status: cleaned.status, output: JSON.parse(cleaned.output ?? 'null') as unknown }).toMatchObject(
      {
        status: 'SUCCEEDED',
        output: { cleanup: { rolledBack: [] } },
      },
    );
    expect(await getTenant(FAILED)).toEqual(before);
    expect(await footprint(platform, FAILED)).toEqual(nothingOf('ROLLED_BACK'));
  }, 120_000);
});

describe('a suspension or a resume stopped while it switches the function', () => {
  const suspension = (tenantId: string, action: 'suspend' | 'resume') =>
    platform.startExecution({ tenantId, action }, { stateMachineArn: platform.stateMachines.suspension.arn });
  /** Whether the version alias `live` serves is the suspended one. */
  const liveIsSuspended = async (tenantId: string) => {
    const live = await aws().lambda.send(
      new GetFunctionConfigurationCommand({
        FunctionName: tenantResourceNames(tenantId).functionName,
        Qualifier: PlatformNames.liveAlias,
      }),
    );
    return live.Environment?.Variables?.[TenantApiEnv.suspended] === 'true';
  };

  it.each([
    [PAUSING, 'suspend', SuspensionStates.switchToSuspended],
    [RESUMING, 'resume', SuspensionStates.switchBack],
  ] as const)(
    '%s: its %s is undone or finished by the cleanup: ACTIVE, serving, and suspending it works again',
    async (tenantId, action, slowState) => {
      expect((await platform.runExecution(tenantInput(tenantId))).status).toBe('SUCCEEDED');
      // A resume starts from a suspended tenant.
      const before =
        action === 'resume' ? (await (await suspension(tenantId, 'suspend')).done).status : 'none';
      expect(before).toBe(action === 'resume' ? 'SUCCEEDED' : 'none');
      const started = await suspension(tenantId, action);
      await reaching(platform, started.executionArn, slowState);
      expect(await platform.stopExecution(started.executionArn)).toBe(true);
      expect((await started.done).status).toBe('ABORTED');
      // Stopped halfway, the registry says SUSPENDED: the cleanup makes the tenant whole, as ACTIVE.
      const cleaned = await cleanupAfter(platform, started.executionArn);
      expect({
        status: cleaned.status,
        output: JSON.parse(cleaned.output ?? 'null') as unknown,
      }).toMatchObject({
        status: 'SUCCEEDED',
        output: { cleanup: { resumed: tenantId } },
      });
      expect((await getTenant(tenantId))?.status).toBe('ACTIVE');
      expect(await liveIsSuspended(tenantId)).toBe(false);
      expect((await (await suspension(tenantId, 'suspend')).done).status).toBe('SUCCEEDED');
      expect(await liveIsSuspended(tenantId)).toBe(true);
    },
    120_000,
  );
});
