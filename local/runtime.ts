import './polyfill';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
} from 'aws-local-stepfunctions';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import {
  BRANCHES,
  DEDICATED_INSTANCE,
  ONBOARDING_SLOTS,
  RECORD_ROLLBACK_FAILURE,
  STEPS,
} from '../common/steps';
import { closePools } from '../workflow-tasks/lib/db';
import { releaseTenantsOf } from '../workflow-tasks/lib/registry';
import type { TaskHandler } from '../workflow-tasks/lib/handler';
import type { TaskEvent } from '../workflow-tasks/lib/types';
import { STEP_HANDLERS } from '../workflow-tasks';
import * as releaseTasks from '../workflow-tasks/release/handler';
import * as suspensionTasks from '../workflow-tasks/suspension/handler';
import * as offboardingTasks from '../workflow-tasks/offboarding/handler';
import { releaseOffboardingOf } from '../workflow-tasks/offboarding/steps';
import { OffboardingStates } from '../common/offboarding';
import { SuspensionStates } from '../common/suspension';
import { ReleaseStates } from '../common/release';
import { stopReleaseOf } from '../workflow-tasks/lib/release-ledger';
import { allStates, localDefinitions, mapTasks, type AslDefinition } from './asl';
import { TasksInFlight } from './in-flight';
import { bootstrapPlatform, ensureDatabase, LOCAL_ACCOUNT, type TaskEnvironment } from './bootstrap';
import { ExecutionStore, type ExecutionStatus } from './execution-store';

export type { ExecutionStatus } from './execution-store';
import { HistoryBuilder, type AwsHistoryEvent } from './history';
import { startEmulator, type LocalEmulator } from './emulator';
import { forgetChildren, recordChild, signalChildrenSync, stopLeftovers } from './children';
import { FaultInjector, type Fault } from './faults';
import { LocalFunctions } from './functions';
import { LocalAwsApi } from './aws-api';
import { LocalArchive } from './archive';
import { LocalAwsEndpoint } from './aws-endpoint';
import { LocalRds } from './rds';
import { restoreActiveTenants } from './restore';
import { startPostgres, type LocalPostgres } from './postgres';

/** An execution as the local platform reports it: AWS-shaped history events, parsed output. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  readonly input: unknown;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The history, as GetExecutionHistory returns it. */
  readonly events: AwsHistoryEvent[];
}

export interface StartOptions {
  /** The state machine to run. @default the onboarding one */
  readonly stateMachineArn?: string;
  /** Execution name; unique per state machine. @default a random UUID */
  readonly name?: string;
  /** Called for each history event as it happens (live progress). */
  readonly onEvent?: (event: AwsHistoryEvent) => void;
}

type JsonHandler = (input: TaskEvent) => Promise<unknown>;

export interface PlatformOptions {
  /** PostgreSQL data and unpacked functions live here. */
  readonly stateDir: string;
  /** Faults to inject into the task handlers (see local/faults.ts). @default none */
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
}

/** A state machine of the platform, as DescribeStateMachine shows it. */
export interface LocalStateMachine {
  readonly arn: string;
  readonly name: string;
  readonly definition: AslDefinition;
}

/** The platform's state machines: onboarding (the one tenantctl onboard starts), release, suspension, offboarding. */
export interface LocalStateMachines {
  readonly onboarding: LocalStateMachine;
  readonly release: LocalStateMachine;
  readonly suspension: LocalStateMachine;
  readonly offboarding: LocalStateMachine;
}

/** What a started platform runs with but shows nobody. */
interface Internals {
  /** The interpreter of each state machine, with its Task states' in-process handlers, by ARN. */
  readonly interpreters: ReadonlyMap<
    string,
    { machine: StateMachine; handlers: Record<string, JsonHandler> }
  >;
  /** RDS instances, each a PostgreSQL server of its own. */
  readonly rds: LocalRds;
  /** The one AWS endpoint (Step Functions, EventBridge, RDS, Lambda Invoke, the emulator behind). */
  readonly endpoint: LocalAwsEndpoint;
  readonly log: (line: string) => void;
  /** Signals the servers if this process exits without stopping the platform; removed by stop(). */
  readonly onExit: () => void;
  /** This process's environment before the platform pointed the SDK and the tasks at itself. */
  readonly environmentBefore: NodeJS.ProcessEnv;
}

