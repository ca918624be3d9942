import { escapeIdentifier, type ClientBase } from 'pg';
import * as z from 'zod/mini';
import { FIRST_CELL, FIRST_SHARED_INSTANCE, type CapacitySettings } from '../../common/capacity';
import { OnboardingError, PermanentErrors, TransientErrors } from '../../common/errors';
import { CELL_ID, SHARED_INSTANCE_ID } from '../../common/move';
import { EventTypes, tenantResourceNames } from '../../common/names';
import { fieldProblems, tenantIdSchema } from '../../common/tenant-input';
import type { TenantSecret } from '../../common/tenant-secret';
import { cellAccountOf } from '../../common/cells';
import { followSequences, loadRows, type LoadedTables } from '../import/load';
import { shapeOf, type SchemaShape } from '../import/schema';
import { readTenantApiVersion } from '../lib/artifact';
import { readCredentialsSecret, withClient, withMasterClient, type DbCredentials } from '../lib/db';
import { publishEvent } from '../lib/events';
import { appliedVersion, migrate } from '../lib/migrate';
import {
  dropTenantDatabase,
  ensureTenantDatabase,
  pointTenantSecretAt,
  tenantSecretIn,
  underTenantLock,
} from '../lib/tenant-db';
import {
  capacityFromEnv,
  cellAccountOfTenant,
  capacityInForce,
  lockPlacement,
  reserveMoveTarget,
  sharedInstance,
  type SharedInstance,
} from '../records/capacity';
import { whatToDoInstead, type TenantStatus } from '../records/lifecycle';
import { lockDomains, withRegistry } from '../records/registry';
import { switchBack, switchToSuspended } from '../suspension/steps';
import {
  crossesAccounts,
  deployInTarget,
  domainsRouted,
  removeApiIn,
  routeToApiIn,
  type AccountMove,
} from './across-accounts';
import { tenantDomainsOn, underWay } from '../records/domains';
import {
  caughtUp,
  copyProgress,
  publish,
  serverDigests,
  subscribe,
  unpublish,
  unsubscribe,
  whyNotReplicable,
  type CopyMode,
} from './replication';

/**
 * Moving a shared tenant to another shared instance (`tenantctl move TENANT --instance shared-<n>`, or
 * `--cell cell-<n>`: that cell's oldest instance with room), one execution with compensation. While the
 * tenant serves: its role and database are made on the target and migrated to the source's schema version,
 * and its rows are copied and followed by logical replication (replication.ts), round after round until
 * every table follows. Then it is suspended for the copy's last part: the source's role stops logging in
 * (its open connections are ended, so a warm function reads the secret again), the target applies the last
 * writes and both sides are counted and hashed; a source that cannot be replicated is copied then instead,
 * in one snapshot (workflow-tasks/import/load.ts). The secret and the registry are switched to the target.
 * Up to here a failure puts everything back: the replication is dropped, the source's role logs in again,
 * the secret and the registry name the source, the tenant is resumed there and the target's copy dropped.
 * Resuming on the target is the point of no return (new rows are written there): after it, the old copy is
 * removed and the tenant is ACTIVE, and an interruption is finished forward by the cleanup workflow
 * (releaseMoveOf).
 */

/** The input of a `tenant-move` execution: the tenant, and where to (an instance, or a cell). */
const requestSchema = z.strictObject({
  tenantId: tenantIdSchema,
  toInstance: z.optional(
    z
      .string({ error: 'must be a string' })
      .check(
        z.regex(
          SHARED_INSTANCE_ID,
          'must be a shared instance id such as "shared-2" (tenantctl cells lists them)',
        ),
      ),
  ),
  toCell: z.optional(
    z
      .string({ error: 'must be a string' })
      .check(z.regex(CELL_ID, 'must be a cell id such as "cell-2" (tenantctl cells lists them)')),
  ),
});

/**
 * The move as the claim took it: the tenant, the shared instances it goes from and to, and their cells
 * (the same one for a move within a cell).
 */
export interface MoveClaim extends AccountMove {
  readonly tenantId: string;
  readonly from: string;
  readonly to: string;
  readonly fromCell: string;
  readonly toCell: string;
}

