/**
 * Capacity records (migrations/platform/0008_capacity.sql): the shared PostgreSQL instances tenants are
 * placed on, each shared tenant's instance, and what is in use against each limit (common/capacity.ts).
 * Placement and planning run under one advisory lock, so two onboardings at once never both take the last
 * place, nor both start a new instance.
 */
import type { ClientBase } from 'pg';
import {
  cellIds,
  DEFAULT_CAPACITY,
  DEPLOYED_SHARED_INSTANCE_RDS_ID,
  FIRST_CELL,
  FIRST_SHARED_INSTANCE,
  MAX_RECENT_CAPACITY_FAILURES,
  parseCapacitySettings,
  placesPerSharedInstance,
  QUOTAS,
  quotaMessage,
  limitsOfCell,
  quotasReadFromServiceQuotas,
  sharedInstanceRdsId,
  type CapacitySettings,
  type AccountInventory,
  type QuotaName,
} from '../../common/capacity';
import { cellAccountChanges, cellAccountOf, type AccountInUse } from '../../common/cells';
import { OnboardingError, PermanentErrors, WaitErrors } from '../../common/errors';
import { TaskEnv, tenantResourceNames } from '../../common/names';
import { sharedServer, type MasterServer } from '../lib/db';
import { accountQuotas } from '../lib/service-quotas';
import type { ValidatedTenant } from '../lib/types';
import { HOLDING } from './lifecycle';
import { withRegistry } from './registry';

/** Where a shared tenant's database lives, and the master secret DDL there runs with. */
export interface SharedInstance extends MasterServer {
  readonly id: string;
}

/** The limits set: the task environment's (`tenantctl up --quotas`, the CDK context), else defaults. */
export function capacityFromEnv(): CapacitySettings {
  const given = process.env[TaskEnv.capacity];
  return given ? parseCapacitySettings(given, TaskEnv.capacity) : DEFAULT_CAPACITY;
}

/**
 * The limits placement goes by: the settings, and for each cell that has an AWS account to itself (its
 * own, or the platform's when no other cell is in it: quotasReadFromServiceQuotas) what was read of that
 * account (`read`): the AWS quotas Service Quotas applies to it (as raised, or not), which stand in place
 * of the settings' wherever they could be read, and what the account holds of them beside the registry,
 * counted in their use (lib/service-quotas.ts; limitsOfCell). Cells sharing the platform's account count
 * their share of its quotas, which the settings give: nothing is read for them.
 */
export async function capacityInForce(): Promise<CapacitySettings> {
  const settings = capacityFromEnv();
  const reading = cellIds(settings).filter((cell) => quotasReadFromServiceQuotas(settings, cell).length > 0);
  if (reading.length === 0) return settings;
  const read = await Promise.all(
    reading.map(async (cell) => [cell, await accountQuotas(cellAccountOf(settings, cell))] as const),
  );
  return { ...settings, read: Object.fromEntries(read) };
}

/** The instance the platform was deployed with: its endpoint and master secret are the task environment's. */
export function firstInstance(): SharedInstance {
  return { id: FIRST_SHARED_INSTANCE, ...sharedServer() };
}

interface InstanceUse {
  readonly id: string;
  readonly status: 'CREATING' | 'AVAILABLE' | 'FAILED';
  readonly tenants: number;
  readonly executionArn: string | null;
  readonly host: string | null;
  readonly port: number | null;
  readonly reason: string | null;
  readonly recentFailure: boolean;
  /** Asked for within the last minute: its execution may not be started yet. */
  readonly justAsked: boolean;
}

/** What is in use in a cell: tenants holding resources, dedicated ones, RDS instances, instances' tenants. */
interface CellUse {
  readonly cell: string;
  readonly tenants: number;
  readonly dedicated: number;
  readonly domains: number;
  readonly instances: readonly InstanceUse[];
  /** What the account holds of the AWS quotas beside what the registry counts (limits.account). */
  readonly beside: Readonly<Record<'iamRoles' | 'rdsDbInstances', number>>;
  /** The cell's limits: the settings, with what was read of its account (limitsOfCell). */
  readonly limits: CapacitySettings;
  /**
   * Why the settings' account of the cell is not the one its tenants and shared instances were made in
   * (common/cells.ts cellAccountChanges), or undefined: placing there would split the cell across accounts.
   */
  readonly accountChange?: string;
}

