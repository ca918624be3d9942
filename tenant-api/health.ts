import { json, type ApiResponse } from './http';
import type { Health } from './schemas';
import type { Tenant } from './tenant';

/** `GET /health`: whether the tenant's own database answers, and at which schema version (503 if not). */
export async function health(tenant: Tenant): Promise<ApiResponse> {
  const suspended = tenant.config.suspended === true;
  let body: Health;
  try {
    const version = await tenant.withClient(
      async (client) =>
        (
          await client.query<{ version: number | null }>(
            'SELECT max(version) AS version FROM schema_migrations',
          )
        ).rows[0]?.version ?? null,
    );
    body = { tenantId: tenant.id, database: 'ok', schemaVersion: version, suspended };
  } catch {
    body = { tenantId: tenant.id, database: 'unreachable', schemaVersion: null, suspended };
  }
  return json(body.database === 'ok' ? 200 : 503, body);
}