/** What the registry keeps of a move (column `move`) while the tenant is MOVING. */
interface MoveRecord extends Omit<MoveClaim, 'tenantId' | 'fromCell' | 'toCell'> {
  readonly fromCell?: string;
  readonly toCell?: string;
  readonly executionArn: string;
  /** The secret and `db_instance` name the target. */
  readonly switched?: boolean;
  /** The tenant was resumed on the target: past the point of no return. */
  readonly resumed?: boolean;
}

type Event = {
  readonly executionArn: string;
  readonly state: {
    readonly tenantId?: unknown;
    readonly toInstance?: unknown;
    readonly toCell?: unknown;
    readonly move?: MoveClaim;
    readonly sync?: MoveSync;
  };
};

/** How far the copy made while the tenant serves has got ("Copy while serving", each round). */
export interface MoveSync {
  readonly mode: CopyMode;
  /** Every table copied and following the source (or nothing to do before the suspension: a snapshot). */
  readonly ready: boolean;
  readonly rounds: number;
  /** Tables copied and following, of the tenant's tables. */
  readonly tables?: string;
  /** Why the source is copied in one snapshot while suspended instead. */
  readonly why?: string;
}

/** Rounds of "Copy while serving" before a copy that has not caught up fails the move (5 s apart on AWS). */
const MAX_SYNC_ROUNDS = 720;
/** How long the suspended copy waits for the target to apply the source's last writes. */
const CATCH_UP_MS = 120_000;

// The maintenance database every PostgreSQL server has; DDL on databases runs there.
const MAINTENANCE_DB = 'postgres';

/**
 * Takes the tenant for this execution: an ACTIVE shared tenant no release is updating becomes MOVING and
 * holds a place on the target (`toInstance`, or `toCell`'s oldest shared instance with room, checked under
 * the placement lock with the cell's limits). Anything else fails at once, naming why, and changes nothing.
 * Claiming twice from one execution is the same claim.
 */
export async function claim({ executionArn, state }: Event): Promise<MoveClaim> {
  const parsed = requestSchema.safeParse(state);
  if (!parsed.success)
    throw new OnboardingError(PermanentErrors.InvalidInput, fieldProblems(parsed.error.issues).join('; '));
  const request = parsed.data;
  if ((request.toInstance === undefined) === (request.toCell === undefined))
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      'toInstance or toCell: give exactly one (an instance such as "shared-2", or a cell such as "cell-2")',
    );
  // Read before the transaction: no AWS call is made while the placement lock is held.
  const settings = await capacityInForce();
  return withRegistry(async (client) => {
    await client.query('BEGIN');
    try {
      const claimed = await takeForMove(client, executionArn, request, settings);
      await client.query('COMMIT');
      return claimed;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}

/** The claim's compare-and-set, inside its transaction. */
async function takeForMove(
  client: ClientBase,
  executionArn: string,
  { tenantId, toInstance, toCell }: z.infer<typeof requestSchema>,
  settings: CapacitySettings,
): Promise<MoveClaim> {
  await lockPlacement(client);
  // A domain's claim (which reads the tenant's status under this lock) and this one cannot both pass.
  await lockDomains(client);
  const { rows } = await client.query<{
    status: TenantStatus;
    tier: string;
    db_instance: string | null;
    cell: string;
    cell_account: string | null;
    release_lock: string | null;
    move: MoveRecord | null;
  }>(
    'SELECT status, tier, db_instance, cell, cell_account, release_lock, move FROM tenants WHERE id = $1 FOR UPDATE',
    [tenantId],
  );
  const row = rows[0];
  if (row?.status === 'MOVING' && row.move?.executionArn === executionArn) return claimOf(tenantId, row.move);
  if (!row) throw conflict(`there is no tenant ${tenantId}`);
  if (row.status !== 'ACTIVE')
    throw conflict(
      `${tenantId} is ${row.status}; only an ACTIVE tenant can be moved: ${whatToDoInstead(tenantId, row.status)}`,
    );
  if (row.release_lock)
    throw conflict(`release ${row.release_lock} is updating ${tenantId}: try again when it is done`);
  if (row.tier !== 'shared')
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `tenantId: ${tenantId} is a dedicated tenant on its own instance; only a shared tenant moves between shared instances`,
    );
  const from = row.db_instance ?? FIRST_SHARED_INSTANCE;
  if (from === toInstance)
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `toInstance: ${tenantId} is on ${toInstance} already`,
    );
  if (row.cell === toCell)
    throw new OnboardingError(PermanentErrors.InvalidInput, `toCell: ${tenantId} is in ${toCell} already`);
  const target = await reserveMoveTarget(
    client,
    tenantId,
    toCell ? { cell: toCell } : { instance: toInstance ?? '' },
    settings,
  );
  // From where its resources were made (the registry's); to where the settings put the target cell, which
  // reserveMoveTarget refused if that cell's tenants were made elsewhere.
  const fromAccount = row.cell_account ?? undefined;
  const toAccount = cellAccountOf(settings, target.cell);
  if (fromAccount !== toAccount)
    await refuseDomainsUnderWay(client, tenantId, toCell ? 'toCell' : 'toInstance');
  const record: Omit<MoveRecord, 'executionArn'> = {
    from,
    to: target.instance,
    fromCell: row.cell,
    toCell: target.cell,
    ...(fromAccount ? { fromAccount } : {}),
    ...(toAccount ? { toAccount } : {}),
  };
  await client.query(
    `UPDATE tenants SET status = 'MOVING', updated_at = now(),
            move = $3::jsonb || jsonb_build_object('executionArn', $2::text, 'startedAt', now())
      WHERE id = $1`,
    [tenantId, executionArn, JSON.stringify(record)],
  );
  return claimOf(tenantId, { ...record, executionArn });
}

