/**
 * The **task Lambdas**, in process: for each workflow's Task states, the handler module that runs in
 * Lambda on AWS, called as Lambda calls it (a JSON copy of the input; a failure reported as
 * `{errorType, errorMessage, trace}`), wrapped by crash containment (containment.ts), fault injection (faults.ts) and, for undos, by the wait
 * for the execution's interrupted forward tasks (in-flight.ts).
 *
 * Where the real thing differs: the handlers share this process (a Lambda has its own), and a task's
 * timeout is enforced by the state machine, not by stopping the function.
 */
import { DEDICATED_INSTANCE, IMPORT_SOURCE, RECORD_ROLLBACK_FAILURE, STEPS } from '../../common/steps';
import { ImportStates } from '../../common/imports';
import { OffboardingStates } from '../../common/offboarding';
import { SuspensionStates } from '../../common/suspension';
import { ReleaseStates } from '../../common/release';
import { STEP_HANDLERS } from '../../workflow-tasks';
import type { TaskHandler } from '../../workflow-tasks/lib/handler';
import type { TaskEvent } from '../../workflow-tasks/lib/types';
import * as releaseTasks from '../../workflow-tasks/release/handler';
import * as suspensionTasks from '../../workflow-tasks/suspension/handler';
import * as offboardingTasks from '../../workflow-tasks/offboarding/handler';
import * as cleanupTasks from '../../workflow-tasks/cleanup/handler';
import * as domainTasks from '../../workflow-tasks/domain/handler';
import { DomainStates } from '../../common/domain-workflow';
import * as capacityTasks from '../../workflow-tasks/capacity/handler';
import { CapacityStates } from '../../common/capacity';
import * as moveTasks from '../../workflow-tasks/move/handler';
import { MoveStates } from '../../common/move';
import { CleanupStates } from '../../common/cleanup';
import { allStates, type AslDefinition } from '../stepfunctions/asl';
import type { TaskContainment } from './containment';
import type { FaultInjector } from './faults';
import type { TasksInFlight } from './in-flight';
import { asRole } from '../iam/principal';
import type { TaskRoles } from '../iam/roles';

/** A workflow's Task states: state name -> [fault-injection id, handler]. */
type JsonHandler = (input: TaskEvent) => Promise<unknown>;

export type StateHandlers = Record<string, [string, (event: never) => Promise<unknown>]>;

/**
 * Onboarding's Task states, from the step table: each step's run and undo, the instance check, the record,
 * an import's inspection and the deletion of its credentials.
 */
export function onboardingHandlers(): StateHandlers {
  const handlers: StateHandlers = {};
  for (const step of STEPS) {
    const { run, undo } = STEP_HANDLERS[step.id];
    handlers[step.stateName] = [step.id, run];
    if (step.undoStateName && undo) handlers[step.undoStateName] = [`undo:${step.id}`, undo];
  }
  for (const { id, stateName } of [DEDICATED_INSTANCE.check, RECORD_ROLLBACK_FAILURE, IMPORT_SOURCE])
    handlers[stateName] = [id, STEP_HANDLERS[id].run];
  const forget = STEP_HANDLERS[IMPORT_SOURCE.id].undo!;
  handlers[ImportStates.undoForget] = [`undo:${IMPORT_SOURCE.id}`, forget];
  handlers[ImportStates.forget] = [`${IMPORT_SOURCE.id}:forget`, forget];
  return handlers;
}

/** The release workflow's Task states (workflow-tasks/release/handler.ts). */
export const RELEASE_HANDLERS: StateHandlers = {
  [ReleaseStates.plan]: ['release:plan', releaseTasks.plan],
  [ReleaseStates.claim]: ['release:claim', releaseTasks.claim],
  [ReleaseStates.migrate]: ['release:migrate-database', releaseTasks.migrateDatabase],
  [ReleaseStates.updateCode]: ['release:update-function-code', releaseTasks.updateFunctionCode],
  [ReleaseStates.checkHealth]: ['release:check-health', releaseTasks.checkHealth],
  [ReleaseStates.moveAlias]: ['release:move-alias', releaseTasks.moveAlias],
  [ReleaseStates.publishFrontend]: ['release:publish-frontend', releaseTasks.publishFrontend],
  [ReleaseStates.pruneVersions]: ['release:prune-versions', releaseTasks.pruneVersions],
  [ReleaseStates.recordUpdated]: ['release:record-tenant-updated', releaseTasks.recordTenantUpdated],
  [ReleaseStates.keepOld]: ['release:keep-old-version', releaseTasks.keepOldVersion],
  [ReleaseStates.closeWave]: ['release:close-wave', releaseTasks.closeWave],
  [ReleaseStates.finish]: ['release:finish', releaseTasks.finish],
};

