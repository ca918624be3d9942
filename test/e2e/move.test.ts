import { capacitySettings } from '../../common/capacity';
import { MoveStates } from '../../common/move';
import { tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import type { ExecutionRecord } from '../../local/platform';
import { waitFor } from '../../local/processes/ports';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { getTenant } from '../../workflow-tasks/records/registry';
import { cleanupAfter, reaching, tenantClient, tryWrite } from '../fixtures/executions';
import { localServicesForFile, tenantInput } from '../fixtures/platform';
import * as instances from '../fixtures/shared-instances';
import { tenantctl } from '../fixtures/processes';
import { seedShop, shopApi } from '../fixtures/tenant-api';

// Four tenants per shared instance, the next instance started when one place is left: the first three
// onboardings bring shared-2, and the four tenants are on shared-1.
const QUOTAS = capacitySettings({ tenantsPerSharedInstance: 4, sharedInstanceHeadroom: 1 }, 'test');
const shop = 'mv-shop';
const failing = 'mv-fails';
const stopped = 'mv-stopped';
const lateWriter = 'mv-late';
const serving = 'mv-serving';
const newPassword = 'a-password-the-admin-set-before-the-move';

const { running, stateDir } = localServicesForFile('move', {
  quotas: QUOTAS,
  faults: [
    // The switch happens, then fails: the rollback must undo it.
    { tenantId: failing, step: 'move:switch', kind: 'after-effect', times: 1 },
    // The copy starts late: the execution is stopped while it waits.
    { tenantId: stopped, step: 'move:copy', kind: 'slow', times: 1 },
    // The switch starts late: a connection opened before the move writes meanwhile.
    { tenantId: lateWriter, step: 'move:switch', kind: 'slow', times: 1 },
    // The suspension starts late: the copy has caught up and the tenant still serves, and writes.
    { tenantId: serving, step: 'move:suspend', kind: 'slow', times: 1 },
  ],
});
const instanceRow = (id: string) => instances.instanceRow(running().platform, id);
const copyOn = (instanceId: string, tenantId: string) =>
  instances.copyOn(running().platform, instanceId, tenantId);
const replicationOn = (instanceId: string, tenantId: string) =>
  instances.replicationOn(running().platform, instanceId, tenantId);
const NO_REPLICATION = { slots: 0, subscriptions: 0, roles: 0 };
let products: { id: number }[] = [];
let orders: unknown[] = [];

beforeAll(async () => {
  // The first four fill shared-1; the fifth is placed on shared-2.
  for (const tenantId of [shop, failing, stopped, lateWriter, serving]) {
    const record = await running().platform.runExecution(tenantInput(tenantId));
    if (record.status !== 'SUCCEEDED') throw new Error(`onboarding ${tenantId}: ${record.cause ?? ''}`);
  }
  await waitFor(
    'shared-2 to be added',
    async () => (await instanceRow('shared-2'))?.status === 'AVAILABLE',
    60_000,
  );

  const token = await changePassword(shop, newPassword);
  await seedShop((path, method, body) => api(shop, token, path, method, body));
  products = listed(await api(shop, token, '/products?limit=100')) as { id: number }[];
  orders = listed(await api(shop, token, '/orders?limit=100'));
}, 240_000);

const { api, signIn, changePassword } = shopApi(() => running().endpoints.gateway);

function listed(response: { status: number; body: string }): unknown[] {
  if (response.status !== 200) throw new Error(`list: ${response.status} ${response.body}`);
  return (JSON.parse(response.body) as { items: unknown[] }).items;
}

function move(tenantId: string, toInstance: string): Promise<ExecutionRecord> {
  const { platform } = running();
  return platform.runExecution(
    { tenantId, toInstance },
    { stateMachineArn: platform.stateMachines.move.arn },
  );
}

/** Where the tenant's secret says its database is. */
async function secretEndpoint(tenantId: string): Promise<string> {
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName);
  return `${secret.host}:${secret.port}`;
}

async function endpointOf(instanceId: string): Promise<string> {
  if (instanceId === 'shared-1') {
    const { host, port } = running().platform.postgres;
    return `${host}:${port}`;
  }
  const row = await instanceRow(instanceId);
  return `${row?.host}:${row?.port}`;
}

