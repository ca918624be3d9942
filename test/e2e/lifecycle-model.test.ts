import { deepStrictEqual } from 'node:assert/strict';
import fc from 'fast-check';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { capacitySettings } from '../../common/capacity';
import { allows, HOLDING, type LifecycleState, type Operation } from '../../workflow-tasks/records/lifecycle';
import { getTenant, listTenants } from '../../workflow-tasks/records/registry';
import { allExecutionsEnded, cleanupAfter, reaching, tenantClient } from '../fixtures/executions';
import { footprint, nothingOf, startTestPlatform, tenantInput } from '../fixtures/platform';
import { availableInstances, copyOn, registryQuery } from '../fixtures/shared-instances';

/**
 * A tenant's whole life, proven by random sequences (fast-check's model-based testing): onboard, suspend,
 * resume, offboard, restore, move to another shared instance and adding rows, on four tenant ids and both
 * tiers, two operations at once on one tenant, an onboarding stopped mid-run, and an injected fault (the
 * fourth id's first onboarding or restore fails at one step, a different one in each run, and is rolled
 * back). The model is the lifecycle table itself (workflow-tasks/records/lifecycle.ts) plus the rows each
 * tenant holds. After every command: the registry says what the model says; the tenant's resources exist
 * exactly when its state says so, its database on the one shared instance the registry names and on no
 * other; nothing is left RUNNING and no onboarding slot is held; a restored or moved tenant has exactly the
 * rows it had.
 * `npm test` runs a fixed seed; LIFECYCLE_SEED / LIFECYCLE_RUNS replay or lengthen it.
 */
const SEED =
  process.env.LIFECYCLE_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.LIFECYCLE_SEED ?? 20261204);
const RUNS = Number(process.env.LIFECYCLE_RUNS ?? 4);
/** Runs whose ids have their faults (a shrinking fast-check runs more; their stops may come late). */
const MOST_RUNS = 400;
/**
 * Every run gets its own ids: `m<run>-a`, `m<run>-b`, `m<run>-s`, whose "Apply schema" is slow, and
 * `m<run>-f`, whose first onboarding or restore fails at `faultStepOf(run)`.
 */
const idsOf = (run: number) => [`m${run}-a`, `m${run}-b`, `m${run}-s`, `m${run}-f`];
/** The steps a failure of which is rolled back to ROLLED_BACK (without a domain, "Attach domain" never runs). */
const FAULT_STEPS = [
  'store-secret',
  'create-database',
  'apply-schema',
  'deploy-function',
  'publish-frontend',
  'invalidate-cache',
  'activate-tenant',
];
const faultStepOf = (run: number) => FAULT_STEPS[run % FAULT_STEPS.length]!;

const TENANTS_PER_INSTANCE = 10;
let platform: LocalPlatform;
/** Injected faults that fired (and were rolled back) over the whole test, and moves that succeeded. */
let faultsRolledBack = 0;
let moved = 0;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform({
    // A second shared instance from the first shared tenant on, so that shared tenants can move.
    quotas: capacitySettings(
      { tenantsPerSharedInstance: TENANTS_PER_INSTANCE, sharedInstanceHeadroom: TENANTS_PER_INSTANCE - 1 },
      'lifecycle model',
    ),
    faults: Array.from({ length: MOST_RUNS }, (_, run) => [
      { tenantId: idsOf(run)[2]!, step: 'apply-schema', kind: 'slow' as const, times: 1000 },
      { tenantId: idsOf(run)[3]!, step: faultStepOf(run), kind: 'permanent' as const, times: 1 },
    ]).flat(),
  }));
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

interface TenantModel {
  state: LifecycleState;
  tier: 'shared' | 'dedicated';
  /** Products in its database while it lives. */
  products: number;
  /** Its last verified export: the key, and the products it holds. */
  exported?: { key: string; products: number };
  /** The step whose injected fault has not fired yet: the next onboarding or restore fails there. */
  faultAt?: string;
}
type Model = TenantModel[];
interface Real {
  ids: string[];
}

/** What each operation leads to when it succeeds. */
const SUCCEEDS_TO: Record<Exclude<Operation, 'release'>, LifecycleState> = {
  onboard: 'ACTIVE',
  restore: 'ACTIVE',
  suspend: 'SUSPENDED',
  resume: 'ACTIVE',
  offboard: 'OFFBOARDED',
  move: 'ACTIVE',
};
type Op = keyof typeof SUCCEEDS_TO;

