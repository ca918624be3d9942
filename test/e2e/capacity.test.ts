import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import {
  capacityExecutionName,
  capacitySettings,
  CapacityStates,
  sharedInstanceRdsId,
} from '../../common/capacity';
import { tenantResourceNames } from '../../common/names';
import { aws, isNotFound } from '../../workflow-tasks/lib/aws';
import { getTenant } from '../../workflow-tasks/records/registry';
import type { CellView } from '../../workflow-tasks/records/capacity';
import { waitFor } from '../../local/processes/ports';
import { cleanupAfter, reaching } from '../fixtures/executions';
import { domainWhen, localServicesForFile, tenantInput } from '../fixtures/platform';
import { tenantctl } from '../fixtures/processes';
import * as instances from '../fixtures/shared-instances';
import type { InstanceRow } from '../fixtures/shared-instances';
import { tenantApiRequest } from '../fixtures/tenant-api';

// Small limits, so the edges are reached with a dozen tenants: four per shared instance (the next one
// started when one place is left), thirteen in the cell, four RDS instances (shared ones included).
const QUOTAS = capacitySettings(
  {
    tenantsPerSharedInstance: 4,
    tenantsPerCell: 13,
    rdsDbInstances: 4,
    sharedInstanceHeadroom: 1,
    // One customer domain (two distribution tenants).
    cloudFrontDistributionTenants: 2,
  },
  'test',
);

const { running, stateDir, restart } = localServicesForFile('capacity', { quotas: QUOTAS });

async function onboard(tenantId: string, overrides: Record<string, unknown> = {}) {
  return running().platform.runExecution(tenantInput(tenantId, overrides));
}

const registryQuery = <T extends object>(sql: string) => instances.registryQuery<T>(running().platform, sql);

