import type { ClientBase } from 'pg';
import { requiredEnv } from '../../common/env';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { finalSnapshotId, TaskEnv } from '../../common/names';
import { exportOrigin } from '../../common/offboarding';
import { hashPassword } from '../../common/passwords';
import { aws } from '../lib/aws';
import { pinnedVersion, verifiedRecordOf } from '../records/archive';
import { loadExport } from '../records/tenant-export';
import { logger } from '../lib/logger';
import { withClient } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { readTenantApiVersion } from '../lib/artifact';
import { appliedVersion, migrate, type Migration } from '../lib/migrate';
import { readTenantSecret } from '../lib/tenant-db';
import type { StepResults, TaskEvent, ValidatedTenant } from '../lib/types';
import { dumpLines } from '../import/dump';
import { loadRows, type RowSource } from '../import/load';
import { anyRows, countRows } from '../lib/rows';
import { detectVersion, requireVersion, shapeOf, shapesByVersion, UNKNOWN_TYPE } from '../import/schema';
import { readSourceSecret, sourceLabel, withSourceSnapshot } from '../import/source';

/**
 * Applies the migrations of the tenant API version "Register tenant" picked (Deploy function and Publish
 * frontend install the same version's code) to the tenant's database as the
 * tenant's own role (so the tenant owns its tables), wherever its secret says the database is (shared
 * instance or its own), and seeds the admin user with the initial password from the secret (only its
 * scrypt hash reaches the database). Until the admin changes it, a re-run sets the hash again, so the
 * secret's initial password always signs in. With `restoreFrom`, the tenant's export is loaded instead of a
 * new admin (see `restore`); with `importFrom`, the customer's current data (see `importSource`). The schema version reported is the database's own (after a release of older
 * code it is newer than the version's). Nothing to undo: dropping the database removes it all.
 */
export async function run(event: TaskEvent): Promise<StepResults['schema']> {
  const tenant = tenantOf(event);
  const version = resultOf(event, 'registration').tenantApiVersion;
  const [secret, { migrations }] = await Promise.all([
    readTenantSecret(resultOf(event, 'secret').secretArn),
    readTenantApiVersion(version),
  ]);
  const connection = {
    host: secret.host,
    port: Number(secret.port),
    database: secret.dbname,
    user: secret.username,
    password: secret.password,
  };
  // scrypt takes ~50 ms of a core: it runs while the migrations do. A secret made for a restore has no
  // initial password (its users keep theirs), so nobody is seeded when the platform re-runs this step.
  const adminHash =
    secret.adminPassword && !tenant.restoreFrom ? hashPassword(secret.adminPassword) : undefined;
  adminHash?.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  return withClient(connection, async (client) => {
    const restored = tenant.restoreFrom ? await restore(client, tenant, migrations) : undefined;
    const imported = tenant.importFrom
      ? await importSource(client, tenant, migrations, resultOf(event, 'source'))
      : undefined;
    const migrated = await migrate(client, 'tenant', migrations);
    // A restored tenant has its users, with the passwords they had.
    if (adminHash)
      await client.query(
        `INSERT INTO users (email, role, password_hash) VALUES ($1, 'admin', $2)
         ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash
         WHERE users.password_changed_at IS NULL`,
        [tenant.adminEmail, await adminHash],
      );
    return {
      schemaVersion: await appliedVersion(client),
      migrations: migrated.migrations,
      adminEmail: tenant.adminEmail,
      tenantApiVersion: version,
      ...(restored ? { restored } : {}),
      ...(imported ? { imported } : {}),
    };
  });
}

/**
 * `restoreFrom`: the export's verified record (workflow-tasks/records/archive.ts) names the version that
 * was verified and its SHA-256; that version, its hash checked first, is what is loaded, whatever was
 * written over the key since. The database is migrated to the export's schema version, then loaded with its
 * rows (workflow-tasks/records/tenant-export.ts: one transaction, checked against the manifest, sequences
 * set past the highest ids); the caller then runs the newer migrations. A re-run finds the rows loaded and
 * loads nothing again. With `fromSnapshot` the database came back with the instance, rows and all: nothing
 * is loaded, and the rows reported are the ones it has.
 */
