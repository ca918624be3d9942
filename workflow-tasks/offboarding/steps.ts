import { whatToDoInstead, type TenantStatus } from '../records/lifecycle';
import { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as z from 'zod/mini';
import { requiredEnv } from '../../common/env';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { EventTypes, finalSnapshotId, TaskEnv } from '../../common/names';
import { ArchiveKeys } from '../../common/offboarding';
import { fieldProblems, tenantIdSchema } from '../../common/tenant-input';
import { removeTenantDomains } from '../domain/steps';
import * as createDatabase from '../create-database/step';
import * as deployFunction from '../deploy-function/step';
import * as publishFrontend from '../publish-frontend/step';
import * as storeSecret from '../store-secret/step';
import { switchBack, switchToSuspended } from '../suspension/steps';
import { deleteTenantAlarm } from '../lib/alarms';
import { aws, executionRunning, inCell } from '../lib/aws';
import { publishEvent } from '../lib/events';
import { validatedTenantOf, withRegistry } from '../records/registry';
import { setTenantWritable, withTenantDatabase } from '../lib/tenant-db';
import { verifyExport, writeExport } from '../records/tenant-export';
import type { TenantExport, VerifiedExport } from '../records/archive';
import type { TaskEvent, ValidatedTenant } from '../lib/types';

/** The input of a `tenant-offboarding` execution. */
const requestSchema = z.strictObject({ tenantId: tenantIdSchema });

/** What the registry keeps of an offboarding (column `offboarding`). */
interface OffboardingRecord {
  executionArn: string;
  /** ACTIVE or SUSPENDED: where a failure before the export is verified puts the tenant back. */
  previousStatus: 'ACTIVE' | 'SUSPENDED';
  /** UTC, `20261125T183000Z`: names the export. */
  startedAt: string;
  export?: VerifiedExport;
}

interface OffboardingResults {
  tenant: ValidatedTenant;
  /** `cellAccount`: the account of the tenant's cell, where its function and secret are (common/cells.ts). */
  claim: Pick<OffboardingRecord, 'previousStatus' | 'startedAt'> & { cellAccount?: string };
  /** Present from "Export database" on; `verifiedAt` once "Verify export" (or an earlier run) proved it. */
  export?: TenantExport | VerifiedExport;
}

type Event = {
  readonly executionArn: string;
  readonly state: {
    readonly tenantId?: unknown;
    readonly results?: OffboardingResults;
    readonly error?: { Error: string; Cause: string };
    readonly failedStep?: string;
  };
};

/**
 * Takes the tenant for this execution: an ACTIVE or SUSPENDED tenant no release is updating becomes
 * OFFBOARDING (so no release, suspension or second offboarding touches it), remembering the status it had.
 * An OFFBOARDING_FAILED tenant, or one whose offboarding execution is no longer running, is taken over as
 * it is: with a verified export the run goes straight to the removals. Anything else fails at once with
 * TenantStateConflict and changes nothing. The validated tenant (`results.tenant`) is rebuilt from the
 * registry, so the removals run onboarding's own undo code.
 */
export async function claim({ executionArn, state }: Event): Promise<OffboardingResults> {
  const parsed = requestSchema.safeParse(state);
  if (!parsed.success)
    throw new OnboardingError(PermanentErrors.InvalidInput, fieldProblems(parsed.error.issues).join('; '));
  const { tenantId } = parsed.data;
  const taken = await withRegistry(async (client) => {
    const fresh = await client.query<Row>(
      `UPDATE tenants SET status = 'OFFBOARDING', updated_at = now(),
              offboarding = jsonb_build_object('executionArn', $2::text, 'previousStatus', status,
                'startedAt', to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'))
        WHERE id = $1 AND release_lock IS NULL AND status IN ('ACTIVE', 'SUSPENDED')
        RETURNING ${ROW}`,
      [tenantId, executionArn],
    );
    if (fresh.rows[0]) return fresh.rows[0];
    const { rows } = await client.query<Row>(`SELECT ${ROW} FROM tenants WHERE id = $1`, [tenantId]);
    return rows[0];
  });
  if (taken?.status === 'OFFBOARDING' && taken.offboarding?.executionArn === executionArn)
    return resultsOf(taken);
  if (taken?.status === 'OFFBOARDING_FAILED' || taken?.status === 'OFFBOARDING') {
    const owner = taken.offboarding?.executionArn ?? '';
    if (taken.status === 'OFFBOARDING' && (await executionRunning(owner)))
      throw conflict(`offboarding ${owner} is running for ${tenantId}`);
    const takenOver = await withRegistry((client) =>
      client.query<Row>(
        `UPDATE tenants SET status = 'OFFBOARDING', updated_at = now(),
                offboarding = offboarding || jsonb_build_object('executionArn', $2::text)
          WHERE id = $1 AND status = $3 AND offboarding->>'executionArn' = $4
          RETURNING ${ROW}`,
        [tenantId, executionArn, taken.status, owner],
      ),
    );
    if (takenOver.rows[0]) return resultsOf(takenOver.rows[0]);
    throw conflict(`another offboarding took ${tenantId} at the same time`);
  }
  const lock = taken?.release_lock;
  throw conflict(
    !taken
      ? `there is no tenant ${tenantId}`
      : lock && taken.status === 'ACTIVE'
        ? `release ${lock} is updating ${tenantId}: try again when it is done`
        : `${tenantId} is ${taken.status}; only an ACTIVE or SUSPENDED tenant can be offboarded: ${whatToDoInstead(tenantId, taken.status as TenantStatus)}`,
  );
}

/** Nobody writes while the export is taken: the API answers 503 `tenant-suspended` (as a suspension does). */
export async function suspend({ executionArn, state }: Event): Promise<void> {
  await switchToSuspended({ executionArn, state: { tenantId: tenantOf(state).tenantId, action: 'suspend' } });
}

/**
 * Streams the tenant's database into the archive bucket (workflow-tasks/records/tenant-export.ts), as the
 * tenant's own role, and writes the manifest beside it. A re-run writes the same key again. Writes to the
 * database stop first (setTenantWritable), so nothing written after the export can be removed with the
 * database; the rollback (resume) lets them again.
 */
export async function exportDatabase({ state }: Event): Promise<TenantExport> {
  const tenant = tenantOf(state);
  await setTenantWritable(tenant.tenantId, claimOf(state).cellAccount, false);
  const bucket = requiredEnv(TaskEnv.archiveBucket);
  const key = ArchiveKeys.export(tenant.tenantId, claimOf(state).startedAt);
  const manifestKey = ArchiveKeys.manifest(key);
  const { s3 } = aws();
  const exported = {
    tenantId: tenant.tenantId,
    tier: tenant.tier,
    companyName: tenant.companyName,
    adminEmail: tenant.adminEmail,
    domain: tenant.domain ?? null,
  };
  const { manifest, versionId, sha256, bytes } = await withTenantDatabase(
    tenant.tenantId,
    claimOf(state).cellAccount,
    (client) => writeExport(client, exported, { s3, Bucket: bucket, Key: key }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: manifestKey,
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
    }),
  );
  return {
    ...exported,
    bucket,
    key,
    manifestKey,
    versionId,
    sha256,
    bytes,
    schemaVersion: manifest.schemaVersion,
    rows: Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows])),
  };
}