/** Placement's lock, held to the end of the caller's transaction. */
export async function lockPlacement(client: ClientBase): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('tenant-placement'))`);
}

/** `shared-1` as a row, its endpoint kept to the task environment's (a local platform's moves per start). */
async function recordFirstInstance(client: ClientBase): Promise<void> {
  const first = firstInstance();
  await client.query(
    `INSERT INTO shared_instances (id, seq, status, host, port, master_secret_arn)
     VALUES ($1, 1, 'AVAILABLE', $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port,
       master_secret_arn = EXCLUDED.master_secret_arn
     WHERE (shared_instances.host, shared_instances.port, shared_instances.master_secret_arn)
       IS DISTINCT FROM (EXCLUDED.host, EXCLUDED.port, EXCLUDED.master_secret_arn)`,
    [first.id, first.host, first.port, first.masterSecretArn],
  );
}

/**
 * A cell's use, `tenantId` itself left out (a restore or a retried registration counts once). A tenant being
 * moved counts in the cell and on the instance it goes to as well as where it is.
 */
async function cellUse(
  client: ClientBase,
  tenantId: string | null,
  cell: string,
  settings: CapacitySettings,
): Promise<CellUse> {
  const limits = limitsOfCell(settings, cell);
  const { rows: counts } = await client.query<{ tenants: number; dedicated: number }>(
    `SELECT count(*)::int AS tenants, (count(*) FILTER (WHERE tier = 'dedicated'))::int AS dedicated
       FROM tenants WHERE status = ANY($1::text[]) AND id IS DISTINCT FROM $2
        AND (cell = $3 OR (status = 'MOVING' AND move->>'toCell' = $3))`,
    [HOLDING, tenantId, cell],
  );
  const { rows } = await client.query<{
    id: string;
    status: InstanceUse['status'];
    tenants: number;
    execution_arn: string | null;
    host: string | null;
    port: number | null;
    reason: string | null;
    recent_failure: boolean;
    just_asked: boolean;
  }>(
    `SELECT s.id, s.status, s.execution_arn, s.host, s.port, s.reason,
            s.status = 'FAILED' AND s.updated_at > now() - interval '1 hour' AS recent_failure,
            s.created_at > now() - interval '1 minute' AS just_asked,
            count(t.id)::int AS tenants
       FROM shared_instances s
       LEFT JOIN tenants t
              ON (t.db_instance = s.id OR (t.status = 'MOVING' AND t.move->>'to' = s.id))
             AND t.status = ANY($1::text[]) AND t.id IS DISTINCT FROM $2
      WHERE s.cell = $3
      GROUP BY s.id ORDER BY s.seq`,
    [HOLDING, tenantId, cell],
  );
  return {
    cell,
    tenants: counts[0]?.tenants ?? 0,
    dedicated: counts[0]?.dedicated ?? 0,
    domains: await domainsHeld(client),
    instances: rows.map((r) => ({
      id: r.id,
      status: r.status,
      tenants: r.tenants,
      executionArn: r.execution_arn,
      host: r.host,
      port: r.port,
      reason: r.reason,
      recentFailure: r.recent_failure,
      justAsked: r.just_asked,
    })),
    beside: await besideTheRegistry(client, tenantId, limits.account),
    limits,
    accountChange: cellAccountChanges(settings, await accountsInUseOn(client, cell))[0],
  };
}

/**
 * Of the roles and instances of the cell's account (`account`, read only when the cell has it to itself),
 * those the registry does not count: not the function role or instance of a tenant that holds its resources (or of
 * `tenantId`, counted by its placement), not a shared instance in use. Whatever their names: another
 * platform's tenants, a tenant's left behind, an instance still being deleted all count.
 */
async function besideTheRegistry(
  client: ClientBase,
  tenantId: string | null,
  account: AccountInventory | undefined,
): Promise<CellUse['beside']> {
  if (!account?.roles && !account?.instances) return { iamRoles: 0, rdsDbInstances: 0 };
  const { rows: tenants } = await client.query<{ id: string }>(
    'SELECT id FROM tenants WHERE status = ANY($1::text[]) OR id = $2',
    [HOLDING, tenantId],
  );
  const { rows: shared } = await client.query<{ id: string }>(
    `SELECT id FROM shared_instances WHERE status <> 'FAILED'`,
  );
  const names = tenants.map((t) => tenantResourceNames(t.id));
  const roles = new Set(names.map((n) => n.functionRoleName));
  const instances = new Set([
    ...names.map((n) => n.instanceId),
    ...shared.map((i) =>
      i.id === FIRST_SHARED_INSTANCE ? DEPLOYED_SHARED_INSTANCE_RDS_ID : sharedInstanceRdsId(i.id),
    ),
  ]);
  return {
    iamRoles: (account.roles ?? []).filter((r) => !roles.has(r)).length,
    rdsDbInstances: (account.instances ?? []).filter((i) => !instances.has(i)).length,
  };
}

/**
 * RDS instances in use: every shared instance not failed, one per dedicated tenant, and the account's
 * others (besideTheRegistry).
 */
function rdsInstancesInUse(use: CellUse): number {
  return (
    use.instances.filter((i) => i.status !== 'FAILED').length + use.dedicated + use.beside.rdsDbInstances
  );
}

/** IAM roles in use: one per tenant's function, and the account's others (besideTheRegistry). */
function rolesInUse(use: CellUse): number {
  return use.tenants + use.beside.iamRoles;
}

/** ", N of them not the tenants'" when the account holds some of a quota beside them. */
function beside(use: CellUse, what: keyof CellUse['beside']): string {
  const others = use.beside[what];
  return others > 0 ? `, ${others} of them not the tenants'` : '';
}

