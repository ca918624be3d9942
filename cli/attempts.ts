/**
 * How the platform's clients (tenantctl, the console) name an execution they start: for the operation and
 * the tenant, one name per attempt.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** The tenant id of an onboarding input (at most 40 characters) for messages, else `tenant`. */
export function tenantLabel(input: unknown): string {
  const tenantId = (input as { tenantId?: unknown } | null)?.tenantId;
  return typeof tenantId === 'string' ? tenantId.slice(0, 40) : 'tenant';
}

/**
 * StartExecution named for the operation and the tenant, one name per attempt: `onboard-<tenantId>`, then
 * `onboard-<tenantId>-2`, `-3`, ... when earlier attempts have the name (a retry, a returning customer, a
 * restore after an offboarding). Whether the operation may run is the workflow's to say (its claim step
 * refuses it naming the tenant's state), not the name's. An input without a usable tenant id gets a
 * random name, and its workflow refuses it.
 */
export async function startAttempt(
  sfn: SFNClient,
  stateMachineArn: string,
  operation: string,
  input: unknown,
): Promise<string> {
  const label = tenantLabel(input);
  const base = /^[a-z0-9-]{1,60}$/.test(label) ? `${operation}-${label}` : undefined;
  for (let attempt = 1; ; attempt++) {
    const name = base && attempt > 1 ? `${base}-${attempt}` : base;
    try {
      const started = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return started.executionArn ?? '';
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists) || !name) throw error;
    }
  }
}
