import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod/mini';
import { INTERRUPTED_STATUSES } from '../../common/cleanup';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { IMPORT_SOURCE, STEPS } from '../../common/steps';
import { importSecretTenant } from '../../common/imports';
import { fieldProblems } from '../../common/tenant-input';
import { STEP_HANDLERS } from '../index';
import { releaseCapacityOf } from '../capacity/steps';
import { releaseMoveOf } from '../move/steps';
import { releaseOffboardingOf } from '../offboarding/steps';
import { cellAccountOfTenant } from '../records/capacity';
import { validatedTenantOf, withRegistry } from '../records/registry';
import { stopReleaseOf } from '../records/release-ledger';
import { releaseSuspensionOf, switchBack } from '../suspension/steps';
import { aws, inCell } from '../lib/aws';
import type { TaskEvent, ValidatedTenant } from '../lib/types';

/**
 * The input: the `detail` of Step Functions' "Execution Status Change" event (more fields are ignored), or
 * the same fields by hand (`aws stepfunctions start-execution` of the cleanup workflow).
 */
const requestSchema = z.looseObject({
  executionArn: z.string().check(z.minLength(1), z.maxLength(2048)),
  status: z.enum(INTERRUPTED_STATUSES),
  error: z.optional(z.nullable(z.string())),
  cause: z.optional(z.nullable(z.string())),
});

/** What an interrupted execution left, and what the cleanup did about it. */
export interface CleanupResult {
  executionArn: string;
  /** Tenants it was onboarding or restoring: everything they had undone, now ROLLED_BACK. */
  rolledBack: string[];
  /** The tenant a suspension it was making (or a resume) left SUSPENDED: ACTIVE and serving again. */
  resumed?: string;
  /** The tenant it was moving: back where it was, or on the target past the move's point of no return. */
  moved?: string;
  /** The shared instance it was adding and never registered: deleted, recorded FAILED. */
  removedInstance?: string;
}

/** The onboarding steps that create something, last first: the order their undos run in a rollback. */
const UNDO_ORDER = STEPS.filter((s) => s.undoStateName && STEP_HANDLERS[s.id].undo).reverse();

/**
 * Cleans up after an execution that will never compensate itself (stopped, timed out, or failed where no
 * rollback ran). Each thing it does only applies to what that execution still owns, so running it again,
 * or after an execution whose own rollback did run, changes nothing.
 */
export async function cleanUp({ state }: { state: unknown }): Promise<CleanupResult> {
  const parsed = requestSchema.safeParse(state);
  if (!parsed.success)
    throw new OnboardingError(PermanentErrors.InvalidInput, fieldProblems(parsed.error.issues).join('; '));
  const { executionArn, status, error, cause } = parsed.data;
  // Started by hand with a running execution's ARN, it would undo a tenant being provisioned.
  const { status: now } = await aws().sfn.send(new DescribeExecutionCommand({ executionArn }));
  if (now === 'RUNNING')
    throw new OnboardingError(
      PermanentErrors.TenantStateConflict,
      `execution ${executionArn} is still running: only an execution that has ended is cleaned up after`,
    );
  return cleanUpAfter(executionArn, {
    Error:
      error ||
      `Execution${status === 'TIMED_OUT' ? 'TimedOut' : status === 'ABORTED' ? 'Aborted' : 'Failed'}`,
    Cause: cause || `execution ${executionArn} ended ${status} without compensating`,
  });
}

/**
 * What an interrupted execution held, given back:
 * - a tenant it was onboarding or restoring (still PROVISIONING, owned by it): every onboarding undo runs,
 *   last step first, from what the registry and the resources' tags say exists (the same code as a
 *   rollback), and the last marks it ROLLED_BACK, which frees its onboarding slot;
 * - its release: STOPPED, the tenants it held released;
 * - the tenant it was offboarding: back as it was (serving again if it was ACTIVE) while the export was not
 *   verified, else OFFBOARDING_FAILED (offboarding it again finishes the removals);
 * - the tenant it was suspending or resuming: ACTIVE and serving (workflow-tasks/suspension);
 * - the tenant it was moving: ACTIVE where it was before the move's point of no return, on the target
 *   after it (workflow-tasks/move);
 * - the shared instance it was adding, never registered: deleted and recorded FAILED (workflow-tasks/capacity);
 * - an import's source credentials: deleted.
 */
