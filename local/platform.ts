/**
 * The local platform's composition root: it starts each stand-in in order (PostgreSQL for RDS and the
 * emulator side by side, then the RDS instances, the one AWS endpoint, the "cdk deploy" bootstrap, the
 * Step Functions engine with the task Lambdas) and stops them in reverse. Each piece lives in the folder
 * named for the AWS service it stands in for:
 *
 *   account.ts      the local account id and the endpoint's reserved paths
 *   bootstrap/      what `cdk deploy` would have made, and the tenants put back into the emulator on start
 *   cloudfront/     CloudFront SaaS Manager: distribution tenants, their managed certificates, routing by domain
 *   emulator/       the moto_server child process (or the user's LocalStack)
 *   endpoint/       the one AWS endpoint, routing each request to its service
 *   events/         EventBridge: PutEvents on the platform bus and its rules
 *   gateway/        API Gateway HTTP APIs and CloudFront, by Host header
 *   lambda/         the tenants' API functions (versions, aliases, worker threads)
 *   processes/      child processes and ports
 *   rds/            the shared PostgreSQL server and the dedicated RDS instances
 *   s3/             the archive bucket kept on disk
 *   stepfunctions/  the ASL engine, its executions and histories, and its API
 *   tasks/          the task Lambdas run in process, fault injection, interrupted steps
 */
import { CapacityStates, cellIds, type CapacitySettings } from '../common/capacity';
import { cellAccountChanges } from '../common/cells';
import { MoveStates } from '../common/move';
import { capacityFor, keptCapacity } from './bootstrap/capacity';
import './polyfill';
import { mkdir } from 'node:fs/promises';
import { LocalPlatformNames, PlatformNames, TaskEnv } from '../common/names';
import { DEDICATED_INSTANCE, ONBOARDING_SLOTS } from '../common/steps';
import { CleanupStates, CLEANED_UP_WORKFLOWS, INTERRUPTED_STATUSES, waitStateOf } from '../common/cleanup';
import { closePools } from '../workflow-tasks/lib/db';
import { accountsInUse } from '../workflow-tasks/records/capacity';
import { cleanUpAfter } from '../workflow-tasks/cleanup/steps';
import { bootstrapPlatform, type TaskEnvironment } from './bootstrap/bootstrap';
import { restoreActiveTenants, resumeDomainRequests } from './bootstrap/tenants';
import { LocalSaasManager } from './cloudfront/saas-manager';
import { startEmulator, type LocalEmulator } from './emulator/emulator';
import { LocalAwsEndpoint, type EndpointTimes } from './endpoint/endpoint';
import { LocalEventBus } from './events/api';
import { LocalFunctions } from './lambda/functions';
import { DeletedVersions } from './lambda/deleted-versions';
import { forgetChildren, recordChild, signalChildrenSync, stopLeftovers } from './processes/children';
import { LocalRds } from './rds/instances';
import { LocalServiceQuotas } from './servicequotas/quotas';
import { ensureDatabase, localMaxConnections, startPostgres, type LocalPostgres } from './rds/postgres';
import { LocalArchive } from './s3/archive';
import { LocalSecrets } from './secretsmanager/secrets';
import { LocalStepFunctionsApi } from './stepfunctions/api';
import { localDefinitions } from './stepfunctions/asl';
import {
  localStateMachineArn,
  StepFunctionsEngine,
  type ExecutionRecord,
  type LocalStateMachine,
  type LocalStateMachines,
  type StartOptions,
} from './stepfunctions/engine';
import { ExecutionStore } from './stepfunctions/execution-store';
import { TaskContainment } from './tasks/containment';
import { FaultInjector, type Fault } from './tasks/faults';
import {
  CLEANUP_HANDLERS,
  DOMAIN_HANDLERS,
  CAPACITY_HANDLERS,
  MOVE_HANDLERS,
  OFFBOARDING_HANDLERS,
  onboardingHandlers,
  RELEASE_HANDLERS,
  SUSPENSION_HANDLERS,
  taskHandlers,
  type StateHandlers,
} from './tasks/handlers';
import { TasksInFlight } from './tasks/in-flight';
import { LocalIam } from './iam/enforcer';
import { identifyTaskRoles } from './iam/principal';
import { tenantRoleBoundaryDocument } from './iam/roles';
import { emulatorLookups } from './iam/emulator-roles';
import { LOCAL_ACCOUNT, localCellAccounts } from './account';

