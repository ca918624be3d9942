import type { Logger } from '@aws-lambda-powertools/logger';
import { classifyError, OnboardingError, PermanentErrors } from '../../common/errors';
import { logger } from './logger';
import type { StepResults, TaskEvent, ValidatedTenant } from './types';

export type TaskHandler<T> = (event: TaskEvent) => Promise<T>;

/**
 * Wraps a step's `run` or `undo` as a Lambda handler: a logger carrying the step, tenant and execution,
 * and every error thrown as a contract name (see common/errors.ts) with the original as its cause.
 */
export function taskHandler<T>(
  step: string,
  fn: (event: TaskEvent, log: Logger) => Promise<T>,
): TaskHandler<T> {
  return async (event) => {
    const log = logger.createChild();
    log.appendKeys({ step, tenantId: tenantIdForLogs(event), executionArn: event.executionArn });
    try {
      const result = await fn(event, log);
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

function tenantIdForLogs(event: TaskEvent): string | undefined {
  const fromResult = event.state?.results?.tenant?.tenantId;
  if (fromResult) return fromResult;
  const raw = event.state?.tenantId;
  return typeof raw === 'string' ? raw.slice(0, 40) : undefined;
}
