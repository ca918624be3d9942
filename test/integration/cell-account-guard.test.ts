import type { Client } from 'pg';
import { capacitySettings } from '../../common/capacity';
import { PlatformNames } from '../../common/names';
import type { LocalPlatform } from '../../local/platform';
import {
  cellViews,
  placeTenant,
  planCapacity,
  refuseOverDistributionTenants,
  reserveMoveTarget,
} from '../../workflow-tasks/records/capacity';
import { claimTenant, getTenant } from '../../workflow-tasks/records/registry';
import { validatedTenant } from '../fixtures/events';
import { adminClient, startTestPlatform } from '../fixtures/platform';

/**
 * On AWS nothing stops a deploy that gives a cell another account than its tenants were made in (locally
 * the start refuses it): placement and a move's target refuse such a cell, naming the setting, and
 * `tenantctl cells` says why. Against the real registry; dedicated tenants, so no shared instance is needed.
 * Customers' domains count against the platform account's quota whatever their tenants' cells.
 */
const MADE_IN = '210987654321';
const settingsWith = (account: string) =>
  capacitySettings({ cells: 2, tenantsPerCell: 1, cellAccounts: { 'cell-2': account } }, 'test');
const asMade = settingsWith(MADE_IN);
const changed = settingsWith('777788889999');
const change =
  'cellAccounts.cell-2: cell-2 is in AWS account 777788889999 here, but ga-second was made in AWS account ' +
  `${MADE_IN}, and a setting does not move them: keep cell-2 there ("cell-2": "${MADE_IN}")`;

let platform: LocalPlatform;
let cleanup: () => Promise<void>;
let registry: Client;

beforeAll(async () => {
  ({ platform, cleanup } = await startTestPlatform());
  registry = await adminClient(platform, PlatformNames.platformDatabase);
});

afterAll(async () => {
  await registry?.end();
  await cleanup?.();
});

/** What "Register tenant" does, without the AWS calls: plan (which records shared-1), then claim with placement. */
async function place(tenantId: string, settings: typeof asMade): Promise<void> {
  const tenant = validatedTenant(tenantId, { tier: 'dedicated' });
  const executionArn = `arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:${tenantId}`;
  await planCapacity(tenant, {
    executionArn,
    settings,
    executionArnOf: (id) => `arn:guard:${id}`,
    running: () => Promise.resolve(true),
  });
  await claimTenant(tenant, executionArn, (client) => placeTenant(client, tenant, settings));
}

describe('a cell the settings move to another account than its tenants were made in', () => {
  it('takes no new tenant and no move, naming the setting, and tenantctl cells says why', async () => {
    await place('ga-first', asMade);
    await place('ga-second', asMade);
    expect(await getTenant('ga-second')).toMatchObject({ cell: 'cell-2', cellAccount: MADE_IN });

    // cell-1 is full, and cell-2 is refused for its account: both reasons are named.
    const refused = place('ga-third', changed);
    await expect(refused).rejects.toMatchObject({ name: 'QuotaExceeded' });
    await expect(refused).rejects.toThrow(`; and ${change}`);
    expect(await getTenant('ga-third')).toBeUndefined();

    await registry.query('BEGIN');
    try {
      await expect(
        reserveMoveTarget(registry, 'ga-first', { cell: 'cell-2' }, changed),
      ).rejects.toMatchObject({ name: 'CellAccountChanged', message: change });
    } finally {
      await registry.query('ROLLBACK');
    }

    const [cell1, cell2] = await cellViews(registry, changed);
    expect([cell1?.accountChange, cell2?.accountChange]).toEqual([undefined, change]);
    // As the tenants were made, nothing is said.
    expect((await cellViews(registry, asMade)).map((c) => c.accountChange)).toEqual([undefined, undefined]);
  });

  it("counts customers' domains of every cell against the platform account's distribution tenants", async () => {
    // ga-first is in cell-1 with a domain; ga-second, in cell-2's own account, asks for one.
    await registry.query(
      `INSERT INTO tenant_domains (tenant_id, domain, status, deadline, execution_arn)
       VALUES ('ga-first', 'first.example', 'ACTIVE', now(), 'arn:guard:domain')`,
    );
    const twoTenants = capacitySettings(
      { cells: 2, cloudFrontDistributionTenants: 2, cellAccounts: { 'cell-2': MADE_IN } },
      'test',
    );
    await expect(
      refuseOverDistributionTenants(registry, 'ga-second', 'second.example', twoTenants),
    ).rejects.toThrow('cloudFrontDistributionTenants is 2 per account and 2 are in use');
    const limitOf = (view: Awaited<ReturnType<typeof cellViews>>[number] | undefined) =>
      view?.limits.find((l) => l.name === 'cloudFrontDistributionTenants')?.inUse;
    const views = await cellViews(registry, twoTenants);
    expect(views.map(limitOf)).toEqual([2, 2]);
  });

  it("does not count the platform's own first shared instance against a cell-1 of its own account", async () => {
    await registry.query('DELETE FROM tenants');
    const ownFirst = capacitySettings({ cells: 2, cellAccounts: { 'cell-1': '111122223333' } }, 'test');
    await place('ga-own', ownFirst);
    expect(await getTenant('ga-own')).toMatchObject({ cell: 'cell-1', cellAccount: '111122223333' });
    expect((await cellViews(registry, ownFirst)).map((c) => c.accountChange)).toEqual([undefined, undefined]);
  });
});