export type {
  ExecutionRecord,
  ExecutionStatus,
  LocalStateMachine,
  LocalStateMachines,
  StartOptions,
} from './stepfunctions/engine';

export interface PlatformOptions {
  /** PostgreSQL data and unpacked functions live here. */
  readonly stateDir: string;
  /** Faults to inject into the task handlers (see local/tasks/faults.ts). @default none */
  readonly faults?: readonly Fault[];
  /**
   * Caps every Task's TimeoutSeconds, so timeouts can be exercised without waiting minutes.
   * @default the definition's own timeouts
   */
  readonly maxTaskTimeoutSeconds?: number;
  /** Aborting it during start stops what was started and fails the start (Ctrl-C while starting). */
  readonly signal?: AbortSignal;
  /** Port of the AWS endpoint on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Where the AWS endpoint reports a request it failed to process. @default nowhere */
  readonly log?: (line: string) => void;
  /**
   * How many onboardings may provision at once (a burst's others wait their turn).
   * @default `TENANTCTL_MAX_ONBOARDINGS`, else ONBOARDING_SLOTS.defaultMaxConcurrent
   */
  readonly maxConcurrentOnboardings?: number;
  /**
   * The limits tenants are placed within (common/capacity.ts; `tenantctl up --quotas FILE`), kept in the
   * state directory for the next start. @default the ones kept there, else the defaults
   */
  readonly quotas?: CapacitySettings;
  /**
   * Whether every AWS request a task Lambda makes is authorized against its role's synthesized policies
   * (local/iam/); off, the emulator allows everything. @default `TENANTCTL_IAM` ("on" or "off"), else on
   */
  readonly iam?: boolean;
  /**
   * Where the platform writes, when it stops, what each role was allowed to do (a JSON file of its own),
   * for `npm run iam-report -- --from DIR`. @default `TENANTCTL_IAM_USAGE_DIR`, else nowhere
   */
  readonly iamUsageDir?: string;
}

/** What a started platform runs with but shows nobody. */
interface Internals {
  /** RDS instances, each a PostgreSQL server of its own. */
  readonly rds: LocalRds;
  /** CloudFront's distribution tenants and their managed certificates. */
  readonly saasManager: LocalSaasManager;
  /** The one AWS endpoint (Step Functions, EventBridge, RDS, Lambda Invoke, the emulator behind). */
  readonly endpoint: LocalAwsEndpoint;
  readonly log: (line: string) => void;
  /** Signals the servers if this process exits without stopping the platform; removed by stop(). */
  readonly onExit: () => void;
  /** Fails a crashing task's invocation instead of the process; uninstalled by stop(). */
  readonly containment: TaskContainment;
  /** This process's environment before the platform pointed the SDK and the tasks at itself. */
  readonly environmentBefore: NodeJS.ProcessEnv;
  /** Forward tasks still running, per execution: what a cleanup waits for. */
  readonly inFlight: TasksInFlight;
  /** Set by stop(): executions it stops are cleaned up by stop() itself, not by a cleanup execution. */
  stopping: boolean;
  readonly iamUsageDir: string | undefined;
  /** The tasks' IAM check, when enforced. */
  readonly iam: LocalIam | undefined;
}

/** Error name of executions found RUNNING when the platform starts: the platform died under them. */
export const PLATFORM_RESTARTED = 'PlatformRestarted';
/** Error name of executions that were running when the platform was stopped (Ctrl-C, SIGTERM). */
export const PLATFORM_STOPPED = 'PlatformStopped';

/**
 * The embedded platform: PostgreSQL, the AWS emulator, the bootstrapped platform resources, and the CDK
 * construct's state machine run by aws-local-stepfunctions with every Task calling its Lambda handler
 * in-process, under the environment it has in Lambda. Executions and their histories are kept in
 * PostgreSQL (database `stepfunctions`), so they outlive the process.
 */
export class LocalPlatform {
  private constructor(
    readonly stateDir: string,
    readonly postgres: LocalPostgres,
    readonly emulator: LocalEmulator,
    /** The AWS endpoint's URL: what `AWS_ENDPOINT_URL` is for the tasks, the gateway, tenantctl and tests. */
    readonly endpointUrl: string,
    /** The tenants' API functions, run as the emulator recorded them. */
    readonly functions: LocalFunctions,
    readonly environment: TaskEnvironment,
    /** The state machines and their executions. */
    readonly engine: StepFunctionsEngine,
    private readonly internals: Internals,
  ) {}

