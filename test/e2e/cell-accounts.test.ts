import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetAliasCommand, GetFunctionCommand, GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { gatewayRequest } from '../../cli/describe';
import { capacitySettings } from '../../common/capacity';
import { localCellAccounts } from '../../local/account';
import { PlatformNames, TaskEnv, tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import { awsIn, type AwsClients } from '../../workflow-tasks/lib/aws';
import { readJsonSecret } from '../../workflow-tasks/lib/db';
import { getTenant } from '../../workflow-tasks/records/registry';
import { EVERY_RESOURCE, NO_RESOURCE, resourcesIn } from '../fixtures/cell-resources';
import { localServicesForFile, tenantInput } from '../fixtures/platform';
import { runRelease, uploadVersion } from '../fixtures/releases';

// The second cell is an AWS account of its own; one tenant per cell, so the second tenant goes there.
const CELL_ACCOUNT = '210987654321';
const QUOTAS = capacitySettings(
  { cells: 2, tenantsPerCell: 1, cellAccounts: { 'cell-2': CELL_ACCOUNT } },
  'test',
);
const { running, restart } = localServicesForFile('cell-accounts', {
  quotas: QUOTAS,
  // Its database's schema fails: its rollback must undo what was made in the cell's account.
  faults: [{ tenantId: 'ca-broken', step: 'apply-schema', kind: 'permanent', times: 1 }],
});

const HOME = 'ca-home';
const AWAY = 'ca-away';

function run(input: unknown, workflow?: 'suspension' | 'offboarding') {
  const { platform } = running();
  return platform.runExecution(
    input,
    workflow ? { stateMachineArn: platform.stateMachines[workflow].arn } : {},
  );
}

async function signIn(tenantId: string, account: string | undefined): Promise<string> {
  const secret = await readJsonSecret<TenantSecret>(tenantResourceNames(tenantId).secretName, account);
  const login = await gatewayRequest(
    running().endpoints.gateway,
    `api.${tenantId}.localhost`,
    '/auth/login',
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: secret.adminEmail, password: secret.adminPassword }),
    },
  );
  expect([tenantId, login.status]).toEqual([tenantId, 200]);
  return (JSON.parse(login.body) as { token: string }).token;
}

function products(tenantId: string, token: string) {
  return gatewayRequest(running().endpoints.gateway, `api.${tenantId}.localhost`, '/products', {
    headers: { authorization: `Bearer ${token}` },
  });
}