/**
 * Reads the export's version back (its SHA-256 must be that of the bytes written) and compares it with the
 * database, table by table (rows and checksum); any difference fails with ExportMismatch and nothing is
 * removed. Verified, the pinned record (version, SHA-256, retention date) is written beside the export and
 * as `latest.json`, and the registry keeps it: from here on the offboarding only goes forward.
 */
export async function verify({ executionArn, state }: Event): Promise<VerifiedExport> {
  const tenant = tenantOf(state);
  const written = state.results?.export;
  if (!written) throw new OnboardingError(PermanentErrors.StepFailed, 'state has no results.export');
  const { s3 } = aws();
  await withTenantDatabase(tenant.tenantId, claimOf(state).cellAccount, (client) =>
    verifyExport(client, {
      s3,
      Bucket: written.bucket,
      Key: written.key,
      VersionId: written.versionId,
      sha256: written.sha256,
      bytes: written.bytes,
    }),
  );
  const verifiedAt = new Date();
  const days = Number(requiredEnv(TaskEnv.archiveRetentionDays));
  const verified: VerifiedExport = {
    ...written,
    verifiedAt: verifiedAt.toISOString(),
    retainUntil: new Date(verifiedAt.getTime() + days * 86_400_000).toISOString(),
  };
  for (const Key of [ArchiveKeys.verified(written.key), ArchiveKeys.latest(tenant.tenantId)])
    await s3.send(
      new PutObjectCommand({
        Bucket: written.bucket,
        Key,
        Body: JSON.stringify(verified),
        ContentType: 'application/json',
      }),
    );
  await updateOwned(tenant.tenantId, executionArn, {
    set: `offboarding = offboarding || jsonb_build_object('export', $3::jsonb)`,
    params: [JSON.stringify(verified)],
  });
  return verified;
}

/**
 * A failure before the export was verified: the tenant is put back as it was (its database writable again;
 * ACTIVE: `live` on its version again; SUSPENDED: left suspended), nothing removed. The registry keeps the
 * error.
 */