function quotaError(name: QuotaName, limit: number, inUse: number, what: string): OnboardingError {
  return new OnboardingError(PermanentErrors.QuotaExceeded, quotaMessage(name, limit, inUse, what));
}

function refuse(name: QuotaName, limit: number, inUse: number, what: string): never {
  throw quotaError(name, limit, inUse, what);
}

/** A cell the settings put in another account than its tenants' takes no one (on AWS too; locally the start refuses). */
function accountChanged(change: string): OnboardingError {
  return new OnboardingError(PermanentErrors.CellAccountChanged, change);
}

/**
 * What keeps a new tenant of either tier out of the cell: its tenants, its function's role, a dedicated
 * tenant's instance. Undefined: it fits.
 */
function cellRefusal(
  use: CellUse,
  settings: CapacitySettings,
  tenant: Pick<ValidatedTenant, 'tenantId' | 'tier'>,
): OnboardingError | undefined {
  if (use.accountChange) return accountChanged(use.accountChange);
  if (use.tenants >= settings.tenantsPerCell)
    return quotaError(
      'tenantsPerCell',
      settings.tenantsPerCell,
      use.tenants,
      `no place for tenant ${tenant.tenantId} in ${use.cell}`,
    );
  if (rolesInUse(use) >= settings.iamRoles)
    return quotaError(
      'iamRoles',
      settings.iamRoles,
      rolesInUse(use),
      `no role can be made for tenant ${tenant.tenantId}'s function in ${use.cell}${beside(use, 'iamRoles')}`,
    );
  if (tenant.tier === 'dedicated' && rdsInstancesInUse(use) >= settings.rdsDbInstances)
    return quotaError(
      'rdsDbInstances',
      settings.rdsDbInstances,
      rdsInstancesInUse(use),
      `no instance can be made for dedicated tenant ${tenant.tenantId} in ${use.cell}${beside(use, 'rdsDbInstances')}`,
    );
  return undefined;
}

/**
 * Whether the cell has, or can get, a place for a shared tenant: a free place, an instance being added,
 * or room for another. Undefined: it has; else why not.
 */
function sharedRoomRefusal(use: CellUse, settings: CapacitySettings): OnboardingError | undefined {
  if (freePlaces(use, settings) > 0 || use.instances.some((i) => i.status === 'CREATING')) return undefined;
  return additionRefusal(use, settings);
}

/**
 * Why no other shared instance can be added to the cell (the RDS quota, or as many recent failed
 * additions as MAX_RECENT_CAPACITY_FAILURES), or undefined.
 */
function additionRefusal(use: CellUse, settings: CapacitySettings): OnboardingError | undefined {
  const failures = use.instances.filter((i) => i.recentFailure);
  if (failures.length >= MAX_RECENT_CAPACITY_FAILURES) {
    const last = failures.at(-1);
    return new OnboardingError(
      PermanentErrors.NoCapacity,
      `every shared instance of ${use.cell} is full and adding one failed ${failures.length} times in the last hour (last: ${last?.id}: ${last?.reason ?? 'no reason recorded'}); see tenantctl cells`,
    );
  }
  const rds = rdsInstancesInUse(use);
  if (rds >= settings.rdsDbInstances)
    return quotaError(
      'rdsDbInstances',
      settings.rdsDbInstances,
      rds,
      `every shared instance of ${use.cell} is full and no other can be made${beside(use, 'rdsDbInstances')}`,
    );
  return undefined;
}

/** Why the cell cannot take the tenant, or undefined. */
function placeRefusal(
  use: CellUse,
  settings: CapacitySettings,
  tenant: Pick<ValidatedTenant, 'tenantId' | 'tier'>,
): OnboardingError | undefined {
  return (
    cellRefusal(use, settings, tenant) ??
    (tenant.tier === 'shared' ? sharedRoomRefusal(use, settings) : undefined)
  );
}

