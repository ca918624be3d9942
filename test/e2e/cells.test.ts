import { gatewayRequest } from '../../cli/describe';
import { capacitySettings, SERVICE_QUOTAS } from '../../common/capacity';
import { localCellAccounts } from '../../local/account';
import { PlatformNames, tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import { awsIn } from '../../workflow-tasks/lib/aws';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import type { CellView } from '../../workflow-tasks/records/capacity';
import { getTenant, type TenantView } from '../../workflow-tasks/records/registry';
import { adminClient, localServicesForFile, tenantInput } from '../fixtures/platform';
import { EVERY_RESOURCE, NO_RESOURCE, resourcesIn } from '../fixtures/cell-resources';
import { tenantctl } from '../fixtures/processes';
import { runRelease, uploadVersion } from '../fixtures/releases';
import { seedShop, shopApi } from '../fixtures/tenant-api';

// Two cells of ten tenants, four per shared instance, three RDS instances per cell: twelve shared tenants
// fill the first cell's three instances up to its ten, and the last two go to the second cell. As `tenantctl
// up --quotas` takes them: the second cell is an account of the emulator of its own (local/account.ts).
const QUOTAS = capacitySettings(
  {
    cells: 2,
    tenantsPerCell: 10,
    tenantsPerSharedInstance: 4,
    rdsDbInstances: 3,
    sharedInstanceHeadroom: 1,
  },
  'test',
  localCellAccounts,
);
const CELL_2_ACCOUNT = '000000000002';
const first = ['cl-a', 'cl-b', 'cl-c', 'cl-d'];
const burst = Array.from({ length: 8 }, (_, i) => `cl-burst-${i}`);
const newPassword = 'the-admin-password-before-changing-cells';

const { running, stateDir } = localServicesForFile('cells', {
  quotas: QUOTAS,
  // cl-b's move to the other cell fails in its copy: it must stay where it was, serving.
  faults: [
    { tenantId: 'cl-b', step: 'move:copy', kind: 'permanent', times: 1 },
    // cl-c fails the first release's health check: the release stops before the second cell.
    { tenantId: 'cl-c', step: 'release:check-health', kind: 'permanent', times: 1 },
  ],
});

function onboard(tenantId: string, overrides: Record<string, unknown> = {}) {
  return running().platform.runExecution(tenantInput(tenantId, overrides));
}

const { api, signIn } = shopApi(() => running().endpoints.gateway);

async function tenantViews(): Promise<TenantView[]> {
  const shown = await tenantctl(['tenants', '--json', '--state-dir', stateDir()]);
  return (JSON.parse(shown.stdout) as TenantView[]).filter((t) => t.tenantId.startsWith('cl-'));
}

async function cells(): Promise<CellView[]> {
  const shown = await tenantctl(['cells', '--json', '--state-dir', stateDir()]);
  expect(shown.stderr).toBe('');
  return JSON.parse(shown.stdout) as CellView[];
}

async function instancesByCell(): Promise<Record<string, string[]>> {
  const client = await adminClient(running().platform, PlatformNames.platformDatabase);
  try {
    const { rows } = await client.query<{ cell: string; ids: string[] }>(
      `SELECT cell, array_agg(id ORDER BY seq) AS ids FROM shared_instances WHERE status = 'AVAILABLE' GROUP BY cell`,
    );
    return Object.fromEntries(rows.map((r) => [r.cell, r.ids]));
  } finally {
    await client.end();
  }
}

describe('cells: tenants placed in the first cell with room, and moved between cells with their data', () => {
  it('places 12 onboardings, 8 at once, across 2 cells and at least 3 shared instances, none above a limit', async () => {
    for (const tenantId of first) expect((await onboard(tenantId)).status).toBe('SUCCEEDED');
    const records = await Promise.all(burst.map((tenantId) => onboard(tenantId)));
    expect(records.map((r) => [r.status, r.error])).toEqual(burst.map(() => ['SUCCEEDED', undefined]));

    const shown = await tenantctl(['tenants', '--json', '--state-dir', stateDir()]);
    const tenants = (JSON.parse(shown.stdout) as TenantView[]).filter((t) => t.tenantId.startsWith('cl-'));
    expect(tenants.map((t) => t.status)).toEqual(tenants.map(() => 'ACTIVE'));
    const inCell = (cell: string) => tenants.filter((t) => t.cell === cell).length;
    expect([inCell('cell-1'), inCell('cell-2')]).toEqual([10, 2]);
    // The first cell filled first: the first four are on its first instance.
    expect(tenants.filter((t) => first.includes(t.tenantId)).map((t) => [t.cell, t.dbInstance])).toEqual(
      first.map(() => ['cell-1', 'shared-1']),
    );

    const view = await cells();
    expect(view.map((c) => [c.cell, c.account])).toEqual([
      ['cell-1', undefined],
      ['cell-2', CELL_2_ACCOUNT],
    ]);
    for (const t of tenants.filter((t) => t.cell === 'cell-2'))
      expect(await resourcesIn(awsIn(CELL_2_ACCOUNT), t.tenantId)).toEqual(EVERY_RESOURCE);
    for (const cell of view) {
      for (const limit of cell.limits)
        expect({ cell: cell.cell, limit: limit.name, over: limit.inUse > limit.limit }).toEqual({
          cell: cell.cell,
          limit: limit.name,
          over: false,
        });
      for (const instance of cell.sharedInstances) expect(instance.tenants).toBeLessThanOrEqual(4);
    }
    const instances = await instancesByCell();
    expect(instances['cell-1']).toEqual(['shared-1', 'shared-2', 'shared-3']);
    expect(instances['cell-2']?.length).toBeGreaterThanOrEqual(1);
    // Each instance belongs to one cell, and each tenant's instance to its cell.
    for (const t of tenants) expect(instances[t.cell]).toContain(t.dbInstance);
  });

  it('places a dedicated onboarding the first cell has no RDS instance left for in the second cell', async () => {
    const record = await onboard('cl-dedicated', { tier: 'dedicated' });
    expect([record.status, record.error]).toEqual(['SUCCEEDED', undefined]);
    const tenant = await getTenant('cl-dedicated');
    expect([tenant?.cell, tenant?.dbInstance]).toEqual(['cell-2', null]);
    const [cell1, cell2] = await cells();
    const rds = (c: CellView | undefined) => c?.limits.find((l) => l.name === 'rdsDbInstances')?.inUse;
    expect([rds(cell1), rds(cell2)]).toEqual([3, 2]);
  });

  it('moves a tenant to the other cell with every row and its admin password', async () => {
    const tenantId = 'cl-a';
    const { adminPassword } = await readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName);
    let token = await signIn(tenantId, adminPassword!);
    const changed = await api(tenantId, token, '/auth/password', 'POST', {
      currentPassword: adminPassword,
      newPassword,
    });
    expect([200, 204]).toContain(changed.status);
    token = await signIn(tenantId, newPassword);
    await seedShop((path, method, body) => api(tenantId, token, path, method, body));
    const products = (
      JSON.parse((await api(tenantId, token, '/products?limit=100')).body) as { items: unknown[] }
    ).items;
    const orders = (
      JSON.parse((await api(tenantId, token, '/orders?limit=100')).body) as { items: unknown[] }
    ).items;

    const moved = await tenantctl(['move', tenantId, '--cell', 'cell-2', '--state-dir', stateDir()]);
    expect({ code: moved.code, stderr: moved.stderr }).toEqual({ code: 0, stderr: '' });
    const tenant = await getTenant(tenantId);
    expect([tenant?.status, tenant?.cell]).toEqual(['ACTIVE', 'cell-2']);
    expect((await instancesByCell())['cell-2']).toContain(tenant?.dbInstance);

    // Its function and secret moved to the second cell's account with it.
    expect(await resourcesIn(awsIn(CELL_2_ACCOUNT), tenantId)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), tenantId)).toEqual(NO_RESOURCE);
    token = await signIn(tenantId, newPassword, CELL_2_ACCOUNT);
    expect(JSON.parse((await api(tenantId, token, '/products?limit=100')).body)).toMatchObject({
      items: products,
    });
    expect(JSON.parse((await api(tenantId, token, '/orders?limit=100')).body)).toMatchObject({
      items: orders,
    });
    const [cell1, cell2] = await cells();
    const tenantsIn = (c: CellView | undefined) => c?.limits.find((l) => l.name === 'tenantsPerCell')?.inUse;
    expect([tenantsIn(cell1), tenantsIn(cell2)]).toEqual([9, 4]);
    // Each cell has an account to itself: its AWS quotas are read from that account's Service Quotas.
    for (const cell of [cell1, cell2])
      expect(cell?.limits.map((l) => [l.name, l.source])).toEqual(
        cell?.limits.map((l) => [l.name, l.name in SERVICE_QUOTAS ? 'Service Quotas' : 'setting']),
      );
    expect(cell2?.limits.filter((l) => l.source === 'Service Quotas').length).toBeGreaterThan(0);
  });

  it('a move to the other cell that fails in its copy leaves the tenant serving where it was', async () => {
    const record = await tenantctl(['move', 'cl-b', '--cell', 'cell-2', '--state-dir', stateDir()]);
    expect(record.code).toBe(1);
    expect(record.stdout).toContain('InjectedFault');
    const tenant = await getTenant('cl-b');
    expect([tenant?.status, tenant?.cell, tenant?.dbInstance]).toEqual(['ACTIVE', 'cell-1', 'shared-1']);
    const { adminPassword } = await readJsonSecret<TenantSecret>(tenantResourceNames('cl-b').secretName);
    const token = await signIn('cl-b', adminPassword!);
    expect((await api('cl-b', token, '/products?limit=5')).status).toBe(200);
  });

  it('refuses a move to a cell it is in, or one that does not exist, naming the field', async () => {
    for (const [cell, said] of [
      ['cell-1', 'toCell: cl-c is in cell-1 already'],
      ['cell-7', 'toCell: there is no cell cell-7'],
    ] as const) {
      const refused = await tenantctl(['move', 'cl-c', '--cell', cell, '--state-dir', stateDir()]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(said);
    }
  });

  it('releases cell by cell: a failed tenant in the first cell stops the release before the second; the next release crosses both', async () => {
    const { platform } = running();
    const live = (await tenantViews()).filter((t) => t.status === 'ACTIVE');
    const cellOf = new Map(live.map((t) => [t.tenantId, t.cell]));
    const inCell = (cell: string) =>
      live
        .filter((t) => t.cell === cell)
        .map((t) => t.tenantId)
        .sort();

    const version = await uploadVersion({ build: 'cells-1' });
    const first = await runRelease(platform, { version, canary: 1, waveSize: 20, maxFailures: 5 });
    expect(first.summary.failed.map((f) => f.tenantId)).toEqual(['cl-c']);
    expect(first.summary.stopReason).toBe(
      '1 tenants of cell-1 failed: the cells after it (cell-2) are not released',
    );
    expect([...first.summary.updated].sort()).toEqual(inCell('cell-1').filter((id) => id !== 'cl-c'));
    expect([...first.summary.notAttempted].sort()).toEqual(inCell('cell-2'));
    // Waves never mix cells: the canary and the rest of cell-1, then cell-2's.
    expect(first.summary.updated.every((id) => cellOf.get(id) === 'cell-1')).toBe(true);

    const again = await runRelease(platform, { version, canary: 1, waveSize: 20, maxFailures: 5 });
    expect([again.summary.stopReason, again.summary.failed]).toEqual([undefined, []]);
    expect([...again.summary.updated].sort()).toEqual([...inCell('cell-2'), 'cl-c'].sort());
    const after = (await tenantViews()).filter((t) => t.status === 'ACTIVE');
    expect(after.filter((t) => t.codeVersion !== version).map((t) => t.tenantId)).toEqual([]);
  });
  it('serves the tenants of every cell while the control plane is down: its registry refuses every connection', async () => {
    const { platform } = running();
    // One tenant in each cell (cl-a was moved to cell-2), signed in before the control plane goes.
    expect([(await getTenant('cl-a'))?.cell, (await getTenant('cl-b'))?.cell]).toEqual(['cell-2', 'cell-1']);
    const { adminPassword } = await readJsonSecret<TenantSecret>(tenantResourceNames('cl-b').secretName);
    const admin = await adminClient(platform, 'postgres');
    try {
      await admin.query(`ALTER DATABASE ${PlatformNames.platformDatabase} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
        PlatformNames.platformDatabase,
      ]);
      const listed = await tenantctl(['tenants', '--state-dir', stateDir()]);
      expect(listed.code).not.toBe(0);
      for (const [tenantId, password, account] of [
        ['cl-a', newPassword, CELL_2_ACCOUNT],
        ['cl-b', adminPassword!, undefined],
      ] as const) {
        expect((await api(tenantId, '', '/health')).status).toBe(200);
        const token = await signIn(tenantId, password, account);
        expect((await api(tenantId, token, '/products?limit=5')).status).toBe(200);
        expect((await gatewayRequest(running().endpoints.gateway, `${tenantId}.localhost`, '/')).status).toBe(
          200,
        );
      }
    } finally {
      await admin.query(`ALTER DATABASE ${PlatformNames.platformDatabase} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect((await tenantctl(['tenants', '--state-dir', stateDir()])).code).toBe(0);
  });
});