/**
 * A customer's active domain moves with the tenant (the resume points its API's distribution tenant at the
 * target's API); one whose request or removal is under way would be pointed by that workflow at the API it
 * read before the move: such a tenant is refused, naming the domain.
 */
async function refuseDomainsUnderWay(
  client: ClientBase,
  tenantId: string,
  field: 'toCell' | 'toInstance',
): Promise<void> {
  const busy = (await tenantDomainsOn(client, tenantId))
    .filter(underWay)
    .map((d) => `${d.domain}: ${d.status}`);
  if (busy.length > 0)
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `${field}: the target is in another AWS account, and ${tenantId}'s own domain is being attached or removed (${busy.join(', ')}): move it when that is done (tenantctl domain ${tenantId} shows it; one stuck is ended by tenantctl domain detach), or within the account`,
    );
}

/**
 * The tenant's role (the secret's password) and database on the target, migrated as the tenant's own role
 * to the schema version the source has, with the migrations of the code the tenant runs. A re-run converges.
 */
export async function prepare({ executionArn, state }: Event): Promise<{ schemaVersion: number }> {
  const move = moveOf(state);
  const { codeVersion } = await ownMove(executionArn, move.tenantId);
  const names = tenantResourceNames(move.tenantId);
  const secret = await tenantSecretIn(move.tenantId, await sourceAccountOf(move));
  const { source, target } = await instancesOf(move);
  const { connectionsPerTenant } = capacityFromEnv();
  await withMasterClient(
    MAINTENANCE_DB,
    (c) => ensureTenantDatabase(c, names, secret.password, connectionsPerTenant),
    target,
  );
  const sourceVersion = await withClient(asTenant(secret, source), appliedVersion);
  if (!codeVersion) throw mismatch(`${move.tenantId} has no code version recorded`);
  const { migrations } = await readTenantApiVersion(codeVersion);
  const schemaVersion = await withClient(asTenant(secret, target), async (client) => {
    await migrate(
      client,
      'tenant',
      migrations.filter((m) => m.version <= sourceVersion),
    );
    return appliedVersion(client);
  });
  if (schemaVersion !== sourceVersion)
    throw mismatch(
      `${move.tenantId}'s database is at schema version ${sourceVersion}, and the migrations of the code it runs (${codeVersion}) reach ${schemaVersion}`,
    );
  return { schemaVersion };
}

/**
 * To another account: the tenant's secret (pointing at the target), function and API made there, on the code
 * the tenant runs (across-accounts.ts); nothing routes to them before the resume. Within one: nothing.
 */
