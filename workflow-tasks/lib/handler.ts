import type { Logger } from '@aws-lambda-powertools/logger';
import { classifyError, OnboardingError, PermanentErrors } from '../../common/errors';
import { cellAccounts, inCell } from './aws';
import { logger } from './logger';
import type { StepResults, TaskEvent, ValidatedTenant } from './types';

export type TaskHandler<T, E extends AnyTaskEvent = TaskEvent> = (event: E) => Promise<T>;

/** What every task Lambda of every workflow receives: the execution's id and its state. */
export interface AnyTaskEvent {
  readonly executionArn: string;
  readonly state: unknown;
}

/**
 * Wraps a step's `run` or `undo` as a Lambda handler: a logger carrying the step, tenant and execution,
 * every error thrown as a contract name (see common/errors.ts) with the original as its cause, and the
 * step run in the cell the state names (the registration's, an add-capacity's: lib/aws.ts cellAws).
 */
export function taskHandler<T, E extends AnyTaskEvent = TaskEvent>(
  step: string,
  fn: (event: E, log: Logger) => Promise<T>,
): TaskHandler<T, E> {
  return async (event) => {
    const log = logger.createChild();
    log.appendKeys({ step, tenantId: tenantIdForLogs(event), executionArn: event.executionArn });
    try {
      // A state that names no cell leaves the caller's (a cleanup's undo of a tenant in a cell).
      const account = cellAccountNamedBy(event);
      const result = await (account ? inCell(account, () => fn(event, log)) : fn(event, log));
      log.info('step succeeded');
      return result;
    } catch (error) {
      const named = classifyError(error);
      log.error('step failed', { errorName: named.name, errorMessage: named.message });
      throw named;
    }
  };
}

/** The validated tenant from `$.results.tenant`; every step after "Validate input" relies on it. */
export function tenantOf(event: TaskEvent): ValidatedTenant {
  return resultOf(event, 'tenant');
}

/** An earlier step's result; its absence is a wiring bug, reported as such. */
export function resultOf<K extends keyof StepResults>(event: TaskEvent, key: K): StepResults[K] {
  const value = event.state.results?.[key];
  if (value === undefined) {
    throw new OnboardingError(
      PermanentErrors.StepFailed,
      `state has no results.${key}: the step ran out of order`,
    );
  }
  return value;
}

/**
 * The account of the cell the execution works in: the one the registration recorded
 * (`results.registration.cellAccount`), or the one an add-capacity execution was started for
 * (`cellAccount`).
 */
function cellAccountNamedBy(event: AnyTaskEvent): string | undefined {
  const state = event.state as
    { cellAccount?: unknown; results?: { registration?: { cellAccount?: unknown } } } | undefined;
  const account = state?.results?.registration?.cellAccount ?? state?.cellAccount;
  if (account === undefined) return undefined;
  if (typeof account !== 'string' || !cellAccounts().includes(account))
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `cellAccount: ${JSON.stringify(account).slice(0, 40)} is not the account of a cell (the capacity settings' cellAccounts)`,
    );
  return account;
}

/** The tenant a task works on, for its log lines: the validated one, else the raw input's (shortened). */
function tenantIdForLogs(event: AnyTaskEvent): string | undefined {
  const state = event.state as TaskEvent['state'] | undefined;
  const fromResult = state?.results?.tenant?.tenantId;
  if (fromResult) return fromResult;
  const raw = state?.tenantId;
  return typeof raw === 'string' ? raw.slice(0, 40) : undefined;
}

/** The human part of a caught error (`$.error`): Lambda's Cause is `{errorType, errorMessage, trace}` JSON. */
export function caughtError(error: { Error?: string; Cause?: string } | undefined): string {
  if (!error) return 'unknown error';
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return `${error.Error ?? 'Error'}: ${message}`.slice(0, 1000);
}
