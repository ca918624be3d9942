/**
 * Where a tenant's function and its instances go in the network, in the step's cell (common/cells.ts). At
 * home, the platform's VPC the stack names in the environment; in a cell that is an AWS account of its own,
 * that account's VPC, which its stack (infra/cell-stack.ts) tags and this finds by the tag. Without a VPC
 * (locally) there is none.
 */
import { DescribeSecurityGroupsCommand, DescribeSubnetsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { PlatformNames, TaskEnv } from '../../common/names';
import { cellAccount, cellAws } from './aws';

/** A cell's network, as its stack tagged it. */
export interface CellNetwork {
  readonly subnetIds: readonly string[];
  readonly functionSecurityGroupId: string;
  readonly databaseSecurityGroupId: string;
}

/**
 * Each cell account's network, as found: kept for the process's life (it does not change while its stack
 * stands; a cell's stack replaced under running tasks is found again by their next cold start).
 */
const found = new Map<string, Promise<CellNetwork>>();

/** The subnets and security group of a tenant's function in the step's cell; undefined without a VPC. */
export async function functionNetwork(): Promise<
  { subnetIds: string[]; securityGroupId: string } | undefined
> {
  const subnets = process.env[TaskEnv.tenantSubnetIds];
  const securityGroupId = process.env[TaskEnv.tenantSecurityGroupId];
  if (!subnets || !securityGroupId) return undefined;
  const account = cellAccount();
  if (!account) return { subnetIds: subnets.split(','), securityGroupId };
  const cell = await cellNetwork(account);
  return { subnetIds: [...cell.subnetIds], securityGroupId: cell.functionSecurityGroupId };
}

/** The security group of a tenant instance (a dedicated one, or a shared one) in the step's cell. */
export async function databaseSecurityGroup(): Promise<string | undefined> {
  const home = process.env[TaskEnv.dedicatedSecurityGroup];
  const account = cellAccount();
  if (!home || !account) return home;
  return (await cellNetwork(account)).databaseSecurityGroupId;
}

/** The subnet group of a tenant instance in the step's cell (its stack's, by the name the environment gives). */
export function dedicatedSubnetGroup(): string | undefined {
  return process.env[cellAccount() ? TaskEnv.cellSubnetGroup : TaskEnv.dedicatedSubnetGroup];
}

function cellNetwork(account: string): Promise<CellNetwork> {
  let network = found.get(account);
  if (!network) {
    network = findCellNetwork(cellAws().ec2, account);
    found.set(account, network);
    network.catch(() => found.delete(account));
  }
  return network;
}

/**
 * The network a cell's stack tagged in the account `ec2` works in: the tenant functions' subnets and
 * security group, the instances' security group. Refused, naming the tag and the stack, when it is not there.
 */
export async function findCellNetwork(ec2: EC2Client, account: string): Promise<CellNetwork> {
  const tagged = (value: string) => [{ Name: `tag:${PlatformNames.cellNetworkTag}`, Values: [value] }];
  const [subnets, functions, databases] = await Promise.all([
    ec2.send(new DescribeSubnetsCommand({ Filters: tagged('tenant-functions') })),
    ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged('tenant-functions') })),
    ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged('databases') })),
  ]);
  const subnetIds = (subnets.Subnets ?? []).flatMap((s) => s.SubnetId ?? []).sort();
  const [functionSecurityGroupId, ...moreFunctions] = (functions.SecurityGroups ?? []).flatMap(
    (g) => g.GroupId ?? [],
  );
  const [databaseSecurityGroupId, ...moreDatabases] = (databases.SecurityGroups ?? []).flatMap(
    (g) => g.GroupId ?? [],
  );
  if (subnetIds.length === 0 || !functionSecurityGroupId || !databaseSecurityGroupId)
    throw new OnboardingError(
      PermanentErrors.CellNotReady,
      `AWS account ${account} has no network tagged ${PlatformNames.cellNetworkTag} (subnets and security group "tenant-functions", security group "databases"): deploy its cell's stack (infra/cell-stack.ts) first`,
    );
  if (moreFunctions.length > 0 || moreDatabases.length > 0)
    throw new OnboardingError(
      PermanentErrors.CellNotReady,
      `AWS account ${account} has more than one security group tagged ${PlatformNames.cellNetworkTag} of a kind: one cell's stack per account`,
    );
  const vpcs = new Set(
    [
      ...(subnets.Subnets ?? []),
      ...(functions.SecurityGroups ?? []),
      ...(databases.SecurityGroups ?? []),
    ].map((resource) => resource.VpcId),
  );
  if (vpcs.size > 1)
    throw new OnboardingError(
      PermanentErrors.CellNotReady,
      `AWS account ${account}'s subnets and security groups tagged ${PlatformNames.cellNetworkTag} are in ${vpcs.size} VPCs: one cell's stack per account`,
    );
  return { subnetIds, functionSecurityGroupId, databaseSecurityGroupId };
}
