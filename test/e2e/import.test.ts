import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { LOCAL_ROUTING_ENDPOINT } from '../../local/cloudfront/saas-manager';
import { gatewayRequest } from '../../cli/describe';
import { prepareImport } from '../../cli/import';
import { startLocalServices, type LocalServices } from '../../cli/services';
import { tenantResourceNames } from '../../common/names';
import { aws } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import {
  createLegacyShop,
  dumpDatabase,
  startLegacyServer,
  tableDigests,
  type LegacyServer,
  type LegacyShop,
} from '../fixtures/legacy-database';
import { footprint, nothingOf } from '../fixtures/platform';
import { eventually } from '../fixtures/executions';
import { REPO } from '../fixtures/processes';
import { makeStateDir } from '../fixtures/state-dir';

/**
 * An existing customer brought aboard with `tenantctl import`: its "legacy" database made the old way on a
 * PostgreSQL 15 server of its own (schema version 1, no migrations table, 50,000 order lines), imported from
 * its URL with read-only access and from its pg_dump; refusals leave nothing; the source never changes and
 * its password is nowhere.
 */

const OWNER_PASSWORD = 'old-app-Pässword-71';
const READER_PASSWORD = 'reader-only-Secret-93';
let stateDir: string;
let services: LocalServices | undefined;
let legacy: LegacyServer | undefined;
let shop: LegacyShop;
let before: Awaited<ReturnType<typeof tableDigests>>;
let dumpFile: string;
/** Everything the platform's tasks printed while the tests ran (they run in this process). */
const printed: string[] = [];
const restoreWrites: (() => void)[] = [];

function tenantctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, 'bin', 'tenantctl.js'), ...args, '--state-dir', stateDir],
      { cwd: REPO, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function inputFile(tenantId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = join(stateDir, `${tenantId}.json`);
  await writeFile(
    file,
    JSON.stringify({ tenantId, companyName: 'Building Shop GmbH', adminEmail: shop.adminEmail, ...extra }),
  );
  return file;
}

function urlWith(url: string, changes: { password?: string; port?: number; database?: string }): string {
  const parsed = new URL(url);
  if (changes.password !== undefined) parsed.password = changes.password;
  if (changes.port !== undefined) parsed.port = String(changes.port);
  if (changes.database !== undefined) parsed.pathname = `/${changes.database}`;
  return parsed.toString();
}

async function signIn(
  tenantId: string,
  email: string,
  password: string,
): Promise<{ status: number; token?: string }> {
  const answer = await gatewayRequest(
    services!.endpoints.gateway,
    `api.${tenantId}.localhost`,
    '/auth/login',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    },
  );
  return { status: answer.status, token: (JSON.parse(answer.body) as { token?: string }).token };
}

async function tenantDatabase(tenantId: string): Promise<Client> {
  const { host, port, user, password } = services!.platform.postgres;
  const client = new Client({ host, port, user, password, database: tenantResourceNames(tenantId).database });
  await client.connect();
  return client;
}

function sfnClient(): SFNClient {
  return new SFNClient({
    endpoint: services!.endpoints.stepFunctions,
    region: services!.endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** An execution once it has ended. */
function endOf(executionArn: string) {
  return eventually(`${executionArn} ending`, async () => {
    const described = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING' ? undefined : described;
  });
}

/** Every execution's history, input and output of a tenant's imports, as text. */
async function executionsText(tenantId: string): Promise<string> {
  const sfn = sfnClient();
  const texts: string[] = [];
  const listed = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn: services!.endpoints.stateMachineArn, maxResults: 1000 }),
  );
  const ours = (listed.executions ?? []).filter((e) => e.name?.startsWith(`import-${tenantId}`));
  expect(ours.length).toBeGreaterThan(0);
  for (const { executionArn } of ours) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    texts.push(JSON.stringify(described), JSON.stringify(history.events));
  }
  return texts.join('\n');
}

async function importSecrets(tenantId: string): Promise<string[]> {
  const listed = await aws().secrets.send(
    new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`tenant-imports/${tenantId}/`] }] }),
  );
  return (listed.SecretList ?? []).map((s) => s.Name ?? '');
}

