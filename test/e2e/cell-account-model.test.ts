import { deepStrictEqual } from 'node:assert/strict';
import fc from 'fast-check';
import { capacitySettings } from '../../common/capacity';
import { tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import { localCellAccounts } from '../../local/account';
import type { ExecutionRecord } from '../../local/platform';
import { awsIn } from '../../workflow-tasks/lib/aws';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { allows, type LifecycleState } from '../../workflow-tasks/records/lifecycle';
import { getTenant } from '../../workflow-tasks/records/registry';
import { EVERY_RESOURCE, NO_RESOURCE, resourcesIn } from '../fixtures/cell-resources';
import { allExecutionsEnded, tenantClient } from '../fixtures/executions';
import { localServicesForFile, tenantInput } from '../fixtures/platform';
import { availableInstances, copyOn } from '../fixtures/shared-instances';
import { shopApi } from '../fixtures/tenant-api';

/**
 * Two tenants' lives across two cells that are AWS accounts of their own (the local default: cell-2 is
 * account 000000000002), in random sequences (fast-check's model-based testing): move to the other cell,
 * suspend, resume, offboard, restore, rows added, two operations at once on one tenant, and a move that
 * fails at a step that differs from run to run. Each cell takes two tenants, and cell-2 holds one already,
 * so a move there is refused when it is full. After every command: the registry says the model's state and
 * cell; the tenant's secret, function, role, API, log group and alarm are in its cell's account and nowhere
 * else while it lives, and in no account when it does not; its database is on its registry instance alone,
 * with the rows the model says; its API answers through the gateway (503 while suspended); nothing runs.
 * `npm test` runs a fixed seed; CELL_MODEL_SEED / CELL_MODEL_RUNS replay or lengthen it.
 */
const SEED =
  process.env.CELL_MODEL_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.CELL_MODEL_SEED ?? 20261208);
const RUNS = Number(process.env.CELL_MODEL_RUNS ?? 4);
const MOST_RUNS = 200;
const CELLS = ['cell-1', 'cell-2'] as const;
type Cell = (typeof CELLS)[number];
const ACCOUNTS = localCellAccounts([...CELLS]);
const accountOf = (cell: Cell) => ACCOUNTS[cell];
const PER_CELL = 2;
/** In cell-2 from the start (its shared instance made for it), so cell-2 has one place for the model's. */
const RESIDENT = 'cm-resident';
/** Each run's ids; the second's first move fails at the run's step, and is rolled back. */
const idsOf = (run: number) => [`cm${run}-a`, `cm${run}-b`];
const MOVE_FAULTS = [
  { step: 'move:deploy', kind: 'permanent' },
  { step: 'move:copy', kind: 'permanent' },
  { step: 'move:switch', kind: 'after-effect' },
] as const;

const { running } = localServicesForFile('cell-account-model', {
  quotas: capacitySettings(
    { cells: 2, tenantsPerCell: PER_CELL, tenantsPerSharedInstance: 4, sharedInstanceHeadroom: 0 },
    'cell model',
    localCellAccounts,
  ),
  faults: Array.from({ length: MOST_RUNS }, (_, run) => ({
    tenantId: idsOf(run)[1]!,
    ...MOVE_FAULTS[run % MOVE_FAULTS.length]!,
    times: 1,
  })),
});
const { api, signIn } = shopApi(() => running().endpoints.gateway);
/** Over the whole test: moves to the other account that succeeded, and faulty moves rolled back. */
const seen = { moved: 0, rolledBack: 0 };

interface TenantModel {
  state: LifecycleState;
  cell?: Cell;
  products: number;
  exported?: { key: string; products: number };
  /** Its first move fails (a fault): it stays where it was. */
  moveFails: boolean;
}
type Model = TenantModel[];
interface Real {
  ids: string[];
}
type Op = 'suspend' | 'resume' | 'offboard' | 'restore' | 'move';
const SUCCEEDS_TO: Record<Op, LifecycleState> = {
  suspend: 'SUSPENDED',
  resume: 'ACTIVE',
  offboard: 'OFFBOARDED',
  restore: 'ACTIVE',
  move: 'ACTIVE',
};
const living = (m: TenantModel) => m.state === 'ACTIVE' || m.state === 'SUSPENDED';
const other = (cell: Cell | undefined): Cell => (cell === 'cell-2' ? 'cell-1' : 'cell-2');

/** The model's tenants holding a place in `cell` (the resident in cell-2 too), `but` left out. */
function inCell(model: Readonly<Model>, cell: Cell, but: number): number {
  const held = model.filter((m, i) => i !== but && living(m) && m.cell === cell).length;
  return held + (cell === 'cell-2' ? 1 : 0);
}

/** The cell a restore is placed in: the first with room. */
function placedIn(model: Readonly<Model>, who: number): Cell {
  return CELLS.find((cell) => inCell(model, cell, who) < PER_CELL) ?? 'cell-1';
}

