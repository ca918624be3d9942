import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { ClientBase } from 'pg';
import { requiredEnv } from '../../common/env';
import { PlatformNames, TaskEnv } from '../../common/names';
import { aws, isNotFound } from '../lib/aws';
import { currentTenantApi, readTenantApiVersion } from '../lib/artifact';
import { withMasterClient } from '../lib/db';
import { tenantOf } from '../lib/handler';
import { countRows } from '../lib/rows';
import { getTenant } from '../records/registry';
import type { StepResults, TaskEvent } from '../lib/types';
import { dumpLines, dumpShape, scanDump } from '../import/dump';
import { columnsOf, detectVersion, requireVersion, shapeOf, shapesByVersion } from '../import/schema';
import { readSourceSecret, sourceLabel, withSourceSnapshot } from '../import/source';

/**
 * Before anything is made for an import: reads the source (one snapshot of the customer's database, or
 * the uploaded dump from its first line to its last) and finds its schema version against the migrations
 * of the version new tenants get. A source that cannot be reached, refuses the credentials, matches no
 * version, or is a dump that is cut off or holds what the rules refuse, fails here: nothing exists yet.
 * Reports the source (never its password), its version, its tables' columns and row counts.
 */
export async function run(event: TaskEvent): Promise<StepResults['source']> {
  const { importFrom } = tenantOf(event);
  const { version } = await currentTenantApi();
  const { migrations } = await readTenantApiVersion(version);
  const shapes = await withMasterClient(PlatformNames.platformDatabase, (client) =>
    shapesByVersion(client, migrations),
  );
  if (importFrom?.sourceSecretArn) {
    const secret = await readSourceSecret(importFrom.sourceSecretArn);
    const label = sourceLabel(secret);
    return withSourceSnapshot(secret, async (client) => {
      const shape = await shapeOf(client);
      const schemaVersion = requireVersion(
        detectVersion(shape, shapes, await recordedVersion(client)),
        `the import source ${label}`,
      );
      return {
        kind: 'database',
        source: label,
        schemaVersion,
        tables: columnsOf(shape),
        rows: await countRows(client, [...shape.keys()]),
      };
    });
  }
  const key = importFrom?.dumpKey ?? '';
  const scan = await scanDump(dumpLines(aws().s3, requiredEnv(TaskEnv.archiveBucket), key), key);
  const shape = dumpShape(scan);
  return {
    kind: 'dump',
    source: key,
    schemaVersion: requireVersion(detectVersion(shape, shapes, scan.recordedVersion), `dump ${key}`),
    tables: columnsOf(shape),
    rows: Object.fromEntries(scan.tables.map((t) => [t.name, t.rows])),
    ...(scan.ignored.length > 0 ? { ignored: scan.ignored } : {}),
  };
}

/**
 * Deletes the import's source credentials, at once (no recovery window): after the tenant is live, and at
 * the end of a rollback, unless another execution is importing the tenant with them. Idempotent; nothing
 * to do for a dump (it stays in the archive, like an export).
 */
export async function forget(event: TaskEvent): Promise<void> {
  const { tenantId, importFrom } = tenantOf(event);
  const arn = importFrom?.sourceSecretArn;
  if (!arn) return;
  // Two executions may carry the same credentials (an import requested twice): the one that lost the
  // tenant to the other leaves them to it.
  const holder = await getTenant(tenantId);
  if (holder?.status === 'PROVISIONING' && holder.executionArn !== event.executionArn) return;
  try {
    await aws().secrets.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** The version a source made by this platform's migrations records (none for one made the old way). */
async function recordedVersion(client: ClientBase): Promise<number | undefined> {
  const has = await client.query<{ has: boolean }>(
    `SELECT to_regclass('public.schema_migrations') IS NOT NULL AS has`,
  );
  if (!has.rows[0]?.has) return undefined;
  const { rows } = await client.query<{ version: number | null }>(
    'SELECT max(version)::int AS version FROM public.schema_migrations',
  );
  return rows[0]?.version ?? undefined;
}