export async function deploy({ executionArn, state }: Event): Promise<{ apiEndpoint?: string }> {
  const move = moveOf(state);
  const { codeVersion } = await ownMove(executionArn, move.tenantId);
  if (!crossesAccounts(move)) return {};
  if (!codeVersion) throw mismatch(`${move.tenantId} has no code version recorded`);
  const { target } = await instancesOf(move);
  return deployInTarget(executionArn, move, target, codeVersion);
}

/** The target's secret, function and API (the rollback's), unless the tenant serves from them. */
export async function undoDeploy({ executionArn, state }: Event): Promise<void> {
  const move = moveOf(state);
  if (!crossesAccounts(move)) return;
  const { move: record } = await ownMove(executionArn, move.tenantId);
  if (record.resumed) throw pastNoReturn(move);
  await removeApiIn(executionArn, move.tenantId, move.toAccount);
}

/** Suspended as a suspension suspends it (its API answers 503 but on /health), so nobody writes during the copy. */
export async function suspend({ executionArn, state }: Event): Promise<void> {
  const { tenantId } = moveOf(state);
  await ownMove(executionArn, tenantId);
  await switchToSuspended({ executionArn, state: { tenantId, action: 'suspend' } });
}

/**
 * The copy while the tenant serves (replication.ts), one round each time: the first publishes the
 * tenant's tables on the source and subscribes the target to them; each tells whether every table is
 * copied and following. A source that cannot be replicated is copied in one snapshot while suspended
 * (`mode: 'snapshot'`, ready at once), as the copy step says.
 */
export async function sync({ executionArn, state }: Event): Promise<MoveSync> {
  const move = moveOf(state);
  await ownMove(executionArn, move.tenantId);
  const rounds = (state.sync?.rounds ?? 0) + 1;
  if (rounds > MAX_SYNC_ROUNDS)
    throw new OnboardingError(
      PermanentErrors.MoveMismatch,
      `the copy made while ${move.tenantId} serves had not caught up after ${MAX_SYNC_ROUNDS} rounds (${state.sync?.tables ?? '?'} tables)`,
    );
  const names = tenantResourceNames(move.tenantId);
  const { source, target } = await instancesOf(move);
  const sourceDb = await asMaster(source, names.database);
  const targetDb = await asMaster(target, names.database);
  if (!state.sync) {
    const { why, tables } = await withClient(sourceDb, async (from) => {
      const found = [...(await shapeOf(from)).keys()];
      return { why: await whyNotReplicable(from, found), tables: found };
    });
    if (why) return { mode: 'snapshot', ready: true, rounds, why };
    const password = await withClient(sourceDb, (from) => publish(from, names, tables));
    await withMasterClient(
      MAINTENANCE_DB,
      (server) =>
        withClient(targetDb, (to) =>
          subscribe(to, server, { database: names.database, tables, source, password }),
        ),
      source,
    );
  }
  const progress = await withClient(targetDb, (to) => copyProgress(to, names.database));
  return {
    mode: 'replication',
    ready: progress.tables > 0 && progress.ready === progress.tables,
    rounds,
    tables: `${progress.ready}/${progress.tables}`,
  };
}

/**
 * The data's last part, while the tenant is suspended. Nothing the tenant writes may land on the source
 * after it (it would be lost at the switch): its role there stops logging in and its open connections are
 * ended first (a request still running on the version before the suspension, or routed to it a moment late,
 * fails instead); a rollback logs the role in again (undoSwitch). Then, replicated: the target is waited for
 * until it has applied the source's last write, every table is counted and hashed on both sides (the source
 * read as the master acting as the tenant's role, in one snapshot), the sequences follow the source's and
 * the subscription and publication are dropped. In one snapshot: every table of the source is read in one
 * snapshot into the target in one transaction (emptied first, so a re-run copies again), counted and hashed
 * as read and again as read back. Either way any difference fails the move (MoveMismatch): both sides must
 * have the same tables and columns, and the same rows.
 */
export async function copy({ executionArn, state }: Event): Promise<{ tables: LoadedTables; rows: number }> {
  const move = moveOf(state);
  await ownMove(executionArn, move.tenantId);
  const { source, target } = await instancesOf(move);
  await withMasterClient(MAINTENANCE_DB, (c) => setLogin(c, move.tenantId, false), source);
  const tables =
    state.sync?.mode === 'replication'
      ? await finishReplication(move, source, target)
      : await copySnapshot(
          move,
          source,
          asTenant(await tenantSecretIn(move.tenantId, await sourceAccountOf(move)), target),
        );
  return { tables, rows: Object.values(tables).reduce((sum, t) => sum + t.rows, 0) };
}

