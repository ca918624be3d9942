/**
 * `npm run bench:export`: one tenant with BENCH_EXPORT_LINES order lines (default 200,000; 4 per order) is
 * exported to the archive bucket (workflow-tasks/records/tenant-export.ts: COPY streams, gzip, S3 multipart)
 * and verified (read back and counted, then the database copied and hashed again). Prints rows/s and the
 * peak of heap and buffers during the export above what was used before (sampled every 20 ms), and the
 * restore into a new database at the same schema version (rows/s); then the same tenant offboarded through
 * the offboarding workflow and restored under another id (an onboarding with restoreFrom); then JSON.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { Client, escapeIdentifier } from 'pg';
import { tenantResourceNames } from '../common/names';
import type { TenantSecret } from '../common/tenant-secret';
import { aws } from '../workflow-tasks/lib/aws';
import { readJsonSecret } from '../workflow-tasks/lib/db';
import { migrate } from '../workflow-tasks/lib/migrate';
import { getTenant } from '../workflow-tasks/records/registry';
import { loadExport, verifyExport, writeExport } from '../workflow-tasks/records/tenant-export';
import { round, runBench, startBenchPlatform } from './platform';

const LINES = Number(process.env.BENCH_EXPORT_LINES ?? 200_000);

async function main(): Promise<void> {
  const platform = await startBenchPlatform();
  const tenantId = 'bench-export';
  await platform.onboard(tenantId);
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName);
  const connect = async (database: string) => {
    const client = new Client({
      host: secret.host,
      port: Number(secret.port),
      database,
      user: secret.username,
      password: secret.password,
    });
    await client.connect();
    return client;
  };
  const db = await connect(secret.dbname);
  let dbOpen = true;
  try {
    const orders = Math.ceil(LINES / 4);
    await db.query(`INSERT INTO products (sku, name, price_cents, stock)
      SELECT 'SKU-' || i, 'Product ' || i, i, 10 FROM generate_series(1, 1000) AS i`);
    await db.query(`INSERT INTO orders (total_cents) SELECT i FROM generate_series(1, $1::int) AS i`, [
      orders,
    ]);
    await db.query(
      `INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
       SELECT o, l, 1 + (o * l) % 1000, l, 100 FROM generate_series(1, $1::int) AS o, generate_series(1, 4) AS l`,
      [orders],
    );
    const Bucket = 'tenant-platform-archive-bench';
    await aws().s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    const target = { s3: aws().s3, Bucket, Key: `exports/${tenantId}/bench.gz` };

    // The JS heap and the buffers outside it (stream chunks, upload parts).
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = used();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, used())), 20);
    const started = Date.now();
    const { manifest, versionId, sha256 } = await writeExport(db, { tenantId, tier: 'shared' }, target);
    const exportMs = Date.now() - started;
    clearInterval(sampler);
    const verifyStarted = Date.now();
    await verifyExport(db, { ...target, VersionId: versionId, sha256 });
    const verifyMs = Date.now() - verifyStarted;
    // Restore: into a new database of the same role, migrated to the export's schema version.
    const names = tenantResourceNames(tenantId);
    const admin = new Client({ connectionString: platform.endpoints.postgres });
    await admin.connect();
    await admin
      .query(`CREATE DATABASE bench_restore OWNER ${escapeIdentifier(names.role)}`)
      .finally(() => admin.end());
    const restoreDb = await connect('bench_restore');
    let restoreMs = 0;
    try {
      await migrate(restoreDb, 'tenant');
      const restoreStarted = Date.now();
      await loadExport(restoreDb, target);
      restoreMs = Date.now() - restoreStarted;
    } finally {
      await restoreDb.end();
    }
    // The tenant's role owns it: it would stop the offboarding's DROP ROLE.
    const cleanup = new Client({ connectionString: platform.endpoints.postgres });
    await cleanup.connect();
    await cleanup.query('DROP DATABASE bench_restore').finally(() => cleanup.end());
    const rows = manifest.tables.reduce((sum, t) => sum + t.rows, 0);
    // The same tenant through the workflows: offboarded (suspend, export, verify, every removal), then
    // restored under another id from its export (an onboarding with restoreFrom). Its database is dropped:
    // this connection goes first.
    await db.end();
    dbOpen = false;
    const offboarding = await platform.run(
      platform.endpoints.offboardingStateMachineArn,
      { tenantId },
      `offboarding ${tenantId}`,
    );
    const exported = (await getTenant(tenantId))?.offboarding?.export?.key;
    if (!exported) throw new Error(`${tenantId} has no export after its offboarding`);
    const restoring = await platform.onboard('bench-restored', 'shared', { restoreFrom: exported });
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      rows,
      orderLines: manifest.tables.find((t) => t.name === 'order_lines')?.rows,
      export: { ms: exportMs, rowsPerSecond: Math.round(rows / (exportMs / 1000)) },
      verify: { ms: verifyMs, rowsPerSecond: Math.round(rows / (verifyMs / 1000)) },
      restore: { ms: restoreMs, rowsPerSecond: Math.round(rows / (restoreMs / 1000)) },
      peakMemoryAboveBaselineMiB: round((peak - baseline) / 1024 / 1024),
      offboardingWorkflow: { ms: offboarding.ms, transitions: offboarding.transitions },
      restoreWorkflow: {
        ms: restoring.ms,
        transitions: restoring.transitions,
        rowsPerSecond: Math.round(rows / (restoring.ms / 1000)),
      },
    };
    process.stdout.write(
      `\nExport of ${rows} rows (${results.orderLines} order lines)\n` +
        `export  ${exportMs} ms  ${results.export.rowsPerSecond} rows/s  peak heap+buffers +${results.peakMemoryAboveBaselineMiB} MiB\n` +
        `verify  ${verifyMs} ms  ${results.verify.rowsPerSecond} rows/s\n` +
        `restore ${restoreMs} ms  ${results.restore.rowsPerSecond} rows/s\n` +
        `offboarding workflow (suspend, export, verify, removals) ${offboarding.ms} ms, ${offboarding.transitions} transitions\n` +
        `restore workflow (an onboarding with restoreFrom) ${restoring.ms} ms  ${results.restoreWorkflow.rowsPerSecond} rows/s\n\n`,
    );
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    if (dbOpen) await db.end();
    await platform.stop();
  }
}

runBench('bench:export', main);