describe('cells that are AWS accounts of their own', () => {
  it("makes a tenant placed in such a cell in its account, through the task's role there, and serves it", async () => {
    expect((await run(tenantInput(HOME))).status).toBe('SUCCEEDED');
    const away = await run(tenantInput(AWAY));
    expect([away.status, away.error]).toEqual(['SUCCEEDED', undefined]);
    expect([(await getTenant(HOME))?.cell, (await getTenant(AWAY))?.cell]).toEqual(['cell-1', 'cell-2']);

    const [home, cell] = [awsIn(undefined), awsIn(CELL_ACCOUNT)];
    expect(await resourcesIn(cell, AWAY)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(home, AWAY)).toEqual(NO_RESOURCE);
    expect(await resourcesIn(home, HOME)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(cell, HOME)).toEqual(NO_RESOURCE);
    const fn = await cell.lambda.send(
      new GetFunctionCommand({ FunctionName: tenantResourceNames(AWAY).functionName }),
    );
    expect(fn.Configuration?.FunctionArn).toContain(`:${CELL_ACCOUNT}:function:`);
    // The deploy step assumed its own role's copy in the cell's account, and the IAM check allowed it.
    const iam = running().platform.iam;
    expect(iam?.denials().map((d) => d.message)).toEqual([]);
    const assumed = [...(iam?.usage().values() ?? [])].flatMap((calls) =>
      [...calls.keys()].filter((call) => call.startsWith('sts:AssumeRole ')),
    );
    expect(assumed).toContainEqual(
      expect.stringMatching(new RegExp(`^sts:AssumeRole arn:aws:iam::${CELL_ACCOUNT}:role/`)),
    );

    // The gateway routes to the cell's account: the tenant's API answers there with its own data.
    for (const [tenantId, account] of [
      [HOME, undefined],
      [AWAY, CELL_ACCOUNT],
    ] as const) {
      const listed = await products(tenantId, await signIn(tenantId, account));
      expect([tenantId, listed.status]).toEqual([tenantId, 200]);
    }
  });

  it('releases a new version to it there, cell by cell, with the tenant of the home cell', async () => {
    const version = await uploadVersion({ build: 'cell-accounts-1' });
    const { summary } = await runRelease(running().platform, { version, canary: 1, waveSize: 5 });
    expect([summary.stopReason, summary.failed]).toEqual([undefined, []]);
    expect([...summary.updated].sort()).toEqual([AWAY, HOME]);
    const live = await awsIn(CELL_ACCOUNT).lambda.send(
      new GetAliasCommand({ FunctionName: tenantResourceNames(AWAY).functionName, Name: 'live' }),
    );
    expect(live.FunctionVersion).not.toBe('1');
    expect((await getTenant(AWAY))?.codeVersion).toBe(version);
    expect((await products(AWAY, await signIn(AWAY, CELL_ACCOUNT))).status).toBe(200);
  });

  it('suspends and resumes it there, and refuses to move it to a full cell of another account', async () => {
    const token = await signIn(AWAY, CELL_ACCOUNT);
    expect((await run({ tenantId: AWAY, action: 'suspend' }, 'suspension')).status).toBe('SUCCEEDED');
    const suspended = await products(AWAY, token);
    expect([suspended.status, suspended.body]).toEqual([503, expect.stringContaining('tenant-suspended')]);
    expect((await run({ tenantId: AWAY, action: 'resume' }, 'suspension')).status).toBe('SUCCEEDED');
    expect((await products(AWAY, token)).status).toBe(200);

    const { platform } = running();
    const move = await platform.runExecution(
      { tenantId: AWAY, toCell: 'cell-1' },
      { stateMachineArn: platform.stateMachines.move.arn },
    );
    // cell-1 holds one tenant here, and has it (moves between accounts: cell-account-move.test.ts).
    expect([move.status, move.error]).toEqual(['FAILED', 'QuotaExceeded']);
    expect(move.cause).toContain('tenantsPerCell');
    expect((await getTenant(AWAY))?.status).toBe('ACTIVE');
    expect((await products(AWAY, token)).status).toBe(200);
  });

  it('offboards it from its account, leaving nothing there', async () => {
    const offboarded = await run({ tenantId: AWAY }, 'offboarding');
    expect([offboarded.status, offboarded.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), AWAY)).toEqual(NO_RESOURCE);
    expect((await getTenant(AWAY))?.status).toBe('OFFBOARDED');
    expect(await resourcesIn(awsIn(undefined), HOME)).toEqual(EVERY_RESOURCE);
  });

  it('rolls back an onboarding that fails in such a cell, removing what it made in its account', async () => {
    const broken = 'ca-broken';
    const failed = await run(tenantInput(broken));
    expect(failed.status).toBe('FAILED');
    // Placed in the cell AWAY left (a cell takes one tenant here).
    expect([(await getTenant(broken))?.status, (await getTenant(broken))?.cell]).toEqual([
      'ROLLED_BACK',
      'cell-2',
    ]);
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), broken)).toEqual(NO_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), broken)).toEqual(NO_RESOURCE);
  });

  it("makes a dedicated tenant's instance and its CPU alarm in the cell's account, and removes them there", async () => {
    const own = 'ca-own';
    const onboarded = await run(tenantInput(own, { tier: 'dedicated' }));
    expect([onboarded.status, onboarded.error]).toEqual(['SUCCEEDED', undefined]);
    expect((await getTenant(own))?.cell).toBe('cell-2');
    const cpuAlarm = (clients: AwsClients) =>
      clients.cloudwatch
        .send(new DescribeAlarmsCommand({ AlarmNames: [tenantResourceNames(own).instanceCpuAlarm] }))
        .then(({ MetricAlarms = [] }) => MetricAlarms.length);
    expect([await cpuAlarm(awsIn(CELL_ACCOUNT)), await cpuAlarm(awsIn(undefined))]).toEqual([1, 0]);
    expect((await products(own, await signIn(own, CELL_ACCOUNT))).status).toBe(200);

    const offboarded = await run({ tenantId: own }, 'offboarding');
    expect([offboarded.status, offboarded.error]).toEqual(['SUCCEEDED', undefined]);
    expect(await cpuAlarm(awsIn(CELL_ACCOUNT))).toBe(0);
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), own)).toEqual(NO_RESOURCE);
  });

  it('puts a tenant of a cell account back in its account after a restart, serving its data', async () => {
    const again = 'ca-again';
    expect((await run(tenantInput(again))).status).toBe('SUCCEEDED');
    expect((await getTenant(again))?.cell).toBe('cell-2');
    const created = await gatewayRequest(running().endpoints.gateway, `api.${again}.localhost`, '/products', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await signIn(again, CELL_ACCOUNT)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ sku: 'KEPT-1', name: 'Kept across a restart', priceCents: 100, stock: 1 }),
    });
    expect(created.status).toBe(201);

    // The emulator starts empty: the restart makes the tenant's resources again, in its cell's account.
    await restart();
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), again)).toEqual(EVERY_RESOURCE);
    expect(await resourcesIn(awsIn(undefined), again)).toEqual(NO_RESOURCE);
    const listed = await products(again, await signIn(again, CELL_ACCOUNT));
    expect([listed.status, listed.body]).toEqual([200, expect.stringContaining('KEPT-1')]);
  });

  it("refuses settings that put its cell in another account than its tenants', and keeps the ones it had", async () => {
    const elsewhere = capacitySettings(
      { cells: 2, tenantsPerCell: 1, cellAccounts: { 'cell-2': '111122223333' } },
      'test',
    );
    await expect(restart({ quotas: elsewhere })).rejects.toThrow(
      // Its tenant, and the shared instance added in its account.
      'quotas: cellAccounts.cell-2: cell-2 is in AWS account 111122223333 here, but ca-again, shared-2 were made in ' +
        `AWS account ${CELL_ACCOUNT}, and a setting does not move them: keep cell-2 there ("cell-2": "${CELL_ACCOUNT}")`,
    );
    // The local default's account for cell-2, which the user never named, is named as such.
    const byDefault = capacitySettings({ cells: 2, tenantsPerCell: 1 }, 'test', localCellAccounts);
    await expect(restart({ quotas: byDefault })).rejects.toThrow(
      `keep cell-2 there ("cell-2": "${CELL_ACCOUNT}") (cell-2 in 000000000002: the local platform's own account ` +
        'for a cell when the quotas name none; name the accounts, or "cellAccounts": {} for the platform\'s)',
    );
    const home = capacitySettings({ cells: 2, tenantsPerCell: 1 }, 'test');
    await expect(restart({ quotas: home })).rejects.toThrow(
      "cellAccounts.cell-2: cell-2 is in the platform's account here, but ca-again, shared-2 were made in AWS account",
    );
    // Nothing was kept of the refused settings: the next start finds the tenant where it was made.
    await restart();
    expect(await resourcesIn(awsIn(CELL_ACCOUNT), 'ca-again')).toEqual(EVERY_RESOURCE);
    const listed = await products('ca-again', await signIn('ca-again', CELL_ACCOUNT));
    expect([listed.status, listed.body]).toEqual([200, expect.stringContaining('KEPT-1')]);
  });

  it("puts a tenant of a platform in a VPC in its cell's own network, found by its stack's tag", async () => {
    // The cell's stack's network (infra/cell-stack.ts tags it), and the platform's own, as on AWS.
    const network = async (clients: AwsClients, cidr: string, tag?: (value: string) => Tag[]) => {
      const vpc = (await clients.ec2.send(new CreateVpcCommand({ CidrBlock: `${cidr}.0.0/16` }))).Vpc?.VpcId;
      const tagged = (type: 'subnet' | 'security-group', value: string) =>
        tag ? [{ ResourceType: type, Tags: tag(value) }] : [];
      const subnets = await Promise.all(
        [0, 16].map(
          async (third) =>
            (
              await clients.ec2.send(
                new CreateSubnetCommand({
                  VpcId: vpc,
                  CidrBlock: `${cidr}.${third}.0/20`,
                  TagSpecifications: tagged('subnet', 'tenant-functions'),
                }),
              )
            ).Subnet?.SubnetId ?? '',
        ),
      );
      const group = async (name: string, value: string) =>
        (
          await clients.ec2.send(
            new CreateSecurityGroupCommand({
              VpcId: vpc,
              GroupName: name,
              Description: name,
              TagSpecifications: tagged('security-group', value),
            }),
          )
        ).GroupId ?? '';
      return {
        subnets,
        functions: await group('functions', 'tenant-functions'),
        databases: await group('databases', 'databases'),
      };
    };
    const byTag = (value: string) => [{ Key: PlatformNames.cellNetworkTag, Value: value }];
    const cell = await network(awsIn(CELL_ACCOUNT), '10.2', byTag);
    const home = await network(awsIn(undefined), '10.0');
    const before = { ...process.env };
    // The platform's network, as the stack gives it to the tasks on AWS (read at each call).
    process.env[TaskEnv.tenantSubnetIds] = home.subnets.join(',');
    process.env[TaskEnv.tenantSecurityGroupId] = home.functions;
    process.env[TaskEnv.dedicatedSecurityGroup] = home.databases;
    try {
      // Room in cell-2: its tenant leaves.
      expect((await run({ tenantId: 'ca-again' }, 'offboarding')).status).toBe('SUCCEEDED');
      const placed = await run(tenantInput('ca-net'));
      expect([placed.status, placed.error]).toEqual(['SUCCEEDED', undefined]);
      expect((await getTenant('ca-net'))?.cell).toBe('cell-2');
      const { functionName } = tenantResourceNames('ca-net');
      const configuration = await awsIn(CELL_ACCOUNT).lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName }),
      );
      expect([
        [...(configuration.VpcConfig?.SubnetIds ?? [])].sort(),
        configuration.VpcConfig?.SecurityGroupIds,
      ]).toEqual([[...cell.subnets].sort(), [cell.functions]]);
      // The copy of Deploy function's role found the network there (and the IAM check allowed it).
      const iam = running().platform.iam;
      expect(iam?.denials().map((d) => d.message)).toEqual([]);
      const calls = [...(iam?.usage().values() ?? [])].flatMap((used) => [...used.keys()]);
      expect(calls).toContain('ec2:DescribeSubnets *');
    } finally {
      for (const key of [
        TaskEnv.tenantSubnetIds,
        TaskEnv.tenantSecurityGroupId,
        TaskEnv.dedicatedSecurityGroup,
      ])
        if (before[key] === undefined) delete process.env[key];
        else process.env[key] = before[key];
    }
  });
});