/**
 * The first cell that can take the tenant (cells fill in order), with its use; none: the first cell's
 * refusal, which names the limit.
 */
async function chooseCell(
  client: ClientBase,
  tenant: Pick<ValidatedTenant, 'tenantId' | 'tier'>,
  settings: CapacitySettings,
): Promise<CellUse> {
  const refusals: OnboardingError[] = [];
  for (const cell of cellIds(settings)) {
    const use = await cellUse(client, tenant.tenantId, cell, settings);
    const refusal = placeRefusal(use, use.limits, tenant);
    if (!refusal) return use;
    refusals.push(refusal);
  }
  const [first, ...others] = refusals;
  if (!first) throw new Error('there are no cells (cells must be 1 or more)');
  // Each cell's reason, the first's error name (QuotaExceeded, NoCapacity or CellAccountChanged).
  for (const other of others) first.message += `; and ${other.message}`;
  throw first;
}

/** Free tenant places on the available shared instances. */
function freePlaces(use: CellUse, settings: CapacitySettings): number {
  const { places } = placesPerSharedInstance(settings);
  return use.instances
    .filter((i) => i.status === 'AVAILABLE')
    .reduce((free, i) => free + Math.max(0, places - i.tenants), 0);
}

/** The oldest available shared instance of the cell with a free place. */
function instanceWithPlace(use: CellUse, settings: CapacitySettings): InstanceUse | undefined {
  const { places } = placesPerSharedInstance(settings);
  return use.instances.find((i) => i.status === 'AVAILABLE' && i.tenants < places);
}

/** What planning decided: a shared instance to add (its `add-capacity` to start), and whether to wait. */
export interface CapacityPlan {
  /** `cellAccount`: the account it is made in, its cell's when that has its own (common/cells.ts). */
  readonly add?: {
    readonly instanceId: string;
    readonly executionArn: string;
    readonly cellAccount?: string;
  };
  readonly wait: boolean;
}

/** What planning needs besides the tenant. */
export interface PlanContext {
  /** The registration's own execution (a retry of it counts the tenant once). */
  readonly executionArn: string;
  readonly settings: CapacitySettings;
  /** The ARN the add-capacity execution of a shared instance will have. */
  readonly executionArnOf: (instanceId: string) => string;
  /** Whether an add-capacity execution still runs. */
  readonly running: (executionArn: string) => Promise<boolean>;
  /** After the placement (only the headroom is kept) rather than before it. */
  readonly placed?: boolean;
}

/**
 * Before a registration: picks the first cell with room for the tenant (refusing one no cell's limits
 * leave room for, naming the limit), and for a shared tenant makes sure a place is or will be there in that
 * cell; after it (`placed`), keeps the headroom of the tenant's cell. When the free places on a cell's
 * available shared instances are down to the headroom and no instance is being added there, the next one
 * is recorded `CREATING` in that cell (its `add-capacity` execution is the caller's to start: `add`); with
 * no place free at all the caller waits (`wait`). An instance whose execution has ended without
 * registering it (`running` says) is recorded FAILED. Refused: more recent failed additions than
 * MAX_RECENT_CAPACITY_FAILURES, or an RDS instance quota that leaves no room for the next instance. A
 * tenant another registration holds is left to the claim, which refuses it: nothing is planned for it.
 */
