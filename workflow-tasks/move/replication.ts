/**
 * A move's copy made while the tenant serves: PostgreSQL logical replication from the source's tables
 * into the target's. The source publishes the tenant's tables; the target subscribes, copies every table
 * and then follows each write to them, so when the tenant is suspended only what was written since is left
 * to arrive. The subscription connects as a replication role of the move's own (`move__<database>`: no
 * tenant's role has a double underscore), with a password made for this move, which can read the tenant's
 * tables and nothing else; it is dropped with the subscription. A source that cannot be replicated (its
 * `wal_level` is not `logical`, or a table has no replica identity: updates to it would fail while
 * published) is copied in one snapshot while the tenant is suspended instead (steps.ts).
 *
 * Every function here is idempotent: a step retried after a timeout finds what the first run made.
 */
import { randomBytes } from 'node:crypto';
import { escapeIdentifier, escapeLiteral, type ClientBase } from 'pg';
import { scramSha256Verifier } from '../lib/scram';
import type { DbCredentials } from '../lib/db';
import { MIGRATIONS_TABLE, type SchemaShape } from '../import/schema';

/** How the move copies: replicated while serving, or in one snapshot while suspended. */
export type CopyMode = 'replication' | 'snapshot';

/** The publication, subscription, replication slot and replication role of a tenant's move. */
export function replicationName(database: string): string {
  return `move__${database}`;
}

/**
 * Why the source (a master connection to the tenant's database on it) cannot be replicated, or undefined
 * when it can.
 */
export async function whyNotReplicable(source: ClientBase): Promise<string | undefined> {
  const { rows: level } = await source.query<{ wal_level: string }>('SHOW wal_level');
  if (level[0]?.wal_level !== 'logical')
    return `the source's wal_level is ${level[0]?.wal_level ?? 'unknown'}, not logical (on RDS: the parameter rds.logical_replication = 1, and a reboot)`;
  const { rows } = await source.query<{ table: string }>(
    `SELECT c.relname::text AS table FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind IN ('r', 'p') AND c.relname <> $1
        AND (c.relreplident = 'n'
          OR (c.relreplident = 'd' AND NOT EXISTS (
                SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
      ORDER BY 1`,
    [MIGRATIONS_TABLE],
  );
  if (rows.length > 0)
    return `table${rows.length > 1 ? 's' : ''} ${rows.map((r) => r.table).join(', ')} of the source ha${rows.length > 1 ? 've' : 's'} no primary key (no replica identity)`;
  return undefined;
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
 * that copies every table and then follows it. Made once: the target's tables are emptied first (a
 * re-run finds the subscription and leaves it, and its rows, as they are).
 */
export async function subscribe(
  target: ClientBase,
  database: string,
  tables: readonly string[],
  source: Pick<DbCredentials, 'host' | 'port'>,
  password: string,
): Promise<void> {
  const name = replicationName(database);
  const found = await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
  if (found.rowCount === 1) {
    // Made by an earlier run, whose password the publish of this run replaced.
    await target.query(
      `ALTER SUBSCRIPTION ${escapeIdentifier(name)} CONNECTION ${escapeLiteral(conninfo(source, database, name, password))}`,
    );
    return;
  }
  if (tables.length > 0)
    await target.query(`TRUNCATE ${tables.map((t) => escapeIdentifier(t)).join(', ')} RESTART IDENTITY`);
  // Outside a transaction block: it makes the replication slot on the source.
  await target.query(
    `CREATE SUBSCRIPTION ${escapeIdentifier(name)} CONNECTION ${escapeLiteral(conninfo(source, database, name, password))} PUBLICATION ${escapeIdentifier(name)}`,
  );
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

/** The subscription (and with it the slot on the source), as the target's master; nothing there: nothing done. */
export async function unsubscribe(target: ClientBase, database: string): Promise<void> {
  const name = replicationName(database);
  const found = await target.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [name]);
  if (found.rowCount === 1) await target.query(`DROP SUBSCRIPTION ${escapeIdentifier(name)}`);
}

/**
 * The source's side gone, as its master (any database of the server): a slot no subscription dropped
 * (one whose subscription failed to be made, or the target's database was lost) once it is not in use,
 * then the publication in the tenant's database and the replication role.
 */
export async function unpublish(
  sourceServer: ClientBase,
  sourceDatabase: ClientBase | undefined,
  database: string,
): Promise<void> {
  const name = replicationName(database);
  await sourceServer.query(
    'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
    [name],
  );
  if (sourceDatabase) await sourceDatabase.query(`DROP PUBLICATION IF EXISTS ${escapeIdentifier(name)}`);
  const role = await sourceServer.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  if (role.rowCount === 0) return;
  // Its grants in the tenant's database (and on it); none are left once that database is dropped.
  if (sourceDatabase) await sourceDatabase.query(`DROP OWNED BY ${escapeIdentifier(name)}`);
  await sourceServer.query(`DROP ROLE ${escapeIdentifier(name)}`);
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
