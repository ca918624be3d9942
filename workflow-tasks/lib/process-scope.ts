/**
 * Whose process this is. On AWS each function runs in processes of its own, so what one caches (the master
 * credentials, a tenant API version) was read with its own role. The local platform runs every task in one
 * process: it names the calling task's role here (useProcessScope), and the caches key by it, so no task
 * uses what another task read with another role, and IAM checks each role's reads as AWS would.
 */
let scopeOf: () => string = () => '';

/** Called by the local platform only; on AWS the scope is the process itself (''). */
export function useProcessScope(scope: () => string): void {
  scopeOf = scope;
}

/** The key of the calling function's process ('' on AWS). */
export function processScope(): string {
  return scopeOf();
}
