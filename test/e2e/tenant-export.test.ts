import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { ArchiveKeys } from '../../common/offboarding';
import { tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import type { LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { pinnedVersion, verifiedRecordOf } from '../../workflow-tasks/records/archive';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { migrate } from '../../workflow-tasks/lib/migrate';
import {
  loadExport,
  readExport,
  verifyExport,
  writeExport,
  type WrittenExport,
} from '../../workflow-tasks/records/tenant-export';
import { adminClient, startTestPlatform, tenantInput } from '../fixtures/platform';

const tenantId = 'export-shop';
const Bucket = 'tenant-export-test';
let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let db: Client;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  const record = await platform.runExecution(tenantInput(tenantId));
  if (record.status !== 'SUCCEEDED') throw new Error(`onboarding: ${record.cause ?? ''}`);
  // Versioned, as the archive bucket is: every export names the version it made.
  await aws().s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName);
  db = new Client({
    host: secret.host,
    port: Number(secret.port),
    database: secret.dbname,
    user: secret.username,
    password: secret.password,
  });
  await db.connect();
  // Values that COPY text must escape: tabs, newlines, backslashes, a lone "\.", NULLs.
  await db.query(`INSERT INTO products (sku, name, price_cents, stock)
    SELECT 'SKU-' || i, CASE i % 4 WHEN 0 THEN E'tab\\there' WHEN 1 THEN E'line\\nbreak' WHEN 2 THEN E'\\\\.' ELSE 'plain ' || i END,
           i * 10, i % 7 FROM generate_series(1, 300) AS i`);
  await db.query(`INSERT INTO orders (total_cents) SELECT i FROM generate_series(1, 2000) AS i`);
  await db.query(`INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
    SELECT o, l, 1 + (o * l) % 300, 1 + l, 100 FROM generate_series(1, 2000) AS o, generate_series(1, 3) AS l`);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await cleanup?.();
});

/** A new database owned by the tenant's role, migrated and empty, connected as the tenant. */
async function emptyTenantDatabase(database: string): Promise<Client> {
  const names = tenantResourceNames(tenantId);
  const admin = await adminClient(platform);
  try {
    await admin.query(`CREATE DATABASE ${database} OWNER ${names.role}`);
  } finally {
    await admin.end();
  }
  const secret = await readJsonSecret<TenantSecret>(names.secretName);
  const client = new Client({
    host: secret.host,
    port: Number(secret.port),
    database,
    user: secret.username,
    password: secret.password,
  });
  await client.connect();
  await migrate(client, 'tenant');
  return client;
}