function allowed(op: Op, model: Readonly<Model>, who: number): boolean {
  const m = model[who]!;
  if (!allows(m.state, op)) return false;
  if (op === 'restore') return m.exported !== undefined;
  if (op === 'move') return inCell(model, other(m.cell), who) < PER_CELL;
  return true;
}

async function start(op: Op, tenantId: string, m: TenantModel): Promise<ExecutionRecord> {
  const { platform } = running();
  const { onboarding, suspension, offboarding, move } = platform.stateMachines;
  switch (op) {
    case 'move':
      return platform.runExecution({ tenantId, toCell: other(m.cell) }, { stateMachineArn: move.arn });
    case 'restore':
      return platform.runExecution(tenantInput(tenantId, { restoreFrom: m.exported?.key }), {
        stateMachineArn: onboarding.arn,
      });
    case 'suspend':
    case 'resume':
      return platform.runExecution({ tenantId, action: op }, { stateMachineArn: suspension.arn });
    case 'offboard':
      return platform.runExecution({ tenantId }, { stateMachineArn: offboarding.arn });
  }
}

async function applied(op: Op, model: Model, who: number, tenantId: string): Promise<void> {
  const m = model[who]!;
  if (op === 'move') {
    m.cell = other(m.cell);
    seen.moved += 1;
  }
  if (op === 'restore') Object.assign(m, { cell: placedIn(model, who), products: m.exported!.products });
  if (op === 'offboard') {
    const key = (await getTenant(tenantId))?.offboarding?.export?.key;
    if (!key) throw new Error(`${tenantId} was offboarded without a recorded export`);
    m.exported = { key, products: m.products };
  }
  m.state = SUCCEEDS_TO[op];
}

async function check(model: Readonly<Model>, real: Real): Promise<void> {
  const { platform } = running();
  await allExecutionsEnded(platform);
  for (const [i, tenantId] of real.ids.entries()) {
    const m = model[i]!;
    const row = await getTenant(tenantId);
    const live = living(m);
    expect({ tenantId, status: row?.status, cell: live ? row?.cell : m.cell }).toEqual({
      tenantId,
      status: m.state,
      cell: m.cell,
    });
    for (const cell of CELLS)
      expect({ tenantId, cell, resources: await resourcesIn(awsIn(accountOf(cell)), tenantId) }).toEqual({
        tenantId,
        cell,
        resources: live && cell === m.cell ? EVERY_RESOURCE : NO_RESOURCE,
      });
    const copies: string[] = [];
    for (const id of await availableInstances(platform))
      if ((await copyOn(platform, id, tenantId)).database) copies.push(id);
    expect({ tenantId, copies }).toEqual({ tenantId, copies: live ? [row?.dbInstance] : [] });
    if (!live || !m.cell) continue;
    const client = await tenantClient(tenantId, accountOf(m.cell));
    try {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      expect({ tenantId, products: rows[0]!.n }).toEqual({ tenantId, products: m.products });
    } finally {
      await client.end();
    }
    const { adminPassword } = await readJsonSecret<TenantSecret>(
      tenantResourceNames(tenantId).secretName,
      accountOf(m.cell),
    );
    if (m.state === 'ACTIVE') {
      const token = await signIn(tenantId, adminPassword!, accountOf(m.cell));
      expect({ tenantId, status: (await api(tenantId, token, '/products?limit=1')).status }).toEqual({
        tenantId,
        status: 200,
      });
    } else
      expect({ tenantId, status: (await api(tenantId, '', '/products?limit=1')).status }).toEqual({
        tenantId,
        status: 503,
      });
  }
}

function same<T>(actual: T, expected: T): void {
  deepStrictEqual(actual, expected);
}

class Run implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly who: number,
  ) {}
  check = (model: Readonly<Model>) => this.op !== 'restore' || model[this.who]!.exported !== undefined;
  async run(model: Model, real: Real): Promise<void> {
    const m = model[this.who]!;
    const tenantId = real.ids[this.who]!;
    const record = await start(this.op, tenantId, m);
    const faulted = this.op === 'move' && m.moveFails && allowed('move', model, this.who);
    const expected = allowed(this.op, model, this.who) && !faulted ? 'SUCCEEDED' : 'FAILED';
    same(
      { op: this.op, tenantId, status: record.status, error: faulted ? record.error : undefined },
      { op: this.op, tenantId, status: expected, error: faulted ? 'InjectedFault' : undefined },
    );
    if (faulted) {
      m.moveFails = false;
      seen.rolledBack += 1;
    }
    if (record.status === 'SUCCEEDED') await applied(this.op, model, this.who, tenantId);
    await check(model, real);
  }
  toString = () => `${this.op}(${this.who})`;
}