export async function planCapacity(tenant: ValidatedTenant, context: PlanContext): Promise<CapacityPlan> {
  const { executionArn, settings, placed = false } = context;
  return withRegistry(async (client) => {
    await client.query('BEGIN');
    try {
      await lockPlacement(client);
      await recordFirstInstance(client);
      const { rows } = await client.query<{ status: string; execution_arn: string }>(
        'SELECT status, execution_arn FROM tenants WHERE id = $1',
        [tenant.tenantId],
      );
      const held =
        rows[0] && HOLDING.includes(rows[0].status as (typeof HOLDING)[number]) ? rows[0] : undefined;
      let plan: CapacityPlan = { wait: false };
      if (!held || held.execution_arn === executionArn) {
        // A retry before its placement does not count the place it may hold already; after it, it does
        // (and the cell is the one it was placed in).
        const use = placed
          ? await cellUse(client, null, await cellOf(client, tenant.tenantId), settings)
          : await chooseCell(client, tenant, settings);
        if (tenant.tier === 'shared') plan = await planShared(client, use, context, placed);
      }
      await client.query('COMMIT');
      return plan;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}

/**
 * A shared tenant's side of planning. `placed`: the tenant has its place, so it neither waits nor is
 * refused; only the headroom is kept.
 */
async function planShared(
  client: ClientBase,
  use: CellUse,
  { executionArnOf, running }: PlanContext,
  placed: boolean,
): Promise<CapacityPlan> {
  const settings = use.limits;
  // Nothing is added to a cell whose tenants were made in another account than the settings give it.
  if (use.accountChange) return { wait: false };
  const free = freePlaces(use, settings);
  const needsPlace = !placed && free === 0;
  let creating = false;
  for (const instance of use.instances.filter((i) => i.status === 'CREATING')) {
    if (!instance.executionArn || instance.justAsked || (await running(instance.executionArn)))
      creating = true;
    else await markFailed(client, instance.id, 'its add-capacity execution ended without registering it');
  }
  if (free > settings.sharedInstanceHeadroom || creating) return { wait: needsPlace };
  // The free places already hold every tenant the cell may still take: another instance would stay empty.
  const cellRoom = Math.min(settings.tenantsPerCell - use.tenants, settings.iamRoles - rolesInUse(use));
  if (!needsPlace && free >= cellRoom) return { wait: false };
  const refusal = additionRefusal(use, settings);
  if (refusal) {
    // Headroom cannot be kept (adding keeps failing, or no instance can be made); a tenant that needs
    // the place is refused (chooseCell found none in any cell).
    if (!needsPlace) return { wait: false };
    throw refusal;
  }
  const { rows } = await client.query<{ seq: number }>(
    'SELECT COALESCE(max(seq), 0) + 1 AS seq FROM shared_instances',
  );
  const seq = rows[0]?.seq ?? 2;
  const instanceId = `shared-${seq}`;
  const executionArn = executionArnOf(instanceId);
  const cellAccount = cellAccountOf(settings, use.cell);
  await client.query(
    `INSERT INTO shared_instances (id, seq, status, execution_arn, cell, cell_account)
     VALUES ($1, $2, 'CREATING', $3, $4, $5)`,
    [instanceId, seq, executionArn, use.cell, cellAccount ?? null],
  );
  return {
    add: { instanceId, executionArn, ...(cellAccount ? { cellAccount } : {}) },
    wait: needsPlace,
  };
}

/** Where a tenant is placed: its cell, and a shared tenant's instance (null: a dedicated tenant's own). */
export interface Placement {
  readonly cell: string;
  readonly instance: string | null;
  /** The cell's AWS account when it has its own (common/cells.ts). */
  readonly cellAccount?: string;
}

/**
 * Inside the registration's transaction: the cell the tenant goes in (the first with room, as planCapacity
 * chose) and a shared tenant's instance there (the oldest available one with a free place), the limits
 * checked again under the lock, so a place counted is a place taken. A cell with room but no free place
 * yet: CapacityPending (the state machine retries; planCapacity has the next instance coming).
 */
export async function placeTenant(
  client: ClientBase,
  tenant: ValidatedTenant,
  settings: CapacitySettings,
): Promise<Placement> {
  await lockPlacement(client);
  const use = await chooseCell(client, tenant, settings);
  const cellAccount = cellAccountOf(settings, use.cell);
  const placed = { cell: use.cell, ...(cellAccount ? { cellAccount } : {}) };
  if (tenant.tier !== 'shared') return { ...placed, instance: null };
  const instance = instanceWithPlace(use, use.limits);
  if (instance) return { ...placed, instance: instance.id };
  throw capacityPending(use.limits);
}

/** The cell a tenant is in. */
async function cellOf(client: ClientBase, tenantId: string): Promise<string> {
  const { rows } = await client.query<{ cell: string }>('SELECT cell FROM tenants WHERE id = $1', [tenantId]);
  return rows[0]?.cell ?? FIRST_CELL;
}

/** What an onboarding waiting for the next shared instance fails with (the state machine retries it). */
export function capacityPending(settings: CapacitySettings): OnboardingError {
  const { places, quota } = placesPerSharedInstance(settings);
  return new OnboardingError(
    WaitErrors.CapacityPending,
    `every shared instance holds ${places} tenants (${quota}): waiting for the next one to be added`,
  );
}

/** The cell a tenant is placed in (the first for one placed before there were cells), and its account. */
export async function placementOf(tenantId: string): Promise<{ cell: string; cellAccount?: string }> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ cell: string; cell_account: string | null }>(
      'SELECT cell, cell_account FROM tenants WHERE id = $1',
      [tenantId],
    );
    const { cell = FIRST_CELL, cell_account: cellAccount = null } = rows[0] ?? {};
    return { cell, ...(cellAccount ? { cellAccount } : {}) };
  });
}

/**
 * The AWS account the tenant's resources were made in, as its placement recorded it (common/cells.ts);
 * undefined: the platform's.
 */
export async function cellAccountOfTenant(tenantId: string): Promise<string | undefined> {
  return (await placementOf(tenantId)).cellAccount;
}

