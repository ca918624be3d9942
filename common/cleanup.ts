/** State names of the cleanup workflow, shared by the CDK construct and the local runtime. */
export const CleanupStates = {
  which: 'Which workflow ended?',
  /** Started by hand without a state machine ARN: the longest wait of all. */
  wait: 'Wait for its Lambdas to end',
  cleanUp: 'Clean up after the execution',
  done: 'Cleaned up',
} as const;

/** The workflows a cleanup follows, and the state that waits out each one's Lambdas. */
export const CLEANED_UP_WORKFLOWS = [
  'onboarding',
  'release',
  'suspension',
  'offboarding',
  'move',
  'capacity',
] as const;
export type CleanedUpWorkflow = (typeof CLEANED_UP_WORKFLOWS)[number];
export const waitStateOf = (workflow: CleanedUpWorkflow) => `Wait for the ${workflow}'s Lambdas to end`;

/** The statuses of an execution that ended without its own compensation having (surely) run. */
export const INTERRUPTED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/**
 * The EventBridge pattern of the rule that starts a cleanup: Step Functions' own "Execution Status Change"
 * event (on the account's default bus) of an interrupted execution of one of these state machines.
 */
export function executionInterruptedPattern(stateMachineArns: readonly string[]) {
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { status: [...INTERRUPTED_STATUSES], stateMachineArn: [...stateMachineArns] },
  };
}