/** The replicated copy's end: caught up, verified, sequences set, replication dropped. */
async function finishReplication(
  move: MoveClaim,
  source: SharedInstance,
  target: SharedInstance,
): Promise<LoadedTables> {
  const { database } = tenantResourceNames(move.tenantId);
  const [sourceDb, targetDb] = [await asMaster(source, database), await asMaster(target, database)];
  const subscribed = await withClient(targetDb, async (to) => (await copyProgress(to, database)).tables > 0);
  // A re-run after the subscription was dropped finds the copy complete: the digests below say whether.
  if (subscribed && !(await withClient(sourceDb, (from) => caughtUp(from, database, CATCH_UP_MS))))
    throw mismatch(`the target had not applied the source's last writes after ${CATCH_UP_MS / 1000} s`);
  const tables = await bothSides(move, sourceDb, targetDb, async (from, to, shape) => {
    // Both servers hash their rows at once: the tenant is suspended while they do.
    await to.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      const [read, written] = await Promise.all([serverDigests(from, shape), serverDigests(to, shape)]);
      for (const [table, expected] of Object.entries(read)) {
        const found = written[table];
        if (found?.rows !== expected.rows || found.digest !== expected.digest)
          throw mismatch(
            `table ${table}: the source has ${expected.rows} rows (digest ${expected.digest.slice(0, 12)}), the target ${found?.rows ?? 0} (${found?.digest.slice(0, 12) ?? '-'})`,
          );
      }
      await followSequences({ kind: 'database', client: from, label: sourceLabel(move) }, to);
      await to.query('COMMIT');
      return read;
    } catch (error) {
      await to.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  await dropReplication(move, source, target);
  return tables;
}

/** The copy in one snapshot of the source, into the target (as the tenant's role) in one transaction. */
async function copySnapshot(
  move: MoveClaim,
  source: SharedInstance,
  targetAsTenant: DbCredentials,
): Promise<LoadedTables> {
  const sourceDb = await asMaster(source, tenantResourceNames(move.tenantId).database);
  return bothSides(move, sourceDb, targetAsTenant, async (from, to, shape) => {
    if (shape.size > 0)
      await to.query(
        `TRUNCATE ${[...shape.keys()].map((t) => escapeIdentifier(t)).join(', ')} RESTART IDENTITY`,
      );
    return loadRows(to, { kind: 'database', client: from, label: sourceLabel(move) }, shape);
  });
}

/**
 * `fn` given the source, read in one snapshot by its master acting as the tenant's role, and the target,
 * once their tables and columns are found the same.
 */
async function bothSides<T>(
  move: MoveClaim,
  sourceDb: DbCredentials,
  targetDb: DbCredentials,
  fn: (from: ClientBase, to: ClientBase, shape: SchemaShape) => Promise<T>,
): Promise<T> {
  return withClient(sourceDb, (from) =>
    withClient(targetDb, async (to) => {
      await from.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await from.query(`SET LOCAL ROLE ${escapeIdentifier(tenantResourceNames(move.tenantId).role)}`);
      try {
        const shape = await shapeOf(from);
        const differences = shapeDifferences(shape, await shapeOf(to));
        if (differences.length > 0)
          throw mismatch(
            `the target's tables differ from the source's: ${differences.slice(0, 8).join('; ')}`,
          );
        return await fn(from, to, shape);
      } finally {
        await from.query('COMMIT').catch(() => undefined);
      }
    }),
  );
}

function sourceLabel(move: MoveClaim): string {
  return `${move.tenantId}'s database on ${move.from}`;
}

/** The master's credentials on `instance`, in `database`. */
async function asMaster(instance: SharedInstance, database: string): Promise<DbCredentials> {
  const master = await readCredentialsSecret(instance.masterSecretArn);
  return { host: instance.host, port: instance.port, database, ...master };
}

/**
 * The secret and the registry name the target; the source's role stays stopped (the copy stopped it; done
 * again here, as a re-run of this step finds it), so a warm function's pool fails to log in there, forgets
 * the secret and reads the new one.
 */
export async function switchOver({ executionArn, state }: Event): Promise<{ host: string; port: number }> {
  const move = moveOf(state);
  await ownMove(executionArn, move.tenantId);
  const { source, target } = await instancesOf(move);
  await pointTenantSecretAt(move.tenantId, await sourceAccountOf(move), target);
  await recordInstance(executionArn, move, 'to', { switched: true });
  await withMasterClient(MAINTENANCE_DB, (c) => setLogin(c, move.tenantId, false), source);
  return { host: target.host, port: target.port };
}

/** Undoes the switch (idempotent, nothing to do before it): the source's role logs in, secret and registry name it. */
export async function undoSwitch({ executionArn, state }: Event): Promise<void> {
  const move = moveOf(state);
  const record = await ownMove(executionArn, move.tenantId);
  if (record.move.resumed) throw pastNoReturn(move);
  const { source } = await instancesOf(move);
  await withMasterClient(MAINTENANCE_DB, (c) => setLogin(c, move.tenantId, true), source);
  await pointTenantSecretAt(move.tenantId, await sourceAccountOf(move), source);
  await recordInstance(executionArn, move, 'from', { switched: false });
}

/**
 * The point of no return, written first: the tenant serves again, from the target. `routed`: whether the
 * edge routes its domains there yet (to another account; run again until it does, then the old is removed).
 */
export async function resume({ executionArn, state }: Event): Promise<{ routed: boolean }> {
  const move = moveOf(state);
  await ownMove(executionArn, move.tenantId);
  await recordInstance(executionArn, move, 'to', { switched: true, resumed: true });
  if (!crossesAccounts(move)) {
    await switchBack({ executionArn, state: { tenantId: move.tenantId, action: 'resume' } });
    return { routed: true };
  }
  // The target's function was made live; the frontend and the domains are sent to it.
  await routeToApiIn(move.tenantId, move.toAccount);
  return { routed: await domainsRouted(move.tenantId) };
}

/** Resumed where it was (the rollback's): the same switch back a resume makes; nothing if never suspended. */
export async function undoSuspend({ executionArn, state }: Event): Promise<void> {
  const { tenantId } = moveOf(state);
  await switchBack({ executionArn, state: { tenantId, action: 'resume' } });
}

/** The source's database and role, once the target is the tenant's (never the copy the tenant runs on). */
export async function removeOld({ executionArn, state }: Event): Promise<void> {
  const move = moveOf(state);
  const { dbInstance } = await ownMove(executionArn, move.tenantId);
  if (dbInstance !== move.to)
    throw conflict(
      `${move.tenantId} runs on ${dbInstance ?? '?'}, not ${move.to}: its copy on ${move.from} stays`,
    );
  // The edge may still pass a domain's requests to the source's API (the cleanup finishing a move comes here
  // without the execution's wait for it).
  if (crossesAccounts(move) && !(await domainsRouted(move.tenantId)))
    throw new OnboardingError(
      TransientErrors.ResourceNotReady,
      `CloudFront has not yet deployed ${move.tenantId}'s domains' routing to its API in the target's account: the source's stays until it has`,
    );
  const { source, target } = await instancesOf(move);
  await dropReplication(move, source, target);
  await withMasterClient(
    MAINTENANCE_DB,
    (c) => dropTenantDatabase(c, tenantResourceNames(move.tenantId)),
    source,
  );
  if (crossesAccounts(move)) await removeApiIn(executionArn, move.tenantId, move.fromAccount);
}

/**
 * The target's database and role (the rollback's), unless the tenant runs on them; first the replication
 * between the two (a database with a subscription or a replication slot cannot be dropped).
 */
export async function undoPrepare({ state }: Event): Promise<void> {
  const move = moveOf(state);
  const { dbInstance } = await registryRow(move.tenantId);
  if (dbInstance === move.to) return;
  const { source, target } = await instancesOf(move);
  await dropReplication(move, source, target);
  await withMasterClient(
    MAINTENANCE_DB,
    (c) => dropTenantDatabase(c, tenantResourceNames(move.tenantId)),
    target,
  );
}

/**
 * Whatever of the move's replication is left, on both sides (replication.ts), the source's under the
 * tenant's lock there (an undo retried after a timeout may still be running); nothing: nothing done.
 */
async function dropReplication(
  move: MoveClaim,
  source: SharedInstance,
  target: SharedInstance,
): Promise<void> {
  const { database, role } = tenantResourceNames(move.tenantId);
  const exists = (instance: SharedInstance) =>
    withMasterClient(
      MAINTENANCE_DB,
      async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1,
      instance,
    );
  if (await exists(target))
    await withClient(await asMaster(target, database), (to) => unsubscribe(to, database));
  const sourceDb = (await exists(source)) ? await asMaster(source, database) : undefined;
  await withMasterClient(
    MAINTENANCE_DB,
    (server) =>
      underTenantLock(server, role, () =>
        sourceDb
          ? withClient(sourceDb, (db) => unpublish(server, db, database))
          : unpublish(server, undefined, database),
      ),
    source,
  );
}

/** ACTIVE on the target, `TenantMoved`. */
export async function markMoved({ executionArn, state }: Event): Promise<{ instance: string }> {
  const move = moveOf(state);
  await endMove(executionArn, move.tenantId, true);
  await publishEvent(EventTypes.TenantMoved, { ...move });
  return { instance: move.to };
}

/** ACTIVE where it was (the rollback's last step); a move past its point of no return is not undone. */
export async function undoClaim({ executionArn, state }: Event): Promise<void> {
  await endMove(executionArn, moveOf(state).tenantId, false);
}

/**
 * What a move execution that ended unfinished (stopped, timed out, failed where its rollback did not run)
 * leaves: a tenant it still holds MOVING is put back ACTIVE where it was, before its point of no return (the
 * rollback's steps, all idempotent), or finished forward on the target after it. Returns that tenant.
 */
export async function releaseMoveOf(executionArn: string): Promise<string | undefined> {
  const row = await withRegistry(async (client) => {
    const { rows } = await client.query<{ id: string; move: MoveRecord }>(
      `SELECT id, move FROM tenants WHERE status = 'MOVING' AND move->>'executionArn' = $1`,
      [executionArn],
    );
    return rows[0];
  });
  if (!row) return undefined;
  const event = { executionArn, state: { move: claimOf(row.id, row.move) } };
  if (row.move.resumed) {
    await resume(event);
    await removeOld(event);
    await markMoved(event);
  } else {
    await undoSwitch(event);
    await undoSuspend(event);
    await undoDeploy(event);
    await undoPrepare(event);
    await undoClaim(event);
  }
  return row.id;
}

/** The claim a registry's move record says (one recorded before there were cells is within the first). */
function claimOf(tenantId: string, record: MoveRecord): MoveClaim {
  return {
    tenantId,
    from: record.from,
    to: record.to,
    fromCell: record.fromCell ?? FIRST_CELL,
    toCell: record.toCell ?? FIRST_CELL,
    ...(record.fromAccount ? { fromAccount: record.fromAccount } : {}),
    ...(record.toAccount ? { toAccount: record.toAccount } : {}),
  };
}

function moveOf(state: Event['state']): MoveClaim {
  if (!state.move) throw new Error('state has no move: the step ran out of order');
  return state.move;
}

async function instancesOf(move: MoveClaim): Promise<{ source: SharedInstance; target: SharedInstance }> {
  const [source, target] = await Promise.all([sharedInstance(move.from), sharedInstance(move.to)]);
  return { source, target };
}

interface TenantRow {
  readonly status: string;
  readonly dbInstance: string | null;
  readonly codeVersion: string | null;
  readonly move: MoveRecord | null;
}

async function registryRow(tenantId: string): Promise<TenantRow> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{
      status: string;
      db_instance: string | null;
      code_version: string | null;
      move: MoveRecord | null;
    }>('SELECT status, db_instance, code_version, move FROM tenants WHERE id = $1', [tenantId]);
    const row = rows[0];
    return {
      status: row?.status ?? 'UNKNOWN',
      dbInstance: row?.db_instance ?? null,
      codeVersion: row?.code_version ?? null,
      move: row?.move ?? null,
    };
  });
}