export async function cleanUpAfter(
  executionArn: string,
  error: { Error: string; Cause: string },
): Promise<CleanupResult> {
  const rolledBack: string[] = [];
  for (const tenant of await provisioningBy(executionArn)) {
    const event: TaskEvent = { executionArn, state: { results: { tenant }, error } };
    // In the account its resources were made in (common/cells.ts).
    await inCell(await cellAccountOfTenant(tenant.tenantId), async () => {
      for (const step of UNDO_ORDER) await STEP_HANDLERS[step.id].undo!(event);
    });
    rolledBack.push(tenant.tenantId);
  }
  await stopReleaseOf(executionArn, error.Cause);
  // The registry first, then the API of each tenant it put back ACTIVE serves again (found again on a
  // retry; a tenant another offboarding has taken since names that one, and is left alone).
  await releaseOffboardingOf(executionArn, error);
  for (const tenantId of await putBackActiveBy(executionArn))
    await switchBack({ executionArn, state: { tenantId, action: 'resume' } });
  const execution = await aws().sfn.send(new DescribeExecutionCommand({ executionArn }));
  const input = parsedInput(execution.input);
  await forgetImportSource(executionArn, input);
  const resumed = await releaseSuspensionOf(executionArn, input, execution.startDate ?? new Date(0));
  const moved = await releaseMoveOf(executionArn);
  const removedInstance = await releaseCapacityOf(executionArn, input, error);
  return {
    executionArn,
    rolledBack,
    ...(resumed ? { resumed } : {}),
    ...(moved ? { moved } : {}),
    ...(removedInstance ? { removedInstance } : {}),
  };
}

/**
 * An import's source credentials, whatever became of the import: one stopped or timed out never reached
 * its own deletion, one whose input was refused never had a rollback. Only a secret made for the input's
 * tenant (common/imports.ts) is deleted.
 */
async function forgetImportSource(executionArn: string, input: unknown): Promise<void> {
  const { tenantId, importFrom } = (input ?? {}) as {
    tenantId?: unknown;
    importFrom?: { sourceSecretArn?: unknown } | null;
  };
  const sourceSecretArn = importFrom?.sourceSecretArn;
  if (typeof tenantId !== 'string' || typeof sourceSecretArn !== 'string') return;
  if (importSecretTenant(sourceSecretArn) !== tenantId) return;
  const tenant = { tenantId, importFrom: { sourceSecretArn } } as unknown as ValidatedTenant;
  await STEP_HANDLERS[IMPORT_SOURCE.id].undo!({ executionArn, state: { results: { tenant } } });
}

async function putBackActiveBy(executionArn: string): Promise<string[]> {
  const { rows } = await withRegistry((client) =>
    client.query<{ id: string }>(
      `SELECT id FROM tenants WHERE status = 'ACTIVE' AND offboarding->>'executionArn' = $1
          AND offboarding ? 'undone'`,
      [executionArn],
    ),
  );
  return rows.map((r) => r.id);
}

async function provisioningBy(executionArn: string): Promise<ValidatedTenant[]> {
  const { rows } = await withRegistry((client) =>
    client.query<{
      id: string;
      tier: 'shared' | 'dedicated';
      company_name: string;
      admin_email: string;
      domain: string | null;
    }>(
      `SELECT id, tier, company_name, admin_email, domain FROM tenants
        WHERE execution_arn = $1 AND status = 'PROVISIONING'`,
      [executionArn],
    ),
  );
  return rows.map(validatedTenantOf);
}

function parsedInput(input: string | undefined): unknown {
  try {
    return JSON.parse(input ?? 'null') as unknown;
  } catch {
    return null;
  }
}
