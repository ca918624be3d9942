import { OnboardingError, PermanentErrors } from '../../common/errors';
import { tenantResourceNames } from '../../common/names';
import { parseTenantInput } from '../../common/tenant-input';
import type { TaskEvent, ValidatedTenant } from '../lib/types';

/** Checks the execution input and derives every resource name; nothing exists yet, so there is no undo. */
export function run(event: TaskEvent): Promise<ValidatedTenant> {
  const parsed = parseTenantInput(event.state);
  if (!parsed.ok) {
    return Promise.reject(
      new OnboardingError(
        PermanentErrors.InvalidInput,
        `Invalid onboarding input: ${parsed.problems.join('; ')}`,
      ),
    );
  }
  return Promise.resolve({ ...parsed.value, names: tenantResourceNames(parsed.value.tenantId) });
}
