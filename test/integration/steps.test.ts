import { ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { STEPS, type StepId } from '../../common/steps';
import type { LocalPlatform } from '../../local/runtime';
import { STEP_HANDLERS } from '../../workflow-tasks';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { aws } from '../../workflow-tasks/lib/aws';
import type { OnboardingState, StepResults } from '../../workflow-tasks/lib/types';
import { taskEvent } from '../fixtures/events';
import {
  everythingOf,
  footprint,
  nothingOf,
  startTestPlatform,
  tenantInput,
  uniqueTenantId,
} from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
});

afterAll(async () => {
  await cleanup();
});

const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:${name}`;

/** Runs every forward step of a tenant in order, as the state machine would (a domain, so none is skipped). */
async function runAllSteps(
  arn: string,
  input: Record<string, unknown>,
  each?: (id: StepId, first: unknown, second: unknown) => void,
) {
  let state: OnboardingState = { ...input };
  for (const step of STEPS) {
    const run = STEP_HANDLERS[step.id].run;
    const first = await run({ executionArn: arn, state });
    const second = await run({ executionArn: arn, state });
    each?.(step.id, first, second);
    state = { ...state, results: { ...state.results, [step.resultKey]: first } };
  }
  return state.results as StepResults;
}

describe('every step run twice', () => {
  it('returns the same result the second time and creates no duplicate resource', async () => {
    const tenantId = uniqueTenantId('twice');
    const domain = `${tenantId}.example.com`;
    const arn = executionArn(tenantId);
    const invalidationCount = async () =>
      (
        await aws().cloudfront.send(
          new ListInvalidationsCommand({ DistributionId: platform.environment.DISTRIBUTION_ID }),
        )
      ).InvalidationList?.Quantity ?? 0;
    const invalidationsBefore = await invalidationCount();
    const compared: StepId[] = [];
    await runAllSteps(arn, tenantInput(tenantId, { domain }), (id, first, second) => {
      expect([id, second]).toEqual([id, first]);
      compared.push(id);
    });
    expect(compared).toEqual(STEPS.map((s) => s.id));

    expect(await footprint(platform, tenantId, domain)).toEqual(everythingOf(true));
    expect(await invalidationCount()).toBe(invalidationsBefore + 1);
  });
});

describe('every undo', () => {
  it('removes what its step created, and succeeds when run twice', async () => {
    const tenantId = uniqueTenantId('undo');
    const domain = `${tenantId}.example.com`;
    const arn = executionArn(tenantId);
    const results = await runAllSteps(arn, tenantInput(tenantId, { domain }));
    const event = taskEvent(arn, results, { error: { Error: 'Injected', Cause: 'test' } });

    for (const step of [...STEPS].reverse()) {
      const undo = STEP_HANDLERS[step.id].undo;
      if (!undo) continue;
      await undo(event);
      await undo(event);
    }
    expect(await footprint(platform, tenantId, domain)).toEqual(nothingOf('ROLLED_BACK'));
  });

  it('succeeds when there is nothing to undo, and touches no other tenant', async () => {
    const bystander = uniqueTenantId('bystander');
    const bystanderDomain = `${bystander}.example.com`;
    await runAllSteps(executionArn(bystander), tenantInput(bystander, { domain: bystanderDomain }));
    const before = await footprint(platform, bystander, bystanderDomain);

    const ghost = uniqueTenantId('ghost');
    const tenant = (await STEP_HANDLERS['validate-input'].run({
      executionArn: executionArn(ghost),
      state: tenantInput(ghost, { domain: bystanderDomain }),
    })) as StepResults['tenant'];
    const event = taskEvent(executionArn(ghost), { tenant });
    for (const step of [...STEPS].reverse()) await STEP_HANDLERS[step.id].undo?.(event);

    // Nothing was made; the last undo records the failed signup, as for a registration that failed.
    expect(await footprint(platform, ghost)).toEqual(nothingOf('ROLLED_BACK'));
    expect(await footprint(platform, bystander, bystanderDomain)).toEqual(before);
  });
});

describe('the dedicated tier against the emulator', () => {
  it('creates one encrypted, tagged RDS instance with an RDS-managed master password, twice alike, and its undo deletes it', async () => {
    const tenantId = uniqueTenantId('dedicated');
    const arn = executionArn(tenantId);
    const tenant = (await STEP_HANDLERS['validate-input'].run({
      executionArn: arn,
      state: tenantInput(tenantId, { tier: 'dedicated' }),
    })) as StepResults['tenant'];
    const event = taskEvent(arn, { tenant });
    const first = await STEP_HANDLERS['create-database'].run(event);
    expect(await STEP_HANDLERS['create-database'].run(event)).toEqual(first);
    expect(first).toMatchObject({ instanceId: `tenant-${tenantId}` });

    const { DBInstances = [] } = await aws().rds.send(new DescribeDBInstancesCommand({}));
    const instances = DBInstances.filter((i) => i.DBInstanceIdentifier === `tenant-${tenantId}`);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({
      Engine: 'postgres',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MasterUsername: 'tenant_admin',
    });
    expect(instances[0]?.MasterUserSecret?.SecretArn).toContain(':secret:rds!');
    expect(instances[0]?.TagList).toContainEqual({ Key: 'tenant', Value: tenantId });

    await STEP_HANDLERS['create-database'].undo!(event);
    await STEP_HANDLERS['create-database'].undo!(event);
    expect((await footprint(platform, tenantId)).instance).toBe(false);
  });
});