/** The shared instance a shared tenant is placed on (`shared-1` for one placed before instances were counted). */
export async function instanceOfTenant(tenantId: string): Promise<SharedInstance> {
  const id = await withRegistry(async (client) => {
    const { rows } = await client.query<{ db_instance: string | null }>(
      'SELECT db_instance FROM tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0]?.db_instance;
  });
  return sharedInstance(id ?? FIRST_SHARED_INSTANCE);
}

/** A shared instance by id, where it answers and its master secret (`shared-1`: the task environment's). */
export async function sharedInstance(id: string): Promise<SharedInstance> {
  if (id === FIRST_SHARED_INSTANCE) return firstInstance();
  const row = await withRegistry(async (client) => {
    const { rows } = await client.query<{
      host: string | null;
      port: number | null;
      master_secret_arn: string | null;
    }>('SELECT host, port, master_secret_arn FROM shared_instances WHERE id = $1', [id]);
    return rows[0];
  });
  if (!row?.host || !row.port || !row.master_secret_arn)
    throw new Error(`shared instance ${id} has no endpoint recorded`);
  return { id, host: row.host, port: row.port, masterSecretArn: row.master_secret_arn };
}

/**
 * Inside a move's claim transaction: the instance the tenant goes to, `target` itself or with `cell` the
 * oldest available shared instance of that cell with a free place, and the cell it is in. Refused, naming
 * why: an instance that is not an available shared instance with a free place (the tenant itself left out
 * of the count), or a cell whose limits leave no room for the tenant. The tenant then holds a place on both
 * instances, and in both cells, until the move ends.
 */
export async function reserveMoveTarget(
  client: ClientBase,
  tenantId: string,
  target: { instance: string } | { cell: string },
  settings: CapacitySettings,
): Promise<Placement & { instance: string }> {
  await lockPlacement(client);
  await recordFirstInstance(client);
  const cell =
    'cell' in target
      ? target.cell
      : (
          await client.query<{ cell: string }>('SELECT cell FROM shared_instances WHERE id = $1', [
            target.instance,
          ])
        ).rows[0]?.cell;
  if (!cell)
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toInstance: there is no shared instance ${'instance' in target ? target.instance : ''} (tenantctl cells lists them)`,
    );
  if (!cellIds(settings).includes(cell))
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toCell: there is no cell ${cell} (the platform has ${cellIds(settings).join(', ')})`,
    );
  const use = await cellUse(client, tenantId, cell, settings);
  const limits = use.limits;
  const tenant = { tenantId, tier: 'shared' as const };
  // Even within its cell: its target's account would be the settings', not the one it is in.
  if (use.accountChange) throw accountChanged(use.accountChange);
  if ((await cellOf(client, tenantId)) !== cell) {
    const refusal = cellRefusal(use, limits, tenant);
    if (refusal) throw refusal;
  }
  if ('cell' in target) {
    const free = instanceWithPlace(use, limits);
    if (!free)
      throw (
        sharedRoomRefusal(
          { ...use, instances: use.instances.filter((i) => i.status !== 'CREATING') },
          limits,
        ) ??
        new OnboardingError(
          PermanentErrors.NoCapacity,
          `no shared instance of ${cell} has a free place now: move it there once one is added (tenantctl cells)`,
        )
      );
    return { cell, instance: free.id };
  }
  const instance = use.instances.find((i) => i.id === target.instance);
  if (instance?.status !== 'AVAILABLE')
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toInstance: shared instance ${target.instance} is ${instance?.status ?? 'unknown'}, not AVAILABLE`,
    );
  const { places, quota } = placesPerSharedInstance(limits);
  if (instance.tenants >= places) {
    if (quota === 'tenantsPerSharedInstance')
      refuse(quota, places, instance.tenants, `no place for tenant ${tenantId} on ${target.instance}`);
    refuse(
      quota,
      limits.connectionsPerSharedInstance,
      instance.tenants * limits.connectionsPerTenant,
      `no room for tenant ${tenantId}'s ${limits.connectionsPerTenant} (connectionsPerTenant) on ${target.instance}`,
    );
  }
  return { cell, instance: instance.id };
}

/** A shared instance `add-capacity` made, available to placement from now on. */
export async function markInstanceAvailable(
  instanceId: string,
  found: { rdsInstanceId: string; host: string; port: number; masterSecretArn: string },
): Promise<void> {
  await withRegistry(async (client) => {
    const { rowCount } = await client.query(
      `UPDATE shared_instances SET status = 'AVAILABLE', rds_instance_id = $2, host = $3, port = $4,
              master_secret_arn = $5, reason = NULL, updated_at = now()
        WHERE id = $1 AND status <> 'FAILED'`,
      [instanceId, found.rdsInstanceId, found.host, found.port, found.masterSecretArn],
    );
    if (rowCount !== 1)
      throw new OnboardingError(
        PermanentErrors.RegistrationLost,
        `shared instance ${instanceId} is not being added any more (recorded FAILED meanwhile)`,
      );
  });
}