export async function resume({ executionArn, state }: Event): Promise<void> {
  const tenant = tenantOf(state);
  const { previousStatus } = claimOf(state);
  await setTenantWritable(tenant.tenantId, claimOf(state).cellAccount, true);
  if (previousStatus === 'ACTIVE')
    await switchBack({ executionArn, state: { tenantId: tenant.tenantId, action: 'resume' } });
  await updateOwned(tenant.tenantId, executionArn, {
    set: `status = $3, suspension = CASE WHEN $3 = 'ACTIVE' THEN NULL ELSE suspension END,
          offboarding = offboarding || jsonb_build_object('undone', $4::jsonb)`,
    params: [previousStatus, JSON.stringify(state.error ?? null)],
    done: previousStatus,
  });
}

/** The tenant's domains, their distribution tenants and certificates (as a detach removes them). */
export async function removeDomain(event: Event): Promise<void> {
  await removeTenantDomains(tenantOf(event.state).tenantId);
}

/** The tenant's files under `tenants/<id>/` in the site bucket, then one invalidation of that prefix. */
export async function removeFrontend(event: Event): Promise<{ invalidationId: string }> {
  const tenant = tenantOf(event.state);
  await publishFrontend.undo(asTaskEvent(event));
  const paths = [`/${tenant.names.sitePrefix}*`];
  const out = await aws().cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: requiredEnv(TaskEnv.distributionId),
      InvalidationBatch: {
        // The same reference on a re-run: CloudFront returns the first invalidation.
        CallerReference: `${tenant.tenantId}:offboard:${claimOf(event.state).startedAt}`,
        Paths: { Quantity: paths.length, Items: paths },
      },
    }),
  );
  return { invalidationId: out.Invalidation?.Id ?? '' };
}

/** The function, its HTTP API, role, log group and error alarm (onboarding's undo of "Deploy function"). */
export async function removeFunction(event: Event): Promise<void> {
  await inTenantCell(event, () => deployFunction.undo(asTaskEvent(event)));
}

/**
 * Shared tier: the tenant's database and role. Dedicated: its instance, with a final snapshot named for
 * this offboarding (`tenant-<id>-final-<startedAt>`), and the instance's CPU alarm.
 */
export async function removeDatabase(event: Event): Promise<{ finalSnapshot?: string }> {
  return inTenantCell(event, () => removeDatabaseInCell(event));
}

async function removeDatabaseInCell(event: Event): Promise<{ finalSnapshot?: string }> {
  const tenant = tenantOf(event.state);
  if (tenant.tier !== 'dedicated') {
    await createDatabase.undo(asTaskEvent(event));
    return {};
  }
  const finalSnapshot = finalSnapshotId(tenant.tenantId, claimOf(event.state).startedAt);
  await deleteTenantAlarm(tenant, 'db-cpu');
  await createDatabase.deleteInstance(tenant, finalSnapshot);
  return { finalSnapshot };
}

/** The tenant's secret (onboarding's undo of "Store secret"). */
export async function removeSecret(event: Event): Promise<void> {
  await inTenantCell(event, () => storeSecret.undo(asTaskEvent(event)));
}

/** Registry OFFBOARDED (the export's key and retention date stay in `offboarding`), `TenantOffboarded`. */
export async function markOffboarded({ executionArn, state }: Event): Promise<void> {
  const tenant = tenantOf(state);
  const exported = state.results?.export as VerifiedExport | undefined;
  await updateOwned(tenant.tenantId, executionArn, {
    set: `status = 'OFFBOARDED', suspension = NULL, release_lock = NULL,
          offboarding = offboarding || jsonb_build_object('offboardedAt', now())`,
    done: 'OFFBOARDED',
  });
  await publishEvent(EventTypes.TenantOffboarded, {
    tenantId: tenant.tenantId,
    executionArn,
    exportBucket: exported?.bucket,
    exportKey: exported?.key,
    retainUntil: exported?.retainUntil,
  });
}

/**
 * A removal (or the resume) still failed after its retries: OFFBOARDING_FAILED with the step and error, and
 * `TenantOffboardingFailed` (which the platform's alarm path forwards). Running the offboarding again
 * takes it over and converges. A tenant this execution already marked OFFBOARDED stays so.
 */