describe('a tenant export', () => {
  const target = () => ({ s3: aws().s3, Bucket, Key: `exports/${tenantId}/1.gz` });
  let written: WrittenExport;
  /** The version written, with the hash of its bytes: what verifying reads back. */
  const pinned = () => ({ ...target(), VersionId: written.versionId, sha256: written.sha256 });

  it('holds every table as COPY rows with a manifest of counts and checksums, and verifies against the database', async () => {
    written = await writeExport(db, { tenantId, tier: 'shared' }, target());
    const { manifest } = written;
    expect(written.sha256).toMatch(/^[0-9a-f]{64}$/);
    const counts = Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows]));
    expect(counts).toMatchObject({
      products: 300,
      orders: 2000,
      order_lines: 6000,
      users: 1,
      schema_migrations: 3,
    });
    expect(manifest).toMatchObject({ format: 'tenant-export/1', tenantId, tier: 'shared', schemaVersion: 3 });
    const { found, sha256 } = await readExport(target());
    expect(found).toEqual(manifest.tables);
    expect(sha256).toBe(written.sha256);
    await expect(verifyExport(db, pinned())).resolves.toEqual(manifest);
  }, 60_000);

  it('refuses an export that no longer matches the database, naming the table', async () => {
    await db.query(`UPDATE products SET stock = stock + 1 WHERE id = 7`);
    await expect(verifyExport(db, pinned())).rejects.toMatchObject({
      name: 'ExportMismatch',
      message: expect.stringContaining('in the database, table products has 300 rows') as string,
    });
    await db.query(`UPDATE products SET stock = stock - 1 WHERE id = 7`);
    await expect(verifyExport(db, pinned())).resolves.toBeDefined();
  }, 60_000);

  it('refuses an object version whose bytes are not those written', async () => {
    await expect(verifyExport(db, { ...pinned(), sha256: '0'.repeat(64) })).rejects.toMatchObject({
      name: 'ExportMismatch',
      message: expect.stringContaining('is not the one written') as string,
    });
  }, 60_000);

  it('refuses an object that is not what its manifest says', async () => {
    const { s3 } = aws();
    const cut = 'TENANT-EXPORT 1\nTABLE {"name":"orders","columns":["id"]}\n1\n';
    const { gzipSync } = await import('node:zlib');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'exports/cut.gz', Body: gzipSync(cut) }));
    await expect(verifyExport(db, { s3, Bucket, Key: 'exports/cut.gz', sha256: '' })).rejects.toMatchObject({
      name: 'ExportTruncated',
      message: 'export exports/cut.gz is truncated: table orders is cut off',
    });
  }, 60_000);

  it('names what is wrong with a damaged object, never with a zlib message alone', async () => {
    const { s3 } = aws();
    const whole = Buffer.from(
      await (await s3.send(new GetObjectCommand(target()))).Body!.transformToByteArray(),
    );
    const { gzipSync } = await import('node:zlib');
    const cases = [
      { body: whole.subarray(0, 300), name: 'ExportTruncated', says: 'its gzip stream ends early' },
      { body: whole.subarray(0, 5), name: 'ExportTruncated', says: 'its gzip stream ends early' },
      {
        body: Buffer.from('this is not gzip at all'),
        name: 'ExportCorrupt',
        says: 'not a valid gzip stream',
      },
      { body: gzipSync('something else entirely\n'), name: 'ExportMismatch', says: 'export header' },
      {
        body: gzipSync('TENANT-EXPORT 1\nTABLE {"name":\n'),
        name: 'ExportCorrupt',
        says: 'a header line is not JSON',
      },
      { body: gzipSync('TENANT-EXPORT 1\n'), name: 'ExportTruncated', says: 'ends before its manifest' },
    ];
    for (const [i, { body, name, says }] of cases.entries()) {
      const Key = `exports/damaged-${i}.gz`;
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
      const refused = await readExport({ s3, Bucket, Key }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect({ i, name: refused?.name, message: refused?.message }).toEqual({
        i,
        name,
        message: expect.stringContaining(says) as string,
      });
    }
  }, 60_000);

  it('refused at its first line, leaves no stream behind to fail later (found by the fuzz test)', async () => {
    const { s3 } = aws();
    // Not an export, and truncated at its end: the decoder finds the truncation after the refusal.
    const { randomBytes } = await import('node:crypto');
    const whole = gzipSync(Buffer.concat([Buffer.from('not an export\n'), randomBytes(1024)]));
    const Key = 'exports/refused-early.gz';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: whole.subarray(0, whole.length - 10) }));
    await expect(readExport({ s3, Bucket, Key })).rejects.toMatchObject({ name: 'ExportMismatch' });
    // An 'error' nobody listens for would surface here, failing this test, as it took the platform down.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }, 60_000);

  it('a load cut off inside a COPY fails with ExportTruncated and leaves the connection usable', async () => {
    const { s3 } = aws();
    const whole = Buffer.from(
      await (await s3.send(new GetObjectCommand(target()))).Body!.transformToByteArray(),
    );
    const Key = 'exports/cut-inside-copy.gz';
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: whole.subarray(0, whole.length / 2) }));
    const copy = await emptyTenantDatabase('export_cut');
    try {
      await expect(loadExport(copy, { s3, Bucket, Key })).rejects.toMatchObject({ name: 'ExportTruncated' });
      // Rolled back: nothing was loaded, and the connection answers.
      const { rows } = await copy.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await copy.end();
    }
  }, 60_000);

  it('refuses every export the schema or its own manifest contradicts, by name, loading nothing', async () => {
    const { s3 } = aws();
    const text = gunzipSync(
      await (await s3.send(new GetObjectCommand(target()))).Body!.transformToByteArray(),
    ).toString();
    const lines = text.split('\n');
    const edit = (change: (lines: string[]) => string[]) => gzipSync(change([...lines]).join('\n'));
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    const products = at('TABLE {"name":"products"');
    const manifest = JSON.parse(lines[at('MANIFEST ')]!.slice(9)) as {
      tables: { name: string; rows: number }[];
    };
    const lying = { ...manifest, tables: manifest.tables.map((t) => ({ ...t, rows: t.rows + 1 })) };
    const cases = [
      {
        what: 'a manifest that lies about counts',
        body: edit((l) =>
          l.map((line) => (line.startsWith('MANIFEST ') ? `MANIFEST ${JSON.stringify(lying)}` : line)),
        ),
        name: 'ExportMismatch',
        says: 'in the object, table order_lines has 6000 rows',
      },
      {
        what: 'a table the schema does not have',
        body: edit(
          (l) => (l.splice(products, 0, 'TABLE {"name":"pg_shadow","columns":["x"]}', '1', '\\.'), l),
        ),
        name: 'ExportMismatch',
        says: 'table pg_shadow not in the schema at version 3',
      },
      {
        what: 'a column outside the schema',
        body: edit((l) => ((l[products] = l[products]!.replace('"sku"', '"is_superuser"')), l)),
        name: 'ExportMismatch',
        says: 'column(s) is_superuser of table products not in the schema',
      },
      {
        what: 'rows that break a constraint (a primary key twice)',
        body: edit((l) => (l.splice(products + 1, 0, l[products + 1]!), l)),
        name: 'ExportCorrupt',
        says: 'the rows of table products do not fit its schema (23505',
      },
      {
        what: 'a value of the wrong type',
        body: edit((l) => ((l[products + 1] = l[products + 1]!.replace(/^\d+/, 'one')), l)),
        name: 'ExportCorrupt',
        says: 'the rows of table products do not fit its schema (22P02',
      },
      {
        what: 'a TABLE line of the wrong shape',
        body: edit((l) => ((l[products] = 'TABLE {"name":["products"],"columns":"id"}'), l)),
        name: 'ExportCorrupt',
        says: 'a TABLE line is not',
      },
      {
        what: 'a manifest without its table list',
        body: edit((l) =>
          l.map((line) => (line.startsWith('MANIFEST ') ? 'MANIFEST {"format":"tenant-export/1"}' : line)),
        ),
        name: 'ExportCorrupt',
        says: 'its manifest has no schema version',
      },
    ];
    const copy = await emptyTenantDatabase('export_cases');
    try {
      for (const [i, { what, body, name, says }] of cases.entries()) {
        const Key = `exports/contradicted-${i}.gz`;
        await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
        const refused = await loadExport(copy, { s3, Bucket, Key }).then(
          () => undefined,
          (error: Error) => error,
        );
        expect({ what, name: refused?.name, message: refused?.message }).toEqual({
          what,
          name,
          message: expect.stringContaining(says) as string,
        });
        const { rows } = await copy.query<{ n: number }>('SELECT count(*)::int AS n FROM products');
        expect({ what, rows }).toEqual({ what, rows: [{ n: 0 }] });
      }
    } finally {
      await copy.end();
    }
  }, 60_000);

  it('stops a 10 GB gzip bomb at the size the export was written with: ExportTooLarge', async () => {
    const { s3 } = aws();
    // 160 gzip members of 64 MiB of zeros each (a reader decodes them one after another): 10 GiB, 10 MB sent.
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const Key = 'exports/bomb.gz';
    await s3.send(
      new PutObjectCommand({ Bucket, Key, Body: Buffer.concat(Array(160).fill(member) as Buffer[]) }),
    );
    const started = Date.now();
    await expect(readExport({ s3, Bucket, Key, bytes: written.bytes })).rejects.toMatchObject({
      name: 'ExportTooLarge',
      message: `export ${Key} is too large: it decodes to more than the ${written.bytes} bytes it was written with`,
    });
    // Printed, not asserted: a bomb costs what the real export would.
    console.log(
      `gzip bomb (10 GiB decoded) refused after ${Date.now() - started} ms; bound ${written.bytes} bytes`,
    );
  }, 60_000);

  it('loads into an empty database at its schema version: the same rows, and new rows get new ids', async () => {
    const copy = await emptyTenantDatabase('export_copy');
    try {
      const manifest = await loadExport(copy, target());
      // The copy is what the export holds, table by table, checksums included.
      await expect(verifyExport(copy, pinned())).resolves.toEqual(manifest);
      const created = await copy.query<{ id: string }>(
        `INSERT INTO products (sku, name, price_cents) VALUES ('NEW-1', 'New', 1) RETURNING id`,
      );
      expect(created.rows).toEqual([{ id: '301' }]);
      const order = await copy.query<{ id: string }>(
        `INSERT INTO orders (total_cents) VALUES (1) RETURNING id`,
      );
      expect(order.rows).toEqual([{ id: '2001' }]);
    } finally {
      await copy.end();
    }
  }, 60_000);
});