/** The suspension workflow's Task states (workflow-tasks/suspension/handler.ts); its undo runs resume's. */
export const SUSPENSION_HANDLERS: StateHandlers = {
  [SuspensionStates.claim]: ['suspension:claim', suspensionTasks.claim],
  [SuspensionStates.switchToSuspended]: ['suspension:switch-to-suspended', suspensionTasks.switchToSuspended],
  [SuspensionStates.announce]: ['suspension:announce-suspended', suspensionTasks.announceSuspended],
  [SuspensionStates.undoSwitch]: ['undo:suspension:switch-to-suspended', suspensionTasks.switchBack],
  [SuspensionStates.undoMarkActive]: ['undo:suspension:mark-active', suspensionTasks.markActive],
  [SuspensionStates.switchBack]: ['suspension:switch-back', suspensionTasks.switchBack],
  [SuspensionStates.markActive]: ['suspension:mark-active', suspensionTasks.markActive],
};

/** The offboarding workflow's Task states (workflow-tasks/offboarding/handler.ts). */
export const OFFBOARDING_HANDLERS: StateHandlers = {
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

/** The cleanup workflow's Task state (workflow-tasks/cleanup/handler.ts). */
export const CLEANUP_HANDLERS: StateHandlers = {
  [CleanupStates.cleanUp]: ['cleanup:clean-up', cleanupTasks.cleanUp],
};

/** The domain workflow's Task states (workflow-tasks/domain/handler.ts). */
export const DOMAIN_HANDLERS: StateHandlers = {
  [DomainStates.claim]: ['domain:claim', domainTasks.claim],
  [DomainStates.request]: ['domain:request-certificates', domainTasks.requestCertificates],
  [DomainStates.check]: ['domain:check', domainTasks.check],
  [DomainStates.activate]: ['domain:activate', domainTasks.activate],
  [DomainStates.removeReplaced]: ['domain:remove-replaced', domainTasks.removeReplaced],
  [DomainStates.giveUp]: ['domain:give-up', domainTasks.giveUp],
  [DomainStates.rollback]: ['undo:domain:release', domainTasks.rollback],
  [DomainStates.detach]: ['domain:detach', domainTasks.detach],
};

/** The add-capacity workflow's Task states (workflow-tasks/capacity/handler.ts). */
export const CAPACITY_HANDLERS: StateHandlers = {
  [CapacityStates.create]: ['capacity:create', capacityTasks.create],
  [CapacityStates.check]: ['capacity:check', capacityTasks.check],
  [CapacityStates.register]: ['capacity:register', capacityTasks.register],
  [CapacityStates.rollback]: ['undo:capacity:delete', capacityTasks.rollback],
};

/** The move workflow's Task states (workflow-tasks/move/handler.ts). */
export const MOVE_HANDLERS: StateHandlers = {
  [MoveStates.claim]: ['move:claim', moveTasks.claim],
  [MoveStates.prepare]: ['move:prepare', moveTasks.prepare],
  [MoveStates.deploy]: ['move:deploy', moveTasks.deploy],
  [MoveStates.sync]: ['move:sync', moveTasks.sync],
  [MoveStates.suspend]: ['move:suspend', moveTasks.suspend],
  [MoveStates.copy]: ['move:copy', moveTasks.copy],
  [MoveStates.switchOver]: ['move:switch', moveTasks.switchOver],
  [MoveStates.resume]: ['move:resume', moveTasks.resume],
  [MoveStates.removeOld]: ['move:remove-old', moveTasks.removeOld],
  [MoveStates.markMoved]: ['move:mark-moved', moveTasks.markMoved],
  [MoveStates.undoSwitch]: ['undo:move:switch', moveTasks.undoSwitch],
  [MoveStates.undoSuspend]: ['undo:move:suspend', moveTasks.undoSuspend],
  [MoveStates.undoDeploy]: ['undo:move:deploy', moveTasks.undoDeploy],
  [MoveStates.undoPrepare]: ['undo:move:prepare', moveTasks.undoPrepare],
  [MoveStates.undoClaim]: ['undo:move:claim', moveTasks.undoClaim],
};

/** What every task invocation runs inside. */
export interface TaskWrappers {
  readonly faults: FaultInjector;
  readonly inFlight: TasksInFlight;
  /** A crash of the handler fails its invocation alone. */
  readonly containment: TaskContainment;
  /** Each task runs as its Lambda's role (its AWS calls are checked against that role's policies). */
  readonly roles: TaskRoles;
}

/**
 * State name -> in-process handler, for every Task state of one workflow's definition, those inside Parallel
 * branches and Map iterations included (a missing one is a bug: without it the interpreter would call real
 * AWS Lambda). An undo first waits for its execution's forward tasks still running (TasksInFlight).
 */
export function taskHandlers(
  definition: AslDefinition,
  handlers: StateHandlers,
  { faults, inFlight, containment, roles }: TaskWrappers,
): Record<string, JsonHandler> {
  const overrides: Record<string, JsonHandler> = {};
  for (const [stateName, state] of allStates(definition)) {
    if (state.Type !== 'Task') continue;
    const entry = handlers[stateName];
    if (!entry) throw new Error(`Task state "${stateName}" has no local handler`);
    const [id, handler] = entry;
    const functionId = String(state.Resource).split(':function:')[1] ?? '';
    const role = roles.get(functionId);
    if (!role)
      throw new Error(`Task state "${stateName}" calls ${String(state.Resource)}, which has no role`);
    const faulty = faults.wrap(id, handler as TaskHandler<unknown>);
    const run = asLambda((event) => asRole(role.name, () => containment.run(stateName, () => faulty(event))));
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