interface Running {
  readonly record: ExecutionRecord;
  readonly abort: () => void;
  done: Promise<ExecutionRecord>;
  /** Set by StopExecution before it aborts the run. */
  stopReason?: { error?: string; cause?: string };
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
  private readonly running = new Map<string, Running>();

  private constructor(
    readonly stateDir: string,
    readonly postgres: LocalPostgres,
    readonly emulator: LocalEmulator,
    /** The AWS endpoint's URL: what `AWS_ENDPOINT_URL` is for the tasks, the gateway, tenantctl and tests. */
    readonly endpointUrl: string,
    /** The tenants' API functions, run as the emulator recorded them. */
    readonly functions: LocalFunctions,
    readonly environment: TaskEnvironment,
    readonly stateMachines: LocalStateMachines,
    readonly store: ExecutionStore,
    private readonly internals: Internals,
  ) {}

  /**
   * Starts PostgreSQL and the emulator, then the AWS endpoint in front of them (on `port`), bootstraps the
   * platform resources, brings back the RDS instances and the live tenants, and loads the state machine. A
   * start that fails, or whose `signal` aborts, stops everything it had started before it throws.
   */
  static async start(options: PlatformOptions): Promise<LocalPlatform> {
    const { stateDir, signal } = options;
    // Checked before anything starts: a bad setting fails at once.
    const maxConcurrentOnboardings = onboardingSlots(options.maxConcurrentOnboardings);
    await mkdir(stateDir, { recursive: true });
    await stopLeftovers(stateDir);
    const environmentBefore = { ...process.env };
    // A process that dies of an uncaught exception never reaches stop(): its servers are signalled on exit.
    const onExit = () => signalChildrenSync(stateDir);
    process.once('exit', onExit);
    const [startedPostgres, startedEmulator] = await Promise.allSettled([
      startPostgres(stateDir, signal),
      startEmulator(userEmulator(options.port), signal),
    ]);
    const postgres = startedPostgres.status === 'fulfilled' ? startedPostgres.value : undefined;
    const emulator = startedEmulator.status === 'fulfilled' ? startedEmulator.value : undefined;
    let store: ExecutionStore | undefined;
    let rds: LocalRds | undefined;
    let endpoint: LocalAwsEndpoint | undefined;
    let functions: LocalFunctions | undefined;
    try {
      if (!postgres) throw (startedPostgres as PromiseRejectedResult).reason;
      if (!emulator) throw (startedEmulator as PromiseRejectedResult).reason;
      await recordEmulator(stateDir, emulator);
      signal?.throwIfAborted();
      rds = await LocalRds.start(stateDir, emulator.endpoint, options.log);
      const archive = new LocalArchive(stateDir, emulator.endpoint);
      endpoint = new LocalAwsEndpoint(emulator.endpoint, rds, archive, options.log);
      const endpointUrl = `http://127.0.0.1:${await endpoint.listen(options.port ?? 0)}`;
      functions = new LocalFunctions(stateDir, endpointUrl);
      setAwsEnvironment(endpointUrl, emulator.owned);
      const environment = await bootstrapPlatform(
        stateDir,
        endpointUrl,
        postgres,
        {
          onboarding: localStateMachineArn(PlatformNames.stateMachine),
          release: localStateMachineArn(PlatformNames.releaseStateMachine),
          suspension: localStateMachineArn(PlatformNames.suspensionStateMachine),
          offboarding: localStateMachineArn(PlatformNames.offboardingStateMachine),
        },
        maxConcurrentOnboardings,
      );
      Object.assign(process.env, environment);
      await archive.restore();
      await ensureDatabase(postgres, STEPFUNCTIONS_DATABASE);
      store = await ExecutionStore.open({ ...postgres, database: STEPFUNCTIONS_DATABASE });
      await releaseOrphans(store);
      signal?.throwIfAborted();
      await rds.settled();
      await restoreActiveTenants();
      signal?.throwIfAborted();
      const definitions = localDefinitions();
      const faults = new FaultInjector(options.faults ?? []);
      const inFlight = new TasksInFlight();
      const machineOf = (name: string, definition: AslDefinition): LocalStateMachine => ({
        arn: localStateMachineArn(name),
        name,
        definition: capTimeouts(definition, options.maxTaskTimeoutSeconds),
      });
      const stateMachines: LocalStateMachines = {
        onboarding: machineOf(PlatformNames.stateMachine, definitions.onboarding),
        release: machineOf(PlatformNames.releaseStateMachine, definitions.release),
        suspension: machineOf(PlatformNames.suspensionStateMachine, definitions.suspension),
        offboarding: machineOf(PlatformNames.offboardingStateMachine, definitions.offboarding),
      };
      const interpreters = new Map(
        (
          [
            [stateMachines.onboarding, onboardingHandlers()],
            [stateMachines.release, RELEASE_HANDLERS],
            [stateMachines.suspension, SUSPENSION_HANDLERS],
            [stateMachines.offboarding, OFFBOARDING_HANDLERS],
          ] as const
        ).map(([m, handlers]) => [
          m.arn,
          {
            machine: new StateMachine(m.definition as never, {
              validationOptions: { checkPaths: true, checkArn: true },
            }),
            handlers: taskHandlers(m.definition, handlers, faults, inFlight),
          },
        ]),
      );
      const platform = new LocalPlatform(
        stateDir,
        postgres,
        emulator,
        endpointUrl,
        functions,
        environment,
        stateMachines,
        store,
        { interpreters, rds, endpoint, log: options.log ?? (() => undefined), onExit, environmentBefore },
      );
      endpoint.attach({ stepFunctions: new LocalAwsApi(platform, options.log), functions });
      return platform;
    } catch (error) {
      await endpoint?.close();
      await functions?.stop();
      await rds?.stop();
      await store?.close();
      await closePools();
      await Promise.allSettled([postgres?.stop(), emulator?.stop()]);
      await forgetChildren(stateDir);
      process.off('exit', onExit);
      restoreEnvironment(environmentBefore);
      throw error;
    }
  }

