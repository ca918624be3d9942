import * as EC2 from '@aws-sdk/client-ec2';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { PlatformNames } from '../../common/names';
import { cellNames } from '../../infra/cell-access';
import { letCellsPeer } from '../../infra/cell-peering';
import { CellStack, cellCidr } from '../../infra/cell-stack';
import { PlatformNetwork } from '../../infra/network';
import { tenantRoleBoundary } from '../../infra/tenant-role-boundary';
import { startEmulator, type LocalEmulator } from '../../local/emulator/emulator';

/**
 * The route between the platform's VPC and a cell account's (infra/cell-peering.ts), as CloudFormation would
 * make it, in the emulator's EC2: the platform's network made from its template (its tags included), then the
 * cell's template played in order: its custom resources' calls (with the platform's peering role's session,
 * as AwsCustomResource makes them), the peering request and its acceptance with that role, and its routes.
 */
const PLATFORM = '123456789012';
const CELL = '210987654321';
const REGION = 'eu-west-1';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Resources = Record<string, Resource>;

function synth(): { platform: Resources; cell: Resources } {
  const zones = (account: string): [string, string[]] => [
    `availability-zones:account=${account}:region=${REGION}`,
    [`${REGION}a`, `${REGION}b`],
  ];
  const app = new App({ context: Object.fromEntries([zones(PLATFORM), zones(CELL)]) });
  // The platform's network and what a cell's stack copies, as the platform's stack has them.
  const platform = new Stack(app, 'TenantPlatform', { env: { account: PLATFORM, region: REGION } });
  const names = cellNames(platform.stackName);
  const network = new PlatformNetwork(platform, 'Network', {
    natGateways: 1,
    logRetention: logs.RetentionDays.ONE_DAY,
  });
  const peering = letCellsPeer(network, names.peeringRole, [CELL]);
  const boundary = tenantRoleBoundary(platform, 'Boundary');
  const cell = new CellStack(app, 'TenantPlatform-cell-2', {
    env: { account: CELL, region: REGION },
    platform: { stack: platform, boundary, names, peering },
    cell: 'cell-2',
    cidr: cellCidr('cell-2'),
  });
  const resources = (stack: Stack) => Template.fromStack(stack).toJSON().Resources as Resources;
  return { platform: resources(platform), cell: resources(cell) };
}

const built = synth();
let emulator: LocalEmulator | undefined;
const clients: { destroy(): void }[] = [];
/** What was made of each template, by logical id (the two stacks' networks have the same ids). */
const made = { platform: new Map<string, string>(), cell: new Map<string, string>() };
type Side = keyof typeof made;
/** What the custom resources answered, flattened as AwsCustomResource flattens it (`Vpcs.0.VpcId`). */
const answered = new Map<string, Record<string, string>>();

/** EC2 with a session of `roleName` in `account`, as a task or a custom resource's function assumes it. */
function inAccount(account: string, roleName: string): EC2.EC2Client {
  const ec2 = new EC2.EC2Client({
    ...clientConfig(),
    credentials: fromTemporaryCredentials({
      params: { RoleArn: `arn:aws:iam::${account}:role/${roleName}`, RoleSessionName: 'test' },
      masterCredentials: clientConfig().credentials,
      clientConfig: { endpoint: emulator?.endpoint, region: REGION },
    }),
  });
  clients.push(ec2);
  return ec2;
}

function clientConfig() {
  return {
    endpoint: emulator?.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** A template value with CloudFormation's functions resolved against what was made of it so far. */
function resolve(value: unknown, side: Side = 'cell'): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, side));
  if (typeof value !== 'object' || value === null) return value;
  const fn = value as Record<string, unknown>;
  if ('Ref' in fn)
    return fn.Ref === 'AWS::Partition' ? 'aws' : required(made[side].get(String(fn.Ref)), fn.Ref);
  if ('Fn::Join' in fn) {
    const [separator, parts] = fn['Fn::Join'] as [string, unknown[]];
    return parts.map((v) => resolve(v, side)).join(separator);
  }
  if ('Fn::GetAtt' in fn) {
    const [id, attribute] = fn['Fn::GetAtt'] as [string, string];
    return required(answered.get(id)?.[attribute], `${id}.${attribute}`);
  }
  if ('Fn::Select' in fn) {
    const [index, list] = fn['Fn::Select'] as [number, unknown];
    return (resolve(list, side) as unknown[])[index];
  }
  return Object.fromEntries(Object.entries(fn).map(([k, v]) => [k, resolve(v, side)]));
}

