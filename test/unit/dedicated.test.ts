import {
  CreateDBInstanceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { DEDICATED_INSTANCE } from '../../common/steps';
import * as checkInstance from '../../workflow-tasks/check-instance/handler';
import * as createDatabase from '../../workflow-tasks/create-database/handler';
import { taskEvent, validatedTenant } from '../fixtures/events';

// States the emulator cannot produce (its instances are available at once): creating for a while, failed.
const rds = mockClient(RDSClient);
// The tenant's CPU alarm does not exist in these cases.
const cloudwatch = mockClient(CloudWatchClient);
// The execution's history, which "Check instance" reads while it waits: has the web branch failed?
const sfn = mockClient(SFNClient);
const tenant = validatedTenant('big-shop', { tier: 'dedicated' });
const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:tenant-onboarding:x';
const notFound = Object.assign(new Error('not found'), { name: 'DBInstanceNotFoundFault' });
const instance = (status: string, tenantTag = 'big-shop') => ({
  DBInstances: [
    {
      DBInstanceIdentifier: 'tenant-big-shop',
      DBInstanceStatus: status,
      TagList: [{ Key: 'tenant', Value: tenantTag }],
    },
  ],
});

beforeEach(() => {
  rds.reset();
  cloudwatch.reset();
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  sfn.reset();
  sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
});

describe('create database, dedicated tier', () => {
  it('asks RDS for an encrypted, private, tagged instance whose master password RDS manages', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(notFound);
    rds
      .on(CreateDBInstanceCommand)
      .resolves({ DBInstance: { DBInstanceIdentifier: 'tenant-big-shop', DBInstanceStatus: 'creating' } });
    const result = await createDatabase.run(taskEvent(executionArn, { tenant }));
    expect(result).toMatchObject({ instanceId: 'tenant-big-shop', database: 'big_shop' });
    expect(rds.commandCalls(CreateDBInstanceCommand)[0]?.args[0].input).toMatchObject({
      DBInstanceIdentifier: 'tenant-big-shop',
      Engine: 'postgres',
      StorageEncrypted: true,
      ManageMasterUserPassword: true,
      PubliclyAccessible: false,
      DBName: 'big_shop',
    });
    expect(rds.commandCalls(CreateDBInstanceCommand)[0]?.args[0].input.Tags).toContainEqual({
      Key: 'tenant',
      Value: 'big-shop',
    });
  });

  it("refuses an instance with the tenant's name that belongs to someone else, and its undo leaves it alone", async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance('available', 'someone-else'));
    await expect(createDatabase.run(taskEvent(executionArn, { tenant }))).rejects.toMatchObject({
      name: 'ResourceConflict',
    });
    await createDatabase.undo(taskEvent(executionArn, { tenant }));
    expect(rds.commandCalls(CreateDBInstanceCommand)).toHaveLength(0);
    expect(rds.commandCalls(DeleteDBInstanceCommand)).toHaveLength(0);
  });

  it('undo deletes the instance without a final snapshot, and is done when it is already deleting', async () => {
    rds.on(DescribeDBInstancesCommand).resolvesOnce(instance('creating')).resolves(instance('deleting'));
    rds.on(DeleteDBInstanceCommand).resolves({});
    await createDatabase.undo(taskEvent(executionArn, { tenant }));
    await createDatabase.undo(taskEvent(executionArn, { tenant }));
    expect(rds.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input)).toEqual([
      { DBInstanceIdentifier: 'tenant-big-shop', SkipFinalSnapshot: true, DeleteAutomatedBackups: true },
    ]);
  });
});

describe('check instance', () => {
  const event = (rounds?: number) =>
    taskEvent(executionArn, {
      tenant,
      ...(rounds === undefined ? {} : { instance: { status: 'creating', rounds } }),
    });

  it('reports an instance still creating, counting the rounds', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance('creating'));
    expect(await checkInstance.run(event())).toEqual({ status: 'creating', rounds: 1 });
    expect(await checkInstance.run(event(7))).toEqual({ status: 'creating', rounds: 8 });
  });

  it('answers abandoned, instead of waiting on, once the web branch beside it has failed', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance('creating'));
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        {
          id: 9,
          timestamp: new Date(),
          type: 'PassStateEntered',
          stateEnteredEventDetails: { name: 'Web branch failed' },
        },
      ],
    });
    expect(await checkInstance.run(event(2))).toEqual({ status: 'abandoned', rounds: 3 });
    expect(sfn.commandCalls(GetExecutionHistoryCommand)[0]?.args[0].input).toMatchObject({
      executionArn,
      reverseOrder: true,
    });
  });

  it('gives up after the last round', async () => {
    rds.on(DescribeDBInstancesCommand).resolves(instance('backing-up'));
    await expect(checkInstance.run(event(DEDICATED_INSTANCE.maxRounds - 1))).rejects.toMatchObject({
      name: 'InstanceNotReadyInTime',
    });
  });

  it.each(['failed', 'incompatible-parameters', 'storage-full'])(
    'fails for good when the instance is %s',
    async (status) => {
      rds.on(DescribeDBInstancesCommand).resolves(instance(status));
      await expect(checkInstance.run(event(3))).rejects.toMatchObject({ name: 'InstanceFailed' });
    },
  );
});