  /**
   * Starts PostgreSQL and the emulator, then the AWS endpoint in front of them (on `port`), bootstraps the
   * platform resources, brings back the RDS instances and the live tenants, and loads the state machines. A
   * start that fails, or whose `signal` aborts, stops everything it had started before it throws.
   */
  static async start(options: PlatformOptions): Promise<LocalPlatform> {
    const { stateDir, signal } = options;
    // Checked before anything starts: a bad setting fails at once.
    const maxConcurrentOnboardings = onboardingSlots(options.maxConcurrentOnboardings);
    const enforceIam = iamEnforced(options.iam);
    await mkdir(stateDir, { recursive: true });
    // Kept only once checked against the tenants already placed (below).
    const capacity = options.quotas ?? (await keptCapacity(stateDir));
    refuseCellAccountsOnUserEmulator(capacity, userEmulator(options.port));
    await stopLeftovers(stateDir);
    const maxConnections = localMaxConnections(capacity.connectionsPerSharedInstance);
    const environmentBefore = { ...process.env };
    // A process that dies of an uncaught exception never reaches stop(): its servers are signalled on exit.
    const onExit = () => signalChildrenSync(stateDir);
    process.once('exit', onExit);
    // A task handler that crashes fails its own invocation, as a Lambda does, and nothing else.
    const containment = new TaskContainment(options.log);
    containment.install();
    const [startedPostgres, startedEmulator] = await Promise.allSettled([
      startPostgres(stateDir, { signal, maxConnections }),
      startEmulator(userEmulator(options.port), signal),
    ]);
    const postgres = startedPostgres.status === 'fulfilled' ? startedPostgres.value : undefined;
    const emulator = startedEmulator.status === 'fulfilled' ? startedEmulator.value : undefined;
    let store: ExecutionStore | undefined;
    let rds: LocalRds | undefined;
    let saasManager: LocalSaasManager | undefined;
    let endpoint: LocalAwsEndpoint | undefined;
    let functions: LocalFunctions | undefined;
    try {
      if (!postgres) throw (startedPostgres as PromiseRejectedResult).reason;
      if (!emulator) throw (startedEmulator as PromiseRejectedResult).reason;
      await recordEmulator(stateDir, emulator);
      signal?.throwIfAborted();
      rds = await LocalRds.start(stateDir, emulator.endpoint, { log: options.log, maxConnections });
      const archive = new LocalArchive(stateDir, emulator.endpoint);
      const secrets = new LocalSecrets(stateDir, emulator.endpoint);
      const distributionTenants = new LocalSaasManager(stateDir, emulator.endpoint);
      saasManager = distributionTenants;
      endpoint = new LocalAwsEndpoint(
        emulator.endpoint,
        {
          rds,
          archive,
          secrets,
          saasManager: distributionTenants,
          serviceQuotas: new LocalServiceQuotas(stateDir, LocalPlatformNames.region),
          // moto numbers versions wrongly after one is deleted; LocalStack and AWS do not need this.
          deletedVersions: emulator.owned ? new DeletedVersions() : undefined,
        },
        options.log,
      );
      const endpointUrl = `http://127.0.0.1:${await endpoint.listen(options.port ?? 0)}`;
      functions = new LocalFunctions(stateDir, endpointUrl);
      setAwsEnvironment(endpointUrl, emulator.owned);
      const boundary = tenantRoleBoundaryDocument(
        { account: LOCAL_ACCOUNT, region: LocalPlatformNames.region },
        LocalPlatformNames.tenantRoleBoundary,
      );
      const environment = await bootstrapPlatform(
        stateDir,
        endpointUrl,
        postgres,
        {
          onboarding: localStateMachineArn(PlatformNames.stateMachine),
          release: localStateMachineArn(PlatformNames.releaseStateMachine),
          suspension: localStateMachineArn(PlatformNames.suspensionStateMachine),
          offboarding: localStateMachineArn(PlatformNames.offboardingStateMachine),
          cleanup: localStateMachineArn(PlatformNames.cleanupStateMachine),
          domain: localStateMachineArn(PlatformNames.domainStateMachine),
          capacity: localStateMachineArn(PlatformNames.capacityStateMachine),
          move: localStateMachineArn(PlatformNames.moveStateMachine),
        },
        maxConcurrentOnboardings,
        capacity,
        boundary,
      );
      Object.assign(process.env, environment);
      await refuseCellAccountChanges(capacity);
      if (options.quotas) await capacityFor(stateDir, options.quotas);
      await archive.restore();
      await secrets.restore();
      await ensureDatabase(postgres, STEPFUNCTIONS_DATABASE);
      store = await ExecutionStore.open({ ...postgres, database: STEPFUNCTIONS_DATABASE });
      signal?.throwIfAborted();
      await rds.settled();
      // The RDS instances are up: an orphan's undo can delete its instance.
      await releaseOrphans(store, options.log ?? (() => undefined));
      await restoreActiveTenants();
      signal?.throwIfAborted();
      // The definitions and roles name the distribution bootstrap made.
      const definitions = localDefinitions(environment[TaskEnv.distributionId], capacity.cellAccounts);
      const faults = new FaultInjector(options.faults ?? []);
      const inFlight = new TasksInFlight();
      const { roles } = definitions;
      const iam = enforceIam
        ? new LocalIam(
            new Set(roles.values()),
            { account: LOCAL_ACCOUNT, region: LocalPlatformNames.region },
            // A distribution tenant named by its name or domain is authorized on its id's ARN.
            (account) => ({
              ...emulatorLookups(emulator.endpoint, account),
              saasResourceId: (reference) => distributionTenants.idOf(reference),
            }),
            definitions.cellRoles,
          )
        : undefined;
      identifyTaskRoles(Boolean(iam));
      const tasks = (handlers: StateHandlers) => (definition: Parameters<typeof taskHandlers>[0]) =>
        taskHandlers(definition, handlers, { faults, inFlight, containment, roles });
      const engine = new StepFunctionsEngine({
        store,
        workflows: {
          onboarding: {
            name: PlatformNames.stateMachine,
            definition: definitions.onboarding,
            handlers: tasks(onboardingHandlers()),
          },
          release: {
            name: PlatformNames.releaseStateMachine,
            definition: definitions.release,
            handlers: tasks(RELEASE_HANDLERS),
          },
          suspension: {
            name: PlatformNames.suspensionStateMachine,
            definition: definitions.suspension,
            handlers: tasks(SUSPENSION_HANDLERS),
          },
          offboarding: {
            name: PlatformNames.offboardingStateMachine,
            definition: definitions.offboarding,
            handlers: tasks(OFFBOARDING_HANDLERS),
          },
          cleanup: {
            name: PlatformNames.cleanupStateMachine,
            definition: definitions.cleanup,
            handlers: tasks(CLEANUP_HANDLERS),
          },
          domain: {
            name: PlatformNames.domainStateMachine,
            definition: definitions.domain,
            handlers: tasks(DOMAIN_HANDLERS),
          },
          capacity: {
            name: PlatformNames.capacityStateMachine,
            definition: definitions.capacity,
            handlers: tasks(CAPACITY_HANDLERS),
          },
          move: {
            name: PlatformNames.moveStateMachine,
            definition: definitions.move,
            handlers: tasks(MOVE_HANDLERS),
          },
        },
        // The emulator's RDS instances are available at once: waiting 30 s between checks proves nothing.
        waitTimeOverrides: {
          [DEDICATED_INSTANCE.waitStateName]: LOCAL_INSTANCE_WAIT_MS,
          [CapacityStates.wait]: LOCAL_INSTANCE_WAIT_MS,
          // A move's copy between two local servers follows within moments.
          [MoveStates.waitSync]: LOCAL_INSTANCE_WAIT_MS,
          // The local edge deploys a change at once, or within TENANTCTL_CLOUDFRONT_PROPAGATION_MS.
          [MoveStates.waitRouting]: LOCAL_INSTANCE_WAIT_MS,
          // The status change is sent once the execution's tasks have ended (below): nothing to wait out.
          [CleanupStates.wait]: 0,
          ...Object.fromEntries(CLEANED_UP_WORKFLOWS.map((workflow) => [waitStateOf(workflow), 0])),
        },
        maxTaskTimeoutSeconds: options.maxTaskTimeoutSeconds,
      });
      const platform = new LocalPlatform(
        stateDir,
        postgres,
        emulator,
        endpointUrl,
        functions,
        environment,
        engine,
        {
          rds,
          saasManager: distributionTenants,
          endpoint,
          log: options.log ?? (() => undefined),
          onExit,
          containment,
          environmentBefore,
          inFlight,
          stopping: false,
          iamUsageDir: options.iamUsageDir ?? process.env.TENANTCTL_IAM_USAGE_DIR,
          iam,
        },
      );
      const events = new LocalEventBus(engine, options.log);
      engine.onEnded((record, stateMachine) => platform.announceEnd(record, stateMachine, events));
      endpoint.attach({
        stepFunctions: new LocalStepFunctionsApi(engine, options.log),
        events,
        functions,
        iam,
      });
      await resumeDomainRequests((input, name) =>
        engine.startExecution(input, { stateMachineArn: engine.stateMachines.domain.arn, name }),
      );
      return platform;
    } catch (error) {
      await endpoint?.close();
      await functions?.stop();
      await rds?.stop();
      await saasManager?.close();
      await store?.close();
      await closePools();
      await Promise.allSettled([postgres?.stop(), emulator?.stop()]);
      await forgetChildren(stateDir);
      process.off('exit', onExit);
      containment.uninstall();
      identifyTaskRoles(false);
      restoreEnvironment(environmentBefore);
      throw error;
    }
  }