describe('the version of an export a restore reads', () => {
  const Key = `exports/${tenantId}/20260101T000000Z.tenant-export.gz`;

  it('is the one with the verified bytes: by its recorded id, by its hash when the id is gone, else ExportReplaced', async () => {
    const { s3 } = aws();
    const good = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'the verified bytes' }));
    const evil = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'written over it' }));
    const sha256 = createHash('sha256').update('the verified bytes').digest('hex');
    const record = { key: Key, versionId: good.VersionId!, sha256 };
    await expect(pinnedVersion(s3, Bucket, record)).resolves.toEqual({
      versionId: good.VersionId,
      replacedBy: evil.VersionId,
    });
    // The id a local restart does not keep: the same bytes are found among the key's versions.
    await expect(pinnedVersion(s3, Bucket, { ...record, versionId: 'gone' })).resolves.toEqual({
      versionId: good.VersionId,
      replacedBy: evil.VersionId,
    });
    await expect(pinnedVersion(s3, Bucket, { ...record, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      name: 'ExportReplaced',
      message: expect.stringContaining("none of the key's 2 version(s) has its bytes") as string,
    });
  }, 60_000);

  it("is named by the first version of the export's verified record, never by one written after it", async () => {
    const { s3 } = aws();
    const recordKey = ArchiveKeys.verified(Key);
    await s3.send(
      new PutObjectCommand({ Bucket, Key: recordKey, Body: JSON.stringify({ key: Key, sha256: 'a' }) }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket, Key: recordKey, Body: JSON.stringify({ key: Key, sha256: 'b' }) }),
    );
    await expect(verifiedRecordOf(s3, Bucket, Key)).resolves.toEqual({ key: Key, sha256: 'a' });
    await expect(
      verifiedRecordOf(s3, Bucket, `exports/${tenantId}/20250101T000000Z.tenant-export.gz`),
    ).resolves.toBeUndefined();
  }, 60_000);
});