describe('moving a shared tenant to another shared instance', () => {
  it('moves it with every row and the password its admin set; it answers 200 or 503 tenant-suspended throughout', async () => {
    expect((await getTenant(shop))?.dbInstance).toBe('shared-1');
    // Requests all along the move: never an error but the suspension's.
    const seen: string[] = [];
    let moving = true;
    const probeToken = await signIn(shop, newPassword);
    const probe = (async () => {
      while (moving) {
        const r = await api(shop, probeToken, '/products?limit=1');
        seen.push(
          r.status === 200
            ? '200'
            : `${r.status} ${(JSON.parse(r.body) as { type?: string }).type ?? r.body}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    // Writes all along the move, each on a new connection as the tenant's role wherever its secret says
    // (a function reads it again when refused): every write acknowledged must be there afterwards.
    const acknowledged: string[] = [];
    const writer = (async () => {
      for (let i = 0; moving; i++) {
        const email = `during-move-${i}@example.com`;
        const client = await tenantClient(shop).catch(() => undefined);
        if (client) {
          client.on('error', () => undefined);
          await client
            .query(`INSERT INTO users (email, role) VALUES ($1, 'staff')`, [email])
            .then(() => acknowledged.push(email))
            .catch(() => undefined)
            .finally(() => client.end().catch(() => undefined));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const shown = await tenantctl(['move', shop, '--instance', 'shared-2', '--state-dir', stateDir()]);
    moving = false;
    await Promise.all([probe, writer]);
    expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
    expect(shown.stdout).toContain(MoveStates.sync);
    expect(shown.stdout).toContain(MoveStates.copy);
    expect(shown.stdout).toMatch(/copied \d+ rows replicated while it served; suspended \d+\.\d s/);

    const tenant = await getTenant(shop);
    expect([tenant?.status, tenant?.dbInstance]).toEqual(['ACTIVE', 'shared-2']);
    expect(await secretEndpoint(shop)).toBe(await endpointOf('shared-2'));
    expect(await copyOn('shared-2', shop)).toEqual({ database: true, login: true });
    expect(await copyOn('shared-1', shop)).toEqual({ database: false, login: null });
    expect(await replicationOn('shared-1', shop)).toEqual(NO_REPLICATION);
    expect(await replicationOn('shared-2', shop)).toEqual(NO_REPLICATION);
    const now = await tenantClient(shop);
    try {
      const { rows } = await now.query<{ email: string }>(
        `SELECT email FROM users WHERE email LIKE 'during-move-%'`,
      );
      const kept = new Set(rows.map((r) => r.email));
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(acknowledged.filter((email) => !kept.has(email))).toEqual([]);
    } finally {
      await now.end();
    }

    const suspended = seen.filter((s) => s.endsWith('tenant-suspended')).length;
    console.log(
      `during the move: ${seen.length - suspended} requests served, ${suspended} answered suspended`,
    );
    // Every response was served or refused as suspended; the tenant serves again once the move has ended
    // (a request still in flight when it resumed may have been answered suspended).
    expect(seen.filter((s) => s !== '200' && !s.endsWith('tenant-suspended'))).toEqual([]);
    expect(seen.filter((s) => s === '200').length).toBeGreaterThan(0);
    await waitFor(
      'the moved tenant to serve',
      async () => (await api(shop, probeToken, '/products?limit=1')).status === 200,
      10_000,
    );

    // The same rows, the admin's own password, and new ids past the copied ones.
    const token = await signIn(shop, newPassword);
    expect(listed(await api(shop, token, '/products?limit=100'))).toEqual(products);
    expect(listed(await api(shop, token, '/orders?limit=100'))).toEqual(orders);
    const created = await api(shop, token, '/products', 'POST', {
      sku: 'SKU-after-move',
      name: 'Made on the new instance',
      priceCents: 1,
      stock: 1,
    });
    expect(created.status).toBe(201);
    expect((JSON.parse(created.body) as { id: number }).id).toBeGreaterThan(
      Math.max(...products.map((p) => p.id)),
    );
  });

  it('a move whose switch fails after switching leaves the tenant serving where it was, the target copy gone', async () => {
    const record = await move(failing, 'shared-2');
    expect([record.status, record.error]).toEqual(['FAILED', 'InjectedFault']);
    const tenant = await getTenant(failing);
    expect([tenant?.status, tenant?.dbInstance]).toEqual(['ACTIVE', 'shared-1']);
    expect(await secretEndpoint(failing)).toBe(await endpointOf('shared-1'));
    expect(await copyOn('shared-1', failing)).toEqual({ database: true, login: true });
    expect(await copyOn('shared-2', failing)).toEqual({ database: false, login: null });
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(failing).secretName);
    const token = await signIn(failing, secret.adminPassword!);
    expect((await api(failing, token, '/products?limit=5')).status).toBe(200);
    // The cleanup that follows every failed execution finds nothing more to do.
    const cleanup = await cleanupAfter(running().platform, record.executionArn);
    expect(JSON.parse(cleanup.output ?? '{}')).toMatchObject({ cleanup: { rolledBack: [] } });
    expect(JSON.parse(cleanup.output ?? '{}')).not.toHaveProperty('cleanup.moved');
  });

  it('a move stopped during its copy is put back by the cleanup: serving where it was, nothing left on the target', async () => {
    const { platform } = running();
    const started = await platform.startExecution(
      { tenantId: stopped, toInstance: 'shared-2' },
      { stateMachineArn: platform.stateMachines.move.arn },
    );
    await reaching(platform, started.executionArn, MoveStates.copy);
    expect((await getTenant(stopped))?.status).toBe('MOVING');
    await platform.stopExecution(started.executionArn);
    const cleanup = await cleanupAfter(platform, started.executionArn, 60_000);
    expect([cleanup.status, cleanup.error ?? null, cleanup.cause ?? null]).toEqual(['SUCCEEDED', null, null]);
    expect(JSON.parse(cleanup.output ?? '{}')).toMatchObject({ cleanup: { moved: stopped } });
    const tenant = await getTenant(stopped);
    expect([tenant?.status, tenant?.dbInstance]).toEqual(['ACTIVE', 'shared-1']);
    expect(await copyOn('shared-2', stopped)).toEqual({ database: false, login: null });
    // The copy while serving had subscribed shared-2 to shared-1: both sides of it are gone.
    expect(await replicationOn('shared-1', stopped)).toEqual(NO_REPLICATION);
    expect(await replicationOn('shared-2', stopped)).toEqual(NO_REPLICATION);
    expect((await api(stopped, '', '/health')).status).toBe(200);
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(stopped).secretName);
    const token = await signIn(stopped, secret.adminPassword!);
    expect((await api(stopped, token, '/products?limit=5')).status).toBe(200);
  });

  it('refuses a move it cannot make, naming why, and changes nothing', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { tenantId: failing, toInstance: 'shared-1' },
        'InvalidInput',
        `toInstance: ${failing} is on shared-1 already`,
      ],
      [
        { tenantId: failing, toInstance: 'shared-9' },
        'InvalidInput',
        'toInstance: there is no shared instance shared-9',
      ],
      [
        { tenantId: failing, toInstance: 'db-1; DROP' },
        'InvalidInput',
        'toInstance: must be a shared instance id',
      ],
      [
        { tenantId: 'mv-nobody', toInstance: 'shared-2' },
        'TenantStateConflict',
        'there is no tenant mv-nobody',
      ],
    ];
    for (const [input, error, cause] of cases) {
      const { platform } = running();
      const record = await platform.runExecution(input, { stateMachineArn: platform.stateMachines.move.arn });
      expect({ input, status: record.status, error: record.error }).toEqual({
        input,
        status: 'FAILED',
        error,
      });
      expect(record.cause).toContain(cause);
    }
    const tenant = await getTenant(failing);
    expect([tenant?.status, tenant?.dbInstance]).toEqual(['ACTIVE', 'shared-1']);
  });

  it('no write lands on the source after the copy: a connection opened before the move is ended before it', async () => {
    const { platform } = running();
    // A warm function's pooled connection, opened before the move, still open during it.
    const early = await tenantClient(lateWriter);
    early.on('error', () => undefined);
    const from = (await getTenant(lateWriter))?.dbInstance;
    const places = await instances.registryQuery<{ id: string; tenants: number }>(
      platform,
      `SELECT s.id, count(t.id)::int AS tenants FROM shared_instances s
         LEFT JOIN tenants t ON t.db_instance = s.id AND t.status IN ('ACTIVE', 'SUSPENDED', 'MOVING')
        WHERE s.status = 'AVAILABLE' GROUP BY s.id ORDER BY s.id`,
    );
    const to = places.find((i) => i.id !== from && i.tenants < QUOTAS.tenantsPerSharedInstance)?.id ?? '';
    const started = await platform.startExecution(
      { tenantId: lateWriter, toInstance: to },
      { stateMachineArn: platform.stateMachines.move.arn },
    );
    // Copied, and the switch not yet made (it starts two seconds late): the window a write would be lost in.
    await reaching(platform, started.executionArn, MoveStates.switchOver);
    const written = await tryWrite(lateWriter, 'LATE-1', early);
    await early.end().catch(() => undefined);
    const ended = await started.done;
    expect([ended.status, ended.error, ended.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect((await getTenant(lateWriter))?.dbInstance).toBe(to);
    const now = await tenantClient(lateWriter);
    try {
      const { rows } = await now.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM products WHERE sku = 'LATE-1'`,
      );
      // Refused (its connection was ended before the copy), not acknowledged by the source and then lost.
      expect({ written, onTarget: rows[0]?.n }).toEqual({
        written: expect.stringMatching(/^refused: /) as string,
        onTarget: 0,
      });
    } finally {
      await now.end();
    }
  });
  it("a write made while the copy runs is kept: the tenant is suspended only for the copy's last part", async () => {
    const { platform } = running();
    expect((await getTenant(serving))?.dbInstance).toBe('shared-2');
    const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(serving).secretName);
    const token = await signIn(serving, secret.adminPassword!);
    const started = await platform.startExecution(
      { tenantId: serving, toInstance: 'shared-1' },
      { stateMachineArn: platform.stateMachines.move.arn },
    );
    // Copied and caught up, the suspension not yet made (it starts two seconds late): the tenant serves.
    await reaching(platform, started.executionArn, MoveStates.suspend);
    const during = await api(serving, token, '/products', 'POST', {
      sku: 'DURING-COPY',
      name: 'Written while the copy ran',
      priceCents: 5,
      stock: 1,
    });
    expect(during.status).toBe(201);
    const ended = await started.done;
    expect([ended.status, ended.error, ended.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(ended.output).toMatchObject({
      sync: { mode: 'replication', ready: true },
      copied: { rows: expect.any(Number) as number },
    });
    expect((await getTenant(serving))?.dbInstance).toBe('shared-1');
    const after = await signIn(serving, secret.adminPassword!);
    const skus = (listed(await api(serving, after, '/products?limit=100')) as { sku: string }[]).map(
      (p) => p.sku,
    );
    expect(skus).toContain('DURING-COPY');
    expect(await replicationOn('shared-1', serving)).toEqual(NO_REPLICATION);
    expect(await replicationOn('shared-2', serving)).toEqual(NO_REPLICATION);
  });

  it('a source it cannot replicate (a table without a primary key) is copied in one snapshot while suspended', async () => {
    const before = await tenantClient(failing);
    try {
      await before.query('ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey');
    } finally {
      await before.end();
    }
    const record = await move(failing, 'shared-2');
    expect([record.status, record.error, record.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(record.output).toMatchObject({
      sync: {
        mode: 'snapshot',
        ready: true,
        why: 'table order_lines of the source has no primary key (no replica identity)',
      },
    });
    expect((await getTenant(failing))?.dbInstance).toBe('shared-2');
    expect(await copyOn('shared-1', failing)).toEqual({ database: false, login: null });
    expect(await replicationOn('shared-1', failing)).toEqual(NO_REPLICATION);
    expect(await replicationOn('shared-2', failing)).toEqual(NO_REPLICATION);
  });
});
