/**
 * The route between the platform's VPC and a cell account's: the platform's database tasks (in its VPC)
 * connect to the cell's instances (in the cell's), through a VPC peering connection.
 *
 * The platform deploys first and cannot know the cells' VPCs; a cell deploys after it and cannot read the
 * platform's stack (another account). So the platform lets each cell account in through one role
 * (`<stack>-cell-peering`): accept a peering of its VPC, find its VPC and its task Lambdas' route tables by
 * their tag, and add or remove routes in those route tables only. The cell's stack does the rest through it:
 * finds them, requests the peering (CloudFormation accepts it with that role), routes its databases' subnets
 * to the platform's task subnets and the platform's task subnets to the cell, and opens its databases'
 * security group to the platform's task subnets. Removing the cell's stack removes its routes and the peering.
 */
import { Stack, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { PlatformNames } from '../common/names';
import type { PlatformNetwork } from './network';

/** What a cell peers with: the platform's network and the role that lets the cells in. */
export interface PeeringSource {
  readonly account: string;
  readonly role: iam.Role;
  readonly roleName: string;
  /** The platform's task Lambdas' subnets' address ranges (literal: the VPC's range is). */
  readonly taskSubnetCidrs: readonly string[];
}

/** The platform's tag values (PlatformNames.platformNetworkTag). */
const TAGGED = { vpc: 'vpc', taskSubnets: 'task-functions' } as const;

/**
 * In the platform's stack, given cell accounts: tags its VPC and its task Lambdas' subnets (so their route
 * tables), and makes the role the cells' stacks peer through.
 */
export function letCellsPeer(
  network: PlatformNetwork,
  roleName: string,
  cellAccounts: readonly string[],
): PeeringSource {
  const stack = Stack.of(network);
  const { vpc } = network;
  const taskSubnets = vpc.selectSubnets(network.lambdaSubnets).subnets;
  Tags.of(vpc).add(PlatformNames.platformNetworkTag, TAGGED.vpc, { includeResourceTypes: ['AWS::EC2::VPC'] });
  for (const subnet of taskSubnets) Tags.of(subnet).add(PlatformNames.platformNetworkTag, TAGGED.taskSubnets);
  const ec2Arn = (resource: string, account = stack.account) =>
    `arn:${stack.partition}:ec2:${stack.region}:${account}:${resource}`;
  const vpcArn = ec2Arn(`vpc/${vpc.vpcId}`);
  const role = new iam.Role(network, 'CellPeering', {
    roleName,
    description: "The cells' stacks peer their VPCs with the platform's and route between them through it",
    assumedBy: new iam.CompositePrincipal(
      ...cellAccounts.map((account) => new iam.AccountPrincipal(account)),
    ),
    inlinePolicies: {
      peering: new iam.PolicyDocument({
        statements: [
          // CloudFormation accepts the cell's request with this role (AWS::EC2::VPCPeeringConnection PeerRoleArn).
          new iam.PolicyStatement({
            actions: ['ec2:AcceptVpcPeeringConnection'],
            resources: [vpcArn],
          }),
          new iam.PolicyStatement({
            actions: ['ec2:AcceptVpcPeeringConnection'],
            resources: [ec2Arn('vpc-peering-connection/*')],
            conditions: {
              ArnEquals: { 'ec2:AccepterVpc': vpcArn },
              ArnLike: { 'ec2:RequesterVpc': cellAccounts.map((account) => ec2Arn('vpc/*', account)) },
            },
          }),
          // The cell's stack finds the VPC and the route tables by their tag (no resource-level permissions).
          new iam.PolicyStatement({
            actions: ['ec2:DescribeVpcs', 'ec2:DescribeRouteTables'],
            resources: ['*'],
          }),
          new iam.PolicyStatement({
            actions: ['ec2:CreateRoute', 'ec2:ReplaceRoute', 'ec2:DeleteRoute'],
            resources: [ec2Arn('route-table/*')],
            conditions: {
              StringEquals: { [`ec2:ResourceTag/${PlatformNames.platformNetworkTag}`]: TAGGED.taskSubnets },
            },
          }),
        ],
      }),
    },
  });
  const taskSubnetCidrs = taskSubnets.map((subnet) => subnet.ipv4CidrBlock);
  if (taskSubnetCidrs.some((cidr) => Token.isUnresolved(cidr)))
    throw new Error("the platform's task subnets need literal address ranges for the cells to route to them");
  return { account: stack.account, role, roleName, taskSubnetCidrs };
}

/**
 * In a cell's stack: its VPC peered with the platform's, routes both ways, and its databases open to the
 * platform's task subnets.
 */
export function peerWithPlatform(
  scope: Construct,
  network: PlatformNetwork,
  cidr: string,
  platform: PeeringSource,
): void {
  const stack = Stack.of(scope);
  const assumedRoleArn = `arn:${stack.partition}:iam::${platform.account}:role/${platform.roleName}`;
  const inPlatform = (
    id: string,
    calls: Pick<cr.AwsCustomResourceProps, 'onCreate' | 'onUpdate' | 'onDelete'>,
  ) =>
    new cr.AwsCustomResource(scope, id, {
      ...calls,
      installLatestAwsSdk: false,
      // Each call is made with the platform's role: this stack's function may only assume it.
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [assumedRoleArn] }),
    });
  const lookup = (action: string, tag: string, paths: string[]): cr.AwsSdkCall => ({
    service: 'EC2',
    action,
    parameters: { Filters: [{ Name: `tag:${PlatformNames.platformNetworkTag}`, Values: [tag] }] },
    assumedRoleArn,
    outputPaths: paths,
    physicalResourceId: cr.PhysicalResourceId.of(`${platform.account}:${tag}`),
  });
  const platformVpc = inPlatform('PlatformVpc', {
    onUpdate: lookup('DescribeVpcs', TAGGED.vpc, ['Vpcs.0.VpcId']),
  });
  const routeTablePaths = platform.taskSubnetCidrs.map((_, i) => `RouteTables.${i}.RouteTableId`);
  const platformRouteTables = inPlatform('PlatformTaskRouteTables', {
    onUpdate: lookup('DescribeRouteTables', TAGGED.taskSubnets, routeTablePaths),
  });
  const peering = new ec2.CfnVPCPeeringConnection(scope, 'PlatformPeering', {
    vpcId: network.vpc.vpcId,
    peerVpcId: platformVpc.getResponseField('Vpcs.0.VpcId'),
    peerOwnerId: platform.account,
    peerRoleArn: assumedRoleArn,
  });
  const VpcPeeringConnectionId = peering.ref;

  // The cell's databases answer the platform's task subnets through the peering.
  const databaseSubnets = network.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnets;
  for (const [i, subnet] of databaseSubnets.entries())
    for (const [j, destination] of platform.taskSubnetCidrs.entries())
      new ec2.CfnRoute(scope, `ToPlatform${i}${j}`, {
        routeTableId: subnet.routeTable.routeTableId,
        destinationCidrBlock: destination,
        vpcPeeringConnectionId: VpcPeeringConnectionId,
      });
  for (const source of platform.taskSubnetCidrs)
    network.databases.addIngressRule(
      ec2.Peer.ipv4(source),
      ec2.Port.tcp(5432),
      "PostgreSQL from the platform's task Lambdas, through the peering",
    );

  // The platform's task subnets reach the cell, a route in each of their route tables.
  for (const [i, path] of routeTablePaths.entries()) {
    const RouteTableId = platformRouteTables.getResponseField(path);
    const route = { RouteTableId, DestinationCidrBlock: cidr };
    const call = (action: string, parameters: Record<string, unknown>): cr.AwsSdkCall => ({
      service: 'EC2',
      action,
      parameters,
      assumedRoleArn,
      physicalResourceId: cr.PhysicalResourceId.of(`${platform.account}:route-to-${cidr}-${i}`),
    });
    inPlatform(`PlatformRoute${i}`, {
      onCreate: call('CreateRoute', { ...route, VpcPeeringConnectionId }),
      onUpdate: call('ReplaceRoute', { ...route, VpcPeeringConnectionId }),
      onDelete: call('DeleteRoute', route),
    });
  }
}
