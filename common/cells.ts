/**
 * Cells that are AWS accounts of their own (`cellAccounts` in the capacity settings, common/capacity.ts).
 *
 * The control plane (the registry, placement, the state machines and their task Lambdas, the event bus,
 * the archive, the frontend's bucket and distributions) stays in the platform's account. What is a
 * tenant's alone and counts against an account's quotas (its function's role, the function, its HTTP API,
 * its log group, its alarm, its secret) is made in its cell's account: each task reaches it through the
 * cell account's copy of the task's own role, with the same name and the same grants in that account
 * (`sts:AssumeRole`, then the cell's credentials), so a step may do in a cell exactly what it may do at home.
 */
import type { CapacitySettings } from './capacity';

/** The AWS account of `cell`, or undefined when it is the platform's own. */
export function cellAccountOf(
  settings: Pick<CapacitySettings, 'cellAccounts'>,
  cell: string,
): string | undefined {
  return settings.cellAccounts[cell];
}

/** The ARN of the role named `roleName` in `account` (the cell's copy of a task's role). */
export function cellRoleArn(account: string, roleName: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/**
 * `arn` (one of the platform's account's, such as the tenant roles' permissions boundary) as the same
 * resource in `account`, where the cell's stack made its copy; unchanged without an account.
 */
export function inCellAccount(arn: string, account: string | undefined): string {
  if (!account) return arn;
  const parts = arn.split(':');
  if (parts.length < 6 || !/^[0-9]{12}$/.test(parts[4] ?? '')) return arn;
  parts[4] = account;
  return parts.join(':');
}

/** Where the registry says a cell's tenants or shared instances were made (records/capacity.ts accountsInUse). */
export interface AccountInUse {
  readonly cell: string;
  /** undefined: the platform's account. */
  readonly account: string | undefined;
  /** Some of what is there, to name (tenant ids, instance ids). */
  readonly holders: readonly string[];
}

/**
 * What `settings` would lose: each cell whose tenants or instances were made in another account than the one
 * `cellAccounts` now gives it (their resources would be looked for where they are not). Empty when none.
 */
export function cellAccountChanges(
  settings: Pick<CapacitySettings, 'cellAccounts'>,
  inUse: readonly AccountInUse[],
): string[] {
  const where = (account: string | undefined) =>
    account ? `AWS account ${account}` : "the platform's account";
  return inUse
    .filter(({ cell, account }) => cellAccountOf(settings, cell) !== account)
    .map(
      ({ cell, account, holders }) =>
        `cellAccounts.${cell}: ${cell} is in ${where(cellAccountOf(settings, cell))} here, but ${holders.join(', ')} ` +
        `${holders.length === 1 ? 'was' : 'were'} made in ${where(account)}, and a setting does not move them: keep ` +
        `${cell} there (${account ? `"${cell}": "${account}"` : `no cellAccounts.${cell}`})`,
    );
}
