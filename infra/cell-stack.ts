/**
 * A cell that is an AWS account of its own (common/cells.ts): what its account needs before the platform
 * can make tenants there. The platform's stack (the control plane) deploys first; then one of these per
 * cell account, in the platform's region:
 * - **each task Lambda's role, copied**: the same name (infra/cell-access.ts), trusted by that role alone,
 *   with the statements of the platform role that grant on resources by pattern (a tenant's function, role,
 *   API, log group, alarm, secret, instances), which CloudFormation fills with this account; statements on
 *   the platform's own resources (the registry, the state machines, the buckets, the bus) are not copied,
 *   as they are not here. The copies also read the tenant API versions from the platform's artifact bucket
 *   (CreateFunction here reads them there; the bucket lets these names in);
 * - **the tenant roles' permissions boundary**, by the platform's boundary's name (Deploy function creates
 *   every tenant role under it);
 * - **the network** of the cell's tenant functions and databases (the platform's layout, in its own address
 *   range), tagged so the tasks find it (workflow-tasks/lib/cell-network.ts), the dedicated instances' subnet
 *   group by the platform's subnet group's name and the shared instances' parameter group by its name.
 * Not here (yet): a route between the platform's VPC and the cell's (peering or a transit gateway), without
 * which the platform's database tasks cannot reach the cell's instances.
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
  cellNames,
  inCell,
  sameNamed,
  taskRoleStatements,
  type CellNames,
  type Statement,
} from './cell-access';
import { PlatformNetwork } from './network';
import { sharedParameterGroup } from './shared-database';
import { tenantRoleBoundary } from './tenant-role-boundary';

export interface CellStackProps extends StackProps {
  /** The platform's stack, given its cell accounts (its task roles are named). */
  readonly platform: Stack;
  /**
   * The names of the platform's tenant role boundary and dedicated subnet group, which the cell's have too.
   * @default the platform stack's (cellNames)
   */
  readonly names?: CellNames;
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
  /** The platform stack's name, which its state machines' and roles' names begin with. */
  readonly platformName: string;

  constructor(scope: Construct, id: string, props: CellStackProps) {
    super(scope, id, props);
    const { platform } = props;
    this.platformName = platform.stackName;
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

    const names = props.names ?? cellNames(platform.stackName);
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

    const artifacts: Statement = {
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: `arn:${this.partition}:s3:::*/${PlatformNames.tenantApiArtifactPrefix}*`,
      Condition: { StringEquals: { 's3:ResourceAccount': platform.account } },
    };
    // The platform's boundary and subnet group: what names them names the cell's.
    const { boundary, subnetGroup: group } = sameNamed(platform, names);
    const sameInCell = new Map<string, unknown>([
      ...(boundary ? [[boundary, this.tenantRoleBoundary.managedPolicyArn] as const] : []),
      ...(group ? [[group, subnetGroup.subnetGroupName] as const] : []),
    ]);
    const accounts = { platform: platform.account, cell: this.account };
    for (const { roleName, statements } of taskRoleStatements(platform)) {
      const copied = statements.flatMap((st) => inCell(st, accounts, sameInCell) ?? []);
      if (copied.length === 0) continue;
      const uses = (action: string) => JSON.stringify(copied).includes(action);
      this.roles.set(
        roleName,
        new iam.CfnRole(this, roleName, {
          roleName,
          description: `${props.cell}'s copy of the platform task role ${roleName}: its grants, in this account`,
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
            {
              policyName: 'in-the-cell',
              policyDocument: {
                Version: '2012-10-17',
                Statement: [
                  ...copied,
                  ...(uses('lambda:CreateFunction') || uses('lambda:UpdateFunctionCode') ? [artifacts] : []),
                ],
              },
            },
          ],
        }),
      );
    }

    new CfnOutput(this, 'TenantSubnetIds', {
      description: "The cell's tenant functions' subnets",
      value: functionSubnets.subnetIds.join(','),
    });
    new CfnOutput(this, 'VpcId', { value: this.network.vpc.vpcId });
  }
}
