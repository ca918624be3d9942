import { Readable } from 'node:stream';
import * as z from 'zod/mini';
import { DeleteDBInstanceCommand } from '@aws-sdk/client-rds';
import { OnboardingError, TransientErrors } from '../../common/errors';
import { tenantResourceNames } from '../../common/names';
import { aws } from '../../workflow-tasks/lib/aws';
import type { TaskHandler } from '../../workflow-tasks/lib/handler';
import type { TaskEvent } from '../../workflow-tasks/lib/types';

/** The error name of an injected permanent or after-effect fault: not in any Retry list, so never retried. */
export const INJECTED_FAULT = 'InjectedFault';

const faultSchema = z.strictObject({
  tenantId: z.string({ error: 'must be a string' }),
  step: z.string({ error: 'must be a step id such as "create-database" or "undo:create-database"' }),
  kind: z.enum(['transient', 'permanent', 'after-effect', 'timeout', 'slow', 'crash', 'overreach'], {
    error: 'must be "transient", "permanent", "after-effect", "timeout", "slow", "crash" or "overreach"',
  }),
  times: z._default(z.int({ error: 'must be a whole number' }).check(z.positive('must be positive')), 1),
  /** How late a `slow` fault runs its step, in milliseconds (SLOW_FAULT_MS unless given). */
  lateMs: z.optional(z.int({ error: 'must be a whole number' }).check(z.positive('must be positive'))),
});

export type Fault = z.infer<typeof faultSchema>;

/** How late a `slow` fault runs its step unless it says (`lateMs`). */
export const SLOW_FAULT_MS = 2_000;

/** Parses the `--faults` file / `TENANTCTL_FAULTS` JSON: a list of faults; a bad one is named by index and field. */
export function parseFaults(text: string): Fault[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`faults: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = z.array(faultSchema, { error: 'must be a list' }).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `faults${issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * Applies faults to the task handlers of the local runtime, from outside them (production code has no fault
 * switch). A fault matches a tenant and a step id (`create-database`, `undo:create-database`), fires `times`
 * times, and then the step runs normally:
 * - `transient`: fails with a transient error name (retried by the state machine);
 * - `permanent`: fails with `InjectedFault` before doing anything;
 * - `after-effect`: runs the real step, then fails with `InjectedFault` (a half-finished step);
 * - `timeout`: never answers, so the task exceeds its timeout;
 * - `slow`: runs the real step `lateMs` (SLOW_FAULT_MS unless given) late (a step still running when the other branch
 *   fails, or when its execution is stopped);
 * - `crash`: starts reading a stream whose read throws, with nobody listening for its `'error'` event (what
 *   an unhandled pg-copy-streams error does): an uncaught exception, and the handler never answers;
 * - `overreach`: first deletes the tenant's dedicated instance (rds:DeleteDBInstance), a call only the
 *   database's undo and removal may make: with IAM enforced, AccessDenied fails the step, as on AWS.
 */
export class FaultInjector {
  private readonly remaining: { fault: Fault; left: number }[];

  constructor(faults: readonly Fault[]) {
    this.remaining = faults.map((fault) => ({ fault, left: fault.times }));
  }

  wrap<T>(stepId: string, handler: TaskHandler<T>): TaskHandler<T> {
    if (!this.remaining.some(({ fault }) => fault.step === stepId)) return handler;
    return async (event) => {
      const slot = this.take(stepId, tenantOf(event));
      if (!slot) return handler(event);
      const where = `injected ${slot.kind} fault in ${stepId}`;
      switch (slot.kind) {
        case 'transient':
          throw new OnboardingError(TransientErrors.ServiceUnavailable, where);
        case 'permanent':
          throw Object.assign(new Error(where), { name: INJECTED_FAULT });
        case 'after-effect':
          await handler(event);
          throw Object.assign(new Error(`${where}, after its effect`), { name: INJECTED_FAULT });
        case 'timeout':
          return new Promise<T>(() => undefined);
        case 'slow':
          await new Promise((resolve) => setTimeout(resolve, slot.lateMs ?? SLOW_FAULT_MS));
          return handler(event);
        case 'overreach':
          await aws().rds.send(
            new DeleteDBInstanceCommand({
              DBInstanceIdentifier: tenantResourceNames(slot.tenantId).instanceId,
              SkipFinalSnapshot: true,
            }),
          );
          return handler(event);
        case 'crash':
          new Readable({
            read() {
              throw Object.assign(new Error(`${where}: thrown from a stream callback`), {
                name: INJECTED_FAULT,
              });
            },
          }).resume();
          return new Promise<T>(() => undefined);
      }
    };
  }

  private take(stepId: string, tenantId: string | undefined): Fault | undefined {
    const slot = this.remaining.find(
      ({ fault, left }) => left > 0 && fault.step === stepId && fault.tenantId === tenantId,
    );
    if (!slot) return undefined;
    slot.left -= 1;
    return slot.fault;
  }
}

function tenantOf(event: TaskEvent): string | undefined {
  const validated = event.state.results?.tenant?.tenantId;
  if (validated) return validated;
  return typeof event.state.tenantId === 'string' ? event.state.tenantId : undefined;
}