/** The registry row, which this execution must hold MOVING (else RegistrationLost: nothing is touched). */
async function ownMove(executionArn: string, tenantId: string): Promise<TenantRow & { move: MoveRecord }> {
  const row = await registryRow(tenantId);
  if (row.status !== 'MOVING' || row.move?.executionArn !== executionArn)
    throw new OnboardingError(
      PermanentErrors.RegistrationLost,
      `${tenantId} is ${row.status}, not being moved by ${executionArn}`,
    );
  return { ...row, move: row.move };
}

/** The registry's instance and cell of the tenant: the move's source's or target's, and how far it got. */
async function recordInstance(
  executionArn: string,
  move: MoveClaim,
  side: 'from' | 'to',
  progress: Pick<MoveRecord, 'switched' | 'resumed'>,
): Promise<void> {
  const [instance, cell, account] =
    side === 'to' ? [move.to, move.toCell, move.toAccount] : [move.from, move.fromCell, move.fromAccount];
  const { rowCount } = await withRegistry((client) =>
    client.query(
      `UPDATE tenants SET db_instance = $2, cell = $5, move = move || $4::jsonb, updated_at = now(),
              cell_account = CASE WHEN $7 THEN $6 ELSE cell_account END
        WHERE id = $1 AND status = 'MOVING' AND move->>'executionArn' = $3`,
      [
        move.tenantId,
        instance,
        executionArn,
        JSON.stringify(progress),
        cell,
        account ?? null,
        crossesAccounts(move),
      ],
    ),
  );
  if (rowCount !== 1)
    throw new OnboardingError(
      PermanentErrors.RegistrationLost,
      `${move.tenantId} is not being moved by ${executionArn}`,
    );
}