  /** CloudFront SaaS Manager's stand-in: the gateway asks it which tenant a Host is (route()). */
  get saasManager(): LocalSaasManager {
    return this.internals.saasManager;
  }

  /** The tasks' IAM check (what each role was allowed and refused), unless `iam` was off. */
  get iam(): LocalIam | undefined {
    return this.internals.iam;
  }

  /** The state machines: onboarding, release, suspension, offboarding, cleanup, domain, capacity, move. */
  get stateMachines(): LocalStateMachines {
    return this.engine.stateMachines;
  }

  /** Where the AWS endpoint's time went so far: forwarding to the emulator, checking IAM. */
  get endpointTimes(): EndpointTimes {
    return this.internals.endpoint.times;
  }

  /** The state machines' ARNs by workflow name. */
  get workflowArns(): Record<keyof LocalStateMachines, string> {
    const machines = this.engine.stateMachines;
    return {
      onboarding: machines.onboarding.arn,
      release: machines.release.arn,
      suspension: machines.suspension.arn,
      offboarding: machines.offboarding.arn,
      cleanup: machines.cleanup.arn,
      domain: machines.domain.arn,
      capacity: machines.capacity.arn,
      move: machines.move.arn,
    };
  }

  /** Every execution and its history. */
  get store(): ExecutionStore {
    return this.engine.store;
  }

