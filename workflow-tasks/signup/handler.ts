import { ExecutionAlreadyExists, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { requiredEnv } from '../../common/env';
import { signupExecutionName, TaskEnv } from '../../common/names';
import { aws } from '../lib/aws';
import { logger } from '../lib/logger';

/** What EventBridge hands the rule's target: the whole event (its id is what makes a redelivery the same). */
export interface SignupEvent {
  readonly id: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
}

/**
 * The target of the `TenantSignedUp` rule: starts the onboarding with the event's detail as input, named
 * for the event (common/names.ts). A redelivered event finds its execution already there and starts
 * nothing (Step Functions answers a running one's StartExecution as the first, a finished one's with
 * ExecutionAlreadyExists); the input is validated by the onboarding itself ("Validate input").
 */
export async function handler(event: SignupEvent): Promise<{ executionName: string }> {
  const executionName = signupExecutionName(event.detail, event.id);
  try {
    await aws().sfn.send(
      new StartExecutionCommand({
        stateMachineArn: requiredEnv(TaskEnv.onboardingStateMachineArn),
        name: executionName,
        input: JSON.stringify(event.detail),
      }),
    );
    return { executionName };
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
    logger.info('signup delivered again: its onboarding exists', { eventId: event.id, executionName });
    return { executionName };
  }
}