export async function recordFailure({ executionArn, state }: Event): Promise<void> {
  const tenantId = tenantOf(state).tenantId;
  const done = await withRegistry((client) =>
    client.query(
      `SELECT 1 FROM tenants WHERE id = $1 AND status = 'OFFBOARDED' AND offboarding->>'executionArn' = $2`,
      [tenantId, executionArn],
    ),
  );
  // "Mark offboarded" failed after its effect: the tenant is offboarded, nothing is left to record.
  if (done.rowCount === 1) return;
  const error = { step: state.failedStep ?? 'unknown', ...(state.error ?? {}) };
  await updateOwned(tenantId, executionArn, {
    set: `status = 'OFFBOARDING_FAILED', offboarding = offboarding || jsonb_build_object('failure', $3::jsonb)`,
    params: [JSON.stringify(error)],
    done: 'OFFBOARDING_FAILED',
  });
  await publishEvent(EventTypes.TenantOffboardingFailed, {
    tenantId,
    executionArn,
    step: error.step,
    error: error.Error ?? 'Unknown',
    cause: error.Cause ?? '',
  });
}

/**
 * After an offboarding that will never finish (stopped, timed out, the platform restarted under it; see
 * workflow-tasks/cleanup): without a verified export the tenant is put back as it was, with one it is
 * OFFBOARDING_FAILED (running the offboarding again finishes the removals). Only a row that execution
 * still holds changes; it records the error as `offboarding.undone`.
 */
export async function releaseOffboardingOf(executionArn: string, error: unknown): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE tenants
          SET status = CASE WHEN offboarding ? 'export' THEN 'OFFBOARDING_FAILED'
                            ELSE offboarding->>'previousStatus' END,
              suspension = CASE WHEN offboarding ? 'export' OR offboarding->>'previousStatus' = 'SUSPENDED'
                                THEN suspension ELSE NULL END,
              offboarding = offboarding || jsonb_build_object('undone', $2::jsonb),
              updated_at = now()
        WHERE status = 'OFFBOARDING' AND offboarding->>'executionArn' = $1`,
      [executionArn, JSON.stringify(error)],
    ),
  );
}

const ROW = 'id, status, tier, company_name, admin_email, domain, cell_account, offboarding, release_lock';

interface Row {
  id: string;
  status: string;
  tier: 'shared' | 'dedicated';
  company_name: string;
  admin_email: string;
  domain: string | null;
  /** The account its resources are in, when its cell has its own (common/cells.ts). */
  cell_account: string | null;
  offboarding: OffboardingRecord | null;
  /** The release updating it, if any: an ACTIVE tenant a release holds cannot be offboarded yet. */
  release_lock: string | null;
}

function resultsOf(row: Row): OffboardingResults {
  const record = row.offboarding;
  const cellAccount = row.cell_account;
  if (!record) throw new OnboardingError(PermanentErrors.StepFailed, `${row.id} has no offboarding record`);
  return {
    tenant: validatedTenantOf(row),
    claim: {
      previousStatus: record.previousStatus,
      startedAt: record.startedAt,
      ...(cellAccount ? { cellAccount } : {}),
    },
    ...(record.export ? { export: record.export } : {}),
  };
}

/**
 * An UPDATE of the row this execution is offboarding (`$1` tenant, `$2` execution, then `params`); `done` is
 * the status the step itself sets, so running it again finds its own row. Else RegistrationLost.
 */
async function updateOwned(
  tenantId: string,
  executionArn: string,
  change: { set: string; params?: unknown[]; done?: string },
): Promise<void> {
  const params = [tenantId, executionArn, ...(change.params ?? [])];
  const result = await withRegistry((client) =>
    client.query(
      `UPDATE tenants SET ${change.set}, updated_at = now()
        WHERE id = $1 AND offboarding->>'executionArn' = $2
          AND status IN ('OFFBOARDING', $${params.length + 1})`,
      [...params, change.done ?? 'OFFBOARDING'],
    ),
  );
  if (result.rowCount !== 1)
    throw new OnboardingError(
      PermanentErrors.RegistrationLost,
      `tenant ${tenantId} is no longer being offboarded by this execution`,
    );
}

function tenantOf(state: Event['state']): ValidatedTenant {
  const tenant = state.results?.tenant;
  if (!tenant) throw new OnboardingError(PermanentErrors.StepFailed, 'state has no results.tenant');
  return tenant;
}

function claimOf(state: Event['state']): OffboardingResults['claim'] {
  const claimed = state.results?.claim;
  if (!claimed) throw new OnboardingError(PermanentErrors.StepFailed, 'state has no results.claim');
  return claimed;
}

/** Runs `work` in the account of the tenant's cell, which the claim noted (common/cells.ts). */
function inTenantCell<T>(event: Event, work: () => Promise<T>): Promise<T> {
  return inCell(claimOf(event.state).cellAccount, work);
}

/** Onboarding's undo handlers read the tenant from `results.tenant`, which the claim rebuilt. */
function asTaskEvent({ executionArn, state }: Event): TaskEvent {
  return { executionArn, state: { results: { tenant: tenantOf(state) } } };
}

function conflict(why: string): OnboardingError {
  return new OnboardingError(PermanentErrors.TenantStateConflict, why);
}