async function restore(
  client: ClientBase,
  tenant: ValidatedTenant,
  migrations: readonly Migration[],
): Promise<NonNullable<StepResults['schema']['restored']>> {
  const key = tenant.restoreFrom ?? '';
  const Bucket = requiredEnv(TaskEnv.archiveBucket);
  const { s3 } = aws();
  const record = await verifiedRecordOf(s3, Bucket, key);
  if (record?.schemaVersion === undefined || !record.rows)
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `restoreFrom: there is no verified export ${key} (only an export its offboarding verified can be restored)`,
    );
  const { schemaVersion, rows } = record;
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (schemaVersion > known)
    throw new OnboardingError(
      PermanentErrors.ExportFromTheFuture,
      `export ${key} is at schema version ${schemaVersion}, newer than the tenant API's migrations (${known}): make a version that has them current first`,
    );
  const tables = Object.keys(rows).filter((name) => name !== 'schema_migrations');
  if (tenant.fromSnapshot) {
    const origin = exportOrigin(key);
    return {
      from: key,
      snapshot: origin ? finalSnapshotId(origin.tenantId, origin.stamp) : '',
      rows: await countRows(client, tables),
    };
  }
  const { versionId, replacedBy } = await pinnedVersion(s3, Bucket, { ...record, key });
  const replaced = replacedBy
    ? `${PermanentErrors.ExportReplaced}: ${key} was written again after it was verified (version ${replacedBy}); the verified version ${versionId} was restored`
    : undefined;
  if (replaced)
    logger.warn('restoring the verified version of a replaced export', { key, versionId, replacedBy });
  await migrate(
    client,
    'tenant',
    migrations.filter((m) => m.version <= schemaVersion),
  );
  if (!(await anyRows(client, tables)))
    await loadExport(client, { s3, Bucket, Key: key, VersionId: versionId, bytes: record.bytes });
  return { from: key, ...(versionId ? { versionId } : {}), rows, ...(replaced ? { replaced } : {}) };
}

/**
 * `importFrom`: finds the source's schema version again, against this version's migrations (the one the
 * tenant registered on; "Inspect import source" looked before anything was made), migrates the database
 * to it, and loads the source's rows, verified table by table (workflow-tasks/import/load.ts); the caller
 * then runs the newer migrations. A database is read in one snapshot, and only read; a dump is streamed
 * from the archive bucket. A re-run finds the rows loaded (they are committed only once verified) and
 * loads nothing again.
 */
async function importSource(
  client: ClientBase,
  tenant: ValidatedTenant,
  migrations: readonly Migration[],
  inspected: StepResults['source'],
): Promise<NonNullable<StepResults['schema']['imported']>> {
  const shapes = await shapesByVersion(client, migrations);
  const load = async (schemaVersion: number, source: RowSource) => {
    const shape = shapes.get(schemaVersion)!;
    await migrate(
      client,
      'tenant',
      migrations.filter((m) => m.version <= schemaVersion),
    );
    const tables = (await anyRows(client, [...shape.keys()]))
      ? Object.fromEntries(
          Object.entries(await countRows(client, [...shape.keys()])).map(([t, rows]) => [
            t,
            { rows, digest: '' },
          ]),
        )
      : await loadRows(client, source, shape);
    return { from: inspected.source, schemaVersion, tables };
  };
  const secretArn = tenant.importFrom?.sourceSecretArn;
  if (secretArn) {
    const secret = await readSourceSecret(secretArn);
    const label = sourceLabel(secret);
    return withSourceSnapshot(secret, async (source) => {
      const found = await shapeOf(source);
      // The version Inspect found (from the source's migrations table, if it has one) when it still fits.
      const schemaVersion = requireVersion(
        detectVersion(found, shapes, inspected.schemaVersion),
        `the import source ${label}`,
      );
      return load(schemaVersion, { kind: 'database', client: source, label });
    });
  }
  const key = tenant.importFrom?.dumpKey ?? '';
  const columns = new Map(
    Object.entries(inspected.tables).map(([t, cs]) => [t, new Map(cs.map((c) => [c, UNKNOWN_TYPE]))]),
  );
  const schemaVersion = requireVersion(
    detectVersion(columns, shapes, inspected.schemaVersion),
    `dump ${key}`,
  );
  return load(schemaVersion, {
    kind: 'dump',
    lines: dumpLines(aws().s3, requiredEnv(TaskEnv.archiveBucket), key),
    where: key,
  });
}