/** A shared instance's registry status and the execution adding it (undefined: no such instance). */
export async function instanceRecord(
  instanceId: string,
): Promise<{ status: InstanceUse['status']; executionArn: string | null; cellAccount?: string } | undefined> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{
      status: InstanceUse['status'];
      execution_arn: string | null;
      cell_account: string | null;
    }>('SELECT status, execution_arn, cell_account FROM shared_instances WHERE id = $1', [instanceId]);
    const row = rows[0];
    return row
      ? {
          status: row.status,
          executionArn: row.execution_arn,
          ...(row.cell_account ? { cellAccount: row.cell_account } : {}),
        }
      : undefined;
  });
}

/** An addition that failed (its instance deleted): kept with the reason, never placed on. */
export async function markInstanceFailed(instanceId: string, reason: string): Promise<void> {
  await withRegistry((client) => markFailed(client, instanceId, reason));
}

async function markFailed(client: ClientBase, instanceId: string, reason: string): Promise<void> {
  await client.query(
    `UPDATE shared_instances SET status = 'FAILED', reason = $2, updated_at = now()
      WHERE id = $1 AND status = 'CREATING'`,
    [instanceId, reason.slice(0, 2000)],
  );
}

/**
 * Where a shared instance answers and its master secret is, when they changed (the local platform's
 * servers get a port per start, and the emulator new secret ARNs).
 */