/** The databases on a shared instance's server, read as its master user. */
async function databasesOn(instance: InstanceRow): Promise<string[]> {
  const secret = await aws().secrets.send(
    new GetSecretValueCommand({ SecretId: instance.master_secret_arn }),
  );
  const { username, password } = JSON.parse(secret.SecretString ?? '{}') as {
    username: string;
    password: string;
  };
  const client = new Client({
    host: instance.host,
    port: instance.port,
    user: username,
    password,
    database: 'postgres',
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'cap\\_%' ORDER BY datname`,
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

const first = ['cap-a', 'cap-b', 'cap-c', 'cap-d'];
const burst = Array.from({ length: 8 }, (_, i) => `cap-burst-${i}`);

describe('capacity: shared instances fill, the next is added, limits are never exceeded', () => {
  it('places 12 onboardings, 8 of them at once, on shared instances added as they fill, none above its limit', async () => {
    for (const tenantId of first) expect((await onboard(tenantId)).status).toBe('SUCCEEDED');
    const records = await Promise.all(burst.map((tenantId) => onboard(tenantId)));
    expect(records.map((r) => [r.status, r.error])).toEqual(burst.map(() => ['SUCCEEDED', undefined]));
    for (const tenantId of [...first, ...burst]) expect((await getTenant(tenantId))?.status).toBe('ACTIVE');

    const placed = await registryQuery<{ id: string; db_instance: string }>(
      `SELECT id, db_instance FROM tenants WHERE id LIKE 'cap-%'`,
    );
    const perInstance = new Map<string, string[]>();
    for (const { id, db_instance } of placed)
      perInstance.set(db_instance, [...(perInstance.get(db_instance) ?? []), id]);
    expect(Math.max(...[...perInstance.values()].map((ids) => ids.length))).toBeLessThanOrEqual(4);
    expect(perInstance.size).toBeGreaterThanOrEqual(3);
    // The oldest instance fills first: the first four are on the platform's own instance.
    expect(perInstance.get('shared-1')?.sort()).toEqual([...first].sort());

    // Each tenant's database is on the server of the instance the registry says, and nowhere else. The
    // fourth instance was started once the third had one place left (headroom 1): it may still be coming.
    await waitFor(
      'the fourth shared instance',
      async () => {
        const [row] = await registryQuery<{ status: string }>(
          `SELECT status FROM shared_instances WHERE id = 'shared-4'`,
        );
        return row?.status === 'AVAILABLE';
      },
      60_000,
    );
    const instances = await registryQuery<InstanceRow>(`SELECT * FROM shared_instances ORDER BY seq`);
    expect(instances.map((i) => [i.id, i.status])).toEqual([
      ['shared-1', 'AVAILABLE'],
      ['shared-2', 'AVAILABLE'],
      ['shared-3', 'AVAILABLE'],
      ['shared-4', 'AVAILABLE'],
    ]);
    expect(new Set(instances.map((i) => i.port)).size).toBe(4);
    for (const instance of instances) {
      const expected = (perInstance.get(instance.id) ?? [])
        .map((id) => tenantResourceNames(id).database)
        .sort();
      expect({ [instance.id]: await databasesOn(instance) }).toEqual({ [instance.id]: expected });
    }

    // A tenant on an added instance serves from its database there.
    const onThird = perInstance.get('shared-3')?.[0] ?? '';
    const health = await tenantApiRequest(running().endpoints.gateway, `api.${onThird}.localhost`, '/health');
    expect(health.status).toBe(200);
  });

  it('refuses a dedicated onboarding over the RDS instance quota, naming it, and makes no instance', async () => {
    const record = await onboard('cap-dedicated', { tier: 'dedicated' });
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('QuotaExceeded');
    expect(record.cause).toContain('rdsDbInstances is 4 per region and 4 are in use');
    expect((await getTenant('cap-dedicated'))?.status).toBe('ROLLED_BACK');
    const described = aws()
      .rds.send(
        new DescribeDBInstancesCommand({
          DBInstanceIdentifier: tenantResourceNames('cap-dedicated').instanceId,
        }),
      )
      .then(
        () => 'exists',
        (error: unknown) => (isNotFound(error) ? 'not found' : String(error)),
      );
    expect(await described).toBe('not found');
  });

  it('places a tenant that fits the cell and refuses the next, naming tenantsPerCell', async () => {
    const fits = await onboard('cap-last');
    expect(fits.status).toBe('SUCCEEDED');
    expect((await getTenant('cap-last'))?.dbInstance).toBe('shared-4');
    const over = await onboard('cap-over');
    expect(over.status).toBe('FAILED');
    expect(over.error).toBe('QuotaExceeded');
    expect(over.cause).toContain('tenantsPerCell is 13 per cell and 13 are in use');
    expect((await getTenant('cap-over'))?.status).toBe('ROLLED_BACK');
  });

  it('tenantctl cells shows each limit against its use, and each shared instance', async () => {
    const shown = await tenantctl(['cells', '--json', '--state-dir', stateDir()]);
    expect(shown.stderr).toBe('');
    const [cell] = JSON.parse(shown.stdout) as CellView[];
    const use = Object.fromEntries((cell?.limits ?? []).map((l) => [l.name, [l.inUse, l.limit]]));
    expect(use).toEqual({
      tenantsPerCell: [13, 13],
      tenantsPerSharedInstance: [4, 4],
      // Four tenants of five connections each (connectionsPerTenant's default) on the fullest instance.
      connectionsPerSharedInstance: [20, 1000],
      iamRoles: [13, 1000],
      rdsDbInstances: [4, 4],
      cloudFrontDistributionTenants: [0, 2],
    });
    expect(cell?.sharedInstances.map((i) => [i.id, i.tenants])).toEqual([
      ['shared-1', 4],
      ['shared-2', 4],
      ['shared-3', 4],
      ['shared-4', 1],
    ]);
  });

  it("refuses a customer's domain over the distribution tenant quota, naming it", async () => {
    const { platform } = running();
    const domainWorkflow = { stateMachineArn: platform.stateMachines.domain.arn };
    // The first waits for its records (which never come here); its two distribution tenants are made.
    await platform.startExecution({ tenantId: 'cap-a', domain: 'cap-a.example' }, domainWorkflow);
    await domainWhen('cap-a', 'cap-a.example', (d) => d?.status === 'PENDING_VALIDATION', 30_000);
    const over = await platform.runExecution({ tenantId: 'cap-b', domain: 'cap-b.example' }, domainWorkflow);
    expect([over.status, over.error]).toEqual(['FAILED', 'QuotaExceeded']);
    expect(over.cause).toContain('cloudFrontDistributionTenants is 2 per account and 2 are in use');
  });

  it('an addition stopped before it registers its instance is cleaned up: the RDS instance deleted, recorded FAILED', async () => {
    const { platform } = running();
    const stateMachineArn = platform.stateMachines.capacity.arn;
    const started = await platform.startExecution(
      { instanceId: 'shared-90' },
      { stateMachineArn, name: capacityExecutionName('shared-90') },
    );
    // What planning records before it starts an addition.
    await registryQuery(
      `INSERT INTO shared_instances (id, seq, status, execution_arn) VALUES ('shared-90', 90, 'CREATING', '${started.executionArn}')`,
    );
    // Creating the instance starts a PostgreSQL server: the execution is stopped while it does.
    await reaching(platform, started.executionArn, CapacityStates.create);
    expect(await platform.stopExecution(started.executionArn)).toBe(true);
    const cleanup = await cleanupAfter(platform, started.executionArn, 60_000);
    expect([cleanup.status, JSON.parse(cleanup.output ?? 'null')]).toMatchObject([
      'SUCCEEDED',
      { cleanup: { removedInstance: 'shared-90' } },
    ]);
    const [row] = await registryQuery<{ status: string }>(
      `SELECT status FROM shared_instances WHERE id = 'shared-90'`,
    );
    expect(row?.status).toBe('FAILED');
    const described = aws()
      .rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: sharedInstanceRdsId('shared-90') }))
      .then(
        (found) => found.DBInstances?.[0]?.DBInstanceStatus ?? 'none',
        (error: unknown) => (isNotFound(error) ? 'not found' : String(error)),
      );
    expect(['not found', 'deleting']).toContain(await described);
  });

  it('after a restart, the added instances serve again where they now answer, with the limits kept', async () => {
    await restart();
    for (const tenantId of ['cap-burst-7', 'cap-last']) {
      const health = await tenantApiRequest(
        running().endpoints.gateway,
        `api.${tenantId}.localhost`,
        '/health',
      );
      expect({ tenantId, status: health.status }).toEqual({ tenantId, status: 200 });
    }
    const over = await onboard('cap-over-again');
    expect(over.cause).toContain('tenantsPerCell is 13 per cell');
  });
});
