import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Client } from 'pg';
import {
  createLegacyShop,
  dumpDatabase,
  startLegacyServer,
  tableDigests,
  type LegacyServer,
  type LegacyShop,
} from '../fixtures/legacy-database';

let server: LegacyServer | undefined;
let shop: LegacyShop;
let outDir: string | undefined;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'legacy-dump-'));
  server = await startLegacyServer();
  shop = await createLegacyShop(server, {
    database: 'Corner_Shop',
    owner: 'corner_owner',
    ownerPassword: `o'wner "pass" \\ ${Date.now()}`,
    readerPassword: 'reader-pass',
    orderLines: 2_000,
    schemaVersion: 3,
  });
});

afterAll(async () => {
  await server?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the legacy PostgreSQL 15 server', () => {
  it('runs PostgreSQL 15 on 127.0.0.1 only, in Europe/Berlin, with password authentication', async () => {
    const [settings] = await query<Record<string, string>>(
      server!.superuserUrl,
      `SELECT current_setting('server_version_num') AS version, current_setting('listen_addresses') AS listen,
              current_setting('unix_socket_directories') AS sockets, current_setting('TimeZone') AS tz`,
    );
    expect(settings).toEqual({
      version: expect.stringMatching(/^15\d{4}$/) as string,
      listen: '127.0.0.1',
      sockets: '',
      tz: 'Europe/Berlin',
    });
    const wrong = new URL(server!.superuserUrl);
    wrong.password = 'not-the-password';
    await expect(query(wrong.toString(), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  });

  it('stops once however often stop is called, and removes its directory', async () => {
    const other = await startLegacyServer();
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    await expect(query(other.superuserUrl, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('a legacy shop', () => {
  it('has the counts and ids it reports, the sequences past them, and no schema_migrations', async () => {
    expect(shop.counts).toEqual({
      users: 12,
      products: 200,
      orders: expect.any(Number) as number,
      order_lines: 2_000,
    });
    const [actual] = await query<Record<string, number>>(
      shop.url,
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM products) AS products,
              (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM order_lines) AS order_lines,
              (SELECT max(id)::int FROM users) AS max_users, (SELECT max(id)::int FROM products) AS max_products,
              (SELECT max(id)::int FROM orders) AS max_orders,
              (SELECT last_value::int + 1 FROM users_id_seq) AS next_users,
              (SELECT last_value::int + 1 FROM products_id_seq) AS next_products,
              (SELECT last_value::int + 1 FROM orders_id_seq) AS next_orders,
              (SELECT count(*)::int FROM pg_tables WHERE tablename = 'schema_migrations') AS migration_tables`,
    );
    expect(actual).toEqual({
      ...shop.counts,
      max_users: shop.maxIds.users,
      max_products: shop.maxIds.products,
      max_orders: shop.maxIds.orders,
      next_users: shop.nextIds.users,
      next_products: shop.nextIds.products,
      next_orders: shop.nextIds.orders,
      migration_tables: 0,
    });
    // Gaps, as a real app leaves them: more ids used than rows.
    expect(shop.maxIds.orders).toBeGreaterThan(shop.counts.orders!);
    expect(shop.nextIds.orders).toBeGreaterThan(shop.maxIds.orders!);
  });

  it('has the data a naive import gets wrong', async () => {
    const [facts] = await query<Record<string, unknown>>(
      shop.url,
      `SELECT (SELECT count(*)::int FROM orders WHERE status = 'CANCELLED' AND cancelled_at IS NOT NULL) AS cancelled,
              (SELECT count(*)::int FROM orders WHERE status = 'CANCELLED' AND cancelled_at IS NULL) AS cancelled_without_time,
              (SELECT count(*)::int FROM orders WHERE status = 'PLACED' AND cancelled_at IS NULL) AS placed,
              (SELECT count(*)::int FROM orders WHERE created_by IS NULL) AS guest_orders,
              (SELECT count(*)::int FROM orders WHERE to_char(created_at, 'YYYY-MM-DD HH24:MI') = '2023-10-29 02:30') AS same_wall_clock,
              (SELECT min(created_at) >= '2023-01-01 00:00Z' AND max(created_at) < '2025-01-01 00:00Z' FROM orders) AS two_years,
              (SELECT bool_and(total_cents = (SELECT sum(quantity * unit_price_cents) FROM order_lines l WHERE l.order_id = o.id)) FROM orders o) AS totals_add_up,
              (SELECT count(*)::int FROM products WHERE strpos(name, chr(9)) > 0 AND strpos(name, chr(10)) > 0
                  AND strpos(name, chr(92)) > 0 AND strpos(name, '"') > 0 AND strpos(name, '''') > 0) AS hostile_names,
              (SELECT array_agg(name ORDER BY id) FILTER (WHERE name IN ('Schraubenzieher Größe 3', 'Ñandú de peluche', '東京ドライバー')) FROM products) AS unicode,
              (SELECT max(length(name)) FROM products) AS longest_name`,
    );
    expect(facts).toEqual({
      cancelled: expect.any(Number) as number,
      cancelled_without_time: 0,
      placed: expect.any(Number) as number,
      guest_orders: expect.any(Number) as number,
      same_wall_clock: 2,
      two_years: true,
      totals_add_up: true,
      hostile_names: 1,
      unicode: ['Schraubenzieher Größe 3', 'Ñandú de peluche', '東京ドライバー'],
      longest_name: 200,
    });
    expect(facts!.cancelled).toBeGreaterThan(0);
    expect(facts!.guest_orders).toBeGreaterThan(0);
  });

  it("keeps every user's bcrypt hash as the old apps wrote it ($2a$, $2b$, $2y$), verifiable with bcryptjs", async () => {
    const users = await query<{ email: string; role: string; password_hash: string | null }>(
      shop.url,
      'SELECT email, role, password_hash FROM users ORDER BY id',
    );
    const admin = users.find((u) => u.email === shop.adminEmail);
    expect(admin).toMatchObject({ role: 'admin', email: 'admin@corner-shop.example' });
    expect(await bcrypt.compare(shop.adminPassword, admin!.password_hash!)).toBe(true);
    expect(await bcrypt.compare('wrong', admin!.password_hash!)).toBe(false);
    const staff = Object.entries(shop.staffPasswords);
    expect(staff).toHaveLength(10);
    for (const [email, password] of staff) {
      const hash = users.find((u) => u.email === email)?.password_hash;
      expect(await bcrypt.compare(password, hash!)).toBe(true);
    }
    expect(new Set(users.map((u) => u.password_hash?.slice(0, 4)))).toEqual(
      new Set(['$2a$', '$2b$', '$2y$', undefined]),
    );
    expect(users.filter((u) => u.password_hash === null)).toHaveLength(1);
    expect(users.every((u) => u.email === u.email.toLowerCase())).toBe(true);
  });

  it('lets the reader role SELECT and nothing else', async () => {
    const url = shop.readerUrl!;
    expect(url).toContain('corner_owner_reader');
    await expect(query(url, 'SELECT count(*)::int AS n FROM order_lines')).resolves.toEqual([{ n: 2_000 }]);
    await expect(
      query(url, "INSERT INTO users (email, role) VALUES ('new@corner-shop.example', 'staff')"),
    ).rejects.toThrow(/permission denied for table users/);
    await expect(query(url, 'DELETE FROM order_lines')).rejects.toThrow(/permission denied/);
    await expect(query(url, 'CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
  });

  it('gives the same digests on every call, one per table with its row count', async () => {
    const first = await tableDigests(shop.url);
    const second = await tableDigests(shop.readerUrl!);
    expect(second).toEqual(first);
    expect(Object.keys(first).sort()).toEqual(['order_lines', 'orders', 'products', 'users']);
    for (const [table, { rows, sha256 }] of Object.entries(first)) {
      expect(rows).toBe(shop.counts[table]);
      expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('applies only the first migration by default, and several shops share a server', async () => {
    const small = await createLegacyShop(server!, {
      database: 'kiosk',
      owner: 'kiosk_owner',
      ownerPassword: 'kiosk-pass',
      orderLines: 7,
    });
    expect(small.readerUrl).toBeUndefined();
    expect(small.counts.order_lines).toBe(7);
    const columns = await query<{ column_name: string }>(
      small.url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'email', 'role', 'password_hash', 'created_at']);
    expect((await tableDigests(small.url)).order_lines?.rows).toBe(7);
  });

  it('is dumped by pg_dump 15 in plain format, data as COPY, the trailer before \\unrestrict', async () => {
    const file = join(outDir!, 'corner.sql');
    await dumpDatabase(server!, shop.database, file);
    const dump = await readFile(file, 'utf8');
    expect(dump).toMatch(/^-- Dumped by pg_dump version 15\./m);
    expect(dump).toContain(
      'COPY public.order_lines (order_id, line_no, product_id, quantity, unit_price_cents) FROM stdin;',
    );
    expect(dump).toContain("SELECT pg_catalog.setval('public.orders_id_seq'");
    // pg_dump 15.14 and later wrap the script in \restrict <key> ... \unrestrict <key> (CVE-2025-8714).
    expect(dump).toMatch(/-- PostgreSQL database dump complete\n--\n\n(\\unrestrict \w+\n\n?)?$/);
    // No SET timezone: timestamps come out in the server's zone, with their offsets.
    expect(dump).not.toMatch(/SET (timezone|TimeZone)/);
    expect(dump).toMatch(/\t2023-10-29 02:30:00\.123456\+02\t/);
    expect(dump).toMatch(/\t2023-10-29 02:30:00\.123456\+01\t/);
  });
});
