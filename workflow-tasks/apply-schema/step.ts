import { hashPassword } from '../../common/passwords';
import { withClient } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { currentTenantApi, readTenantApiVersion } from '../lib/artifact';
import { appliedVersion, migrate } from '../lib/migrate';
import { readTenantSecret } from '../lib/tenant-db';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Applies the migrations of the platform's current tenant API version (the one new tenants start on: Deploy
 * function and Publish frontend follow the version this step reports) to the tenant's database as the
 * tenant's own role (so the tenant owns its tables), wherever its secret says the database is (shared
 * instance or its own), and seeds the admin user with the initial password from the secret (only its
 * scrypt hash reaches the database). Until the admin changes it, a re-run sets the hash again, so the
 * secret's initial password always signs in. Nothing to undo: dropping the database removes it all.
 */
export async function run(event: TaskEvent): Promise<StepResults['schema']> {
  return applySchemaAt(event, (await currentTenantApi()).version);
}

/**
 * The same at a given version: a restored tenant gets back the version the ledger says it runs. The schema
 * version reported is the database's own (after a release of older code it is newer than the version's).
 */
export async function applySchemaAt(event: TaskEvent, version: string): Promise<StepResults['schema']> {
  const tenant = tenantOf(event);
  const secret = await readTenantSecret(resultOf(event, 'secret').secretArn);
  const connection = {
    host: secret.host,
    port: Number(secret.port),
    database: secret.dbname,
    user: secret.username,
    password: secret.password,
  };
  const { migrations } = await readTenantApiVersion(version);
  return withClient(connection, async (client) => {
    const migrated = await migrate(client, 'tenant', migrations);
    await client.query(
      `INSERT INTO users (email, role, password_hash) VALUES ($1, 'admin', $2)
       ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash
       WHERE users.password_changed_at IS NULL`,
      [tenant.adminEmail, await hashPassword(secret.adminPassword)],
    );
    return {
      schemaVersion: await appliedVersion(client),
      migrations: migrated.migrations,
      adminEmail: tenant.adminEmail,
      tenantApiVersion: version,
    };
  });
}