/** A dump with its users' COPY block changed line by line (the header, then each row). */
function withUsersBlock(text: string, edit: (fields: string[], header: boolean) => string[]): string {
  const start = text.indexOf('COPY public.users (');
  const end = text.indexOf('\n\\.\n', start);
  const block = text.slice(start, end).split('\n');
  const [header, ...rows] = block;
  const columns = /\(([^)]*)\)/.exec(header!)![1]!.split(', ');
  const newHeader = header!.replace(/\([^)]*\)/, `(${edit(columns, true).join(', ')})`);
  const newRows = rows.map((row) => edit(row.split('\t'), false).join('\t'));
  return text.slice(0, start) + [newHeader, ...newRows].join('\n') + text.slice(end);
}

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk: string | Uint8Array, ...rest: never[]) => {
      printed.push(String(chunk));
      return write(chunk, ...rest);
    };
    restoreWrites.push(() => (stream.write = write));
  }
  stateDir = await makeStateDir('import');
  legacy = await startLegacyServer();
  services = await startLocalServices({ stateDir, port: 0, gatewayPort: 0 });
  shop = await createLegacyShop(legacy, {
    database: 'building_shop',
    owner: 'building_admin',
    ownerPassword: OWNER_PASSWORD,
    readerPassword: READER_PASSWORD,
    orderLines: 50_000,
    schemaVersion: 1,
  });
  before = await tableDigests(shop.url);
  dumpFile = join(stateDir, 'building_shop.sql');
  await dumpDatabase(legacy, 'building_shop', dumpFile);
}, 240_000);

afterAll(async () => {
  for (const restore of restoreWrites) restore();
  await services?.stop();
  await legacy?.stop();
  await rm(stateDir, { recursive: true, force: true });
}, 60_000);

/** The tenant holds every row of the source: counts, and the columns the source had, row for row. */
async function expectSameRows(tenantId: string): Promise<void> {
  const tenant = await tenantDatabase(tenantId);
  const source = new Client({ connectionString: shop.url });
  await source.connect();
  try {
    for (const [table, query] of [
      ['users', 'SELECT id, email, role, password_hash, created_at FROM users ORDER BY id'],
      ['products', 'SELECT * FROM products ORDER BY id'],
      ['orders', 'SELECT * FROM orders ORDER BY id'],
      ['order_lines', 'SELECT * FROM order_lines ORDER BY order_id, line_no LIMIT 2000'],
    ] as const) {
      const [mine, theirs] = await Promise.all([tenant.query(query), source.query(query)]);
      expect({ table, rows: mine.rows }).toEqual({ table, rows: theirs.rows });
      const counted = await tenant.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      expect(Number(counted.rows[0]!.n)).toBe(shop.counts[table]);
    }
    const version = await tenant.query<{ v: number }>('SELECT max(version)::int AS v FROM schema_migrations');
    expect(version.rows[0]!.v).toBe(3);
  } finally {
    await tenant.end();
    await source.end();
  }
}

