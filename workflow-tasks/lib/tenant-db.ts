import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { escapeIdentifier, escapeLiteral, type ClientBase } from 'pg';
import { tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import { awsIn } from './aws';
import { readJsonSecret, withClient } from './db';
import { scramSha256Verifier } from './scram';

/** The tenant's secret, by its ARN (read in the account it names), or by name in the platform's account. */
export function readTenantSecret(secretArn: string): Promise<TenantSecret> {
  return readJsonSecret<TenantSecret>(secretArn);
}

/** The tenant's secret by its name, in the account of its cell (undefined: the platform's). */
export function tenantSecretIn(tenantId: string, cellAccount: string | undefined): Promise<TenantSecret> {
  return readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName, cellAccount);
}

/** Points the tenant's secret (in its cell's account) at `server`, unless it names it already. */
export async function pointTenantSecretAt(
  tenantId: string,
  cellAccount: string | undefined,
  { host, port }: { host: string; port: number },
): Promise<void> {
  const secret = await tenantSecretIn(tenantId, cellAccount);
  if (secret.host === host && Number(secret.port) === port) return;
  await awsIn(cellAccount).secrets.send(
    new PutSecretValueCommand({
      SecretId: tenantResourceNames(tenantId).secretName,
      SecretString: JSON.stringify({ ...secret, host, port }),
    }),
  );
}

/**
 * Runs `fn` on a connection to the tenant's database as the tenant's own role (it owns every table), wherever
 * its secret says the database is (the shared instance or its own). The secret is in the account of the
 * tenant's cell (`cellAccount`, undefined for the platform's: common/cells.ts).
 */
export async function withTenantDatabase<T>(
  tenantId: string,
  cellAccount: string | undefined,
  fn: (client: ClientBase) => Promise<T>,
): Promise<T> {
  const secret = await tenantSecretIn(tenantId, cellAccount);
  return withClient(
    {
      host: secret.host,
      port: Number(secret.port),
      database: secret.dbname,
      user: secret.username,
      password: secret.password,
    },
    fn,
  );
}

/** How many connections a tenant's role may open: `connectionsPerTenant` on a shared instance. */
export type ConnectionLimit = number | 'unlimited';

/**
 * Stops (`writable` false) or lets again every write to the tenant's database, as the tenant's own role (it
 * owns the database, so no master is needed): new sessions start read-only (`default_transaction_read_only`)
 * and every other open session of the role is ended, so no transaction begun before goes on writing (a
 * request still running on the version before a suspension fails instead), and a warm function's pool
 * opens new sessions, which get the setting as it now is. Idempotent.
 */
export async function setTenantWritable(
  tenantId: string,
  cellAccount: string | undefined,
  writable: boolean,
): Promise<void> {
  await withTenantDatabase(tenantId, cellAccount, async (client) => {
    const database = escapeIdentifier(tenantResourceNames(tenantId).database);
    // This session started read-only too when writes were stopped already.
    await client.query('SET default_transaction_read_only = off');
    await client.query(
      writable
        ? `ALTER DATABASE ${database} RESET default_transaction_read_only`
        : `ALTER DATABASE ${database} SET default_transaction_read_only = on`,
    );
    await client.query(
      `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
        WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()`,
    );
  });
}

/**
 * Gives the tenant a login role with the secret's password and `connectionLimit`, and a database it owns,
 * which only that role may connect to (CONNECT revoked from PUBLIC). `client` is a master connection to the
 * server. Re-running converges: an existing role gets the password and limit again, an existing database is
 * kept. The password reaches the server only as a SCRAM verifier, never in plain text in a statement. It
 * may still be on its way (a secret being read): the role is made first without a login, and gets its
 * login and password last, so the database is created meanwhile.
 */
export async function ensureTenantDatabase(
  client: ClientBase,
  names: { role: string; database: string },
  password: string | Promise<string>,
  connectionLimit: ConnectionLimit,
): Promise<void> {
  await underTenantLock(client, names.role, () =>
    makeTenantDatabase(client, names, password, connectionLimit),
  );
}

async function makeTenantDatabase(
  client: ClientBase,
  names: { role: string; database: string },
  password: string | Promise<string>,
  connectionLimit: ConnectionLimit,
): Promise<void> {
  const roleId = escapeIdentifier(names.role);
  const dbId = escapeIdentifier(names.database);
  const limit = connectionLimit === 'unlimited' ? -1 : connectionLimit;
  if (!Number.isInteger(limit) || limit < -1) throw new Error(`connection limit ${limit} is not a count`);
  const roleExists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [names.role]);
  if (roleExists.rowCount === 0) await client.query(`CREATE ROLE ${roleId} NOLOGIN`);
  // A non-superuser master (as on RDS) must be a member of a role to make it a database's owner.
  await client.query(`GRANT ${roleId} TO CURRENT_USER`);
  const dbExists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [names.database]);
  if (dbExists.rowCount === 0) await client.query(`CREATE DATABASE ${dbId} OWNER ${roleId}`);
  else {
    await client.query(`ALTER DATABASE ${dbId} OWNER TO ${roleId}`);
    // One restored from an offboarding's final snapshot was taken with its writes stopped.
    await client.query(`ALTER DATABASE ${dbId} RESET default_transaction_read_only`);
  }
  await client.query(`REVOKE ALL ON DATABASE ${dbId} FROM PUBLIC`);
  await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${dbId} TO ${roleId}`);
  const verifier = escapeLiteral(scramSha256Verifier(await password));
  await client.query(`ALTER ROLE ${roleId} LOGIN CONNECTION LIMIT ${limit} PASSWORD ${verifier}`);
}

/**
 * Drops the tenant's database (closing its connections) and role on `client`'s server (a master
 * connection); a database of that name the role does not own is left alone. Nothing there: nothing done.
 */
export async function dropTenantDatabase(
  client: ClientBase,
  names: { role: string; database: string },
): Promise<void> {
  await underTenantLock(client, names.role, async () => {
    const owned = await client.query(
      'SELECT 1 FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1 AND r.rolname = $2',
      [names.database, names.role],
    );
    if (owned.rowCount === 1)
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(names.database)} WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(names.role)}`);
  });
}

/**
 * Runs `fn` holding the tenant's DDL lock on `client`'s server (a session lock: DROP DATABASE runs outside
 * a transaction). A step retried after a timeout may still be running: two DROP ROLEs of one role at once
 * fail inside PostgreSQL ("could not find tuple for role"), so they take turns, and the second finds
 * nothing left to do.
 */
export async function underTenantLock<T>(client: ClientBase, role: string, fn: () => Promise<T>): Promise<T> {
  const key = `tenant-ddl:${role}`;
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [key]);
  try {
    return await fn();
  } finally {
    // A connection that broke has lost the lock with its session; the error that broke it is fn's.
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
  }
}
