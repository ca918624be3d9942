import { whatToDoInstead, type TenantStatus } from '../records/lifecycle';
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import * as z from 'zod/mini';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { requiredEnv } from '../../common/env';
import { EventTypes, PlatformNames, TaskEnv, TenantApiEnv, tenantResourceNames } from '../../common/names';
import { fieldProblems, tenantIdSchema } from '../../common/tenant-input';
import { codeVersionOf, tenantApiArtifactKey } from '../../common/versions';
import { awsIn, whileUpdating } from '../lib/aws';
import { cellAccountOfTenant } from '../records/capacity';
import { publishEvent } from '../lib/events';
import { withRegistry } from '../records/registry';

/** The input of a `tenant-suspension` execution. */
const requestSchema = z.strictObject({
  tenantId: tenantIdSchema,
  action: z.enum(['suspend', 'resume'], { error: 'must be "suspend" or "resume"' }),
});
export type SuspensionRequest = z.infer<typeof requestSchema>;

interface SuspensionState extends SuspensionRequest {
  readonly switched?: { liveVersion: string; suspendedVersion: string };
}

type Event = { readonly executionArn: string; readonly state: SuspensionState };

/**
 * Checks the request and takes the tenant: to suspend, an ACTIVE tenant no release is updating becomes
 * SUSPENDED (so no release or second suspension touches it); to resume, it must be SUSPENDED. Anything
 * else fails at once with TenantStateConflict and changes nothing. Claiming twice from one execution is the
 * same claim.
 */
export async function claim({ executionArn, state }: Event): Promise<SuspensionRequest> {
  const parsed = requestSchema.safeParse(state);
  if (!parsed.success)
    throw new OnboardingError(PermanentErrors.InvalidInput, fieldProblems(parsed.error.issues).join('; '));
  const { tenantId, action } = parsed.data;
  return withRegistry(async (client) => {
    if (action === 'suspend') {
      const taken = await client.query(
        `UPDATE tenants SET status = 'SUSPENDED', updated_at = now(),
                suspension = jsonb_build_object('executionArn', $2::text, 'at', now())
          WHERE id = $1 AND release_lock IS NULL
            AND (status = 'ACTIVE' OR (status = 'SUSPENDED' AND suspension->>'executionArn' = $2))`,
        [tenantId, executionArn],
      );
      if (taken.rowCount === 1) return parsed.data;
    }
    const { rows } = await client.query<{ status: string; release_lock: string | null }>(
      'SELECT status, release_lock FROM tenants WHERE id = $1',
      [tenantId],
    );
    const tenant = rows[0];
    if (action === 'resume' && tenant?.status === 'SUSPENDED') return parsed.data;
    const why = !tenant
      ? `there is no tenant ${tenantId}`
      : tenant.release_lock && tenant.status === 'ACTIVE'
        ? `release ${tenant.release_lock} is updating ${tenantId}: try again when it is done`
        : `${tenantId} is ${tenant.status}; only ${action === 'suspend' ? 'an ACTIVE' : 'a SUSPENDED'} tenant can be ${action === 'suspend' ? 'suspended' : 'resumed'}: ${whatToDoInstead(tenantId, tenant.status as TenantStatus)}`;
    throw new OnboardingError(PermanentErrors.TenantStateConflict, why);
  });
}

/**
 * Publishes a version of the tenant's live code with `TENANT_SUSPENDED=true` (every route but /health then
 * answers 503 `tenant-suspended`) and moves alias `live` to it, after noting the version live was on. Nothing
 * is deleted: resuming moves `live` back. A re-run finds `live` already on a suspended version.
 */
export async function switchToSuspended({ state }: Event): Promise<NonNullable<SuspensionState['switched']>> {
  const { lambda } = awsIn(await cellAccountOfTenant(state.tenantId));
  const FunctionName = tenantResourceNames(state.tenantId).functionName;
  const Name = PlatformNames.liveAlias;
  const recorded = await suspension(state.tenantId);
  const live = await lambda.send(new GetAliasCommand({ FunctionName, Name }));
  const liveVersion = recorded.liveVersion ?? live.FunctionVersion ?? '';
  await setSuspension(state.tenantId, { liveVersion });
  const current = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName, Qualifier: live.FunctionVersion }),
  );
  if (current.Environment?.Variables?.[TenantApiEnv.suspended] === 'true')
    return { liveVersion, suspendedVersion: live.FunctionVersion ?? '' };

  // $LATEST gets the live version's code (a failed release may have left another there) and the flag.
  const liveConfiguration = await lambda.send(
    new GetFunctionConfigurationCommand({ FunctionName, Qualifier: liveVersion }),
  );
  await whileUpdating(() =>
    lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName,
        Environment: {
          Variables: { ...liveConfiguration.Environment?.Variables, [TenantApiEnv.suspended]: 'true' },
        },
      }),
    ),
  );
  await whileUpdating(() =>
    lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName,
        S3Bucket: requiredEnv(TaskEnv.artifactBucket),
        S3Key: tenantApiArtifactKey(codeVersionOf(liveConfiguration.CodeSha256 ?? '')),
      }),
    ),
  );
  const published = await whileUpdating(() => lambda.send(new PublishVersionCommand({ FunctionName })));
  await lambda.send(new UpdateAliasCommand({ FunctionName, Name, FunctionVersion: published.Version }));
  return { liveVersion, suspendedVersion: published.Version ?? '' };
}

