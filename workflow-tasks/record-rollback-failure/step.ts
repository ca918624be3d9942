import { EventTypes } from '../../common/names';
import { publishEvent } from '../lib/events';
import { tenantOf } from '../lib/handler';
import { setStatusIfOwned } from '../records/registry';
import type { TaskEvent } from '../lib/types';

export interface RollbackFailure {
  /** The undo that could not be completed, as a step id (`create-database`). */
  readonly step: string;
  /** For the Fail state: which undo failed and why. */
  readonly cause: string;
}

/**
 * Reached when an undo still fails after its retries: the tenant is marked `ROLLBACK_FAILED` (an operator
 * must clean up), `TenantRollbackFailed` is emitted for the alarm, and the Fail state names the step.
 */
export async function run(event: TaskEvent): Promise<RollbackFailure> {
  const tenant = tenantOf(event);
  const step = typeof event.state.failedUndo === 'string' ? event.state.failedUndo : 'unknown';
  const undoError = event.state.rollbackError as { Error?: string; Cause?: string } | undefined;
  const cause = `Could not undo ${step}: ${undoError?.Error ?? 'Unknown'}`;
  const error = { original: event.state.error ?? null, failedUndo: step, undoError: undoError ?? null };
  await setStatusIfOwned(tenant.tenantId, event.executionArn, 'ROLLBACK_FAILED', { error });
  await publishEvent(EventTypes.TenantRollbackFailed, {
    tenantId: tenant.tenantId,
    executionArn: event.executionArn,
    ...error,
  });
  return { step, cause };
}
