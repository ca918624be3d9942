import fc from 'fast-check';
import type { Client } from 'pg';
import {
  capacitySettings,
  cellIds,
  placesPerSharedInstance,
  type CapacitySettings,
} from '../../common/capacity';
import { PlatformNames } from '../../common/names';
import type { LocalPlatform } from '../../local/platform';
import {
  markInstanceAvailable,
  markInstanceFailed,
  placeTenant,
  planCapacity,
} from '../../workflow-tasks/records/capacity';
import { HOLDING } from '../../workflow-tasks/records/lifecycle';
import { claimTenant, setStatusIfOwned, type TenantStatus } from '../../workflow-tasks/records/registry';
import { validatedTenant } from '../fixtures/events';
import { adminClient, startTestPlatform } from '../fixtures/platform';

/**
 * Placement in random sequences, with up to three operations at once, against the real registry: what
 * "Register tenant" does (plan, claim with placement, plan again), additions of shared instances that
 * succeed or fail, and tenants leaving (rolled back, offboarded), in one cell or two. After every step: no
 * shared instance holds more tenants than its limit or than its connection budget has room for (each
 * tenant's connectionsPerTenant), no cell more than its limit, no cell more RDS
 * instances than its quota, at most one instance is being added per cell, every placed shared tenant is on
 * an available instance of its own cell, and an
 * onboarding told to wait is never at a dead end: retried (as the state machine does), it is placed,
 * refused, or waits for an instance that is being added.
 * `npm test` runs a fixed seed; PLACEMENT_SEED / PLACEMENT_RUNS replay or lengthen it.
 */
const SEED =
  process.env.PLACEMENT_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.PLACEMENT_SEED ?? 20261206);
const RUNS = Number(process.env.PLACEMENT_RUNS ?? 25);
const TENANTS = 8;
let attempts = 0;

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let registry: Client;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  registry = await adminClient(platform, PlatformNames.platformDatabase);
});

afterAll(async () => {
  await registry?.end();
  await cleanup?.();
});

type Action =
  | { kind: 'onboard'; tenant: number; dedicated: boolean }
  | { kind: 'finish-addition'; succeeds: boolean }
  | { kind: 'leave'; tenant: number; to: 'ROLLED_BACK' | 'OFFBOARDED' | 'ACTIVE' };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('onboard' as const),
    tenant: fc.nat(TENANTS - 1),
    // One in four is dedicated.
    dedicated: fc.nat(3).map((n) => n === 0),
  }),
  fc.record({ kind: fc.constant('finish-addition' as const), succeeds: fc.boolean() }),
  fc.record({
    kind: fc.constant('leave' as const),
    tenant: fc.nat(TENANTS - 1),
    to: fc.constantFrom('ROLLED_BACK' as const, 'OFFBOARDED' as const, 'ACTIVE' as const),
  }),
);

const limits: fc.Arbitrary<CapacitySettings> = fc
  .record({
    tenantsPerSharedInstance: fc.integer({ min: 1, max: 3 }),
    tenantsPerCell: fc.integer({ min: 2, max: TENANTS }),
    rdsDbInstances: fc.integer({ min: 1, max: 4 }),
    headroom: fc.nat(2),
    cells: fc.integer({ min: 1, max: 2 }),
    // The connection budget binds before the tenant limit about half the time.
    connectionsPerTenant: fc.integer({ min: 1, max: 3 }),
    connectionsPerSharedInstance: fc.integer({ min: 3, max: 9 }),
  })
  .map(({ headroom, ...quotas }) =>
    capacitySettings(
      {
        ...quotas,
        sharedInstanceHeadroom: Math.min(headroom, placesPerSharedInstance(quotas).places - 1),
      },
      'model',
    ),
  );

/** The registry's placement rows, made fresh for a run: shared-1 only, no tenant. */
async function resetCell(): Promise<void> {
  await registry.query(`DELETE FROM tenants`);
  await registry.query(`DELETE FROM shared_instances WHERE id <> 'shared-1'`);
}

/** What "Register tenant" does, without the AWS calls: the addition it asks for is recorded, not started. */
async function register(run: number, tenant: number, dedicated: boolean, settings: CapacitySettings) {
  const t = validatedTenant(`pm${run}-${tenant}`, dedicated ? { tier: 'dedicated' } : {});
  attempts += 1;
  const executionArn = `arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:${t.tenantId}-${attempts}`;
  const plan = (placed: boolean) =>
    planCapacity(t, {
      executionArn,
      settings,
      executionArnOf: (id) => `arn:model:${run}:${id}`,
      running: () => Promise.resolve(true),
      placed,
    });
  try {
    if ((await plan(false)).wait) return 'wait';
    await claimTenant(t, executionArn, (client) => placeTenant(client, t, settings));
    if (!dedicated) await plan(true);
    return 'placed';
  } catch (error) {
    const e = error as Error;
    if (e.name === 'CapacityPending') return 'wait';
    if (['QuotaExceeded', 'NoCapacity', 'TenantAlreadyRegistered', 'OnboardingSlotsFull'].includes(e.name))
      return e.name;
    throw error;
  }
}