function required<T>(value: T | undefined, what: unknown): T {
  if (value === undefined) throw new Error(`${String(what)} is not made yet`);
  return value;
}

const tagsOf = (resource: Resource) =>
  (resource.Properties.Tags as EC2.Tag[] | undefined)?.map(({ Key, Value }) => ({ Key, Value })) ?? [];
const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

/** The network of a template, in `ec2`'s account: its VPC, subnets and their route tables, with their tags. */
async function makeNetwork(ec2: EC2.EC2Client, side: Side): Promise<void> {
  const resources = built[side];
  for (const [id, vpc] of ofType(resources, 'AWS::EC2::VPC')) {
    const out = await ec2.send(
      new EC2.CreateVpcCommand({
        CidrBlock: String(vpc.Properties.CidrBlock),
        TagSpecifications: [{ ResourceType: 'vpc', Tags: tagsOf(vpc) }],
      }),
    );
    made[side].set(id, out.Vpc?.VpcId ?? '');
  }
  for (const [id, table] of ofType(resources, 'AWS::EC2::RouteTable')) {
    const out = await ec2.send(
      new EC2.CreateRouteTableCommand({
        VpcId: resolve(table.Properties.VpcId, side) as string,
        TagSpecifications: [{ ResourceType: 'route-table', Tags: tagsOf(table) }],
      }),
    );
    made[side].set(id, out.RouteTable?.RouteTableId ?? '');
  }
}

/** An AwsCustomResource's call, as its function makes it: with the session of the role it names. */
async function customResource(id: string, resource: Resource, phase: 'Create' | 'Delete'): Promise<void> {
  const call = JSON.parse(resolve(resource.Properties[phase]) as string) as {
    service: string;
    action: string;
    parameters: Record<string, unknown>;
    assumedRoleArn: string;
  };
  expect(call.service).toBe('EC2');
  const [, , , , account, role] = call.assumedRoleArn.split(/[:/]/);
  const ec2 = inAccount(required(account, 'account'), required(role, 'role'));
  const Command = (EC2 as unknown as Record<string, new (input: unknown) => EC2.DescribeVpcsCommand>)[
    `${call.action}Command`
  ];
  if (!Command) throw new Error(`EC2 has no ${call.action}`);
  answered.set(id, flatten(await ec2.send(new Command(call.parameters))));
}

function flatten(value: unknown, prefix = ''): Record<string, string> {
  if (typeof value !== 'object' || value === null) return prefix ? { [prefix]: String(value) } : {};
  return Object.assign(
    {},
    ...Object.entries(value).map(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k)),
  ) as Record<string, string>;
}

let platformEc2: EC2.EC2Client;
let cellEc2: EC2.EC2Client;

