import { escapeIdentifier, escapeLiteral } from 'pg';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { readCredentialsSecret, sharedDbHost, sharedDbPort, withMasterClient } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { scramSha256Verifier } from '../lib/scram';
import type { StepResults, TaskEvent } from '../lib/types';

// The maintenance database every PostgreSQL server (and RDS instance) has; DDL on databases runs there.
const MAINTENANCE_DB = 'postgres';

/**
 * Shared tier: a login role and a database it owns on the shared instance. Only that role may connect
 * (CONNECT is revoked from PUBLIC), so one tenant's credentials open no other tenant's database.
 * Re-running converges: an existing role gets the secret's password again, an existing database is kept.
 */
export async function run(event: TaskEvent): Promise<StepResults['database']> {
  const tenant = tenantOf(event);
  if (tenant.tier !== 'shared') {
    throw new OnboardingError(
      PermanentErrors.TierNotSupported,
      `tier "${tenant.tier}" is not supported yet: only "shared" tenants can be onboarded`,
    );
  }
  const { secretArn } = resultOf(event, 'secret');
  const { database, role } = tenant.names;
  const { password } = await readCredentialsSecret(secretArn);
  const verifier = escapeLiteral(scramSha256Verifier(password));
  const roleId = escapeIdentifier(role);
  const dbId = escapeIdentifier(database);

  await withMasterClient(MAINTENANCE_DB, async (client) => {
    const roleExists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (roleExists.rowCount === 0) {
      await client.query(`CREATE ROLE ${roleId} LOGIN PASSWORD ${verifier}`);
    } else {
      await client.query(`ALTER ROLE ${roleId} LOGIN PASSWORD ${verifier}`);
    }
    // A non-superuser master (as on RDS) must be a member of a role to create a database it owns.
    await client.query(`GRANT ${roleId} TO CURRENT_USER`);
    const dbExists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (dbExists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${dbId} OWNER ${roleId}`);
    }
    await client.query(`REVOKE ALL ON DATABASE ${dbId} FROM PUBLIC`);
    await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${dbId} TO ${roleId}`);
  });
  return { database, role, host: sharedDbHost(), port: sharedDbPort() };
}

/** Drops the tenant's database (closing its connections) and role; succeeds when neither exists. */
export async function undo(event: TaskEvent): Promise<void> {
  const { database, role } = tenantOf(event).names;
  await withMasterClient(MAINTENANCE_DB, async (client) => {
    const owned = await client.query(
      'SELECT 1 FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1 AND r.rolname = $2',
      [database, role],
    );
    if (owned.rowCount === 1) {
      await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`);
    }
    await client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
  });
}
