import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { gatewayRequest } from '../../cli/describe';
import { finalSnapshotId, LocalPlatformNames, tenantResourceNames } from '../../common/names';
import { ArchiveKeys, exportOrigin } from '../../common/offboarding';
import type { TenantSecret } from '../../common/tenant-secret';
import { LocalGateway } from '../../local/gateway/gateway';
import type { ExecutionRecord, LocalPlatform } from '../../local/platform';
import { aws } from '../../workflow-tasks/lib/aws';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { getTenant } from '../../workflow-tasks/records/registry';
import { sha256Of } from '../../workflow-tasks/records/archive';
import type { ExportManifest } from '../../workflow-tasks/records/tenant-export';
import type { StepResults } from '../../workflow-tasks/lib/types';
import { eventSpy } from '../fixtures/event-spy';
import { tenantClient } from '../fixtures/executions';
import { seedShop } from '../fixtures/tenant-api';
import {
  adminClient,
  everythingOf,
  footprint,
  nothingOf,
  startTestPlatform,
  tenantInput,
} from '../fixtures/platform';

const shop = 'leaving-shop';
const domain = 'leaving-shop.example';
const newPassword = 'a-new-password-set-before-leaving';
let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let gateway: LocalGateway;
let gatewayUrl: string;
let spy: Awaited<ReturnType<typeof eventSpy>>;
let adminEmail = '';
/** What the API listed before the offboarding. */
let products: unknown[] = [];
let orders: { id: number; totalCents: number }[] = [];

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  gateway = new LocalGateway(platform);
  gatewayUrl = `http://127.0.0.1:${await gateway.listen(0)}`;
  spy = await eventSpy();
  const record = await platform.runExecution(tenantInput(shop, { domain }));
  if (record.status !== 'SUCCEEDED') throw new Error(`onboarding: ${record.cause ?? ''}`);
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(shop).secretName);
  adminEmail = secret.adminEmail;
  let token = await signIn(shop, secret.adminPassword!);
  const changed = await api(shop, token, '/auth/password', 'POST', {
    currentPassword: secret.adminPassword,
    newPassword,
  });
  if (changed.status !== 200 && changed.status !== 204) throw new Error(`password: ${changed.body}`);
  token = await signIn(shop, newPassword);
  await seedShop((path, method, body) => api(shop, token, path, method, body));
  products = (JSON.parse((await api(shop, token, '/products?limit=100')).body) as { items: unknown[] }).items;
  orders = (
    JSON.parse((await api(shop, token, '/orders?limit=100')).body) as {
      items: { id: number; totalCents: number }[];
    }
  ).items;
}, 180_000);

afterAll(async () => {
  spy?.close();
  await gateway?.close();
  await cleanup?.();
});

async function signIn(tenantId: string, password: string): Promise<string> {
  const login = await api(tenantId, '', '/auth/login', 'POST', { email: adminEmail, password });
  if (login.status !== 200) throw new Error(`login to ${tenantId}: ${login.status} ${login.body}`);
  return (JSON.parse(login.body) as { token: string }).token;
}

