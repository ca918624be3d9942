import type { Client } from 'pg';
import { ControlPlaneClient } from '../../cli/control-plane';
import { capacitySettings } from '../../common/capacity';
import { getTenant } from '../../workflow-tasks/records/registry';
import type { CellView } from '../../workflow-tasks/records/capacity';
import { tenantClient } from '../fixtures/executions';
import { adminClient, localServicesForFile, tenantInput } from '../fixtures/platform';
import { awsCli, tenantctl } from '../fixtures/processes';
import { registryQuery } from '../fixtures/shared-instances';
import { tenantApiRequest } from '../fixtures/tenant-api';

// Ten tenants a shared instance by its tenant limit, but each tenant's role may open two connections and an
// instance's tenants four together: the connection budget binds first, at two tenants an instance. The
// emulated account may have three RDS instances and eight IAM roles (its Service Quotas say so; the shared
// instances count, and so do roles and instances that are not the tenants').
const QUOTAS = capacitySettings(
  {
    tenantsPerSharedInstance: 10,
    connectionsPerSharedInstance: 4,
    connectionsPerTenant: 2,
    sharedInstanceHeadroom: 0,
    rdsDbInstances: 3,
    iamRoles: 8,
  },
  'test',
);

const { running, stateDir } = localServicesForFile('quotas', { quotas: QUOTAS });

const onboard = (tenantId: string, overrides: Record<string, unknown> = {}) =>
  running().platform.runExecution(tenantInput(tenantId, overrides));

/** The connection limit of the tenant's own role, read as that role. */
async function ownConnectionLimit(tenantId: string): Promise<number | undefined> {
  const client = await tenantClient(tenantId);
  try {
    const { rows } = await client.query<{ limit: number }>(
      'SELECT rolconnlimit AS limit FROM pg_roles WHERE rolname = current_user',
    );
    return rows[0]?.limit;
  } finally {
    await client.end();
  }
}