export async function recordInstanceAddress(
  instanceId: string,
  { host, port, masterSecretArn }: Omit<SharedInstance, 'id'>,
): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE shared_instances SET host = $2, port = $3, master_secret_arn = $4, updated_at = now()
        WHERE id = $1 AND (host, port, master_secret_arn) IS DISTINCT FROM ($2, $3, $4)`,
      [instanceId, host, port, masterSecretArn],
    ),
  );
}

/**
 * Each cell's accounts as the registry recorded them, for what may still have resources there: tenants that
 * hold their resources (lifecycle.ts HOLDING), shared instances being made or in use (the first three of each
 * named). Not `shared-1`, the platform's own instance, in its account whatever account cell-1 has.
 */
export async function accountsInUse(): Promise<AccountInUse[]> {
  return withRegistry((client) => accountsInUseOn(client));
}

/** accountsInUse on `client`, of one cell or of all. */
async function accountsInUseOn(client: ClientBase, cell?: string): Promise<AccountInUse[]> {
  const { rows } = await client.query<{
    cell: string;
    cell_account: string | null;
    holders: string[];
    count: number;
  }>(
    `SELECT cell, cell_account, (array_agg(id ORDER BY id))[1:3] AS holders, count(*)::int AS count FROM (
       SELECT cell, cell_account, id FROM tenants WHERE status = ANY($1::text[])
       UNION ALL
       SELECT cell, cell_account, id FROM shared_instances WHERE status IN ('CREATING', 'AVAILABLE') AND id <> $3
     ) AS held WHERE $2::text IS NULL OR cell = $2 GROUP BY cell, cell_account ORDER BY cell`,
    [HOLDING, cell ?? null, FIRST_SHARED_INSTANCE],
  );
  return rows.map((r) => ({
    cell: r.cell,
    account: r.cell_account ?? undefined,
    holders: r.holders,
    count: r.count,
  }));
}

/** The shared instances the platform added and registered (id and RDS instance). */
export async function addedInstances(): Promise<
  { id: string; rdsInstanceId: string; cellAccount?: string }[]
> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ id: string; rds_instance_id: string; cell_account: string | null }>(
      `SELECT id, rds_instance_id, cell_account FROM shared_instances WHERE status = 'AVAILABLE' AND rds_instance_id IS NOT NULL ORDER BY seq`,
    );
    return rows.map((r) => ({
      id: r.id,
      rdsInstanceId: r.rds_instance_id,
      ...(r.cell_account ? { cellAccount: r.cell_account } : {}),
    }));
  });
}

/**
 * Inside a domain claim's transaction: refuses a domain whose two distribution tenants (its site, its API)
 * would take the account past `cloudFrontDistributionTenants` (every domain held or being attached counts,
 * the claimed one's own earlier row aside).
 */
export async function refuseOverDistributionTenants(
  client: ClientBase,
  tenantId: string,
  domain: string,
  settings: CapacitySettings,
): Promise<void> {
  const inUse = 2 * (await domainsHeld(client, { tenantId, domain }));
  if (inUse + 2 > settings.cloudFrontDistributionTenants)
    refuse(
      'cloudFrontDistributionTenants',
      settings.cloudFrontDistributionTenants,
      inUse,
      `${domain} needs two more`,
    );
}

/**
 * Customers' domains held or being attached by tenants holding resources (each has two distribution
 * tenants), `except` one tenant's row (the one being claimed again). In every cell: the distribution
 * tenants are all in the platform's account (the edge), whose quota it is.
 */
async function domainsHeld(
  client: ClientBase,
  except?: { tenantId: string; domain: string },
): Promise<number> {
  const { rows } = await client.query<{ domains: number }>(
    `SELECT count(*)::int AS domains FROM tenant_domains d JOIN tenants h ON h.id = d.tenant_id
      WHERE d.status <> 'FAILED' AND h.status = ANY($1::text[])
        AND (d.tenant_id, d.domain) IS DISTINCT FROM ($2, $3)`,
    [HOLDING, except?.tenantId ?? null, except?.domain ?? null],
  );
  return rows[0]?.domains ?? 0;
}

/** A cell's use against each limit, as `tenantctl cells` shows it. */
export interface CellView {
  readonly cell: string;
  /** The cell's own AWS account (common/cells.ts); absent: the platform's. */
  readonly account?: string;
  /** Why nothing is placed or moved there: the settings give it another account than its tenants'. */
  readonly accountChange?: string;
  readonly limits: {
    name: QuotaName;
    limit: number;
    inUse: number;
    per: string;
    what: string;
    /** Where the limit comes from: the settings, or the cell's account's applied quota in Service Quotas. */
    source: LimitSource;
    /** Of an AWS quota's use, what the account holds beside the tenants (read only with the quotas). */
    besideTenants?: number;
  }[];
  readonly sharedInstances: {
    id: string;
    status: string;
    tenants: number;
    /** The tenants it takes: tenantsPerSharedInstance, or fewer when its connection budget binds. */
    limit: number;
    /** Connections its tenants' roles may open together, and the budget. */
    connections: number;
    connectionLimit: number;
    endpoint: string | null;
    reason: string | null;
  }[];
}

export type LimitSource = 'setting' | 'Service Quotas';

/** Every cell's view (cellView), in the order they fill. */
export async function cellViews(client: ClientBase, settings: CapacitySettings): Promise<CellView[]> {
  const views: CellView[] = [];
  for (const cell of cellIds(settings)) views.push(await cellView(client, cell, settings));
  return views;
}

/**
 * The cell's use, read over any connection to the platform database (the CLI has its own), against its
 * limits (limitsOfCell: the settings, and what was read of its account).
 */
export async function cellView(
  client: ClientBase,
  cell: string,
  settings: CapacitySettings,
): Promise<CellView> {
  const use = await cellUse(client, null, cell, settings);
  const { limits } = use;
  const fromServiceQuotas = Object.keys(settings.read?.[cell]?.applied ?? {});
  const account = cellAccountOf(settings, cell);
  const mostOnOne = Math.max(0, ...use.instances.map((i) => i.tenants));
  const inUse: Record<QuotaName, number> = {
    tenantsPerCell: use.tenants,
    tenantsPerSharedInstance: mostOnOne,
    connectionsPerSharedInstance: mostOnOne * limits.connectionsPerTenant,
    iamRoles: rolesInUse(use),
    rdsDbInstances: rdsInstancesInUse(use),
    cloudFrontDistributionTenants: 2 * use.domains,
  };
  return {
    cell,
    ...(account ? { account } : {}),
    ...(use.accountChange ? { accountChange: use.accountChange } : {}),
    limits: (Object.keys(QUOTAS) as QuotaName[]).map((name) => ({
      name,
      limit: limits[name],
      inUse: inUse[name],
      per: QUOTAS[name].per,
      what: QUOTAS[name].what,
      source: fromServiceQuotas.includes(name) ? 'Service Quotas' : 'setting',
      ...(name in use.beside ? { besideTenants: use.beside[name as keyof CellUse['beside']] } : {}),
    })),
    sharedInstances: use.instances.map((i) => ({
      id: i.id,
      status: i.status,
      tenants: i.tenants,
      limit: placesPerSharedInstance(limits).places,
      connections: i.tenants * limits.connectionsPerTenant,
      connectionLimit: limits.connectionsPerSharedInstance,
      endpoint: i.host && i.port ? `${i.host}:${i.port}` : null,
      reason: i.reason,
    })),
  };
}
