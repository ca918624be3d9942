import { withClient } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { migrate } from '../lib/migrate';
import { readTenantSecret } from '../lib/tenant-db';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Applies migrations/tenant to the tenant's database as the tenant's own role (so the tenant owns its
 * tables), wherever its secret says the database is (shared instance or its own), and seeds the admin user.
 * Nothing to undo: dropping the database removes it all.
 */
export async function run(event: TaskEvent): Promise<StepResults['schema']> {
  const tenant = tenantOf(event);
  const secret = await readTenantSecret(resultOf(event, 'secret').secretArn);
  const connection = {
    host: secret.host,
    port: Number(secret.port),
    database: secret.dbname,
    user: secret.username,
    password: secret.password,
  };
  const result = await withClient(connection, async (client) => {
    const migrated = await migrate(client, 'tenant');
    await client.query(
      `INSERT INTO users (email, role) VALUES ($1, 'admin') ON CONFLICT (email) DO NOTHING`,
      [tenant.adminEmail],
    );
    return migrated;
  });
  return { schemaVersion: result.version, migrations: result.migrations, adminEmail: tenant.adminEmail };
}