  /** ARN of the onboarding state machine (the same shape as on AWS). */
  get stateMachineArn(): string {
    return this.engine.stateMachines.onboarding.arn;
  }

  /** The state machine with this ARN, if the platform has it. */
  stateMachine(arn: unknown): LocalStateMachine | undefined {
    return this.engine.stateMachine(arn);
  }

  /** The role the state machines would run as; reported in ExecutionStarted events. */
  get roleArn(): string {
    return this.engine.roleArn;
  }

  /** Starts an execution (StepFunctionsEngine.startExecution). */
  startExecution(
    input: unknown,
    options: StartOptions = {},
  ): Promise<{ executionArn: string; startDate: Date; done: Promise<ExecutionRecord> }> {
    return this.engine.startExecution(input, options);
  }

  /** Starts an execution and waits for its end. */
  async runExecution(input: unknown, options: StartOptions = {}): Promise<ExecutionRecord> {
    return (await this.engine.startExecution(input, options)).done;
  }

  /** Stops a running execution (no undo runs, as on AWS); false when it is not running here. */
  stopExecution(executionArn: string, reason: { error?: string; cause?: string } = {}): Promise<boolean> {
    return this.engine.stopExecution(executionArn, reason);
  }

  /**
   * Step Functions' "Execution Status Change" of an interrupted execution, sent to the bus once the
   * execution's tasks that still run have ended (on AWS the cleanup waits for them instead): its rule
   * starts the cleanup workflow.
   */
  private announceEnd(record: ExecutionRecord, stateMachine: LocalStateMachine, events: LocalEventBus): void {
    if (this.internals.stopping || !(INTERRUPTED_STATUSES as readonly string[]).includes(record.status))
      return;
    this.internals.inFlight
      .ended(record.executionArn)
      // stop() cleans up after what it stops itself; nothing new starts once it has begun.
      .then(() => (this.internals.stopping ? undefined : events.stepFunctionsEvent(record, stateMachine)))
      .catch((error: Error) =>
        this.internals.log(`could not announce the end of ${record.executionArn}: ${error.message}`),
      );
  }

