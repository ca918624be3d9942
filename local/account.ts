/**
 * The local AWS account: the id every local ARN carries, and the paths the one AWS endpoint reserves.
 * A leaf: the Step Functions engine, the bootstrap and the endpoint all read it, and it imports nothing.
 */
export const LOCAL_ACCOUNT = '123456789012';

/** Where the control-plane API answers on the AWS endpoint (the stack output ControlPlaneUrl says so). */
export const CONTROL_PLANE_PATH = '/control-plane';

/**
 * Locally each cell but the first is an account of the emulator of its own unless the settings say where
 * (common/capacity.ts DefaultCellAccounts): `cell-<n>`'s id is n in 12 digits (`cell-2`: 000000000002).
 */
export function localCellAccounts(cells: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    cells.slice(1).map((cell) => [cell, cell.replace(/^cell-/, '').padStart(12, '0')]),
  );
}