describe('tenantctl import --from-url', () => {
  const tenantId = 'building-shop';
  let run: Awaited<ReturnType<typeof tenantctl>>;

  beforeAll(async () => {
    run = await tenantctl([
      'import',
      await inputFile(tenantId, { domain: 'buildingshop.example' }),
      '--from-url',
      shop.readerUrl!,
    ]);
  }, 240_000);

  it('imports the live database with read-only access, verified, at the version it was, then migrates it', async () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Importing building-shop/);
    expect(run.stdout).toMatch(
      /imported from postgres:\/\/building_admin_reader@127\.0\.0\.1:\d+\/building_shop at schema version 1, verified: order_lines 50000, orders \d+, products 200, users 12 rows/,
    );
    // The old app serves until the DNS moves: the records to change are printed.
    for (const name of ['buildingshop.example', 'www.buildingshop.example', 'api.buildingshop.example'])
      expect(run.stdout).toContain(`point ${name} (CNAME) at ${LOCAL_ROUTING_ENDPOINT}`);
    expect((await getTenant(tenantId))?.status).toBe('ACTIVE');
    await expectSameRows(tenantId);
  });

  it('lets the staff sign in with the passwords they had, and gives new orders ids past the old ones', async () => {
    const admin = await signIn(tenantId, shop.adminEmail, shop.adminPassword);
    expect(admin.status).toBe(200);
    for (const [email, password] of Object.entries(shop.staffPasswords).slice(0, 2))
      expect((await signIn(tenantId, email, password)).status).toBe(200);
    const placed = await gatewayRequest(services!.endpoints.gateway, `api.${tenantId}.localhost`, '/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ lines: [{ productId: 1, quantity: 1 }] }),
    });
    expect(placed.status).toBe(201);
    // The reader may not read the old app's sequences: the highest id decides.
    expect((JSON.parse(placed.body) as { id: number }).id).toBe(shop.maxIds.orders! + 1);
  });

  it('leaves the source byte for byte as it was, and its password nowhere', async () => {
    expect(await tableDigests(shop.url)).toEqual(before);
    expect(await importSecrets(tenantId)).toEqual([]);
    const everything = [await executionsText(tenantId), run.stdout, run.stderr, printed.join('')].join('\n');
    expect(everything).toContain('building_admin_reader'); // what was searched is there
    expect(everything).not.toContain(READER_PASSWORD);
    expect(everything).not.toContain(encodeURIComponent(READER_PASSWORD));
  });
});

describe('an import started again with the same input (a retry from the console)', () => {
  it('is refused before anything is made: its credentials were deleted when it ended', async () => {
    const sfn = sfnClient();
    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: services!.endpoints.stateMachineArn, maxResults: 1000 }),
    );
    const first = (listed.executions ?? []).find((e) => e.name === 'import-building-shop')!;
    const { input } = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: services!.endpoints.stateMachineArn, input }),
    );
    const ended = await endOf(executionArn!);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'InvalidInput']);
    expect(ended.cause).toContain('importFrom.sourceSecretArn: the secret is gone');
    expect((await getTenant('building-shop'))?.status).toBe('ACTIVE');
  });
});

describe('tenantctl import --from-dump', () => {
  it('imports the plain-format pg_dump the seed’s plan makes, the same rows as the database', async () => {
    const tenantId = 'building-shop-dump';
    const run = await tenantctl(['import', await inputFile(tenantId), '--from-dump', dumpFile]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /imported from imports\/building-shop-dump\/\d{8}T\d{6}Z\.sql at schema version 1, verified/,
    );
    await expectSameRows(tenantId);
    const admin = await signIn(tenantId, shop.adminEmail, shop.adminPassword);
    expect(admin.status).toBe(200);
    // The dump says where the old app's sequences were: ids it gave out (deleted orders' too) are not reused.
    const placed = await gatewayRequest(services!.endpoints.gateway, `api.${tenantId}.localhost`, '/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ lines: [{ productId: 1, quantity: 1 }] }),
    });
    expect((JSON.parse(placed.body) as { id: number }).id).toBe(shop.nextIds.orders);
  });
});

describe('a dump whose table lists its columns in another order', () => {
  it('is loaded and verified all the same', async () => {
    const tenantId = 'reordered-dump';
    const file = join(stateDir, 'reordered.sql');
    // email first, id second: as a dump of a table whose columns were added in another order.
    const swap = (fields: string[]) => [fields[1]!, fields[0]!, ...fields.slice(2)];
    await writeFile(file, withUsersBlock(await readFile(dumpFile, 'utf8'), swap));
    const run = await tenantctl(['import', await inputFile(tenantId), '--from-dump', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await signIn(tenantId, shop.adminEmail, shop.adminPassword)).status).toBe(200);
  });
});