  /** Stops running executions, closes the task Lambdas' connections, stops what this platform started. */
  async stop(): Promise<void> {
    const cause = 'The local platform was stopped while this execution was running';
    this.internals.stopping = true;
    const stopped = await this.engine.stopAll({ error: PLATFORM_STOPPED, cause });
    const usageDir = this.internals.iamUsageDir;
    // Never in the way of stopping: a usage file that cannot be written is said, not thrown.
    if (this.iam && usageDir)
      await this.iam
        .writeUsage(usageDir)
        .catch((error: unknown) =>
          this.internals.log(`the IAM usage was not written to ${usageDir}: ${(error as Error).message}`),
        );
    // As after a crash (releaseOrphans): cleaned up here, so onboarding their tenants again converges.
    for (const record of stopped) {
      await this.internals.inFlight.ended(record.executionArn);
      await cleanUpLogged(workOf(record), { Error: PLATFORM_STOPPED, Cause: cause }, this.internals.log);
    }
    await this.internals.endpoint.close();
    await this.functions.stop();
    await this.internals.rds.stop();
    await this.internals.saasManager.close();
    await this.store.close();
    await closePools();
    await Promise.allSettled([this.postgres.stop(), this.emulator.stop()]);
    await forgetChildren(this.stateDir);
    process.off('exit', this.internals.onExit);
    this.internals.containment.uninstall();
    identifyTaskRoles(false);
    restoreEnvironment(this.internals.environmentBefore);
  }
}

const STEPFUNCTIONS_DATABASE = 'stepfunctions';

/**
 * The emulator the user named in `AWS_ENDPOINT_URL` (LocalStack), if any. A URL naming this platform's own
 * endpoint is how users reach the platform (`export AWS_ENDPOINT_URL=http://127.0.0.1:4566`, then
 * `npm start` in the same shell), not an emulator: it is ignored.
 */
function userEmulator(port: number | undefined): string | undefined {
  const url = process.env.AWS_ENDPOINT_URL;
  if (!url || !port) return url;
  try {
    const { hostname, port: given } = new URL(url);
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(hostname);
    return loopback && Number(given) === port ? undefined : url;
  } catch {
    return url; // startEmulator says what is wrong with it
  }
}

/**
 * Cells in AWS accounts of their own reach their account through moto's account header (local/emulator);
 * another emulator would put every cell's resources in one account, so that is refused before anything starts.
 */
function refuseCellAccountsOnUserEmulator(capacity: CapacitySettings, emulator: string | undefined): void {
  const cells = Object.keys(capacity.cellAccounts);
  if (emulator && cells.length > 0)
    throw new Error(
      `quotas: cellAccounts (${cells.join(', ')}) needs the emulator the platform starts (moto_server), whose accounts ` +
        `the local cells are; AWS_ENDPOINT_URL=${emulator} names another emulator. Unset AWS_ENDPOINT_URL, or keep every cell in one account: "cellAccounts": {}.`,
    );
}

/**
 * Refuses settings that put a cell in another account than the one its tenants were made in; where that
 * account is the one the local platform gives a cell by default, says so (the user may never have named it).
 */
async function refuseCellAccountChanges(capacity: CapacitySettings): Promise<void> {
  const changes = cellAccountChanges(capacity, await accountsInUse());
  if (changes.length === 0) return;
  const defaults = localCellAccounts(cellIds(capacity));
  const byDefault = Object.entries(capacity.cellAccounts)
    .filter(([cell, account]) => defaults[cell] === account)
    .map(([cell, account]) => `${cell} in ${account}`);
  const hint = byDefault.length
    ? ` (${byDefault.join(', ')}: the local platform's own account for a cell when the quotas name none; name the accounts, or "cellAccounts": {} for the platform's)`
    : '';
  throw new Error(`quotas: ${changes.join('; ')}${hint}`);
}

