import { ImportStates } from './imports';

/**
 * The onboarding steps, in order, as a table: the CDK construct builds the state machine from it and the
 * local runtime maps its state names to the in-process handlers. A step's id names its folder in
 * `workflow-tasks/`, its result key (`$.results.<resultKey>`) and its fault-injection id.
 */
export interface StepSpec {
  readonly id: StepId;
  /** State name in the console graph. */
  readonly stateName: string;
  /** Key of the step's result under `$.results`. */
  readonly resultKey: string;
  /** Compensation state name; absent when the step creates nothing of its own. */
  readonly undoStateName?: string;
  /** Task timeout. */
  readonly timeoutSeconds: number;
  /**
   * The branch of "Build database and web" the step runs in (the branches run side by side); absent for the
   * steps before it, which both branches need, and the steps after it, which need both.
   */
  readonly branch?: 'database' | 'web';
  /** Transient-error retries: attempts after the first, first delay, cap of the delay. */
  readonly retry: {
    readonly maxAttempts: number;
    readonly intervalSeconds: number;
    readonly maxDelaySeconds: number;
  };
}

export type StepId =
  | 'validate-input'
  | 'register-tenant'
  | 'store-secret'
  | 'create-database'
  | 'apply-schema'
  | 'deploy-function'
  | 'attach-domain'
  | 'publish-frontend'
  | 'invalidate-cache'
  | 'activate-tenant';

const quick = { maxAttempts: 4, intervalSeconds: 1, maxDelaySeconds: 8 } as const;
const slow = { maxAttempts: 6, intervalSeconds: 2, maxDelaySeconds: 30 } as const;
/** The two retry profiles every workflow's tasks use: quick calls, and slow ones (databases, code). */
export const RETRY = { quick: { retry: quick }, slow: { retry: slow } } as const;

export const STEPS: readonly StepSpec[] = [
  {
    id: 'validate-input',
    stateName: 'Validate input',
    resultKey: 'tenant',
    timeoutSeconds: 10,
    retry: quick,
  },
  {
    id: 'register-tenant',
    stateName: 'Register tenant',
    resultKey: 'registration',
    undoStateName: 'Rollback: mark tenant rolled back',
    timeoutSeconds: 30,
    retry: quick,
  },
  {
    id: 'store-secret',
    stateName: 'Store secret',
    resultKey: 'secret',
    undoStateName: 'Rollback: delete secret',
    timeoutSeconds: 30,
    retry: quick,
  },
  {
    id: 'create-database',
    branch: 'database',
    stateName: 'Create database',
    resultKey: 'database',
    undoStateName: 'Rollback: drop database',
    timeoutSeconds: 120,
    retry: slow,
  },
  {
    id: 'apply-schema',
    branch: 'database',
    stateName: 'Apply schema',
    resultKey: 'schema',
    // An import or a restore streams a customer's rows for minutes: Lambda's longest.
    timeoutSeconds: 900,
    retry: slow,
  },
  {
    id: 'deploy-function',
    branch: 'web',
    stateName: 'Deploy function',
    resultKey: 'function',
    undoStateName: 'Rollback: delete function and API',
    timeoutSeconds: 120,
    retry: slow,
  },
  {
    id: 'publish-frontend',
    branch: 'web',
    stateName: 'Publish frontend',
    resultKey: 'frontend',
    undoStateName: 'Rollback: delete frontend',
    timeoutSeconds: 120,
    retry: quick,
  },
  {
    id: 'invalidate-cache',
    stateName: 'Invalidate cache',
    resultKey: 'invalidation',
    timeoutSeconds: 30,
    retry: quick,
  },
  {
    id: 'activate-tenant',
    stateName: 'Activate tenant',
    resultKey: 'activation',
    timeoutSeconds: 30,
    retry: quick,
  },
  // Once the tenant is live (an imported customer's once its rows are verified), its domain's own workflow
  // is started; the onboarding goes on without waiting for the customer's DNS.
  {
    id: 'attach-domain',
    stateName: 'Attach domain',
    resultKey: 'domain',
    undoStateName: 'Rollback: detach domain',
    timeoutSeconds: 60,
    retry: quick,
  },
];

