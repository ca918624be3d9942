import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { TaskEnv } from '../../common/names';
import { limitsOfCell, type QuotaName } from '../../common/capacity';
import { capacityInForce } from '../../workflow-tasks/records/capacity';

/** The first cell's limits in force. */
async function limitsInForce(cell = 'cell-1') {
  return limitsOfCell(await capacityInForce(), cell);
}

/** The quotas of the cell Service Quotas gave (the others are the settings'). */
async function fromServiceQuotas(cell = 'cell-1'): Promise<QuotaName[]> {
  return Object.keys((await capacityInForce()).read?.[cell]?.applied ?? {}) as QuotaName[];
}

// What the emulator cannot produce: Service Quotas denied, throttled, or answering without a value; IAM
// and RDS listing pages, or refusing the list; and the cache a task Lambda keeps between placements. (The
// answered path runs against the local endpoint in test/e2e/quotas.test.ts.)
const quotas = mockClient(ServiceQuotasClient);
const iamApi = mockClient(IAMClient);
const rdsApi = mockClient(RDSClient);
const rds = { ServiceCode: 'rds', QuotaCode: 'L-7B6409FD' };
const iam = { ServiceCode: 'iam', QuotaCode: 'L-FE177D64' };

beforeEach(() => {
  quotas.reset();
  iamApi.reset();
  rdsApi.reset();
  iamApi.on(ListRolesCommand).resolves({ Roles: [] });
  rdsApi.on(DescribeDBInstancesCommand).resolves({ DBInstances: [] });
  process.env[TaskEnv.capacity] = JSON.stringify({ rdsDbInstances: 4, iamRoles: 30 });
  process.env[TaskEnv.serviceQuotasCacheSeconds] = '0';
});

afterAll(() => {
  delete process.env[TaskEnv.capacity];
  delete process.env[TaskEnv.serviceQuotasCacheSeconds];
  quotas.restore();
  iamApi.restore();
  rdsApi.restore();
});

