import type { StepPermissions } from '../../common/permissions';

/** Validating the input calls nothing. */
export const permissions: StepPermissions = { run: [] };