/**
 * Bursts: "Register tenant" registers a tenant only while fewer than `maxConcurrentOnboardings` are
 * provisioning; otherwise it fails with OnboardingSlotsFull, retried with capped, jittered backoff for up to
 * about half an hour (the execution's timeout bounds it; an onboarding that never gets a slot is rolled
 * back and says so).
 */
/** The onboarding state machine's default timeout; a registration older than this holds no slot. */
export const ONBOARDING_TIMEOUT_SECONDS = 3600;

export const ONBOARDING_SLOTS = {
  defaultMaxConcurrent: 10,
  retry: { maxAttempts: 700, intervalSeconds: 1, backoffRate: 1.5, maxDelaySeconds: 5 },
} as const;

/**
 * The two branches run in one Parallel state, each catching its own failure: a branch that fails ends at
 * once ("Database branch failed", "Web branch failed"), the other runs on to its end, so when the Parallel
 * state ends no step of it is still running and the rollback can start at once (Step Functions cannot
 * stop a Lambda that is running: a failure that failed the Parallel state itself would leave one landing
 * its effect after its undo). The branches' results are merged back into `$.results`, a failure as
 * `$.results.failure`; "Both branches built?" sends one into the undos. The one step that could make the
 * other branch wait for minutes, a dedicated instance's wait loop, stops at its next round when the web
 * branch has failed ("Check instance" answers `abandoned`).
 */
export const BRANCHES = {
  stateName: 'Build database and web',
  /** Branch order in the Parallel state (and its output array). */
  order: ['database', 'web'] as const,
  failedStateName: { database: 'Database branch failed', web: 'Web branch failed' },
  collectStateName: 'Collect branch results',
  builtStateName: 'Both branches built?',
  takeErrorStateName: 'Take the branch error',
} as const;

/**
 * The dedicated tier's wait loop after "Create database": wait, check the RDS instance, and go on when it is
 * available; a bounded number of rounds (a dedicated instance takes minutes, a secret milliseconds).
 */
export const DEDICATED_INSTANCE = {
  choiceStateName: 'Dedicated instance?',
  waitStateName: 'Wait for instance',
  waitSeconds: 30,
  check: {
    id: 'check-instance',
    stateName: 'Check instance',
    resultKey: 'instance',
    timeoutSeconds: 60,
    retry: { maxAttempts: 6, intervalSeconds: 5, maxDelaySeconds: 60 },
  },
  availableStateName: 'Instance available?',
  /** What "Check instance" answers once the web branch has failed (BRANCHES): the loop stops there. */
  abandoned: 'abandoned',
  abandonedStateName: 'Stop waiting for instance',
  /** 60 rounds of 30 s: RDS usually needs 5-15 minutes. */
  maxRounds: 60,
} as const;

/**
 * An import (`importFrom`, common/imports.ts): "Inspect import source" runs before "Register tenant", so a
 * source that is refused leaves nothing; the source's credentials are deleted after the tenant is live and
 * at the end of a rollback (the same handler, its `undo`).
 */
export const IMPORT_SOURCE = {
  id: 'inspect-source',
  stateName: ImportStates.inspect,
  resultKey: 'source',
  /** A large dump is read through once here (Lambda's longest). */
  timeoutSeconds: 900,
  retry: quick,
} as const;

/** The step that records an undo that could not be completed (ROLLBACK_FAILED + event). */
export const RECORD_ROLLBACK_FAILURE = {
  id: 'record-rollback-failure',
  stateName: 'Record rollback failure',
  timeoutSeconds: 30,
} as const;

export function stepById(id: StepId): StepSpec {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new Error(`unknown step ${id}`);
  return step;
}
