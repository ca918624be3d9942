/**
 * A move's copy made while the tenant serves: PostgreSQL logical replication from the source's tables
 * into the target's. The source publishes the tenant's tables; the target subscribes, copies every table
 * and then follows each write to them, so when the tenant is suspended only what was written since is left
 * to arrive. The subscription connects as a replication role of the move's own (`move__<database>`: no
 * tenant's role has a double underscore) with a password made for this move, granted the tenant's tables
 * (and, being a replication role, able to stream its server's changes: REPLICATION locally, rds_replication
 * on RDS); it is dropped with the subscription, at the move's end or its rollback. That password is in the
 * target's subscription and in the statements that make it, which are kept out of the server's log and
 * statistics where the master may say so. A source that cannot be replicated (whyNotReplicable) is copied
 * in one snapshot while the tenant is suspended instead (steps.ts).
 *
 * Every function here is idempotent: a step retried after a timeout finds what the first run made.
 */
import { randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral, type ClientBase } from 'pg';
import { OnboardingError, TransientErrors } from '../../common/errors';
import { scramSha256Verifier } from '../lib/scram';
import type { DbCredentials } from '../lib/db';
import type { SchemaShape } from '../import/schema';

/** How the move copies: replicated while serving, or in one snapshot while suspended. */
export type CopyMode = 'replication' | 'snapshot';

/** The publication, subscription, replication slot and replication role of a tenant's move. */
export function replicationName(database: string): string {
  return `move__${database}`;
}

/**
 * Why the source (a master connection to the tenant's database on it) cannot be replicated, or undefined
 * when it can: its `wal_level`, `tables` (the tenant's) without a replica identity (updates to them would
 * fail while published) or unlogged (never replicated), a master that can give no replication role, or too
 * few replication slots or WAL senders free (the subscription takes one of each, and each table's first
 * copy another for a while).
 */