beforeAll(async () => {
  emulator = await startEmulator(undefined);
  platformEc2 = inAccount(PLATFORM, 'cdk-deploy');
  cellEc2 = inAccount(CELL, 'cdk-deploy');
  await makeNetwork(platformEc2, 'platform');
  // Someone else's VPC and route table in the platform's account, untagged: never touched.
  await platformEc2.send(new EC2.CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  await makeNetwork(cellEc2, 'cell');
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.destroy();
  await emulator?.stop();
});

const customResources = ofType(built.cell, 'Custom::AWS');
const routesTo = async (ec2: EC2.EC2Client, ids: string[], peering: string) => {
  const { RouteTables = [] } = await ec2.send(new EC2.DescribeRouteTablesCommand({ RouteTableIds: ids }));
  return RouteTables.flatMap((table) =>
    (table.Routes ?? [])
      .filter((route) => route.VpcPeeringConnectionId === peering)
      .map((route) => `${table.RouteTableId ?? ''} ${route.DestinationCidrBlock ?? ''}`),
  ).sort();
};

describe("a cell's route to the platform's VPC, as its stack makes it", () => {
  const platformTaskTables = () =>
    ofType(built.platform, 'AWS::EC2::RouteTable')
      .filter(([, r]) =>
        tagsOf(r).some((t) => t.Key === PlatformNames.platformNetworkTag && t.Value === 'task-functions'),
      )
      .map(([id]) => required(made.platform.get(id), id));

  it("finds the platform's VPC and its task subnets' route tables by their tag, with the platform's peering role", async () => {
    for (const [id, resource] of customResources.filter(([id]) => /^Platform(Vpc|TaskRouteTables)/.test(id)))
      await customResource(id, resource, 'Create');
    const platformVpc = ofType(built.platform, 'AWS::EC2::VPC')[0]?.[0] ?? '';
    const [vpcLookup] = customResources.find(([id]) => id.startsWith('PlatformVpc')) ?? [''];
    const [tablesLookup] = customResources.find(([id]) => id.startsWith('PlatformTaskRouteTables')) ?? [''];
    expect(answered.get(vpcLookup)?.['Vpcs.0.VpcId']).toBe(made.platform.get(platformVpc));
    expect(answered.get(vpcLookup)?.['Vpcs.1.VpcId']).toBeUndefined();
    const found = [0, 1, 2].map((i) => answered.get(tablesLookup)?.[`RouteTables.${i}.RouteTableId`]);
    expect(found.slice(0, 2).sort()).toEqual(platformTaskTables().sort());
    expect(found[2]).toBeUndefined();
  });

  it("peers the cell's VPC with it and routes the platform's task subnets and the cell's databases to each other", async () => {
    const [peeringId, peering] = ofType(built.cell, 'AWS::EC2::VPCPeeringConnection')[0] ?? [];
    if (!peeringId || !peering) throw new Error('the cell has no peering');
    const request = resolve(peering.Properties) as Record<string, string>;
    // CloudFormation requests it in the cell's account, then accepts it with PeerRoleArn in the platform's.
    const { VpcPeeringConnection } = await cellEc2.send(
      new EC2.CreateVpcPeeringConnectionCommand({
        VpcId: request.VpcId,
        PeerVpcId: request.PeerVpcId,
        PeerOwnerId: request.PeerOwnerId,
      }),
    );
    const id = VpcPeeringConnection?.VpcPeeringConnectionId ?? '';
    made.cell.set(peeringId, id);
    const [, , , , account, role] = (request.PeerRoleArn ?? '').split(/[:/]/);
    const accepter = inAccount(required(account, 'account'), required(role, 'role'));
    await accepter.send(new EC2.AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }));

    for (const [routeId, route] of ofType(built.cell, 'AWS::EC2::Route').filter(([, r]) =>
      Boolean(r.Properties.VpcPeeringConnectionId),
    ))
      made.cell.set(
        routeId,
        String(
          (
            await cellEc2.send(
              new EC2.CreateRouteCommand(resolve(route.Properties) as EC2.CreateRouteRequest),
            )
          ).Return,
        ),
      );
    for (const [resourceId, resource] of customResources.filter(([r]) => r.startsWith('PlatformRoute')))
      await customResource(resourceId, resource, 'Create');

    const tables = platformTaskTables();
    expect(await routesTo(platformEc2, tables, id)).toEqual(tables.map((t) => `${t} 10.2.0.0/16`).sort());
    const cellDatabaseTables = ofType(built.cell, 'AWS::EC2::RouteTable')
      .filter(([tableId]) => tableId.includes('databasesSubnet'))
      .map(([tableId]) => required(made.cell.get(tableId), tableId));
    expect(cellDatabaseTables).toHaveLength(2);
    expect(await routesTo(cellEc2, cellDatabaseTables, id)).toEqual(
      cellDatabaseTables.flatMap((t) => [`${t} 10.0.16.0/20`, `${t} 10.0.32.0/20`]).sort(),
    );
    const { VpcPeeringConnections = [] } = await cellEc2.send(
      new EC2.DescribeVpcPeeringConnectionsCommand({ VpcPeeringConnectionIds: [id] }),
    );
    expect(VpcPeeringConnections[0]?.Status?.Code).toBe('active');
  });

  it("removes its routes from the platform's route tables when the cell's stack goes", async () => {
    for (const [resourceId, resource] of customResources.filter(([r]) => r.startsWith('PlatformRoute')))
      await customResource(resourceId, resource, 'Delete');
    const [peeringId] = ofType(built.cell, 'AWS::EC2::VPCPeeringConnection')[0] ?? [''];
    expect(
      await routesTo(platformEc2, platformTaskTables(), required(made.cell.get(peeringId), peeringId)),
    ).toEqual([]);
  });
});