describe('refusals: nothing is created, the source is untouched', () => {
  const expectRefused = async (
    tenantId: string,
    args: string[],
    error: string,
    says: RegExp,
    registry?: 'ROLLED_BACK',
  ) => {
    const run = await tenantctl(['import', await inputFile(tenantId), ...args]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${tenantId}: FAILED`);
    expect(run.stdout).toContain(error);
    expect(run.stdout).toMatch(says);
    expect(await footprint(services!.platform, tenantId)).toEqual(nothingOf(registry));
    expect(await importSecrets(tenantId)).toEqual([]);
    return run;
  };
  const damagedDump = async (name: string, change: (text: string) => string) => {
    const file = join(stateDir, name);
    await writeFile(file, change(await readFile(dumpFile, 'utf8')));
    return file;
  };

  it('a dump with COPY ... TO PROGRAM', async () => {
    const file = await damagedDump('program.sql', (text) =>
      text.replace(
        /\nCOPY public\.users /,
        "\nCOPY public.users (email) TO PROGRAM 'touch /tmp/owned';\nCOPY public.users ",
      ),
    );
    await expectRefused(
      'dump-program',
      ['--from-dump', file],
      'ImportDumpRefused',
      /COPY must be COPY <table> \(<columns>\) FROM stdin/,
    );
  });

  it('a dump with a row the schema refuses (an e-mail in capitals): the load rolls back, nothing is made', async () => {
    const file = await damagedDump('capitals.sql', (text) =>
      withUsersBlock(text, (fields, header) =>
        header || fields[1] !== shop.adminEmail
          ? fields
          : [fields[0]!, fields[1].toUpperCase(), ...fields.slice(2)],
      ),
    );
    const run = await expectRefused(
      'dump-capitals',
      ['--from-dump', file],
      'ImportMismatch',
      /the rows of table users do not fit the schema \(23514: /,
      'ROLLED_BACK',
    );
    expect(run.stdout).not.toContain(shop.adminEmail.toUpperCase());
  });

  it('a dump with CREATE ROLE', async () => {
    const file = await damagedDump('role.sql', (text) =>
      text.replace(/\nSET client_encoding/, '\nCREATE ROLE intruder SUPERUSER LOGIN;\nSET client_encoding'),
    );
    await expectRefused(
      'dump-role',
      ['--from-dump', file],
      'ImportDumpRefused',
      /role statements are refused/,
    );
  });

  it('a dump cut off in the middle of a COPY', async () => {
    const file = await damagedDump('cut.sql', (text) =>
      text.slice(0, text.indexOf('COPY public.orders ') + 5000),
    );
    await expectRefused(
      'dump-cut',
      ['--from-dump', file],
      'ImportDumpTruncated',
      /ends inside the rows of table orders/,
    );
  });

  it('a source with a column no version of the schema has', async () => {
    const odd = await createLegacyShop(legacy!, {
      database: 'odd_shop',
      owner: 'odd_admin',
      ownerPassword: 'odd-password-1',
      orderLines: 20,
    });
    const client = new Client({ connectionString: odd.url });
    await client.connect();
    await client.query('ALTER TABLE products ADD COLUMN colour text');
    await client.end();
    await expectRefused(
      'odd-shop',
      ['--from-url', odd.url],
      'ImportSchemaMismatch',
      /matches no version of the shop schema; closest is version 1, which differs: extra column products\.colour \(text\)/,
    );
  });

  it('a source that cannot be reached', async () => {
    await expectRefused(
      'unreachable-shop',
      ['--from-url', urlWith(shop.url, { port: 1 })],
      'ImportSourceUnreachable',
      /cannot be reached/,
    );
  });

  it('a wrong password, which is not repeated anywhere', async () => {
    const wrong = 'Wrong-Guess-Password-55';
    const run = await expectRefused(
      'wrong-password-shop',
      ['--from-url', urlWith(shop.url, { password: wrong })],
      'ImportSourceRefused',
      /password authentication failed for user "building_admin"/,
    );
    const everything = [
      await executionsText('wrong-password-shop'),
      run.stdout,
      run.stderr,
      printed.join(''),
    ].join('\n');
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(OWNER_PASSWORD);
  });

  it('a URL that is not one, before anything is stored', async () => {
    const run = await tenantctl([
      'import',
      await inputFile('bad-url-shop'),
      '--from-url',
      'mysql://u:Secret-77@h/db',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--from-url: must be postgres://user[:password]@host[:port]/database');
    expect(run.stderr).not.toContain('Secret-77');
    expect(await importSecrets('bad-url-shop')).toEqual([]);
  });

  it('and after every refusal the source is as it was', async () => {
    expect(await tableDigests(shop.url)).toEqual(before);
  });
});

describe('an import that never reaches its own rollback', () => {
  it('has its credentials deleted by the cleanup after it (here: an input refused at Validate input)', async () => {
    const tenantId = 'refused-input-shop';
    const prepared = await prepareImport(
      { tenantId, companyName: 'Refused', adminEmail: shop.adminEmail },
      { url: shop.readerUrl! },
      { stateDir },
    );
    expect(await importSecrets(tenantId)).toHaveLength(1);
    const sfn = sfnClient();
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: services!.endpoints.stateMachineArn,
        input: JSON.stringify({ ...prepared.input, tier: 'gold' }),
      }),
    );
    const ended = await endOf(executionArn!);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'InvalidInput']);
    // Step Functions' status-change event starts the cleanup, which deletes them.
    await eventually(
      'the import credentials deleted',
      async () => ((await importSecrets(tenantId)).length === 0 ? true : undefined),
      60_000,
    );
  });
});

describe('the same import requested twice at once (two TenantImportRequested events)', () => {
  it('makes the tenant once: the execution that lost it leaves the credentials to the other', async () => {
    const tenantId = 'twice-requested';
    const prepared = await prepareImport(
      { tenantId, companyName: 'Twice', adminEmail: shop.adminEmail },
      { url: shop.readerUrl! },
      { stateDir },
    );
    const sfn = sfnClient();
    const arns = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const started = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: services!.endpoints.stateMachineArn,
            name: `import-${tenantId}-${name}`,
            input: JSON.stringify(prepared.input),
          }),
        );
        return started.executionArn!;
      }),
    );
    const ended = await Promise.all(arns.map(endOf));
    expect(ended.map((e) => e.status).sort()).toEqual(['FAILED', 'SUCCEEDED']);
    expect(ended.find((e) => e.status === 'FAILED')?.error).toBe('TenantAlreadyRegistered');
    expect((await getTenant(tenantId))?.status).toBe('ACTIVE');
    expect(await importSecrets(tenantId)).toEqual([]);
  });
});

describe('tenantctl import --all', () => {
  it('imports a list with bounded concurrency, says what was refused, and skips on a second run what is live', async () => {
    const small = await createLegacyShop(legacy!, {
      database: 'hardware_store',
      owner: 'hardware_admin',
      ownerPassword: 'hardware-Password-8',
      orderLines: 500,
      schemaVersion: 2,
    });
    const smallDump = join(stateDir, 'hardware_store.sql');
    await dumpDatabase(legacy!, 'hardware_store', smallDump);
    const csv = join(stateDir, 'customers.csv');
    await writeFile(
      csv,
      [
        'tenantId,companyName,adminEmail,domain,tier,source',
        `hardware-store,"Hardware Store, Inc.",${small.adminEmail},,shared,${small.url}`,
        `hardware-copy,Hardware Copy,${small.adminEmail},,,hardware_store.sql`,
        `broken-store,Broken Store,${small.adminEmail},,,${urlWith(small.url, { database: 'no_such_db' })}`,
        '',
      ].join('\n'),
    );
    const first = await tenantctl(['import', '--all', csv, '--concurrency', '2']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('2 imported, 0 skipped (already live), 1 refused, 0 failed');
    expect(first.stdout).toMatch(
      /refused {2}broken-store: Inspect import source: ImportSourceRefused: .*no_such_db/,
    );
    expect(first.stdout).not.toContain('hardware-Password-8');
    for (const tenantId of ['hardware-store', 'hardware-copy'])
      expect((await getTenant(tenantId))?.status).toBe('ACTIVE');
    const second = await tenantctl(['import', '--all', csv]);
    expect(second.stdout).toContain('0 imported, 2 skipped (already live), 1 refused, 0 failed');
  });
});
