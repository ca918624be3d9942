import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { Client } from 'pg';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { migrate } from '../../workflow-tasks/lib/migrate';
import {
  loadExport,
  verifyExport,
  writeExport,
  type WrittenExport,
} from '../../workflow-tasks/records/tenant-export';
import { mutate, mutation } from '../fixtures/export-mutations';
import { adminClient, startTestPlatform } from '../fixtures/platform';

/**
 * Restore, fuzzed: random damage to a real export (test/fixtures/export-mutations.ts) loaded into a real
 * PostgreSQL database as a tenant's role would. Every run must end in a named refusal with nothing loaded,
 * or in a load that holds exactly what the manifest says; never another error, a crash or a hang.
 * `npm test` runs a fixed seed; `npm run soak` many more runs on a random seed (printed, to replay with
 * FUZZ_SEED).
 */
const SEED =
  process.env.FUZZ_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
/** A run that takes longer than this has hung. */
const DEADLINE_MS = 20_000;
const NAMED = ['ExportCorrupt', 'ExportTruncated', 'ExportMismatch', 'ExportTooLarge', 'ExportFromTheFuture'];
const Bucket = 'export-fuzz';
const ROLE = 'export_fuzz_tenant';
const PASSWORD = 'export-fuzz-password';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let original: Buffer;
let written: WrittenExport;
let target: Client | undefined;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  const admin = await adminClient(platform);
  try {
    await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
    for (const db of ['fuzz_source', 'fuzz_template'])
      await admin.query(`CREATE DATABASE ${db} OWNER ${ROLE}`);
  } finally {
    await admin.end();
  }
  const source = await connect('fuzz_source');
  try {
    await migrate(source, 'tenant');
    // Small, so that mutations land everywhere: values COPY text escapes, NULLs, rows referencing rows.
    await source.query(`INSERT INTO products (sku, name, price_cents, stock)
      SELECT 'SKU-' || i, CASE i % 3 WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'line\\nbreak' ELSE E'\\\\.' END, i, i % 4
        FROM generate_series(1, 12) AS i`);
    await source.query(`INSERT INTO orders (total_cents) SELECT i * 100 FROM generate_series(1, 6) AS i`);
    await source.query(`INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
      SELECT o, 1, o, 1, 100 FROM generate_series(1, 6) AS o`);
    await aws().s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    written = await writeExport(
      source,
      { tenantId: 'fuzz', tier: 'shared' },
      { s3: aws().s3, Bucket, Key: 'original.gz' },
    );
  } finally {
    await source.end();
  }
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const object = await aws().s3.send(new GetObjectCommand({ Bucket, Key: 'original.gz' }));
  original = Buffer.from(await object.Body!.transformToByteArray());
  const template = await connect('fuzz_template');
  await migrate(template, 'tenant').finally(() => template.end());
  await freshTarget();
}, 120_000);

afterAll(async () => {
  await target?.end();
  await cleanup?.();
});

async function connect(database: string): Promise<Client> {
  const client = new Client({
    host: platform.postgres.host,
    port: platform.postgres.port,
    database,
    user: ROLE,
    password: PASSWORD,
  });
  await client.connect();
  return client;
}

/** The database loaded into: migrated, empty (a copy of the template). */
async function freshTarget(): Promise<void> {
  await target?.end();
  const admin = await adminClient(platform);
  try {
    await admin.query('DROP DATABASE IF EXISTS fuzz_target');
    await admin.query(`CREATE DATABASE fuzz_target TEMPLATE fuzz_template OWNER ${ROLE}`);
  } finally {
    await admin.end();
  }
  target = await connect('fuzz_target');
}

/** Rows in every table but schema_migrations, and schema_migrations' own: what a failed load must not change. */
async function contents(client: Client): Promise<{ rows: number; migrations: number }> {
  const { rows } = await client.query<{ rows: number; migrations: number }>(
    `SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_lines)
            + (SELECT count(*) FROM users) AS rows, (SELECT count(*) FROM schema_migrations) AS migrations`,
  );
  return { rows: Number(rows[0]!.rows), migrations: Number(rows[0]!.migrations) };
}

function withDeadline<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([work, hung]).finally(() => clearTimeout(timer));
}

describe('restoring a damaged export (fuzzed)', () => {
  it(
    `ends every one of ${RUNS} mutated exports in a named refusal loading nothing, or in exactly the manifest`,
    async () => {
      const outcomes: Record<string, number> = {};
      let n = 0;
      console.log(`export fuzz: seed ${SEED}, ${RUNS} runs (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);
      await fc.assert(
        fc.asyncProperty(
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
          fc.boolean(),
          async (mutations, bounded) => {
            const body = mutate(original, mutations);
            const Key = `mutated/${(n += 1)}.gz`;
            const { s3 } = aws();
            await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
            const source = { s3, Bucket, Key, ...(bounded ? { bytes: written.bytes } : {}) };
            const before = await contents(target!);
            const outcome = await withDeadline(
              loadExport(target!, source).then(
                () => undefined,
                (error: Error) => error,
              ),
              'loadExport',
            );
            if (outcome === undefined) {
              // Loaded: the database holds exactly what the object's manifest says, table by table.
              const sha256 = createHash('sha256').update(body).digest('hex');
              await withDeadline(verifyExport(target!, { ...source, sha256 }), 'verifyExport');
              outcomes.loaded = (outcomes.loaded ?? 0) + 1;
              await freshTarget();
              return;
            }
            if (!NAMED.includes(outcome.name))
              throw new Error(`not a named refusal: ${outcome.name}: ${outcome.message}`);
            outcomes[outcome.name] = (outcomes[outcome.name] ?? 0) + 1;
            const after = await contents(target!);
            if (after.rows !== before.rows || after.migrations !== before.migrations)
              throw new Error(`a refused load changed the database: ${JSON.stringify({ before, after })}`);
          },
        ),
        { seed: SEED, numRuns: RUNS, endOnFailure: false },
      );
      console.log(`export fuzz outcomes: ${JSON.stringify(outcomes)}`);
      // Both kinds of ending happened: the fuzzing reached the loader, not only the decoder's first check.
      expect(Object.keys(outcomes).length).toBeGreaterThan(2);
    },
    // Up to a second a run: a soak of thousands on a busy machine.
    60_000 + RUNS * 1_000,
  );
});