describe('connection budget: a shared instance takes the tenants its connections have room for', () => {
  it('places the third tenant on the next shared instance, though the first holds only two of its ten', async () => {
    const together = await Promise.all(['conn-a', 'conn-b'].map((id) => onboard(id)));
    expect(together.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((await onboard('conn-c')).status).toBe('SUCCEEDED');

    const placed = await registryQuery<{ id: string; db_instance: string }>(
      running().platform,
      `SELECT id, db_instance FROM tenants WHERE id LIKE 'conn-%' ORDER BY id`,
    );
    expect(placed.map((t) => [t.id, t.db_instance])).toEqual([
      ['conn-a', 'shared-1'],
      ['conn-b', 'shared-1'],
      ['conn-c', 'shared-2'],
    ]);

    const shown = await tenantctl(['cells', '--json', '--state-dir', stateDir()]);
    const [cell] = JSON.parse(shown.stdout) as CellView[];
    expect(cell?.limits.find((l) => l.name === 'connectionsPerSharedInstance')).toMatchObject({
      inUse: 4,
      limit: 4,
    });
    expect(
      cell?.sharedInstances.map((i) => [i.id, i.tenants, i.limit, i.connections, i.connectionLimit]),
    ).toEqual([
      ['shared-1', 2, 2, 4, 4],
      ['shared-2', 1, 2, 2, 4],
    ]);
  });

  it('refuses a move onto an instance whose connection budget is spent, naming it, and the tenant stays', async () => {
    const refused = await tenantctl(['move', 'conn-c', '--instance', 'shared-1', '--state-dir', stateDir()]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      'connectionsPerSharedInstance is 4 per shared instance and 4 are in use',
    );
    const tenant = await getTenant('conn-c');
    expect([tenant?.status, tenant?.dbInstance]).toEqual(['ACTIVE', 'shared-2']);
  });

  it("a shared tenant's role opens at most connectionsPerTenant connections; over them its API answers 503, then serves again", async () => {
    expect(await ownConnectionLimit('conn-a')).toBe(2);
    // A dedicated tenant's role is limited only by its own instance.
    expect((await onboard('conn-own', { tier: 'dedicated' })).status).toBe('SUCCEEDED');
    expect(await ownConnectionLimit('conn-own')).toBe(-1);

    const gateway = running().endpoints.gateway;
    const health = () => tenantApiRequest(gateway, 'api.conn-a.localhost', '/health');
    expect((await health()).status).toBe(200);
    // Its API's pooled connections closed, then both of its places taken by someone else as the tenant.
    const admin = await adminClient(running().platform);
    const held: Client[] = [];
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'conn_a'`);
      held.push(await tenantClient('conn-a'), await tenantClient('conn-a'));
      await expect(tenantClient('conn-a')).rejects.toMatchObject({ code: '53300' });
      const starved = await health();
      expect([starved.status, JSON.parse(starved.body)]).toEqual([
        503,
        expect.objectContaining({ tenantId: 'conn-a', database: 'unreachable' }),
      ]);
      // Its neighbour on the same instance is not starved.
      expect((await tenantApiRequest(gateway, 'api.conn-b.localhost', '/health')).status).toBe(200);
    } finally {
      for (const client of held) await client.end();
      await admin.end();
    }
    expect((await health()).status).toBe(200);
  });
});

const serviceQuotas = (...args: string[]) => awsCli(running().endpoints.aws, ['service-quotas', ...args]);
const limitOf = (view: CellView | undefined, name: string) => view?.limits.find((l) => l.name === name);
/** The first cell as the control-plane API shows it: what placement goes by. */
const cellInForce = async () =>
  (await new ControlPlaneClient(`${running().platform.endpointUrl}/control-plane`, 'us-east-1').cells())[0];
const RDS_INSTANCES = ['--service-code', 'rds', '--quota-code', 'L-7B6409FD'];

describe('AWS quotas read from Service Quotas: raised, they count at once', () => {
  it('refuses a dedicated onboarding over the applied RDS quota, and places it once the quota is raised', async () => {
    expect(await serviceQuotas('get-service-quota', ...RDS_INSTANCES)).toMatchObject({
      Quota: { QuotaCode: 'L-7B6409FD', QuotaName: 'DB instances', Value: 3 },
    });
    // In use: shared-1, shared-2 and conn-own's instance.
    const refused = await onboard('sq-dedicated', { tier: 'dedicated' });
    expect([refused.status, refused.error]).toEqual(['FAILED', 'QuotaExceeded']);
    expect(refused.cause).toContain('rdsDbInstances is 3 per region and 3 are in use');
    expect(refused.cause).toContain(
      'aws service-quotas request-service-quota-increase --service-code rds --quota-code L-7B6409FD',
    );

    // What AWS leaves pending for a while is approved here at once, and kept.
    const requested = (await serviceQuotas(
      'request-service-quota-increase',
      ...RDS_INSTANCES,
      '--desired-value',
      '4',
    )) as { RequestedQuota: { Status: string; DesiredValue: number } };
    expect(requested.RequestedQuota).toMatchObject({ Status: 'APPROVED', DesiredValue: 4 });
    expect(await serviceQuotas('get-service-quota', ...RDS_INSTANCES)).toMatchObject({ Quota: { Value: 4 } });

    // The platform was started with 3 and reads 4: the tenant refused a moment ago is placed.
    expect((await onboard('sq-dedicated', { tier: 'dedicated' })).status).toBe('SUCCEEDED');
    expect((await getTenant('sq-dedicated'))?.status).toBe('ACTIVE');
    const shown = await tenantctl(['cells', '--json', '--state-dir', stateDir()]);
    const [cell] = JSON.parse(shown.stdout) as CellView[];
    expect(limitOf(cell, 'rdsDbInstances')).toMatchObject({ inUse: 4, limit: 4, source: 'Service Quotas' });
    expect(limitOf(cell, 'tenantsPerCell')).toMatchObject({ source: 'setting' });
    // The control-plane API (what tenantctl cells --aws reads) shows what placement goes by: the same.
    const inForce = await cellInForce();
    expect(limitOf(inForce, 'rdsDbInstances')).toMatchObject({
      inUse: 4,
      limit: 4,
      source: 'Service Quotas',
    });
    expect(limitOf(inForce, 'iamRoles')).toMatchObject({ source: 'Service Quotas' });
    expect(limitOf(inForce, 'tenantsPerCell')).toMatchObject({ source: 'setting' });
  });

  it('refuses a request that does not raise the quota, naming the applied value; the default stays AWS’s', async () => {
    await expect(
      serviceQuotas('request-service-quota-increase', ...RDS_INSTANCES, '--desired-value', '4'),
    ).rejects.toThrow(
      /IllegalArgumentException.*DesiredValue must be a whole number above the applied value 4/s,
    );
    expect(await serviceQuotas('get-aws-default-service-quota', ...RDS_INSTANCES)).toMatchObject({
      Quota: { Value: 40 },
    });
  });
});

describe("the account's own use: roles and instances that are not the tenants' count against its quotas", () => {
  const iam = (...args: string[]) => awsCli(running().endpoints.aws, ['iam', ...args]);
  const otherRole = (name: string) =>
    iam(
      'create-role',
      '--role-name',
      name,
      '--assume-role-policy-document',
      '{"Version":"2012-10-17","Statement":[]}',
    );
  const inForce = async (name: string) => limitOf(await cellInForce(), name);

  it("refuses a tenant whose role the account has no room for, counting another team's roles, and places it once one is gone", async () => {
    // Five tenants hold a role (conn-a, conn-b, conn-c, conn-own, sq-dedicated); three roles are not theirs:
    // someone else's, and a role named as a tenant's that no tenant in the registry holds.
    for (const name of ['reporting-role', 'ci-deployer', 'tenant-ghost-api-role']) await otherRole(name);
    expect(await inForce('iamRoles')).toMatchObject({ inUse: 8, limit: 8, besideTenants: 3 });
    // tenantctl cells shows what placement goes by, the account's other roles among them.
    const shown = await tenantctl(['cells', '--state-dir', stateDir()]);
    expect(shown.stdout).toMatch(/iamRoles\s+8 \/ 8 \(3 not tenants'\)\s+account\s+Service Quotas/);
    const refused = await onboard('sq-roles');
    expect([refused.status, refused.error]).toEqual(['FAILED', 'QuotaExceeded']);
    expect(refused.cause).toContain(
      "iamRoles is 8 per account and 8 are in use: no role can be made for tenant sq-roles's function in cell-1, 3 of them not the tenants'",
    );

    await iam('delete-role', '--role-name', 'tenant-ghost-api-role');
    expect((await onboard('sq-roles')).status).toBe('SUCCEEDED');
    expect(await inForce('iamRoles')).toMatchObject({ inUse: 8, limit: 8, besideTenants: 2 });
  });

  // Goes on from the roles above (two other roles left).
  it("counts an RDS instance that is not the platform's in the region's use, and names it in a refusal", async () => {
    await awsCli(running().endpoints.aws, [
      'rds',
      'create-db-instance',
      '--db-instance-identifier',
      'reporting-db',
      '--db-instance-class',
      'db.t4g.micro',
      '--engine',
      'postgres',
      '--master-username',
      'reporting',
      '--master-user-password',
      'reporting-password-1',
      '--allocated-storage',
      '20',
    ]);
    // shared-1, shared-2, conn-own's and sq-dedicated's instances, and the reporting database.
    expect(await inForce('rdsDbInstances')).toMatchObject({ inUse: 5, limit: 4, besideTenants: 1 });
    await iam('delete-role', '--role-name', 'ci-deployer');
    const refused = await onboard('sq-dedicated-2', { tier: 'dedicated' });
    expect([refused.status, refused.error]).toEqual(['FAILED', 'QuotaExceeded']);
    expect(refused.cause).toContain(
      "rdsDbInstances is 4 per region and 5 are in use: no instance can be made for dedicated tenant sq-dedicated-2 in cell-1, 1 of them not the tenants'",
    );
  });
});
