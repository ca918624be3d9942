import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { startServer, type PostgresServer } from '../../local/rds/postgres';
import { serverFiles } from '../../local/rds/server-files';
import { waitFor } from '../../local/processes/ports';
import { shapeOf } from '../../workflow-tasks/import/schema';
import { migrate } from '../../workflow-tasks/lib/migrate';
import { ensureTenantDatabase } from '../../workflow-tasks/lib/tenant-db';
import {
  caughtUp,
  copyProgress,
  publish,
  replicationName,
  serverDigests,
  subscribe,
  unpublish,
  unsubscribe,
  whyNotReplicable,
} from '../../workflow-tasks/move/replication';
import { makeStateDir } from '../fixtures/state-dir';

/**
 * A move's copy while the tenant serves (workflow-tasks/move/replication.ts), between two real PostgreSQL
 * servers as the local platform runs them (wal_level logical): the target follows every write, a re-run
 * changes nothing, and nothing of the replication is left on either side afterwards.
 */
const PASSWORD = 'master-password';
const TENANT_PASSWORD = 'tenant-password';
const names = { role: 'rp_shop', database: 'rp_shop' };
let stateDir: string;
let source: PostgresServer;
let target: PostgresServer;

const master = (server: PostgresServer, database = 'postgres'): ClientConfig => ({
  host: '127.0.0.1',
  port: server.port,
  user: 'postgres',
  password: PASSWORD,
  database,
});
const asTenant = (server: PostgresServer): ClientConfig => ({
  ...master(server, names.database),
  user: names.role,
  password: TENANT_PASSWORD,
});

async function withClient<T>(config: ClientConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  stateDir = await makeStateDir('replication');
  const files = await serverFiles(stateDir);
  const start = (name: string) =>
    startServer({ files, dataDir: join(files.dataRoot, name), superuser: 'postgres', password: PASSWORD });
  try {
    [source, target] = await Promise.all([start('source'), start('target')]);
  } catch (error) {
    await Promise.all([source?.stop(), target?.stop()]);
    throw error;
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  await rm(stateDir, { recursive: true, force: true });
});

/** A tenant's database on `server`, migrated, as a move's prepare makes it. */
async function tenantDatabase(server: PostgresServer): Promise<void> {
  await withClient(master(server), (c) => ensureTenantDatabase(c, names, TENANT_PASSWORD, 5));
  await withClient(asTenant(server), (c) => migrate(c, 'tenant'));
}

async function addOrders(server: PostgresServer, count: number, from: number): Promise<void> {
  await withClient(asTenant(server), async (c) => {
    await c.query(
      `INSERT INTO users (email, role, password_hash) SELECT 'u' || g || '@example.com', 'staff', 'x' FROM generate_series($1::int, $2::int) g`,
      [from, from + count - 1],
    );
    await c.query(
      `INSERT INTO orders (total_cents, created_by) SELECT g, (SELECT min(id) FROM users) FROM generate_series(1, $1::int) g`,
      [count],
    );
  });
}

async function leftOnSource(): Promise<{ slots: number; publications: number; roles: number }> {
  const name = replicationName(names.database);
  const slots = await withClient(master(source), (c) =>
    c.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name]),
  );
  const roles = await withClient(master(source), (c) =>
    c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]),
  );
  const publications = await withClient(master(source, names.database), (c) =>
    c.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]),
  );
  return { slots: slots.rowCount ?? 0, publications: publications.rowCount ?? 0, roles: roles.rowCount ?? 0 };
}

async function subscriptionsOnTarget(): Promise<number> {
  const { rowCount } = await withClient(master(target, names.database), (c) =>
    c.query('SELECT 1 FROM pg_subscription WHERE subname = $1', [replicationName(names.database)]),
  );
  return rowCount ?? 0;
}

async function digests(server: PostgresServer) {
  return withClient(master(server, names.database), async (c) => {
    await c.query('BEGIN');
    try {
      return await serverDigests(c, await shapeOf(c));
    } finally {
      await c.query('COMMIT');
    }
  });
}

const tablesOf = async (server: PostgresServer) => [
  ...(await withClient(master(server, names.database), shapeOf)).keys(),
];
const whyNot = (server: PostgresServer) =>
  withClient(master(server, names.database), async (c) =>
    whyNotReplicable(c, [...(await shapeOf(c)).keys()]),
  );

/** "Copy while serving"'s first round: the source publishes (a fresh password), the target subscribes. */
async function subscribeNow(): Promise<void> {
  const tables = await tablesOf(source);
  const password = await withClient(master(source, names.database), (c) => publish(c, names, tables));
  await withClient(master(source), (server) =>
    withClient(master(target, names.database), (c) =>
      subscribe(c, server, {
        database: names.database,
        tables,
        source: { host: '127.0.0.1', port: source.port },
        password,
      }),
    ),
  );
}

async function everyTableCopied(): Promise<void> {
  const tables = (await tablesOf(source)).length;
  await waitFor(
    'every table to be copied',
    async () => {
      const progress = await withClient(master(target, names.database), (c) =>
        copyProgress(c, names.database),
      );
      return progress.tables === tables && progress.ready === tables;
    },
    60_000,
  );
}