function api(tenantId: string, token: string, path: string, method = 'GET', body?: unknown) {
  return gatewayRequest(gatewayUrl, `api.${tenantId}.localhost`, path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

function offboard(tenantId: unknown): Promise<ExecutionRecord> {
  return platform.runExecution({ tenantId }, { stateMachineArn: platform.stateMachines.offboarding.arn });
}

async function readJson<T>(Key: string): Promise<T> {
  const object = await aws().s3.send(new GetObjectCommand({ Bucket: LocalPlatformNames.archiveBucket, Key }));
  return JSON.parse(await object.Body!.transformToString()) as T;
}

describe('offboarding a tenant', () => {
  let exportKey = '';
  let verifiedVersion: string | undefined;

  it('exports and verifies its data, then removes everything it had; the registry keeps where the export is', async () => {
    expect(products).toHaveLength(12);
    expect(orders).toHaveLength(8);
    const record = await offboard(shop);
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });

    expect(await footprint(platform, shop, domain)).toEqual(nothingOf('OFFBOARDED'));
    const registered = await getTenant(shop);
    expect(registered?.offboarding?.export).toMatchObject({
      bucket: LocalPlatformNames.archiveBucket,
      key: expect.stringMatching(/^exports\/leaving-shop\/\d{8}T\d{6}Z\.tenant-export\.gz$/) as string,
    });
    exportKey = registered!.offboarding!.export!.key;
    const retainUntil = Date.parse(registered!.offboarding!.export!.retainUntil);
    expect(retainUntil - Date.now()).toBeGreaterThan(89 * 86_400_000);

    const manifest = await readJson<ExportManifest>(ArchiveKeys.manifest(exportKey));
    const rows = Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows]));
    expect(rows).toMatchObject({ products: 12, orders: 8, order_lines: 16, users: 1 });
    expect(manifest).toMatchObject({
      tenantId: shop,
      tier: 'shared',
      companyName: `Company ${shop}`,
      domain,
    });
    // Pinned: the version the upload made and the SHA-256 of its bytes, in the registry and beside it.
    const pin = registered!.offboarding!.export!;
    verifiedVersion = pin.versionId;
    expect(pin.sha256).toBe(
      await sha256Of(aws().s3, LocalPlatformNames.archiveBucket, exportKey, pin.versionId),
    );
    expect(await readJson(ArchiveKeys.latest(shop))).toEqual(pin);
    expect(await readJson(ArchiveKeys.verified(exportKey))).toEqual(pin);

    const events = (await spy.events()).filter((e) => e.detail.tenantId === shop);
    expect(events.map((e) => e['detail-type'])).toContain('TenantOffboarded');
    expect(events.find((e) => e['detail-type'] === 'TenantOffboarded')?.detail).toMatchObject({
      exportKey,
    });
    // The state machine's history holds no password.
    expect(JSON.stringify(record.events)).not.toContain(newPassword);
  }, 120_000);

  it('refuses an unknown, an offboarded, a provisioning tenant and a bad input, changing nothing', async () => {
    const admin = await adminClient(platform, 'platform');
    try {
      await admin.query(
        `INSERT INTO tenants (id, status, tier, company_name, admin_email, execution_arn)
         VALUES ('half-made', 'PROVISIONING', 'shared', 'Half', 'a@half.example', 'arn:aws:states:x')`,
      );
      const before = (await admin.query('SELECT * FROM tenants ORDER BY id')).rows;
      const refusals = [
        ['no-such-shop', /there is no tenant no-such-shop/],
        [shop, /leaving-shop is OFFBOARDED; only an ACTIVE or SUSPENDED tenant can be offboarded/],
        ['half-made', /half-made is PROVISIONING/],
        ['Bad Id!', /tenantId: must be lower-case/],
        [42, /tenantId: must be a string/],
      ] as const;
      for (const [tenantId, message] of refusals) {
        const record = await offboard(tenantId);
        expect(record.status).toBe('FAILED');
        expect(record.error).toMatch(/TenantStateConflict|InvalidInput/);
        expect(record.cause).toMatch(message);
      }
      expect((await admin.query('SELECT * FROM tenants ORDER BY id')).rows).toEqual(before);
      await admin.query(`DELETE FROM tenants WHERE id = 'half-made'`);
    } finally {
      await admin.end();
    }
  }, 60_000);

  it('restores it under the same id: the same products and orders, and the password the admin had set', async () => {
    const record = await platform.runExecution(tenantInput(shop, { domain, restoreFrom: exportKey }));
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(await footprint(platform, shop, domain)).toEqual(everythingOf(true, shop));
    const token = await signIn(shop, newPassword);
    expect(JSON.parse((await api(shop, token, '/products?limit=100')).body)).toEqual({
      items: products,
      nextCursor: null,
    });
    expect(JSON.parse((await api(shop, token, '/orders?limit=100')).body)).toEqual({
      items: orders,
      nextCursor: null,
    });
    // New rows get new ids, after the restored ones.
    const created = await api(shop, token, '/products', 'POST', {
      sku: 'AFTER-1',
      name: 'After the restore',
      priceCents: 1,
      stock: 1,
    });
    expect(created.status).toBe(201);
    expect((JSON.parse(created.body) as { id: number }).id).toBeGreaterThan(
      Math.max(...products.map((p) => (p as { id: number }).id)),
    );
  }, 120_000);

  it('restores it under another id on the dedicated tier, from the verified version even after a put-object over the export', async () => {
    // What a user did by hand: the export's key written again with its first 300 bytes (a new version).
    const { s3 } = aws();
    const Bucket = LocalPlatformNames.archiveBucket;
    const whole = await (
      await s3.send(new GetObjectCommand({ Bucket, Key: exportKey }))
    ).Body!.transformToByteArray();
    const overwritten = await s3.send(
      new PutObjectCommand({ Bucket, Key: exportKey, Body: Buffer.from(whole).subarray(0, 300) }),
    );
    // And its verified record rewritten to vouch for the damage: only the first version counts.
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: ArchiveKeys.verified(exportKey),
        Body: JSON.stringify({ key: exportKey, versionId: overwritten.VersionId, sha256: 'x', rows: {} }),
      }),
    );
    const moved = 'moved-shop';
    const record = await platform.runExecution(
      tenantInput(moved, { tier: 'dedicated', restoreFrom: exportKey }),
    );
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    const restored = (record.output as { results: StepResults }).results.schema.restored;
    expect(restored).toMatchObject({
      from: exportKey,
      versionId: verifiedVersion,
      rows: { products: 12, orders: 8 },
      replaced: expect.stringContaining(
        `ExportReplaced: ${exportKey} was written again after it was verified (version ${overwritten.VersionId})`,
      ) as string,
    });
    expect((await getTenant(moved))?.tier).toBe('dedicated');
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(moved).secretName);
    // Its own PostgreSQL server, not the shared one.
    expect(Number(secret.port)).not.toBe(platform.postgres.port);
    const token = await signIn(moved, newPassword);
    const listed = JSON.parse((await api(moved, token, '/orders?limit=100')).body) as {
      items: { id: number; totalCents: number }[];
    };
    expect(listed.items.map((o) => [o.id, o.totalCents])).toEqual(orders.map((o) => [o.id, o.totalCents]));
  }, 180_000);

  it('offboards a dedicated tenant: its instance goes, after a final snapshot', async () => {
    // Something only the instance's own data has (an export carries rows, not comments): the snapshot's mark.
    const client = await tenantClient('moved-shop');
    try {
      await client.query(`COMMENT ON TABLE orders IS 'kept by the final snapshot'`);
    } finally {
      await client.end();
    }
    const record = await offboard('moved-shop');
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    expect(await footprint(platform, 'moved-shop')).toEqual(nothingOf('OFFBOARDED'));
    const removal = record.events.find(
      (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Remove database',
    );
    const output = JSON.parse(removal?.stateExitedEventDetails?.output ?? '{}') as {
      results: { database: { finalSnapshot: string } };
    };
    expect(output.results.database.finalSnapshot).toMatch(/^tenant-moved-shop-final-\d{8}t\d{6}z$/);
    // The final snapshot the README promises is one `aws rds describe-db-snapshots` finds.
    const { DBSnapshots } = await aws().rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: output.results.database.finalSnapshot }),
    );
    expect(DBSnapshots?.map((x) => [x.DBSnapshotIdentifier, x.Status])).toEqual([
      [output.results.database.finalSnapshot, 'available'],
    ]);
    const manifest = await readJson<ExportManifest>(
      ArchiveKeys.manifest((await getTenant('moved-shop'))!.offboarding!.export!.key),
    );
    expect(manifest).toMatchObject({ tenantId: 'moved-shop', tier: 'dedicated' });
    expect(manifest.tables.find((t) => t.name === 'orders')?.rows).toBe(8);
  }, 120_000);

  it('restores a dedicated tenant from its final snapshot: the instance comes back as it was, nothing loaded', async () => {
    const movedExport = (await getTenant('moved-shop'))!.offboarding!.export!.key;
    const record = await platform.runExecution(
      tenantInput('moved-shop', { tier: 'dedicated', restoreFrom: movedExport, fromSnapshot: true }),
    );
    expect({ status: record.status, cause: record.cause }).toEqual({ status: 'SUCCEEDED', cause: undefined });
    const snapshot = finalSnapshotId('moved-shop', exportOrigin(movedExport)!.stamp);
    expect((record.output as { results: StepResults }).results.schema.restored).toEqual({
      from: movedExport,
      snapshot,
      rows: { products: 12, orders: 8, order_lines: 16, users: 1 },
    });
    expect(await footprint(platform, 'moved-shop')).toMatchObject({
      instance: true,
      secret: true,
      function: true,
      registry: 'ACTIVE',
    });
    const client = await tenantClient('moved-shop');
    try {
      const comment = await client.query<{ c: string | null }>(
        `SELECT obj_description('orders'::regclass, 'pg_class') AS c`,
      );
      expect(comment.rows[0]?.c).toBe('kept by the final snapshot');
      // The snapshot was taken with the database's writes stopped (the offboarding's export): they are back.
      await client.query(`INSERT INTO products (sku, name, price_cents) VALUES ('AFTER-RESTORE', 'x', 1)`);
    } finally {
      await client.end();
    }
    // The users kept their passwords; the snapshot is still there for another day.
    const token = await signIn('moved-shop', newPassword);
    const listed = JSON.parse((await api('moved-shop', token, '/orders?limit=100')).body) as {
      items: { id: number }[];
    };
    expect(listed.items.map((o) => o.id)).toEqual(orders.map((o) => o.id));
    const { DBSnapshots } = await aws().rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshot }),
    );
    expect(DBSnapshots).toHaveLength(1);
  }, 180_000);

  it('rolls a restore back when the offboarding kept no final snapshot, naming it, with nothing left', async () => {
    // An offboarding on the shared tier keeps an export and no snapshot.
    const key = 'exports/nosnap-shop/20260101T000000Z.tenant-export.gz';
    const record = await platform.runExecution(
      tenantInput('nosnap-shop', { tier: 'dedicated', restoreFrom: key, fromSnapshot: true }),
    );
    expect({ status: record.status, error: record.error }).toEqual({
      status: 'FAILED',
      error: 'InvalidInput',
    });
    expect(record.cause).toContain(
      `fromSnapshot: the final snapshot tenant-nosnap-shop-final-20260101t000000z of the offboarding that wrote ${key} does not exist`,
    );
    expect(await footprint(platform, 'nosnap-shop')).toEqual(nothingOf('ROLLED_BACK'));
  }, 120_000);

  it('refuses an export key that does not exist, and rolls the onboarding back', async () => {
    const record = await platform.runExecution(
      tenantInput('ghost-shop', { restoreFrom: 'exports/ghost-shop/20260101T000000Z.tenant-export.gz' }),
    );
    expect(record.status).toBe('FAILED');
    expect(record.cause).toMatch(/restoreFrom: there is no verified export exports\/ghost-shop/);
    expect(await footprint(platform, 'ghost-shop')).toEqual(nothingOf('ROLLED_BACK'));
  }, 60_000);

  it('refuses an export from a schema version newer than the platform knows, naming it, and rolls back', async () => {
    const key = 'exports/future-shop/20990101T000000Z.tenant-export.gz';
    await aws().s3.send(
      new PutObjectCommand({
        Bucket: LocalPlatformNames.archiveBucket,
        Key: ArchiveKeys.verified(key),
        Body: JSON.stringify({ key, schemaVersion: 999, rows: {} }),
      }),
    );
    const record = await platform.runExecution(tenantInput('future-shop', { restoreFrom: key }));
    expect({ status: record.status, error: record.error }).toEqual({
      status: 'FAILED',
      error: 'ExportFromTheFuture',
    });
    expect(record.cause).toContain('is at schema version 999, newer than');
    expect(await footprint(platform, 'future-shop')).toEqual(nothingOf('ROLLED_BACK'));
  }, 60_000);

  it('rolls a restore from a damaged export back, naming the damage, with nothing left', async () => {
    const { s3 } = aws();
    const Bucket = LocalPlatformNames.archiveBucket;
    const whole = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket, Key: exportKey, VersionId: verifiedVersion }))
      ).Body!.transformToByteArray(),
    );
    const lines = gunzipSync(whole).toString().split('\n');
    const products = lines.findIndex((l) => l.startsWith('TABLE {"name":"products"'));
    const cases = [
      { id: 'cut-shop', body: whole.subarray(0, whole.length - 40), error: 'ExportTruncated' },
      {
        id: 'twice-shop',
        body: gzipSync(lines.toSpliced(products + 1, 0, lines[products + 1]!).join('\n')),
        error: 'ExportCorrupt',
      },
      { id: 'bomb-shop', body: gzipSync(Buffer.alloc(64 * 1024 * 1024)), error: 'ExportTooLarge' },
    ];
    for (const { id, body, error } of cases) {
      // Verified, as far as the archive says: the record's first version vouches for these bytes.
      const key = `exports/${id}/20260101T000000Z.tenant-export.gz`;
      const put = await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: body }));
      const record = {
        key,
        versionId: put.VersionId,
        sha256: createHash('sha256').update(body).digest('hex'),
        bytes: whole.length * 20,
        schemaVersion: 3,
        rows: { products: 12 },
      };
      await s3.send(
        new PutObjectCommand({ Bucket, Key: ArchiveKeys.verified(key), Body: JSON.stringify(record) }),
      );
      const run = await platform.runExecution(tenantInput(id, { restoreFrom: key }));
      expect({ id, status: run.status, error: run.error }).toEqual({ id, status: 'FAILED', error });
      expect(await footprint(platform, id)).toEqual(nothingOf('ROLLED_BACK'));
    }
  }, 120_000);
});
