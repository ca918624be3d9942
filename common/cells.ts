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

/** Where the registry says a cell's tenants or shared instances were made (records/capacity.ts accountsInUse). */
export interface AccountInUse {
  readonly cell: string;
  /** undefined: the platform's account. */
  readonly account: string | undefined;
  /** Some of what is there, to name (tenant ids, instance ids), and how many there are. */
  readonly holders: readonly string[];
  readonly count: number;
}

/**
 * What `settings` would lose: each cell whose tenants and instances were all made in another account than
 * the one `cellAccounts` now gives it (their resources would be looked for where they are not). A cell whose
 * holders are in two accounts already (recorded before this was refused) is refused only when the setting
 * names neither. Empty when nothing is lost.
 */
export function cellAccountChanges(
  settings: Pick<CapacitySettings, 'cellAccounts'>,
  inUse: readonly AccountInUse[],
): string[] {
  const where = (account: string | undefined) =>
    account ? `AWS account ${account}` : "the platform's account";
  const keep = (cell: string, account: string | undefined) =>
    account ? `"${cell}": "${account}"` : `a "cellAccounts" without ${cell}`;
  const cells = [...new Set(inUse.map((u) => u.cell))];
  return cells.flatMap((cell) => {
    const there = inUse.filter((u) => u.cell === cell);
    const given = cellAccountOf(settings, cell);
    if (there.some((u) => u.account === given)) return [];
    const made = there.map(({ account, holders, count }) => {
      const more = count > holders.length ? ` and ${count - holders.length} more` : '';
      return `${holders.join(', ')}${more} ${count === 1 ? 'was' : 'were'} made in ${where(account)}`;
    });
    return [
      `cellAccounts.${cell}: ${cell} is in ${where(given)} here, but ${made.join('; ')}, and a setting does not ` +
        `move them: keep ${cell} there (${there.map((u) => keep(cell, u.account)).join(' or ')})`,
    ];
  });
}