/** The source's side dropped, retried while a slot is still in use (ResourceNotReady), as the undo is. */
async function unpublishAll(): Promise<void> {
  await waitFor(
    'the source side to be dropped',
    async () => {
      try {
        await withClient(master(source), (server) =>
          withClient(master(source, names.database), (db) => unpublish(server, db, names.database)),
        );
        return true;
      } catch (error) {
        if ((error as Error).name !== 'ResourceNotReady') throw error;
        return false;
      }
    },
    30_000,
  );
}

it('the target copies every table, follows each write made meanwhile, and nothing is left after', async () => {
  await tenantDatabase(source);
  await tenantDatabase(target);
  await addOrders(source, 500, 1);
  // The target's own rows (its migrations may seed some) are replaced by the source's.
  await addOrders(target, 3, 9000);

  expect(await whyNot(source)).toBeUndefined();
  await subscribeNow();
  await everyTableCopied();
  // Written while "serving": updates, deletes and inserts all arrive.
  await addOrders(source, 200, 501);
  await withClient(asTenant(source), async (c) => {
    await c.query(`UPDATE orders SET status = 'CANCELLED', cancelled_at = now() WHERE id % 7 = 0`);
    await c.query(`DELETE FROM orders WHERE id % 11 = 0`);
  });
  // A re-run of the step (after a timeout): the same subscription, its rows not emptied again, and it
  // follows on with the password the re-run set.
  await subscribeNow();
  expect(await subscriptionsOnTarget()).toBe(1);
  await addOrders(source, 10, 701);

  expect(await withClient(master(source, names.database), (c) => caughtUp(c, names.database, 30_000))).toBe(
    true,
  );
  const [read, written] = await Promise.all([digests(source), digests(target)]);
  expect(written).toEqual(read);
  expect(read.orders?.rows).toBe(710 - Math.floor(700 / 11));

  // The source side cannot go while the subscription's slot is in use.
  await expect(
    withClient(master(source), (server) => unpublish(server, undefined, names.database)),
  ).rejects.toMatchObject({ name: 'ResourceNotReady' });
  await withClient(master(target, names.database), (c) => unsubscribe(c, names.database));
  await unpublishAll();
  expect(await subscriptionsOnTarget()).toBe(0);
  expect(await leftOnSource()).toEqual({ slots: 0, publications: 0, roles: 0 });
  // Done twice: nothing to do.
  await withClient(master(target, names.database), (c) => unsubscribe(c, names.database));
  await withClient(master(source), (server) => unpublish(server, undefined, names.database));
}, 120_000);

it('a subscription whose source refuses it is dropped without its slot, which the source side then drops', async () => {
  await subscribeNow();
  await everyTableCopied();
  // The replication role's password no longer matches the subscription's (or the source is unreachable).
  const name = replicationName(names.database);
  await withClient(master(source), (c) => c.query(`ALTER ROLE ${name} PASSWORD 'not-the-subscription-one'`));
  await withClient(master(source), (c) =>
    c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [name]),
  );
  await withClient(master(target, names.database), (c) => unsubscribe(c, names.database));
  expect(await subscriptionsOnTarget()).toBe(0);
  // Its slot could not be dropped from the target: it is still on the source.
  expect((await leftOnSource()).slots).toBe(1);
  await unpublishAll();
  expect(await leftOnSource()).toEqual({ slots: 0, publications: 0, roles: 0 });
}, 120_000);

it('a slot whose subscription is gone is dropped: by the next subscription made, and by the source side', async () => {
  const name = replicationName(names.database);
  // Left by a subscription lost without dropping its slot (its database dropped another way, say).
  const leaveSlot = () =>
    withClient(master(source, names.database), (c) =>
      c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [name]),
    );
  await leaveSlot();
  await subscribeNow();
  await everyTableCopied();
  await withClient(master(target, names.database), (c) => unsubscribe(c, names.database));
  await unpublishAll();
  expect(await leftOnSource()).toEqual({ slots: 0, publications: 0, roles: 0 });

  await leaveSlot();
  expect((await leftOnSource()).slots).toBe(1);
  await unpublishAll();
  expect(await leftOnSource()).toEqual({ slots: 0, publications: 0, roles: 0 });
  await withClient(master(source), (c) => c.query(`DROP DATABASE ${names.database} WITH (FORCE)`));
}, 120_000);

it('a source that cannot be replicated says why: no tables, an unlogged table, a table without a primary key', async () => {
  await tenantDatabase(source);
  await withClient(asTenant(source), (c) => c.query('DROP TABLE order_lines, orders, products, users'));
  expect(await whyNot(source)).toBe('the tenant has no tables');
  await withClient(master(source), (c) => c.query(`DROP DATABASE ${names.database} WITH (FORCE)`));

  await tenantDatabase(source);
  await withClient(asTenant(source), (c) => c.query('ALTER TABLE order_lines SET UNLOGGED'));
  expect(await whyNot(source)).toBe('table order_lines of the source is unlogged');
  await withClient(asTenant(source), (c) => c.query('ALTER TABLE order_lines SET LOGGED'));

  await withClient(asTenant(source), (c) =>
    c.query('ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey'),
  );
  expect(await whyNot(source)).toBe(
    'table order_lines of the source has no primary key (no replica identity)',
  );
});
