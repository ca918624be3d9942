/**
 * A cell that is an AWS account of its own (common/cells.ts): what its account needs before the platform
 * can make tenants there. The platform's stack (the control plane) deploys first; then one of these per
 * cell account, in the platform's region (docs/deploy.md):
 * - **each task Lambda's role that has work in a cell, copied** (infra/cell-access.ts `cellCopies`): the
 *   same name, trusted by that role alone, with its grants on a tenant's resources (its function, role,
 *   API, log group, alarm, secret, instances), which CloudFormation fills with this account; nothing on the
 *   platform's own resources (the registry, the state machines, the buckets, the bus, the distributions).
 *   The copies that make or update functions also read the tenant API versions from the platform's
 *   artifact bucket (the bucket lets them in), and those that place a function or an instance find the
 *   cell's network;
 * - **the tenant roles' permissions boundary** (Deploy function creates every tenant role here under it)
 *   and the dedicated instances' **subnet group**, by the names the tasks are told (cellNames);
 * - **the network** of the cell's tenant functions and databases (the platform's layout, in its own address
 *   range), tagged so the tasks find it (workflow-tasks/lib/cell-network.ts), and the shared instances'
 *   parameter group by its name;
 * - **the route to the platform's VPC** (infra/cell-peering.ts): a peering connection, routes both ways,
 *   and the cell's databases open to the platform's task Lambdas, whose database steps reach them through it.
 */
import { CfnOutput, Stack, Tags, Token, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct, IConstruct } from 'constructs';
import { cellRoleArn } from '../common/cells';
import { PlatformNames } from '../common/names';
import {
  cellCopies,
  inCell,
  logicalIdOf,
  placesInNetwork,
  readsVersions,
  type CellSource,
  type Statement,
} from './cell-access';
import { peerWithPlatform } from './cell-peering';
import { PlatformNetwork } from './network';
import { sharedParameterGroup } from './shared-database';
import { tenantRoleBoundary } from './tenant-role-boundary';

export interface CellStackProps extends StackProps {
  /** The platform, given its cell accounts (its task roles are named). */
  readonly platform: CellSource;
  /** The cell, `cell-<n>`. */
  readonly cell: string;
  /** The cell VPC's address range: another than the platform's and every other cell's. */
  readonly cidr: string;
  /** @default 1 */
  readonly natGateways?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

/** The address range of `cell-<n>`'s VPC: `10.<n>.0.0/16` (the platform's is 10.0.0.0/16). */
export function cellCidr(cell: string): string {
  const n = Number(/^cell-([0-9]+)$/.exec(cell)?.[1]);
  if (!Number.isInteger(n) || n < 1 || n > 255)
    throw new Error(`${cell}: no address range for it (cell-1 to cell-255)`);
  return `10.${n}.0.0/16`;
}

export class CellStack extends Stack {
  /** The copies of the platform's task roles, by name. */
  readonly roles = new Map<string, iam.CfnRole>();
  readonly network: PlatformNetwork;
  readonly tenantRoleBoundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: CellStackProps) {
    super(scope, id, props);
    const { stack: platform, names } = props.platform;
    for (const [what, account] of [
      ['the cell', this.account],
      ['the platform', platform.account],
    ])
      if (Token.isUnresolved(account))
        throw new Error(
          `CellStack ${id}: ${what}'s stack needs its account (env.account; cdk sets CDK_DEFAULT_ACCOUNT from the credentials it runs with)`,
        );
    if (platform.account === this.account)
      throw new Error(`CellStack ${id}: ${props.cell} is in the platform's account ${this.account}`);
    this.addStackDependency(platform, "the copies' trust names the platform's task roles");

    this.tenantRoleBoundary = tenantRoleBoundary(this, 'TenantFunctionBoundary', names.boundary);
    this.network = new PlatformNetwork(this, 'Network', {
      natGateways: props.natGateways ?? 1,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      cidr: props.cidr,
    });
    // What the tasks find the network by (workflow-tasks/lib/cell-network.ts).
    const tag = (construct: IConstruct, value: string) =>
      Tags.of(construct).add(PlatformNames.cellNetworkTag, value);
    const functionSubnets = this.network.vpc.selectSubnets({
      subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
    });
    for (const subnet of functionSubnets.subnets) tag(subnet, 'tenant-functions');
    tag(this.network.databaseClients, 'tenant-functions');
    tag(this.network.databases, 'databases');
    // The cell's shared instances are made with the platform's parameter group's name (logical replication).
    // (Bound here, as no instance of the stack uses it: a parameter group is rendered once bound.)
    sharedParameterGroup(this).bindToInstance({});
    const subnetGroup = new rds.SubnetGroup(this, 'DedicatedSubnetGroup', {
      vpc: this.network.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      subnetGroupName: names.subnetGroup,
      description: `Tenant instances of ${props.cell}`,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The tenant API versions, in the platform's account only (its bucket lets these copies in).
    const artifacts: Statement = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `arn:${this.partition}:s3:::*/${PlatformNames.tenantApiArtifactPrefix}*`,
      Condition: { StringEquals: { 's3:ResourceAccount': platform.account } },
    };
    // A function or an instance goes in the cell's network, found by its tag (no resource-level permissions).
    const findsNetwork: Statement = {
      Effect: 'Allow',
      Action: ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
      Resource: '*',
    };
    // The platform's boundary and subnet group: a grant naming them names the cell's.
    const counterparts = new Map<string, unknown>([
      [logicalIdOf(platform, props.platform.boundary), this.tenantRoleBoundary.managedPolicyArn],
      ...(props.platform.subnetGroup
        ? [[logicalIdOf(platform, props.platform.subnetGroup), subnetGroup.subnetGroupName] as const]
        : []),
    ]);
    const accounts = { platform: platform.account, cell: this.account };
    for (const copy of cellCopies(props.platform)) {
      const { roleName } = copy;
      const statements = [
        ...copy.statements.map((st) => inCell(st, accounts, counterparts)),
        ...(readsVersions(copy) ? [artifacts] : []),
        ...(placesInNetwork(copy) ? [findsNetwork] : []),
      ];
      this.roles.set(
        roleName,
        new iam.CfnRole(this, roleName, {
          roleName,
          description: `${props.cell}'s copy of the platform task role ${roleName}: its grants on tenant resources, in this account`,
          assumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'sts:AssumeRole',
                Principal: { AWS: cellRoleArn(platform.account, roleName, this.partition) },
              },
            ],
          },
          policies: [
            { policyName: 'in-the-cell', policyDocument: { Version: '2012-10-17', Statement: statements } },
          ],
        }),
      );
    }

    // The platform's database tasks reach the cell's instances (not locally: no VPC to peer with there).
    if (props.platform.peering) peerWithPlatform(this, this.network, props.cidr, props.platform.peering);

    new CfnOutput(this, 'TenantSubnetIds', {
      description: "The cell's tenant functions' subnets",
      value: functionSubnets.subnetIds.join(','),
    });
    new CfnOutput(this, 'VpcId', { value: this.network.vpc.vpcId });
  }
}