class AddProducts implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly who: number,
    readonly count: number,
  ) {}
  check = (model: Readonly<Model>) => model[this.who]!.state === 'ACTIVE';
  async run(model: Model, real: Real): Promise<void> {
    const m = model[this.who]!;
    const client = await tenantClient(real.ids[this.who]!, accountOf(m.cell!));
    try {
      await client.query(
        `INSERT INTO products (sku, name, price_cents) SELECT 'CM-' || gen_random_uuid(), 'p', i FROM generate_series(1, $1) AS i`,
        [this.count],
      );
    } finally {
      await client.end();
    }
    m.products += this.count;
    await check(model, real);
  }
  toString = () => `addProducts(${this.who}, ${this.count})`;
}

/** A move beside another operation on the same tenant: the outcome is one of the orders they could run in. */
class MoveAndAnother implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly another: Op,
    readonly who: number,
  ) {}
  // The faulty move stays alone: its fault's effect is not an order of the two.
  check = (model: Readonly<Model>) => model[this.who]!.state === 'ACTIVE' && !model[this.who]!.moveFails;
  async run(model: Model, real: Real): Promise<void> {
    const tenantId = real.ids[this.who]!;
    const ops: Op[] = ['move', this.another];
    const records = await Promise.all(ops.map((op) => start(op, tenantId, model[this.who]!)));
    const succeeded = ops.filter((_, k) => records[k]!.status === 'SUCCEEDED');
    const orders = succeeded.length === 2 ? [succeeded, [...succeeded].reverse()] : [succeeded];
    const registry = (await getTenant(tenantId))?.status;
    const order = orders.find((o) => {
      const trial = structuredClone(model);
      for (const op of o) {
        if (!allowed(op, trial, this.who)) return false;
        trial[this.who]!.state = SUCCEEDS_TO[op];
      }
      return trial[this.who]!.state === registry;
    });
    same(
      { ops, succeeded, registry, explained: order !== undefined },
      { ops, succeeded, registry, explained: true },
    );
    for (const op of order!) await applied(op, model, this.who, tenantId);
    await check(model, real);
  }
  toString = () => `moveAnd(${this.another}, ${this.who})`;
}

const who = fc.integer({ min: 0, max: 1 });
const commands = [
  // Moves often enough for the faulty one to fire in most runs.
  who.map((w) => new Run('move', w)),
  fc
    .tuple(fc.constantFrom<Op>('move', 'move', 'suspend', 'resume', 'offboard', 'restore'), who)
    .map(([op, w]) => new Run(op, w)),
  fc.tuple(who, fc.integer({ min: 1, max: 5 })).map(([w, n]) => new AddProducts(w, n)),
  fc
    .tuple(fc.constantFrom<Op>('suspend', 'offboard', 'move'), who)
    .map(([another, w]) => new MoveAndAnother(another, w)),
];

beforeAll(async () => {
  const { platform } = running();
  // cell-1 is filled, so the resident lands in cell-2 (which makes its shared instance there); the fillers go.
  const fillers = ['cm-fill-1', 'cm-fill-2'];
  for (const tenantId of [...fillers, RESIDENT]) {
    const record = await platform.runExecution(tenantInput(tenantId));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
  if ((await getTenant(RESIDENT))?.cell !== 'cell-2') throw new Error(`${RESIDENT} is not in cell-2`);
  for (const tenantId of fillers) {
    const record = await platform.runExecution(
      { tenantId },
      { stateMachineArn: platform.stateMachines.offboarding.arn },
    );
    if (record.status !== 'SUCCEEDED') throw new Error(`offboarding ${tenantId}: ${record.cause ?? ''}`);
  }
}, 240_000);

describe('tenants across cells in accounts of their own, in random sequences', () => {
  it('are where the registry says, whole, and nowhere else, after every step', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 10, size: 'max' }), async (cmds) => {
        const ids = idsOf(run % MOST_RUNS);
        run += 1;
        const { platform } = running();
        const model: Model = [];
        for (const tenantId of ids) {
          const record = await platform.runExecution(tenantInput(tenantId));
          if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
          model.push({ state: 'ACTIVE', cell: 'cell-1', products: 0, moveFails: tenantId === ids[1] });
        }
        try {
          await fc.asyncModelRun(() => ({ model, real: { ids } }), cmds);
        } finally {
          // The places go back for the next run.
          for (const tenantId of ids)
            if (['ACTIVE', 'SUSPENDED'].includes((await getTenant(tenantId))?.status ?? ''))
              await platform.runExecution(
                { tenantId },
                { stateMachineArn: platform.stateMachines.offboarding.arn },
              );
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The sequences reached what they are for.
    expect(seen.moved).toBeGreaterThan(0);
    expect(seen.rolledBack).toBeGreaterThan(0);
  }, 1_200_000);
});