/** `live` back on the version it was on before the suspension, and the flag off $LATEST. Idempotent. */
export async function switchBack({ state }: Event): Promise<{ liveVersion: string | null }> {
  const { lambda } = awsIn(await cellAccountOfTenant(state.tenantId));
  const FunctionName = tenantResourceNames(state.tenantId).functionName;
  const { liveVersion } = await suspension(state.tenantId);
  if (liveVersion)
    await lambda.send(
      new UpdateAliasCommand({ FunctionName, Name: PlatformNames.liveAlias, FunctionVersion: liveVersion }),
    );
  const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
  const variables = { ...latest.Environment?.Variables };
  if (TenantApiEnv.suspended in variables) {
    delete variables[TenantApiEnv.suspended];
    await whileUpdating(() =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: variables } }),
      ),
    );
  }
  return { liveVersion: liveVersion ?? null };
}

/** The registry and the bus say so: `TenantSuspended`. */
export async function announceSuspended({ state }: Event): Promise<void> {
  await publishEvent(EventTypes.TenantSuspended, { tenantId: state.tenantId });
}

/**
 * The tenant is ACTIVE again (resumed, or a suspension undone); `TenantResumed` when it was a resume.
 */
export async function markActive({ state }: Event): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE tenants SET status = 'ACTIVE', suspension = NULL, updated_at = now()
        WHERE id = $1 AND status = 'SUSPENDED'`,
      [state.tenantId],
    ),
  );
  if (state.action === 'resume') await publishEvent(EventTypes.TenantResumed, { tenantId: state.tenantId });
}

/**
 * What a suspension execution that ended unfinished (stopped, timed out, failed) leaves: a suspend it had
 * claimed (the tenant SUSPENDED in its name), or a resume of a tenant SUSPENDED since before the resume
 * started, ends ACTIVE and serving, as the suspend's own rollback and the resume would end it (switchBack,
 * markActive: both idempotent). A tenant suspended since by another execution is left alone, and so is an
 * input that is not a suspension's. Returns the tenant it put back, if any.
 */
export async function releaseSuspensionOf(
  executionArn: string,
  input: unknown,
  startedAt: Date,
): Promise<string | undefined> {
  const parsed = requestSchema.safeParse(input);
  if (!parsed.success) return undefined;
  const request = parsed.data;
  const ours = await withRegistry(async (client) => {
    const { rows } = await client.query<{
      status: string;
      suspension: { executionArn?: string; at?: string } | null;
    }>('SELECT status, suspension FROM tenants WHERE id = $1', [request.tenantId]);
    const row = rows[0];
    if (row?.status !== 'SUSPENDED') return false;
    if (request.action === 'suspend') return row.suspension?.executionArn === executionArn;
    return Date.parse(row.suspension?.at ?? '') < startedAt.getTime();
  });
  if (!ours) return undefined;
  const event = { executionArn, state: request };
  await switchBack(event);
  await markActive(event);
  return request.tenantId;
}

/**
 * After the local platform restarted and re-created a suspended tenant's function (its versions are new),
 * the suspended version is published again from the new live one.
 */
export async function suspendAgain(tenantId: string, executionArn: string): Promise<void> {
  await withRegistry((client) =>
    client.query(`UPDATE tenants SET suspension = suspension - 'liveVersion' WHERE id = $1`, [tenantId]),
  );
  await switchToSuspended({ executionArn, state: { tenantId, action: 'suspend' } });
}

async function suspension(tenantId: string): Promise<{ liveVersion?: string }> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ suspension: { liveVersion?: string } | null }>(
      'SELECT suspension FROM tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0]?.suspension ?? {};
  });
}

async function setSuspension(tenantId: string, fields: { liveVersion: string }): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE tenants SET suspension = COALESCE(suspension, '{}'::jsonb) || $2::jsonb WHERE id = $1`,
      [tenantId, JSON.stringify(fields)],
    ),
  );
}