/** Runs one operation's workflow on the local platform and waits for it. */
async function start(
  op: Op,
  tenantId: string,
  m: TenantModel,
  tier: 'shared' | 'dedicated',
): Promise<ExecutionRecord> {
  const { onboarding, suspension, offboarding, move } = platform.stateMachines;
  switch (op) {
    case 'move':
      return platform.runExecution(
        { tenantId, toInstance: await moveTarget(tenantId) },
        { stateMachineArn: move.arn },
      );
    case 'onboard':
      return platform.runExecution(tenantInput(tenantId, { tier }), { stateMachineArn: onboarding.arn });
    case 'restore':
      return platform.runExecution(
        tenantInput(tenantId, {
          tier: m.tier,
          restoreFrom: m.exported?.key ?? 'exports/none/20260101T000000Z.tenant-export.gz',
        }),
        {
          stateMachineArn: onboarding.arn,
        },
      );
    case 'suspend':
    case 'resume':
      return platform.runExecution({ tenantId, action: op }, { stateMachineArn: suspension.arn });
    case 'offboard':
      return platform.runExecution({ tenantId }, { stateMachineArn: offboarding.arn });
  }
}

/** The model after `op` succeeded on the tenant (its rows and export follow the operation). */
async function applied(
  op: Op,
  tenantId: string,
  m: TenantModel,
  tier: 'shared' | 'dedicated',
): Promise<void> {
  m.state = SUCCEEDS_TO[op];
  if (op === 'move') moved += 1;
  if (op === 'onboard') Object.assign(m, { tier, products: 0 });
  if (op === 'restore') m.products = m.exported!.products;
  if (op === 'offboard') {
    const key = (await getTenant(tenantId))?.offboarding?.export?.key;
    if (!key) throw new Error(`${tenantId} was offboarded without a recorded export`);
    m.exported = { key, products: m.products };
  }
}

/** Whether the model allows `op` (restore also needs an export to restore from; only shared tenants move). */
function allowed(op: Op, m: TenantModel): boolean {
  return (
    allows(m.state, op) &&
    (op !== 'restore' || m.exported !== undefined) &&
    (op !== 'move' || m.tier === 'shared')
  );
}

/** Where a move of the tenant goes: the oldest other shared instance with room (shared-2 for a tenant on none). */
async function moveTarget(tenantId: string): Promise<string> {
  const current = (await getTenant(tenantId))?.dbInstance;
  const held = await registryQuery<{ db_instance: string; n: number }>(
    platform,
    'SELECT db_instance, count(*)::int AS n FROM tenants WHERE status = ANY($1) GROUP BY db_instance',
    [HOLDING],
  );
  const room = (id: string) => (held.find((h) => h.db_instance === id)?.n ?? 0) < TENANTS_PER_INSTANCE;
  return (await availableInstances(platform)).find((id) => id !== current && room(id)) ?? 'shared-2';
}

/** The shared instances that hold a copy of the tenant's database. */
async function copiesOf(tenantId: string): Promise<string[]> {
  const held: string[] = [];
  for (const id of await availableInstances(platform))
    if ((await copyOn(platform, id, tenantId)).database) held.push(id);
  return held;
}

/** After every command: nothing runs (cleanups included), then the registry and the resources match the model. */
async function check(model: Model, real: Real): Promise<void> {
  await allExecutionsEnded(platform);
  const provisioning = (await listTenants()).filter((t) => t.status === 'PROVISIONING');
  expect(provisioning.map((t) => t.id)).toEqual([]);
  for (const [i, tenantId] of real.ids.entries()) {
    const m = model[i]!;
    const found = await footprint(platform, tenantId);
    const registry = found.registry ?? 'UNKNOWN';
    expect({ tenantId, registry }).toEqual({ tenantId, registry: m.state });
    const living = m.state === 'ACTIVE' || m.state === 'SUSPENDED';
    // footprint looks at shared-1 only: a shared tenant's database is on the instance the registry names.
    const onInstance = living && m.tier === 'shared' ? [(await getTenant(tenantId))?.dbInstance] : [];
    expect({ tenantId, copies: await copiesOf(tenantId) }).toEqual({ tenantId, copies: onInstance });
    if (living) {
      expect({ tenantId, ...found }).toMatchObject({
        tenantId,
        secret: true,
        function: true,
        iamRole: true,
        apis: 1,
        instance: m.tier === 'dedicated',
      });
      const client = await tenantClient(tenantId);
      try {
        const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
        expect({ tenantId, products: rows[0]!.n }).toEqual({ tenantId, products: m.products });
      } finally {
        await client.end();
      }
    } else
      expect({ tenantId, ...found, database: false }).toEqual({ tenantId, ...nothingOf(found.registry) });
  }
}

