import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { PlatformNames } from '../../common/names';
import { startEmulator, type LocalEmulator } from '../../local/emulator/emulator';
import { findCellNetwork } from '../../workflow-tasks/lib/cell-network';

// A cell account's network as its stack tags it (infra/cell-stack.ts), in the emulator's EC2.
const ACCOUNT = '210987654321';
let emulator: LocalEmulator | undefined;
let ec2: EC2Client;
let vpcId = '';

beforeAll(async () => {
  emulator = await startEmulator(undefined);
  ec2 = new EC2Client({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16' }))).Vpc?.VpcId ?? '';
});
afterAll(async () => {
  ec2?.destroy();
  await emulator?.stop();
});

const tags = (resource: 'subnet' | 'security-group', value?: string) =>
  value ? [{ ResourceType: resource, Tags: [{ Key: PlatformNames.cellNetworkTag, Value: value }] }] : [];

async function subnet(cidr: string, value?: string): Promise<string> {
  const made = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, TagSpecifications: tags('subnet', value) }),
  );
  return made.Subnet?.SubnetId ?? '';
}

async function securityGroup(name: string, value?: string): Promise<string> {
  const made = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: name,
      Description: name,
      TagSpecifications: tags('security-group', value),
    }),
  );
  return made.GroupId ?? '';
}

describe("a cell account's network, found by its stack's tag", () => {
  it('is refused, naming the tag and the stack to deploy, while the stack has not made it', async () => {
    await subnet('10.2.200.0/24'); // someone else's, untagged
    await securityGroup('other');
    await expect(findCellNetwork(ec2, ACCOUNT)).rejects.toMatchObject({
      name: 'CellNotReady',
      message:
        `AWS account ${ACCOUNT} has no network tagged ${PlatformNames.cellNetworkTag} (subnets and security group ` +
        `"tenant-functions", security group "databases"): deploy its cell's stack (infra/cell-stack.ts) first`,
    });
  });

  it("is the tenant functions' subnets and security group and the instances' security group", async () => {
    const subnets = [
      await subnet('10.2.0.0/20', 'tenant-functions'),
      await subnet('10.2.16.0/20', 'tenant-functions'),
    ];
    const functions = await securityGroup('functions', 'tenant-functions');
    const databases = await securityGroup('databases', 'databases');
    expect(await findCellNetwork(ec2, ACCOUNT)).toEqual({
      subnetIds: subnets.sort(),
      functionSecurityGroupId: functions,
      databaseSecurityGroupId: databases,
    });
  });

  it('is refused when its pieces are in two VPCs (two stacks in one account)', async () => {
    const other = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16' }))).Vpc?.VpcId ?? '';
    const elsewhere = await ec2.send(
      new CreateSubnetCommand({
        VpcId: other,
        CidrBlock: '10.3.0.0/20',
        TagSpecifications: tags('subnet', 'tenant-functions'),
      }),
    );
    await expect(findCellNetwork(ec2, ACCOUNT)).rejects.toMatchObject({
      name: 'CellNotReady',
      message: expect.stringContaining('are in 2 VPCs') as string,
    });
    await ec2.send(new DeleteSubnetCommand({ SubnetId: elsewhere.Subnet?.SubnetId }));
  });

  it('is refused when two security groups carry one kind of the tag (two stacks in one account)', async () => {
    await securityGroup('databases-again', 'databases');
    await expect(findCellNetwork(ec2, ACCOUNT)).rejects.toMatchObject({
      name: 'CellNotReady',
      message: expect.stringContaining('more than one security group tagged') as string,
    });
  });
});