describe('the limits placement goes by: the settings, with the AWS quotas as applied to the account', () => {
  it('takes the applied value of each quota Service Quotas has, and keeps every other limit as set', async () => {
    quotas.on(GetServiceQuotaCommand, rds).resolves({ Quota: { ...rds, Value: 120 } });
    quotas.on(GetServiceQuotaCommand, iam).resolves({ Quota: { ...iam, Value: 2500.0 } });
    expect(await limitsInForce()).toMatchObject({
      rdsDbInstances: 120,
      iamRoles: 2500,
      tenantsPerCell: 1000,
      cloudFrontDistributionTenants: 10_000,
    });
    expect((await fromServiceQuotas()).sort()).toEqual(['iamRoles', 'rdsDbInstances']);
  });

  it('keeps the setting of a quota that cannot be read: denied, throttled, or without a count', async () => {
    quotas
      .on(GetServiceQuotaCommand, rds)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    quotas.on(GetServiceQuotaCommand, iam).resolves({ Quota: { ...iam, Value: 0 } });
    expect(await limitsInForce()).toMatchObject({ rdsDbInstances: 4, iamRoles: 30 });
    // Where each limit came from, as tenantctl cells --aws shows it: neither was read.
    expect(await fromServiceQuotas()).toEqual([]);
    quotas.reset();
    quotas
      .on(GetServiceQuotaCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'TooManyRequestsException' }));
    expect(await limitsInForce()).toMatchObject({ rdsDbInstances: 4, iamRoles: 30 });
  });

  it('reads nothing while cells share the account: each counts the share of it its settings give', async () => {
    process.env[TaskEnv.capacity] = JSON.stringify({ rdsDbInstances: 4, iamRoles: 30, cells: 2 });
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 120 } });
    expect(await limitsInForce()).toMatchObject({ rdsDbInstances: 4, iamRoles: 30, cells: 2 });
    expect(await fromServiceQuotas()).toEqual([]);
    expect(quotas.commandCalls(GetServiceQuotaCommand)).toHaveLength(0);
  });

  it('asks Service Quotas again only once what it read is older than the cache time', async () => {
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 50 } });
    expect((await limitsInForce()).rdsDbInstances).toBe(50);
    process.env[TaskEnv.serviceQuotasCacheSeconds] = '3600';
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 60 } });
    expect((await limitsInForce()).rdsDbInstances).toBe(50);
    expect(quotas.commandCalls(GetServiceQuotaCommand)).toHaveLength(2);
    process.env[TaskEnv.serviceQuotasCacheSeconds] = '0';
    expect((await limitsInForce()).rdsDbInstances).toBe(60);
  });

  it("lists the account's roles and the region's instances, over every page", async () => {
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1000 } });
    const role = (RoleName: string) => ({
      RoleName,
      Path: '/',
      RoleId: RoleName,
      Arn: '',
      CreateDate: new Date(),
    });
    iamApi
      .on(ListRolesCommand, { Marker: undefined })
      .resolves({
        Roles: [role('tenant-acme-api-role'), role('TenantPlatform-RegisterTenantRole')],
        IsTruncated: true,
        Marker: 'page-2',
      })
      .on(ListRolesCommand, { Marker: 'page-2' })
      .resolves({ Roles: [role('another-team-role')], IsTruncated: false });
    rdsApi.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceIdentifier: 'platform-shared-db' }, { DBInstanceIdentifier: 'reporting-db' }],
    });
    expect((await limitsInForce()).account).toEqual({
      roles: ['tenant-acme-api-role', 'TenantPlatform-RegisterTenantRole', 'another-team-role'],
      instances: ['platform-shared-db', 'reporting-db'],
    });
    expect(iamApi.commandCalls(ListRolesCommand)).toHaveLength(2);
  });

  it('takes a list that cannot be read as it was last read, or as none when it never was', async () => {
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1000 } });
    iamApi.on(ListRolesCommand).resolves({
      Roles: [{ RoleName: 'ci-deployer', Path: '/', RoleId: 'r', Arn: '', CreateDate: new Date() }],
    });
    await capacityInForce();
    iamApi.on(ListRolesCommand).rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    rdsApi.on(DescribeDBInstancesCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDenied' }));
    expect((await limitsInForce()).account).toEqual({ roles: ['ci-deployer'], instances: [] });

    // A task Lambda that has read no list yet (the module loaded afresh, its SDK with it).
    await jest.isolateModulesAsync(async () => {
      const { IAMClient: FreshIam, ListRolesCommand: FreshListRoles } = await import('@aws-sdk/client-iam');
      const { RDSClient: FreshRds } = await import('@aws-sdk/client-rds');
      const { ServiceQuotasClient: FreshQuotas } = await import('@aws-sdk/client-service-quotas');
      const { mockClient: freshMock } = await import('aws-sdk-client-mock');
      const denied = Object.assign(new Error('no'), { name: 'AccessDenied' });
      const freshIam = freshMock(FreshIam);
      freshIam.rejects(denied);
      freshMock(FreshRds).rejects(denied);
      freshMock(FreshQuotas).resolves({ Quota: { Value: 1000 } });
      const fresh = await import('../../workflow-tasks/records/capacity');
      const settings = limitsOfCell(await fresh.capacityInForce(), 'cell-1');
      expect(settings.account).toEqual({});
      expect(settings.iamRoles).toBe(1000);
      expect(freshIam.commandCalls(FreshListRoles)).toHaveLength(1);
    });
  });

  it('lists nothing while cells share the account', async () => {
    process.env[TaskEnv.capacity] = JSON.stringify({ cells: 2 });
    expect((await limitsInForce()).account).toBeUndefined();
    expect(iamApi.commandCalls(ListRolesCommand)).toHaveLength(0);
    expect(rdsApi.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
  });

  it("reads each cell's own account, and the platform's only for a cell that has it to itself", async () => {
    quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 70 } });
    // cell-2 is an account of its own: cell-1 has the platform's to itself, and both are read.
    process.env[TaskEnv.capacity] = JSON.stringify({ cells: 2, cellAccounts: { 'cell-2': '210987654321' } });
    expect(Object.keys((await capacityInForce()).read ?? {}).sort()).toEqual(['cell-1', 'cell-2']);
    expect((await limitsInForce('cell-2')).iamRoles).toBe(70);
    expect(await fromServiceQuotas('cell-2')).toEqual(['iamRoles', 'rdsDbInstances']);
    // cell-1 and cell-2 share the platform's account: only cell-3's own is read.
    process.env[TaskEnv.capacity] = JSON.stringify({
      cells: 3,
      iamRoles: 30,
      cellAccounts: { 'cell-3': '210987654321' },
    });
    const settings = await capacityInForce();
    expect(Object.keys(settings.read ?? {})).toEqual(['cell-3']);
    expect([1, 2, 3].map((n) => limitsOfCell(settings, `cell-${n}`).iamRoles)).toEqual([30, 30, 70]);
  });
});