/** A command's own check (fast-check reports the sequence that broke it). */
function same<T>(actual: T, expected: T): void {
  deepStrictEqual(actual, expected);
}

class Run implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly who: number,
    readonly tier: 'shared' | 'dedicated',
  ) {}
  check = (model: Readonly<Model>) => this.op !== 'restore' || model[this.who]!.exported !== undefined;
  async run(model: Model, real: Real): Promise<void> {
    const m = model[this.who]!;
    const tenantId = real.ids[this.who]!;
    const record = await start(this.op, tenantId, m, this.tier);
    const faulted =
      m.faultAt !== undefined && allowed(this.op, m) && ['onboard', 'restore'].includes(this.op);
    const expected = allowed(this.op, m) && !faulted ? 'SUCCEEDED' : 'FAILED';
    same(
      {
        op: this.op,
        tenantId,
        status: record.status,
        error: faulted ? record.error : undefined,
        cause: expected === record.status || faulted ? undefined : record.cause,
      },
      {
        op: this.op,
        tenantId,
        status: expected,
        error: faulted ? 'InjectedFault' : undefined,
        cause: undefined,
      },
    );
    if (faulted) {
      Object.assign(m, { state: 'ROLLED_BACK', faultAt: undefined });
      faultsRolledBack += 1;
    }
    if (record.status === 'SUCCEEDED') await applied(this.op, tenantId, m, this.tier);
    await check(model, real);
  }
  toString = () => `${this.op}(${this.who}${this.op === 'onboard' ? `, ${this.tier}` : ''})`;
}

/**
 * A command on one of the live shared tenants, whichever they are, generated only when one lives (the
 * same command on a fixed id is mostly refused): moves, alone or beside another operation.
 */
class OnLive implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly ops: Op[],
  ) {}
  private live = (model: Readonly<Model>) =>
    model.flatMap((m, i) => (m.state === 'ACTIVE' && m.tier === 'shared' ? [i] : []));
  check = (model: Readonly<Model>) => this.live(model).length > 0;
  async run(model: Model, real: Real): Promise<void> {
    const live = this.live(model);
    const who = live[this.pick % live.length]!;
    const [first, second] = this.ops;
    await (second ? new TwoAtOnce([first!, second], who) : new Run(first!, who, 'shared')).run(model, real);
  }
  toString = () => `onLive(${this.pick}, ${this.ops.join(', ')})`;
}

class AddProducts implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly who: number,
    readonly count: number,
  ) {}
  check = (model: Readonly<Model>) => model[this.who]!.state === 'ACTIVE';
  async run(model: Model, real: Real): Promise<void> {
    const client = await tenantClient(real.ids[this.who]!);
    try {
      await client.query(
        `INSERT INTO products (sku, name, price_cents) SELECT 'M-' || gen_random_uuid(), E'a\\tb', i FROM generate_series(1, $1) AS i`,
        [this.count],
      );
    } finally {
      await client.end();
    }
    model[this.who]!.products += this.count;
    await check(model, real);
  }
  toString = () => `addProducts(${this.who}, ${this.count})`;
}

/** Two operations on one tenant at once: the outcome is one of the orders they could have run in. */
class TwoAtOnce implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly ops: [Op, Op],
    readonly who: number,
  ) {}
  check = (model: Readonly<Model>) =>
    !this.ops.includes('restore') || model[this.who]!.exported !== undefined;
  async run(model: Model, real: Real): Promise<void> {
    const m = model[this.who]!;
    const tenantId = real.ids[this.who]!;
    const [a, b] = await Promise.all(this.ops.map((op) => start(op, tenantId, m, m.tier)));
    const succeeded = this.ops.filter((_, k) => [a, b][k]!.status === 'SUCCEEDED');
    // Each order that could explain the outcome: the successes, applied one after the other, were allowed.
    const orders = succeeded.length === 2 ? [succeeded, [...succeeded].reverse()] : [succeeded];
    const possible = orders.filter((order) => {
      let state = m.state;
      for (const op of order) {
        if (!allowed(op, { ...m, state })) return false;
        state = SUCCEEDS_TO[op];
      }
      return true;
    });
    same(
      { ops: this.ops, succeeded, explained: possible.length > 0 },
      {
        ops: this.ops,
        succeeded,
        explained: true,
      },
    );
    // The registry says which order it was.
    const registry = (await getTenant(tenantId))?.status ?? 'UNKNOWN';
    const order = possible.find((o) => (o.length ? SUCCEEDS_TO[o[o.length - 1]!] : m.state) === registry);
    same(
      { ops: this.ops, registry, explained: order !== undefined },
      {
        ops: this.ops,
        registry,
        explained: true,
      },
    );
    for (const op of order!) await applied(op, tenantId, m, m.tier);
    await check(model, real);
  }
  toString = () => `twoAtOnce(${this.ops.join(', ')}, ${this.who})`;
}