/** The move ends: ACTIVE (on the target when `moved`); a rollback never ends a move past its point of no return. */
async function endMove(executionArn: string, tenantId: string, moved: boolean): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE tenants SET status = 'ACTIVE', move = NULL, suspension = NULL, updated_at = now()
        WHERE id = $1 AND status = 'MOVING' AND move->>'executionArn' = $2
          AND (move->>'resumed')::boolean IS NOT DISTINCT FROM $3`,
      [tenantId, executionArn, moved ? true : null],
    ),
  );
}

/**
 * The account of the tenant's secret and API before the move: the claim's, to another account; within one,
 * the registry's (which such a move never changes, and which a claim taken before moves crossed accounts
 * does not carry).
 */
async function sourceAccountOf(move: MoveClaim): Promise<string | undefined> {
  return crossesAccounts(move) ? move.fromAccount : cellAccountOfTenant(move.tenantId);
}

/** Lets the tenant's role on `client`'s server log in, or stops it and ends its open connections. */
async function setLogin(client: ClientBase, tenantId: string, login: boolean): Promise<void> {
  const { role, database } = tenantResourceNames(tenantId);
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (exists.rowCount !== 1) return;
  await client.query(`ALTER ROLE ${escapeIdentifier(role)} ${login ? 'LOGIN' : 'NOLOGIN'}`);
  // Each connection is waited for until it has ended (up to 5 s): one still closing when the tenant resumes
  // would be handed to a request by a warm function's pool and fail it.
  if (!login)
    await client.query(
      'SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1 AND usename = $2',
      [database, role],
    );
}

function asTenant(secret: TenantSecret, instance: SharedInstance): DbCredentials {
  return {
    host: instance.host,
    port: instance.port,
    database: secret.dbname,
    user: secret.username,
    password: secret.password,
  };
}

/** What one shape has that the other has not, one line each. */
function shapeDifferences(source: SchemaShape, target: SchemaShape): string[] {
  const found: string[] = [];
  for (const [table, columns] of source) {
    const other = target.get(table);
    if (!other) found.push(`table ${table} is missing on the target`);
    else if (JSON.stringify([...columns]) !== JSON.stringify([...other]))
      found.push(`table ${table} has other columns on the target`);
  }
  for (const table of target.keys())
    if (!source.has(table)) found.push(`table ${table} is only on the target`);
  return found;
}

function conflict(why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.TenantStateConflict, why);
}

function mismatch(why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.MoveMismatch, why);
}

function pastNoReturn(move: MoveClaim): OnboardingError {
  return new OnboardingError(
    PermanentErrors.TenantStateConflict,
    `${move.tenantId} serves from ${move.to} already: the move is finished forward, not undone`,
  );
}