  /** ARN of the onboarding state machine (the same shape as on AWS). */
  get stateMachineArn(): string {
    return this.stateMachines.onboarding.arn;
  }

  /** The state machine with this ARN, if the platform has it. */
  stateMachine(arn: unknown): LocalStateMachine | undefined {
    return allOf(this.stateMachines).find((m) => m.arn === arn);
  }

  /** The role the state machine would run as; reported in ExecutionStarted events. */
  get roleArn(): string {
    return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${PlatformNames.stateMachine}`;
  }

  /**
   * Starts an execution; `done` settles when it ends, whatever the outcome. A name already used throws
   * `ExecutionAlreadyExists`.
   */
  async startExecution(
    input: unknown,
    options: StartOptions = {},
  ): Promise<{ executionArn: string; startDate: Date; done: Promise<ExecutionRecord> }> {
    const name = options.name ?? randomUUID();
    const stateMachine = this.stateMachine(options.stateMachineArn ?? this.stateMachineArn);
    const interpreter = stateMachine && this.internals.interpreters.get(stateMachine.arn);
    if (!stateMachine || !interpreter)
      throw Object.assign(new Error(`State Machine Does Not Exist: '${String(options.stateMachineArn)}'`), {
        name: 'StateMachineDoesNotExist',
      });
    const executionArn = `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:execution:${stateMachine.name}:${name}`;
    const startDate = new Date();
    const created = await this.store.create({
      executionArn,
      stateMachineArn: stateMachine.arn,
      name,
      input: JSON.stringify(input),
      startDate,
    });
    if (!created) {
      throw Object.assign(new Error(`Execution Already Exists: '${executionArn}'`), {
        name: 'ExecutionAlreadyExists',
      });
    }
    const record: ExecutionRecord = { executionArn, name, input, startDate, status: 'RUNNING', events: [] };
    const history = new HistoryBuilder(stateMachine.definition, LocalPlatformNames.region, this.roleArn);
    const run = interpreter.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: interpreter.handlers as never,
        // The emulator's RDS instances are available at once: waiting 30 s between checks proves nothing.
        // Interrupted steps are waited for by the undos themselves (TasksInFlight), not for a fixed time.
        waitTimeOverrides: {
          [DEDICATED_INSTANCE.waitStateName]: LOCAL_INSTANCE_WAIT_MS,
          [BRANCHES.waitStateName]: 0,
        },
      },
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: input as never,
          StartTime: startDate.toISOString(),
        },
        StateMachine: { Id: stateMachine.arn, Name: stateMachine.name },
      },
    });
    // History is written in order: what arrives while a write is under way goes in the next one, so an
    // onboarding's ~70 events take a few commits (each waits for the WAL to reach the disk), not ~70.
    let unwritten: AwsHistoryEvent[] = [];
    let writing: Promise<void> | undefined;
    const writeAll = async () => {
      while (unwritten.length > 0) {
        const batch = unwritten;
        unwritten = [];
        await this.store.appendEvents(executionArn, batch);
      }
      writing = undefined;
    };
    const recorded = (async () => {
      for await (const event of run.eventLogs) {
        const events = history.add(event);
        record.events.push(...events);
        for (const e of events) options.onEvent?.(e);
        unwritten.push(...events);
        writing ??= writeAll();
      }
    })();
    const entry: Running = { record, abort: run.abort, done: Promise.resolve(record) };
    const done = run.result
      .then(
        (output: unknown) => {
          record.status = 'SUCCEEDED';
          record.output = output;
        },
        (error: unknown) => {
          if (error instanceof ExecutionTimeoutError) record.status = 'TIMED_OUT';
          else if (error instanceof ExecutionAbortedError) record.status = 'ABORTED';
          else record.status = 'FAILED';
          const caught = error instanceof ExecutionError ? (error.cause as Error) : (error as Error);
          record.error = entry.stopReason?.error ?? (record.status === 'FAILED' ? caught?.name : undefined);
          record.cause =
            entry.stopReason?.cause ?? (record.status === 'FAILED' ? caught?.message : undefined);
        },
      )
      .then(() => recorded)
      .then(() => writing)
      .then(async () => {
        record.stopDate = new Date();
        await this.store.finish(executionArn, {
          status: record.status,
          output: record.status === 'SUCCEEDED' ? JSON.stringify(record.output ?? null) : undefined,
          error: record.error,
          cause: record.cause,
          stopDate: record.stopDate,
        });
        this.running.delete(executionArn);
        return record;
      });
    entry.done = done;
    this.running.set(executionArn, entry);
    return { executionArn, startDate, done };
  }

  /** Starts an execution and waits for its end. */
  async runExecution(input: unknown, options: StartOptions = {}): Promise<ExecutionRecord> {
    return (await this.startExecution(input, options)).done;
  }

  /** Stops a running execution (no undo runs, as on AWS); false when it is not running here. */
  async stopExecution(
    executionArn: string,
    reason: { error?: string; cause?: string } = {},
  ): Promise<boolean> {
    const entry = this.running.get(executionArn);
    if (!entry) return false;
    entry.stopReason = reason;
    entry.abort();
    await entry.done;
    return true;
  }

  /** Stops running executions, closes the task Lambdas' connections, stops what this platform started. */
  async stop(): Promise<void> {
    const running = [...this.running.values()];
    const cause = 'The local platform was stopped while this execution was running';
    for (const entry of running) {
      entry.stopReason = { error: PLATFORM_STOPPED, cause };
      entry.abort();
    }
    await Promise.allSettled(running.map((e) => e.done));
    // As after a crash (releaseOrphans): their tenants are released, so onboarding them again converges.
    for (const { record } of running)
      await releaseWorkOf(record.executionArn, { Error: PLATFORM_STOPPED, Cause: cause }).catch(
        (error: Error) => this.internals.log(`could not release ${record.executionArn}: ${error.message}`),
      );
    await this.internals.endpoint.close();
    await this.functions.stop();
    await this.internals.rds.stop();
    await this.store.close();
    await closePools();
    await Promise.allSettled([this.postgres.stop(), this.emulator.stop()]);
    await forgetChildren(this.stateDir);
    process.off('exit', this.internals.onExit);
    restoreEnvironment(this.internals.environmentBefore);
  }
}

const STEPFUNCTIONS_DATABASE = 'stepfunctions';

/** The state machines in the order ListStateMachines gives them. */
export function allOf({
  onboarding,
  release,
  suspension,
  offboarding,
}: LocalStateMachines): LocalStateMachine[] {
  return [onboarding, release, suspension, offboarding];
}

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

function localStateMachineArn(name: string): string {
  return `arn:aws:states:${LocalPlatformNames.region}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
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
 * Executions left RUNNING by a platform that was killed are failed, and the tenants they were onboarding
 * are released (ROLLED_BACK), so onboarding them again can claim them and converge.
 */
async function releaseOrphans(store: ExecutionStore): Promise<void> {
  const cause = 'The local platform stopped while this execution was running';
  for (const executionArn of await store.failOrphans(PLATFORM_RESTARTED, cause))
    await releaseWorkOf(executionArn, { Error: PLATFORM_RESTARTED, Cause: cause });
}

/**
 * What an execution that will never finish held: the tenants it was onboarding (ROLLED_BACK), its release
 * (STOPPED), the tenant it was offboarding (back as it was, or OFFBOARDING_FAILED once its export was
 * verified).
 */
async function releaseWorkOf(executionArn: string, error: { Error: string; Cause: string }): Promise<void> {
  await releaseTenantsOf(executionArn, error);
  await stopReleaseOf(executionArn, error.Cause);
  await releaseOffboardingOf(executionArn, error);
}

/**
 * Points every SDK client of this process at the platform's AWS endpoint. Credentials are placeholders
 * when this process runs the emulator: it accepts any key, and real credentials must never travel to it.
 */
/**
 * Puts back the environment a start found: the next platform started in this process must not take the
 * endpoint of a stopped one for an emulator the user gave.
 */
function restoreEnvironment(before: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
  Object.assign(process.env, before);
}

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

/** A workflow's Task states: state name -> [fault-injection id, handler]. */
type StateHandlers = Record<string, [string, (event: never) => Promise<unknown>]>;

/** Onboarding's Task states, from the step table: each step's run and undo, the instance check, the record. */
function onboardingHandlers(): StateHandlers {
  const handlers: StateHandlers = {};
  for (const step of STEPS) {
    const { run, undo } = STEP_HANDLERS[step.id];
    handlers[step.stateName] = [step.id, run];
    if (step.undoStateName && undo) handlers[step.undoStateName] = [`undo:${step.id}`, undo];
  }
  for (const { id, stateName } of [DEDICATED_INSTANCE.check, RECORD_ROLLBACK_FAILURE])
    handlers[stateName] = [id, STEP_HANDLERS[id].run];
  return handlers;
}

/** The release workflow's Task states (workflow-tasks/release/handler.ts). */
const RELEASE_HANDLERS: StateHandlers = {
  [ReleaseStates.plan]: ['release:plan', releaseTasks.plan],
  [ReleaseStates.claim]: ['release:claim', releaseTasks.claim],
  [ReleaseStates.migrate]: ['release:migrate-database', releaseTasks.migrateDatabase],
  [ReleaseStates.updateCode]: ['release:update-function-code', releaseTasks.updateFunctionCode],
  [ReleaseStates.checkHealth]: ['release:check-health', releaseTasks.checkHealth],
  [ReleaseStates.moveAlias]: ['release:move-alias', releaseTasks.moveAlias],
  [ReleaseStates.publishFrontend]: ['release:publish-frontend', releaseTasks.publishFrontend],
  [ReleaseStates.recordUpdated]: ['release:record-tenant-updated', releaseTasks.recordTenantUpdated],
  [ReleaseStates.keepOld]: ['release:keep-old-version', releaseTasks.keepOldVersion],
  [ReleaseStates.closeWave]: ['release:close-wave', releaseTasks.closeWave],
  [ReleaseStates.finish]: ['release:finish', releaseTasks.finish],
};

/** The suspension workflow's Task states (workflow-tasks/suspension/handler.ts); its undo runs resume's. */
const SUSPENSION_HANDLERS: StateHandlers = {
  [SuspensionStates.claim]: ['suspension:claim', suspensionTasks.claim],
  [SuspensionStates.switchToSuspended]: ['suspension:switch-to-suspended', suspensionTasks.switchToSuspended],
  [SuspensionStates.announce]: ['suspension:announce-suspended', suspensionTasks.announceSuspended],
  [SuspensionStates.undoSwitch]: ['undo:suspension:switch-to-suspended', suspensionTasks.switchBack],
  [SuspensionStates.undoMarkActive]: ['undo:suspension:mark-active', suspensionTasks.markActive],
  [SuspensionStates.switchBack]: ['suspension:switch-back', suspensionTasks.switchBack],
  [SuspensionStates.markActive]: ['suspension:mark-active', suspensionTasks.markActive],
};

/** The offboarding workflow's Task states (workflow-tasks/offboarding/handler.ts). */
const OFFBOARDING_HANDLERS: StateHandlers = {
  [OffboardingStates.claim]: ['offboarding:claim', offboardingTasks.claim],
  [OffboardingStates.suspend]: ['offboarding:suspend', offboardingTasks.suspend],
  [OffboardingStates.export]: ['offboarding:export', offboardingTasks.exportDatabase],
  [OffboardingStates.verify]: ['offboarding:verify', offboardingTasks.verify],
  [OffboardingStates.resume]: ['undo:offboarding:suspend', offboardingTasks.resume],
  [OffboardingStates.removeDomain]: ['offboarding:remove-domain', offboardingTasks.removeDomain],
  [OffboardingStates.removeFrontend]: ['offboarding:remove-frontend', offboardingTasks.removeFrontend],
  [OffboardingStates.removeFunction]: ['offboarding:remove-function', offboardingTasks.removeFunction],
  [OffboardingStates.removeDatabase]: ['offboarding:remove-database', offboardingTasks.removeDatabase],
  [OffboardingStates.removeSecret]: ['offboarding:remove-secret', offboardingTasks.removeSecret],
  [OffboardingStates.markOffboarded]: ['offboarding:mark-offboarded', offboardingTasks.markOffboarded],
  [OffboardingStates.recordFailure]: ['offboarding:record-failure', offboardingTasks.recordFailure],
};

/**
 * State name -> in-process handler, for every Task state of one workflow's definition, those inside Parallel
 * branches and Map iterations included (a missing one is a bug: without it the interpreter would call real
 * AWS Lambda). An undo first waits for its execution's forward tasks still running (TasksInFlight).
 */
function taskHandlers(
  definition: AslDefinition,
  handlers: StateHandlers,
  faults: FaultInjector,
  inFlight: TasksInFlight,
): Record<string, JsonHandler> {
  const overrides: Record<string, JsonHandler> = {};
  for (const [stateName, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    const entry = handlers[stateName];
    if (!entry) throw new Error(`Task state "${stateName}" has no local handler`);
    const [id, handler] = entry;
    const run = asLambda(faults.wrap(id, handler as TaskHandler<unknown>));
    const timeoutSeconds = state.TimeoutSeconds as number | undefined;
    overrides[stateName] = id.startsWith('undo:')
      ? async (input) => {
          await inFlight.ended(input.executionArn);
          return run(input);
        }
      : (input) => {
          const task = run(input);
          inFlight.track(input.executionArn, task, timeoutSeconds);
          return task;
        };
  }
  return overrides;
}

/**
 * Calls a handler as Lambda would and reports its failure as Step Functions sees a Lambda error: the error
 * name is the `errorType`, and the Cause is the JSON `{errorType, errorMessage, trace}`, so undo steps read
 * errors the same way locally and on AWS.
 */
function asLambda(handler: TaskHandler<unknown>): (input: TaskEvent) => Promise<unknown> {
  return async (input) => {
    try {
      // Lambda hands the function a JSON copy of its input; so do we.
      return JSON.parse(
        JSON.stringify((await handler(JSON.parse(JSON.stringify(input)) as TaskEvent)) ?? null),
      ) as unknown;
    } catch (error) {
      const e = error as Error;
      const lambdaError = new Error(
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: (e.stack ?? '').split('\n') }),
      );
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
}

function capTimeouts(definition: AslDefinition, cap: number | undefined): AslDefinition {
  if (cap === undefined) return definition;
  return mapTasks(definition, (task) =>
    typeof task.TimeoutSeconds === 'number'
      ? { ...task, TimeoutSeconds: Math.min(task.TimeoutSeconds, cap) }
      : task,
  );
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
