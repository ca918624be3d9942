import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadMigrations, migrate, migrationsDir } from '../../workflow-tasks/lib/migrate';
import type { LocalPlatform } from '../../local/platform';
import { adminClient, startTestPlatform } from '../fixtures/platform';

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let database = 0;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
});

afterAll(async () => {
  await cleanup();
});

/** A fresh empty database and a way to connect to it. */
async function freshDatabase(): Promise<() => Promise<Client>> {
  database += 1;
  const name = `migrations_${database}`;
  const admin = await adminClient(platform);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return async () => {
    const client = new Client({ ...platform.postgres, database: name });
    await client.connect();
    return client;
  };
}

describe('the migration runner', () => {
  it('applies each file once, in order, and records its checksum', async () => {
    const connect = await freshDatabase();
    const client = await connect();
    try {
      const first = await migrate(client, 'tenant');
      const second = await migrate(client, 'tenant');
      const files = loadMigrations(migrationsDir('tenant'));
      expect(first.applied).toEqual(first.migrations);
      expect(first.migrations).toHaveLength(files.length);
      expect(second).toEqual({ ...first, applied: [] });
      const { rows } = await client.query('SELECT version, checksum FROM schema_migrations ORDER BY version');
      expect(rows).toEqual(files.map((f) => ({ version: f.version, checksum: f.checksum })));
    } finally {
      await client.end();
    }
  });

  it('applies them once when five runners start together (advisory lock)', async () => {
    const connect = await freshDatabase();
    const clients = await Promise.all(Array.from({ length: 5 }, connect));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c, 'platform')));
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      const { rows } = await clients[0]!.query('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]).toEqual({ n: results[0]!.migrations.length });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('stops on a migration whose file changed after it was applied, and rolls back a failing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    const connect = await freshDatabase();
    const client = await connect();
    try {
      await cp(migrationsDir('tenant'), dir, { recursive: true });
      await migrate(client, 'tenant', loadMigrations(dir));
      const [first] = loadMigrations(dir);
      await writeFile(join(dir, `0001_${first!.name}.sql`), `${first!.sql}\n-- edited`);
      await expect(migrate(client, 'tenant', loadMigrations(dir))).rejects.toMatchObject({
        name: 'MigrationChecksumMismatch',
      });

      await cp(migrationsDir('tenant'), dir, { recursive: true });
      const applied = loadMigrations(dir).length;
      await writeFile(
        join(dir, `${String(applied + 1).padStart(4, '0')}_broken.sql`),
        'CREATE TABLE half_done (id int);\nSELECT no_such_function();',
      );
      await expect(migrate(client, 'tenant', loadMigrations(dir))).rejects.toMatchObject({ code: '42883' });
      const { rows } = await client.query(
        `SELECT to_regclass('half_done') AS t, (SELECT max(version) FROM schema_migrations) AS v`,
      );
      expect(rows[0]).toEqual({ t: null, v: applied });
    } finally {
      await client.end();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