async function apply(run: number, a: Action, settings: CapacitySettings): Promise<string> {
  switch (a.kind) {
    case 'onboard':
      return register(run, a.tenant, a.dedicated, settings);
    case 'finish-addition': {
      const { rows } = await registry.query<{ id: string }>(
        `SELECT id FROM shared_instances WHERE status = 'CREATING' LIMIT 1`,
      );
      const id = rows[0]?.id;
      if (!id) return 'nothing to finish';
      if (a.succeeds) {
        // Another finish of the same step may have failed it first: the registration refuses (its
        // workflow's rollback then deletes the instance).
        const lost = await markInstanceAvailable(id, {
          rdsInstanceId: `platform-${id}`,
          host: '127.0.0.1',
          port: 1,
          masterSecretArn: 'arn:model',
        }).then(
          () => false,
          (error: Error) => {
            if (error.name !== 'RegistrationLost') throw error;
            return true;
          },
        );
        if (lost) return 'lost';
      } else await markInstanceFailed(id, 'the model failed it');
      return a.succeeds ? 'added' : 'failed';
    }
    case 'leave': {
      const { rows } = await registry.query<{ execution_arn: string; status: TenantStatus }>(
        `SELECT execution_arn, status FROM tenants WHERE id = $1`,
        [`pm${run}-${a.tenant}`],
      );
      const row = rows[0];
      if (!row || !HOLDING.includes(row.status)) return 'not holding';
      await setStatusIfOwned(`pm${run}-${a.tenant}`, row.execution_arn, a.to);
      return a.to;
    }
  }
}

/** The invariants, read from the registry. */
async function check(settings: CapacitySettings): Promise<void> {
  const { rows: perInstance } = await registry.query<{
    id: string;
    cell: string;
    status: string;
    tenants: number;
  }>(
    `SELECT s.id, s.cell, s.status, count(t.id)::int AS tenants FROM shared_instances s
       LEFT JOIN tenants t ON t.db_instance = s.id AND t.status = ANY($1::text[]) GROUP BY s.id`,
    [HOLDING],
  );
  const { rows: cells } = await registry.query<{
    cell: string;
    holding: number;
    dedicated: number;
    misplaced: number;
  }>(
    `SELECT cell, count(*)::int AS holding, (count(*) FILTER (WHERE tier = 'dedicated'))::int AS dedicated,
            (count(*) FILTER (WHERE tier = 'shared' AND NOT EXISTS (SELECT 1 FROM shared_instances s
               WHERE s.id = tenants.db_instance AND s.status = 'AVAILABLE' AND s.cell = tenants.cell)))::int
              AS misplaced
       FROM tenants WHERE status = ANY($1::text[]) GROUP BY cell`,
    [HOLDING],
  );
  const broken = [
    perInstance.some((i) => i.tenants > settings.tenantsPerSharedInstance) && 'an instance over its limit',
    perInstance.some(
      (i) => i.tenants * settings.connectionsPerTenant > settings.connectionsPerSharedInstance,
    ) && 'an instance over its connection budget',
  ];
  for (const cell of cellIds(settings)) {
    const { holding = 0, dedicated = 0, misplaced = 0 } = cells.find((c) => c.cell === cell) ?? {};
    const instances = perInstance.filter((i) => i.cell === cell);
    const live = instances.filter((i) => i.status !== 'FAILED').length;
    const creating = instances.filter((i) => i.status === 'CREATING').length;
    broken.push(
      holding > settings.tenantsPerCell && `${cell} over its limit`,
      live + dedicated > settings.rdsDbInstances && `more RDS instances in ${cell} than the quota`,
      creating > 1 && `two instances being added at once in ${cell}`,
      misplaced > 0 && `a shared tenant of ${cell} not on an available instance of it`,
    );
  }
  if (cells.some((c) => !cellIds(settings).includes(c.cell))) broken.push('a tenant in no cell there is');
  const found = broken.filter(Boolean);
  if (found.length)
    throw new Error(`${found.join('; ')}: ${JSON.stringify({ settings, perInstance, cells })}`);
}

describe('placement, in random sequences with operations at once', () => {
  it(`never exceeds a limit and never leaves an onboarding waiting for nothing (${RUNS} sequences)`, async () => {
    let run = 0;
    let steps = 0;
    console.log(
      `placement model: seed ${SEED}, ${RUNS} runs (replay: PLACEMENT_SEED=${SEED} PLACEMENT_RUNS=${RUNS})`,
    );
    await fc.assert(
      fc.asyncProperty(
        limits,
        fc.array(fc.array(action, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 14 }),
        async (settings, sequence) => {
          run += 1;
          await resetCell();
          for (const step of sequence) {
            const outcomes = await Promise.all(step.map((a) => apply(run, a, settings)));
            await check(settings);
            // Each onboarding told to wait, retried: placed, refused, or waiting for an instance being added.
            for (const [i, a] of step.entries()) {
              if (outcomes[i] !== 'wait' || a.kind !== 'onboard') continue;
              const retried = await register(run, a.tenant, a.dedicated, settings);
              const { rows } = await registry.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM shared_instances WHERE status = 'CREATING'`,
              );
              if (retried === 'wait' && (rows[0]?.n ?? 0) < 1)
                throw new Error(`pm${run}-${a.tenant} waits with no instance being added`);
              await check(settings);
            }
            steps += 1;
          }
        },
      ),
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: true,
        examples: [
          // Found by a random seed: a tenant another registration holds (dedicated) was left out of the
          // count while its second registration planned, and an instance over the RDS quota was asked for.
          [
            capacitySettings(
              {
                tenantsPerSharedInstance: 3,
                rdsDbInstances: 2,
                sharedInstanceHeadroom: 2,
                tenantsPerCell: 6,
              },
              'model',
            ),
            [
              [{ kind: 'onboard', tenant: 0, dedicated: true }],
              [{ kind: 'onboard', tenant: 2, dedicated: false }],
              [{ kind: 'onboard', tenant: 0, dedicated: false }],
            ],
          ],
        ],
      },
    );
    console.log(`placement model: ${run} sequences, ${steps} steps`);
    expect(run).toBeGreaterThanOrEqual(RUNS);
  });
});