export async function whyNotReplicable(
  source: ClientBase,
  tables: readonly string[],
): Promise<string | undefined> {
  const { rows: level } = await source.query<{ wal_level: string }>('SHOW wal_level');
  if (level[0]?.wal_level !== 'logical')
    return `the source's wal_level is ${level[0]?.wal_level ?? 'unknown'}, not logical (on RDS: the parameter rds.logical_replication = 1, and a reboot)`;
  if (tables.length === 0) return 'the tenant has no tables';
  const { rows } = await source.query<{ table: string; unlogged: boolean }>(
    `SELECT c.relname::text AS table, c.relpersistence = 'u' AS unlogged FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relname = ANY($1::text[])
        AND (c.relpersistence = 'u' OR c.relreplident = 'n'
          OR (c.relreplident = 'd' AND NOT EXISTS (
                SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
      ORDER BY 1`,
    [tables],
  );
  const unlogged = rows.filter((r) => r.unlogged).map((r) => r.table);
  if (unlogged.length > 0)
    return `${tableList(unlogged)} of the source ${verb(unlogged, 'is', 'are')} unlogged`;
  if (rows.length > 0)
    return `${tableList(rows.map((r) => r.table))} of the source ${verb(rows, 'has', 'have')} no primary key (no replica identity)`;
  const { rows: master } = await source.query<{ superuser: boolean; grants: boolean }>(
    `SELECT r.rolsuper AS superuser,
            CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
                 THEN pg_has_role('rds_replication', 'MEMBER WITH ADMIN OPTION') ELSE false END AS grants
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (!master[0]?.superuser && !master[0]?.grants)
    return "the source's master is not a superuser and may not grant rds_replication";
  const { rows: free } = await source.query<{ slots: number; senders: number }>(
    `SELECT current_setting('max_replication_slots')::int - (SELECT count(*) FROM pg_replication_slots)::int AS slots,
            current_setting('max_wal_senders')::int - (SELECT count(*) FROM pg_stat_replication)::int AS senders`,
  );
  const least = Math.min(free[0]?.slots ?? 0, free[0]?.senders ?? 0);
  if (least < FREE_SLOTS_NEEDED)
    return `only ${least} replication slot${least === 1 ? '' : 's'} or WAL sender${least === 1 ? '' : 's'} of the source ${least === 1 ? 'is' : 'are'} free (other moves are replicating from it)`;
  return undefined;
}

/** The subscription's slot and WAL sender, and two tables' first copies at once (PostgreSQL's default). */
const FREE_SLOTS_NEEDED = 3;

function tableList(tables: readonly string[]): string {
  return `table${tables.length > 1 ? 's' : ''} ${tables.join(', ')}`;
}

function verb(list: readonly unknown[], one: string, many: string): string {
  return list.length > 1 ? many : one;
}

/**
 * The source's side, as its master in the tenant's database: the replication role (a fresh password each
 * call, returned for the subscription) and a publication of `tables`, owned by the tenant's role.
 */
export async function publish(
  source: ClientBase,
  names: { role: string; database: string },
  tables: readonly string[],
): Promise<string> {
  const name = replicationName(names.database);
  const password = randomBytes(24).toString('base64url');
  const replicator = escapeIdentifier(name);
  const verifier = escapeLiteral(scramSha256Verifier(password));
  await source.query('BEGIN');
  try {
    const exists = await source.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    const { rows } = await source.query<{ superuser: boolean }>(
      'SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
    );
    // A superuser gives the attribute; RDS's master (rds_superuser) grants the role rds_replication.
    const replication = rows[0]?.superuser ? ' REPLICATION' : '';
    await source.query(
      `${exists.rowCount === 0 ? 'CREATE' : 'ALTER'} ROLE ${replicator} LOGIN${replication} PASSWORD ${verifier}`,
    );
    if (!replication) await source.query(`GRANT rds_replication TO ${replicator}`);
    // A master that is not a superuser (RDS's) needs its privileges to drop what it was granted, later.
    await source.query(`GRANT ${replicator} TO CURRENT_USER`);
    await source.query(`GRANT CONNECT ON DATABASE ${escapeIdentifier(names.database)} TO ${replicator}`);
    await source.query(`SET LOCAL ROLE ${escapeIdentifier(names.role)}`);
    await source.query(`GRANT USAGE ON SCHEMA public TO ${replicator}`);
    const list = tables.map((t) => `public.${escapeIdentifier(t)}`).join(', ');
    if (list) await source.query(`GRANT SELECT ON ${list} TO ${replicator}`);
    const published = await source.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
    if (published.rowCount === 0)
      await source.query(`CREATE PUBLICATION ${replicator}${list ? ` FOR TABLE ${list}` : ''}`);
    await source.query('COMMIT');
  } catch (error) {
    await source.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return password;
}

/**
 * The target's side, as its master in the tenant's database: a subscription to the source's publication
 * that copies every table and then follows it. Made once, by one run at a time (a lock on the target): the
 * source's slot of that name left by a subscription lost without it is dropped first (`sourceServer`, its
 * master), and the target's tables are emptied; a re-run finds the subscription and gives it the password
 * its publish set, its rows left as they are.
 */
export async function subscribe(
  target: ClientBase,
  sourceServer: ClientBase,
  {
    database,
    tables,
    source,
    password,
  }: {
    readonly database: string;
    readonly tables: readonly string[];
    readonly source: Pick<DbCredentials, 'host' | 'port'>;
    readonly password: string;
  },
): Promise<void> {
  const name = replicationName(database);
  const id = escapeIdentifier(name);
  const connection = escapeLiteral(conninfo(source, database, name, password));
  await hidingStatements(target);
  await target.query('SELECT pg_advisory_lock(hashtext($1))', [`move-subscribe:${name}`]);
  try {
    const found = await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
    if (found.rowCount === 1) {
      await target.query(`ALTER SUBSCRIPTION ${id} CONNECTION ${connection}`);
      return;
    }
    await dropIdleSlots(sourceServer, { slotName: name });
    await target.query(`TRUNCATE ${tables.map((t) => escapeIdentifier(t)).join(', ')} RESTART IDENTITY`);
    // Outside a transaction block: it makes the replication slot on the source.
    await target.query(`CREATE SUBSCRIPTION ${id} CONNECTION ${connection} PUBLICATION ${id}`);
  } finally {
    await target.query('SELECT pg_advisory_unlock(hashtext($1))', [`move-subscribe:${name}`]);
  }
}

/**
 * Keeps this session's statements (one carries the replication role's password) out of the server's log
 * when they fail and out of pg_stat_statements, where the master may set that (a superuser may; RDS's
 * master where its parameter group lets it): otherwise they stay as the server's settings say.
 */
async function hidingStatements(client: ClientBase): Promise<void> {
  for (const setting of ['log_min_error_statement = panic', 'pg_stat_statements.track_utility = off'])
    await client.query(`SET ${setting}`).catch(() => undefined);
}

/** How far the target's subscription is: every table copied and following (`ready`), of how many. */
export async function copyProgress(
  target: ClientBase,
  database: string,
): Promise<{ tables: number; ready: number }> {
  const { rows } = await target.query<{ tables: number; ready: number }>(
    `SELECT count(*)::int AS tables, count(*) FILTER (WHERE r.srsubstate = 'r')::int AS ready
       FROM pg_subscription s JOIN pg_subscription_rel r ON r.srsubid = s.oid
      WHERE s.subname = $1`,
    [replicationName(database)],
  );
  return rows[0] ?? { tables: 0, ready: 0 };
}

/**
 * Waits until the target has applied everything the source wrote up to now (its replication slot has
 * confirmed the source's current WAL position), for at most `timeoutMs`. True when it has.
 */
export async function caughtUp(source: ClientBase, database: string, timeoutMs: number): Promise<boolean> {
  const { rows } = await source.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const lsn = rows[0]?.lsn;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows: slot } = await source.query<{ done: boolean }>(
      `SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1`,
      [replicationName(database), lsn],
    );
    if (slot[0]?.done) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The subscription, as the target's master; nothing there: nothing done. Dropping it drops its slot on
 * the source; when the source cannot be reached or refuses its password, it is dropped without the slot,
 * which unpublish drops on the source.
 */
export async function unsubscribe(target: ClientBase, database: string): Promise<void> {
  const name = replicationName(database);
  const id = escapeIdentifier(name);
  const found = await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
  if (found.rowCount === 0) return;
  await hidingStatements(target);
  try {
    await target.query(`DROP SUBSCRIPTION IF EXISTS ${id}`);
  } catch {
    await target.query(`ALTER SUBSCRIPTION ${id} DISABLE`);
    await target.query(`ALTER SUBSCRIPTION ${id} SET (slot_name = NONE)`);
    await target.query(`DROP SUBSCRIPTION IF EXISTS ${id}`);
  }
}

/**
 * The source's side gone, as its master (`sourceServer`, any database of the server; `sourceDatabase`,
 * the tenant's, when it is still there): every replication slot made for the tenant's database (the
 * subscription's, its tables' first copies') that no dropped subscription took with it, then the
 * publication and the replication role. A slot still in use (a subscription being made, or one just
 * disabled) is waited for: ResourceNotReady, retried. Not to be run twice at once (steps.ts holds the
 * tenant's lock on the server).
 */
export async function unpublish(
  sourceServer: ClientBase,
  sourceDatabase: ClientBase | undefined,
  database: string,
): Promise<void> {
  const name = replicationName(database);
  await dropIdleSlots(sourceServer, { database, slotName: name });
  if (sourceDatabase) await sourceDatabase.query(`DROP PUBLICATION IF EXISTS ${escapeIdentifier(name)}`);
  const role = await sourceServer.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (role.rowCount === 0) return;
  // Its grants in the tenant's database (and on it); none are left once that database is dropped.
  if (sourceDatabase) await sourceDatabase.query(`DROP OWNED BY ${escapeIdentifier(name)}`);
  await sourceServer.query(`DROP ROLE ${escapeIdentifier(name)}`);
}

/** The slots named `slotName` or made in `database`; ResourceNotReady while one is in use. */
async function dropIdleSlots(
  server: ClientBase,
  { database, slotName }: { database?: string; slotName: string },
): Promise<void> {
  const { rows } = await server.query<{ slot: string; active: boolean }>(
    `SELECT slot_name::text AS slot, active FROM pg_replication_slots
      WHERE slot_name = $1 OR (database = $2 AND slot_type = 'logical')`,
    [slotName, database ?? null],
  );
  const inUse = rows.filter((r) => r.active).map((r) => r.slot);
  if (inUse.length > 0)
    throw new OnboardingError(
      TransientErrors.ResourceNotReady,
      `replication slot${inUse.length > 1 ? 's' : ''} ${inUse.join(', ')} ${inUse.length > 1 ? 'are' : 'is'} still in use`,
    );
  for (const { slot } of rows)
    await server.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
}

/**
 * Each table of `shape` counted and hashed by the server itself (nothing streamed to the task): the sum of
 * each row's 64-bit hash (`hashtextextended`, the hash partitioning relies on, stable across versions) of
 * its text form under fixed output settings, so two servers give the same for the same rows. `client` must be in a transaction (the settings are local to it).
 */
export async function serverDigests(
  client: ClientBase,
  shape: SchemaShape,
): Promise<Record<string, { rows: number; digest: string }>> {
  for (const setting of [
    "TimeZone = 'UTC'",
    "DateStyle = 'ISO, YMD'",
    "IntervalStyle = 'postgres'",
    'extra_float_digits = 1',
    "bytea_output = 'hex'",
  ])
    await client.query(`SET LOCAL ${setting}`);
  const digests: Record<string, { rows: number; digest: string }> = {};
  for (const table of shape.keys()) {
    const { rows } = await client.query<{ rows: string; digest: string }>(
      `SELECT count(*)::text AS rows,
              coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS digest
         FROM public.${escapeIdentifier(table)} t`,
    );
    digests[table] = { rows: Number(rows[0]?.rows ?? 0), digest: rows[0]?.digest ?? '' };
  }
  return digests;
}

/** A libpq connection string to the source's tenant database as the replication role. */
function conninfo(
  source: Pick<DbCredentials, 'host' | 'port'>,
  database: string,
  user: string,
  password: string,
): string {
  const value = (v: string | number) => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return [
    `host=${value(source.host)}`,
    `port=${value(source.port)}`,
    `dbname=${value(database)}`,
    `user=${value(user)}`,
    `password=${value(password)}`,
    `connect_timeout=10`,
  ].join(' ');
}