const LOCAL_INSTANCE_WAIT_MS = 200;

/** Recorded so that the next start in this state directory stops it if this process is killed. */
async function recordEmulator(stateDir: string, emulator: LocalEmulator): Promise<void> {
  if (emulator.pid)
    await recordChild(stateDir, 'moto_server', {
      pid: emulator.pid,
      marker: 'moto_server',
      signal: 'SIGTERM',
    });
}

/**
 * Executions left RUNNING by a platform that was killed are failed and cleaned up after (the tenants they
 * were onboarding undone and ROLLED_BACK), so onboarding them again can claim them and converge.
 */
async function releaseOrphans(store: ExecutionStore, log: (line: string) => void): Promise<void> {
  const cause = 'The local platform stopped while this execution was running';
  for (const executionArn of await store.failOrphans(PLATFORM_RESTARTED, cause)) {
    const orphan = await store.get(executionArn);
    if (orphan) await cleanUpLogged(workOf(orphan), { Error: PLATFORM_RESTARTED, Cause: cause }, log);
  }
}

/** The execution whose work an interrupted one held: a cleanup's is the execution it was cleaning up after. */
function workOf(execution: { executionArn: string; input: unknown }): string {
  // arn:aws:states:<region>:<account>:execution:<state machine>:<name>
  if (execution.executionArn.split(':')[6] !== PlatformNames.cleanupStateMachine)
    return execution.executionArn;
  const input =
    typeof execution.input === 'string' ? (JSON.parse(execution.input) as unknown) : execution.input;
  return (input as { executionArn?: string } | null)?.executionArn ?? execution.executionArn;
}

/**
 * The cleanup, run by the platform itself; one that fails is said, with how to run it again, and the
 * others still run.
 */
async function cleanUpLogged(
  executionArn: string,
  error: { Error: string; Cause: string },
  log: (line: string) => void,
): Promise<void> {
  await cleanUpAfter(executionArn, error).catch((e: Error) =>
    log(
      `could not clean up after ${executionArn} (${e.name}: ${e.message}); run it again: aws stepfunctions start-execution --state-machine-arn ${localStateMachineArn(PlatformNames.cleanupStateMachine)} --input '{"executionArn":"${executionArn}","status":"FAILED"}'`,
    ),
  );
}

/**
 * Puts back the environment a start found: the next platform started in this process must not take the
 * endpoint of a stopped one for an emulator the user gave.
 */
function restoreEnvironment(before: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
  Object.assign(process.env, before);
}

/**
 * Points every SDK client of this process at the platform's AWS endpoint. Credentials are placeholders
 * when this process runs the emulator: it accepts any key, and real credentials must never travel to it.
 */
function setAwsEnvironment(endpointUrl: string, ownEmulator: boolean): void {
  process.env.AWS_ENDPOINT_URL = endpointUrl;
  process.env.AWS_REGION = LocalPlatformNames.region;
  if (ownEmulator || !process.env.AWS_ACCESS_KEY_ID) {
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }
}

/**
 * How many onboardings may provision at once: the option, else `TENANTCTL_MAX_ONBOARDINGS`, else the
 * construct's default; anything but a positive integer is refused, naming where it came from.
 */
function onboardingSlots(option: number | undefined): number {
  const given = process.env.TENANTCTL_MAX_ONBOARDINGS;
  if (option === undefined && (given === undefined || given === ''))
    return ONBOARDING_SLOTS.defaultMaxConcurrent;
  const value = option ?? Number(given);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(
      `${option === undefined ? 'TENANTCTL_MAX_ONBOARDINGS' : 'maxConcurrentOnboardings'} must be a positive integer (how many onboardings may provision at once), got ${JSON.stringify(option ?? given)}`,
    );
  return value;
}

/** IAM enforcement: the option, else `TENANTCTL_IAM` ("on", "off"), else on; anything else is refused. */
function iamEnforced(option: boolean | undefined): boolean {
  if (option !== undefined) return option;
  const given = process.env.TENANTCTL_IAM;
  if (given === undefined || given === '' || given === 'on') return true;
  if (given === 'off') return false;
  throw new Error(
    `TENANTCTL_IAM must be "on" or "off" (whether the tasks' AWS calls are authorized), got ${JSON.stringify(given)}`,
  );
}