/** An onboarding of the slow id, stopped while "Apply schema" waits: the cleanup leaves nothing. */
class StopOnboarding implements fc.AsyncCommand<Model, Real> {
  check = (model: Readonly<Model>) => allows(model[2]!.state, 'onboard');
  async run(model: Model, real: Real): Promise<void> {
    const tenantId = real.ids[2]!;
    const started = await platform.startExecution(tenantInput(tenantId), {
      stateMachineArn: platform.stateMachines.onboarding.arn,
    });
    await reaching(platform, started.executionArn, 'Apply schema');
    const stopped = await platform.stopExecution(started.executionArn);
    const record = await started.done;
    if (stopped) {
      // Its status change starts a cleanup once the slow step has ended: nothing is settled before that ends.
      await cleanupAfter(platform, started.executionArn, 60_000);
      model[2]!.state = 'ROLLED_BACK';
    } else if (record.status === 'SUCCEEDED')
      Object.assign(model[2]!, { state: 'ACTIVE', tier: 'shared', products: 0 });
    await check(model, real);
  }
  toString = () => 'stopOnboarding(2)';
}

/** Any of the ids; the faulty one (3) only runs one operation at a time (its fault fires once, alone). */
const anyone = fc.integer({ min: 0, max: 3 });
const who = fc.integer({ min: 0, max: 2 });
const op = fc.constantFrom<Op>('onboard', 'suspend', 'resume', 'offboard', 'restore', 'move');
const commands = [
  fc
    .tuple(op, anyone, fc.constantFrom<'shared' | 'dedicated'>('shared', 'shared', 'dedicated'))
    .map(([o, w, t]) => new Run(o, w, t)),
  // The faulty id's own life, often enough for its fault to fire in most sequences.
  fc.constantFrom<Op>('onboard', 'restore', 'offboard').map((o) => new Run(o, 3, 'shared')),
  fc.tuple(anyone, fc.integer({ min: 1, max: 5 })).map(([w, n]) => new AddProducts(w, n)),
  // Onboardings and moves of live shared tenants, often enough for sequences to reach live tenants and
  // move them (most random operations on an id that does not live are refused).
  who.map((w) => new Run('onboard', w, 'shared')),
  fc
    .tuple(
      anyone,
      fc.constantFrom<Op[]>(['move'], ['move'], ['move', 'suspend'], ['move', 'offboard'], ['move', 'move']),
    )
    .map(([pick, ops]) => new OnLive(pick, ops)),
  fc
    .tuple(
      fc.constantFrom<[Op, Op]>(
        ['suspend', 'offboard'],
        ['offboard', 'offboard'],
        ['restore', 'restore'],
        ['onboard', 'onboard'],
        ['resume', 'offboard'],
        ['move', 'suspend'],
        ['move', 'offboard'],
        ['move', 'move'],
      ),
      who,
    )
    .map(([ops, w]) => new TwoAtOnce(ops, w)),
  fc.constant(new StopOnboarding()),
];

describe("a tenant's life, in random sequences", () => {
  it(
    `keeps the registry, the resources and the rows as the lifecycle table says (${RUNS} sequences)`,
    async () => {
      let run = 0;
      let executed = 0;
      console.log(
        `lifecycle model: seed ${SEED}, ${RUNS} runs (replay: LIFECYCLE_SEED=${SEED} LIFECYCLE_RUNS=${RUNS})`,
      );
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 10 }), async (cmds) => {
          const ids = idsOf(run++);
          const faultAt = faultStepOf(run - 1);
          const setup = (): { model: Model; real: Real } => ({
            model: ids.map((_, i) => ({
              state: 'UNKNOWN',
              tier: 'shared',
              products: 0,
              ...(i === 3 ? { faultAt } : {}),
            })),
            real: { ids },
          });
          await fc.asyncModelRun(setup, cmds);
          executed += [...cmds].length;
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      console.log(
        `lifecycle model: ${run} sequences, ${executed} commands, ${faultsRolledBack} injected faults rolled back, ${moved} moves`,
      );
      expect(run).toBeGreaterThanOrEqual(RUNS);
    },
    60_000 + RUNS * 60_000,
  );
});
