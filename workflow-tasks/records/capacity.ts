/**
 * Capacity records (migrations/platform/0008_capacity.sql): the shared PostgreSQL instances tenants are
 * placed on, each shared tenant's instance, and what is in use against each limit (common/capacity.ts).
 * Placement and planning run under one advisory lock, so two onboardings at once never both take the last
 * place, nor both start a new instance.
 */
import type { ClientBase } from 'pg';
import {
  DEFAULT_CAPACITY,
  FIRST_SHARED_INSTANCE,
  MAX_RECENT_CAPACITY_FAILURES,
  parseCapacitySettings,
  QUOTAS,
  quotaMessage,
  type CapacitySettings,
  type QuotaName,
} from '../../common/capacity';
import { OnboardingError, PermanentErrors, WaitErrors } from '../../common/errors';
import { TaskEnv } from '../../common/names';
import { sharedServer, type MasterServer } from '../lib/db';
import type { ValidatedTenant } from '../lib/types';
import { HOLDING } from './lifecycle';
import { withRegistry } from './registry';

/** Where a shared tenant's database lives, and the master secret DDL there runs with. */
export interface SharedInstance extends MasterServer {
  readonly id: string;
}

/** The limits in force: the task environment's (`tenantctl up --quotas`, the CDK context), else defaults. */
export function capacityFromEnv(): CapacitySettings {
  const given = process.env[TaskEnv.capacity];
  return given ? parseCapacitySettings(given, TaskEnv.capacity) : DEFAULT_CAPACITY;
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

/** What is in use in the cell: tenants holding resources, dedicated ones, RDS instances, instances' tenants. */
interface CellUse {
  readonly tenants: number;
  readonly dedicated: number;
  readonly domains: number;
  readonly instances: readonly InstanceUse[];
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

/** The cell's use, `tenantId` itself left out (a restore or a retried registration counts once). */
async function cellUse(client: ClientBase, tenantId: string | null): Promise<CellUse> {
  const { rows: counts } = await client.query<{ tenants: number; dedicated: number }>(
    `SELECT count(*)::int AS tenants, (count(*) FILTER (WHERE tier = 'dedicated'))::int AS dedicated
       FROM tenants WHERE status = ANY($1::text[]) AND id IS DISTINCT FROM $2`,
    [HOLDING, tenantId],
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
      GROUP BY s.id ORDER BY s.seq`,
    [HOLDING, tenantId],
  );
  return {
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
  };
}

/** RDS instances in use: every shared instance not failed, and one per dedicated tenant. */
function rdsInstancesInUse(use: CellUse): number {
  return use.instances.filter((i) => i.status !== 'FAILED').length + use.dedicated;
}

function refuse(name: QuotaName, limit: number, inUse: number, what: string): never {
  throw new OnboardingError(PermanentErrors.QuotaExceeded, quotaMessage(name, limit, inUse, what));
}

/** The limits a new tenant of either tier counts against: the cell's tenants, and its function's role. */
function refuseOverCell(use: CellUse, settings: CapacitySettings, tenant: ValidatedTenant): void {
  if (use.tenants >= settings.tenantsPerCell)
    refuse(
      'tenantsPerCell',
      settings.tenantsPerCell,
      use.tenants,
      `no place for tenant ${tenant.tenantId} in this cell`,
    );
  if (use.tenants >= settings.iamRoles)
    refuse(
      'iamRoles',
      settings.iamRoles,
      use.tenants,
      `no role can be made for tenant ${tenant.tenantId}'s function`,
    );
  if (tenant.tier === 'dedicated' && rdsInstancesInUse(use) >= settings.rdsDbInstances)
    refuse(
      'rdsDbInstances',
      settings.rdsDbInstances,
      rdsInstancesInUse(use),
      `no instance can be made for dedicated tenant ${tenant.tenantId}`,
    );
}

/** Free tenant places on the available shared instances. */
function freePlaces(use: CellUse, settings: CapacitySettings): number {
  return use.instances
    .filter((i) => i.status === 'AVAILABLE')
    .reduce((free, i) => free + Math.max(0, settings.tenantsPerSharedInstance - i.tenants), 0);
}

/** What planning decided: a shared instance to add (its `add-capacity` to start), and whether to wait. */
export interface CapacityPlan {
  readonly add?: { readonly instanceId: string; readonly executionArn: string };
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
 * Before a registration: refuses a tenant the cell's limits leave no room for (naming the limit), and for a
 * shared tenant makes sure a place is or will be there; after it (`placed`), keeps the headroom. When the
 * free places on the available shared instances are down to the headroom and no instance is being added,
 * the next one is recorded `CREATING` (its `add-capacity` execution is the caller's to start: `add`); with
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
        // A retry before its placement does not count the place it may hold already; after it, it does.
        const use = await cellUse(client, placed ? null : tenant.tenantId);
        if (!placed) refuseOverCell(use, settings, tenant);
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
  { settings, executionArnOf, running }: PlanContext,
  placed: boolean,
): Promise<CapacityPlan> {
  const free = freePlaces(use, settings);
  const needsPlace = !placed && free === 0;
  let creating = false;
  for (const instance of use.instances.filter((i) => i.status === 'CREATING')) {
    if (!instance.executionArn || instance.justAsked || (await running(instance.executionArn)))
      creating = true;
    else await markFailed(client, instance.id, 'its add-capacity execution ended without registering it');
  }
  if (free > settings.sharedInstanceHeadroom || creating) return { wait: needsPlace };
  const failures = use.instances.filter((i) => i.recentFailure);
  if (failures.length >= MAX_RECENT_CAPACITY_FAILURES) {
    // Adding keeps failing: nothing more is tried for headroom; a tenant that needs the place is refused.
    if (!needsPlace) return { wait: false };
    const last = failures.at(-1);
    throw new OnboardingError(
      PermanentErrors.NoCapacity,
      `every shared instance is full and adding one failed ${failures.length} times in the last hour (last: ${last?.id}: ${last?.reason ?? 'no reason recorded'}); see tenantctl cells`,
    );
  }
  const rds = rdsInstancesInUse(use);
  if (rds >= settings.rdsDbInstances) {
    // Headroom cannot be kept; a tenant that needs the place is refused.
    if (!needsPlace) return { wait: false };
    refuse(
      'rdsDbInstances',
      settings.rdsDbInstances,
      rds,
      'every shared instance is full and no other can be made',
    );
  }
  const { rows } = await client.query<{ seq: number }>(
    'SELECT COALESCE(max(seq), 0) + 1 AS seq FROM shared_instances',
  );
  const seq = rows[0]?.seq ?? 2;
  const instanceId = `shared-${seq}`;
  const executionArn = executionArnOf(instanceId);
  await client.query(
    `INSERT INTO shared_instances (id, seq, status, execution_arn) VALUES ($1, $2, 'CREATING', $3)`,
    [instanceId, seq, executionArn],
  );
  return { add: { instanceId, executionArn }, wait: needsPlace };
}

/**
 * Inside the registration's transaction: the shared instance the tenant goes on (the oldest available one
 * with a free place), the cell's limits checked again under the lock, so a place counted is a place
 * taken. `null` for a dedicated tenant (its own instance). No place: CapacityPending (the state machine
 * retries; planCapacity has the next instance coming).
 */
export async function placeTenant(
  client: ClientBase,
  tenant: ValidatedTenant,
  settings: CapacitySettings,
): Promise<string | null> {
  await lockPlacement(client);
  const use = await cellUse(client, tenant.tenantId);
  refuseOverCell(use, settings, tenant);
  if (tenant.tier !== 'shared') return null;
  const instance = use.instances.find(
    (i) => i.status === 'AVAILABLE' && i.tenants < settings.tenantsPerSharedInstance,
  );
  if (instance) return instance.id;
  throw capacityPending(settings);
}

/** What an onboarding waiting for the next shared instance fails with (the state machine retries it). */
export function capacityPending(settings: CapacitySettings): OnboardingError {
  return new OnboardingError(
    WaitErrors.CapacityPending,
    `every shared instance holds ${settings.tenantsPerSharedInstance} tenants (tenantsPerSharedInstance): waiting for the next one to be added`,
  );
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
 * Inside a move's claim transaction: refuses a target that is not an available shared instance with a free
 * place (the tenant itself left out of the count), naming why; the tenant then holds a place on both
 * instances until the move ends.
 */
export async function reserveMoveTarget(
  client: ClientBase,
  tenantId: string,
  target: string,
  settings: CapacitySettings,
): Promise<void> {
  await lockPlacement(client);
  await recordFirstInstance(client);
  const use = await cellUse(client, tenantId);
  const instance = use.instances.find((i) => i.id === target);
  if (!instance)
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toInstance: there is no shared instance ${target} (tenantctl cells lists them)`,
    );
  if (instance.status !== 'AVAILABLE')
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toInstance: shared instance ${target} is ${instance.status}, not AVAILABLE`,
    );
  if (instance.tenants >= settings.tenantsPerSharedInstance)
    refuse(
      'tenantsPerSharedInstance',
      settings.tenantsPerSharedInstance,
      instance.tenants,
      `no place for tenant ${tenantId} on ${target}`,
    );
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

/** The shared instances the platform added and registered (id and RDS instance). */
export async function addedInstances(): Promise<{ id: string; rdsInstanceId: string }[]> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ id: string; rds_instance_id: string }>(
      `SELECT id, rds_instance_id FROM shared_instances WHERE status = 'AVAILABLE' AND rds_instance_id IS NOT NULL ORDER BY seq`,
    );
    return rows.map((r) => ({ id: r.id, rdsInstanceId: r.rds_instance_id }));
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
 * tenants), `except` one tenant's row (the one being claimed again).
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
  readonly limits: { name: QuotaName; limit: number; inUse: number; per: string; what: string }[];
  readonly sharedInstances: {
    id: string;
    status: string;
    tenants: number;
    limit: number;
    endpoint: string | null;
    reason: string | null;
  }[];
}

/** The cell's use, read over any connection to the platform database (the CLI has its own). */
export async function cellView(
  client: ClientBase,
  cell: string,
  settings: CapacitySettings,
): Promise<CellView> {
  const use = await cellUse(client, null);
  const inUse: Record<QuotaName, number> = {
    tenantsPerCell: use.tenants,
    tenantsPerSharedInstance: Math.max(0, ...use.instances.map((i) => i.tenants)),
    iamRoles: use.tenants,
    rdsDbInstances: rdsInstancesInUse(use),
    cloudFrontDistributionTenants: 2 * use.domains,
  };
  return {
    cell,
    limits: (Object.keys(QUOTAS) as QuotaName[]).map((name) => ({
      name,
      limit: settings[name],
      inUse: inUse[name],
      per: QUOTAS[name].per,
      what: QUOTAS[name].what,
    })),
    sharedInstances: use.instances.map((i) => ({
      id: i.id,
      status: i.status,
      tenants: i.tenants,
      limit: settings.tenantsPerSharedInstance,
      endpoint: i.host && i.port ? `${i.host}:${i.port}` : null,
      reason: i.reason,
    })),
  };
}
