import type { ClientBase } from 'pg';
import { MAX_TENANTS_PER_RELEASE, type ReleaseInput, type ReleaseSummary } from '../../common/release';
import { withRegistry } from './registry';

/** A release's lock on a tenant is taken over after this long (the release execution's own timeout). */
export const RELEASE_LOCK_HOURS = 12;
/** Why a release leaves a suspended tenant alone, as its summary and the ledger say. */
export const SUSPENDED_REASON =
  'the tenant is SUSPENDED: resuming puts it back on the version it ran; release again after resuming it';

/** A planned wave: its tenants, their cell, and whether it is that cell's canary. */
export interface PlannedWave {
  readonly tenants: string[];
  readonly cell: string;
  readonly canary: boolean;
}

/**
 * Records a release and plans it cell by cell: every ACTIVE tenant not on the version, by cell then
 * tenantId (at most MAX_TENANTS_PER_RELEASE), each cell's first `canary` in that cell's canary wave and the
 * rest in waves of `waveSize` after it, the cells one after the other; those already on it are `unchanged`
 * (wave -1). Planning twice (a retried Lambda) returns the first plan, read back from the ledger.
 */
export async function planRelease(
  releaseId: string,
  name: string,
  input: ReleaseInput,
): Promise<PlannedWave[]> {
  return withRegistry(async (client) => {
    await client.query('BEGIN');
    try {
      const inserted = await client.query(
        `INSERT INTO releases (id, name, version, canary, concurrency, max_failures, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'RUNNING') ON CONFLICT (id) DO NOTHING`,
        [releaseId, name, input.version, input.canary, input.concurrency, input.maxFailures],
      );
      if (inserted.rowCount === 1) {
        const { rows } = await client.query<{
          id: string;
          on_version: boolean;
          status: string;
          cell: string;
        }>(
          `SELECT id, code_version IS NOT DISTINCT FROM $1 AS on_version, status, cell
             FROM tenants WHERE status IN ('ACTIVE', 'SUSPENDED') ORDER BY cell, id`,
          [input.version],
        );
        // A suspended tenant is not released (resume puts it back on the version it ran); the ledger says so.
        const suspended = rows.filter((r) => r.status === 'SUSPENDED' && !r.on_version);
        const active = rows.filter((r) => r.status === 'ACTIVE');
        const behind = active.filter((r) => !r.on_version);
        const planned = behind.slice(0, MAX_TENANTS_PER_RELEASE);
        const entries = [
          ...wavesByCell(planned, input).map(({ id, wave }) => ({
            id,
            wave,
            outcome: 'planned',
            error: null,
          })),
          ...active
            .filter((r) => r.on_version)
            .map((r) => ({ id: r.id, wave: -1, outcome: 'unchanged', error: null })),
          ...suspended.map((r) => ({ id: r.id, wave: -1, outcome: 'skipped', error: SUSPENDED_REASON })),
        ];
        await client.query(
          `INSERT INTO release_tenants (release_id, tenant_id, wave, outcome, error)
           SELECT $1, t.id, t.wave, t.outcome, t.error
             FROM unnest($2::text[], $3::int[], $4::text[], $5::text[]) AS t(id, wave, outcome, error)`,
          [
            releaseId,
            entries.map((e) => e.id),
            entries.map((e) => e.wave),
            entries.map((e) => e.outcome),
            entries.map((e) => e.error),
          ],
        );
        await client.query('UPDATE releases SET not_planned = $2 WHERE id = $1', [
          releaseId,
          behind.length - planned.length,
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    const { rows } = await client.query<{ wave: number; tenants: string[]; cell: string }>(
      `SELECT r.wave, array_agg(r.tenant_id ORDER BY r.tenant_id) AS tenants, min(t.cell) AS cell
         FROM release_tenants r JOIN tenants t ON t.id = r.tenant_id
        WHERE r.release_id = $1 AND r.wave >= 0 GROUP BY r.wave ORDER BY r.wave`,
      [releaseId],
    );
    return rows.map((r, i) => ({
      tenants: r.tenants,
      cell: r.cell,
      canary: input.canary > 0 && rows[i - 1]?.cell !== r.cell,
    }));
  });
}

/**
 * Wave numbers for tenants ordered by cell: each cell starts a new wave, with its canary first (the first
 * `canary` of its tenants), then waves of `waveSize`.
 */
function wavesByCell(
  tenants: readonly { id: string; cell: string }[],
  input: Pick<ReleaseInput, 'canary' | 'waveSize'>,
): { id: string; wave: number }[] {
  const waves: { id: string; wave: number }[] = [];
  let next = 0;
  for (const cell of [...new Set(tenants.map((t) => t.cell))]) {
    const inCell = tenants.filter((t) => t.cell === cell);
    const first = next;
    const afterCanary = first + (input.canary > 0 ? 1 : 0);
    inCell.forEach((t, i) =>
      waves.push({
        id: t.id,
        wave: i < input.canary ? first : afterCanary + Math.floor((i - input.canary) / input.waveSize),
      }),
    );
    next = Math.max(...waves.map((w) => w.wave)) + 1;
  }
  return waves;
}

/** How many of the release's tenants in `cell` failed. */
export async function failedInCell(releaseId: string, cell: string): Promise<number> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM release_tenants r JOIN tenants t ON t.id = r.tenant_id
        WHERE r.release_id = $1 AND r.outcome = 'failed' AND t.cell = $2`,
      [releaseId, cell],
    );
    return rows[0]?.n ?? 0;
  });
}

export type ClaimResult =
  | { readonly claimed: true; readonly codeVersion: string | null; readonly schemaVersion: number | null }
  | { readonly claimed: false; readonly outcome: 'unchanged' | 'skipped'; readonly reason: string };

/**
 * Takes the tenant for this release, if it should still be updated: the failure budget is not spent, the
 * tenant is ACTIVE and not on the version yet, and no other running release holds it (a lock older than
 * RELEASE_LOCK_HOURS, or one held by a finished release, is taken over). Claiming twice is the same claim.
 */
export async function claimForRelease(releaseId: string, tenantId: string): Promise<ClaimResult> {
  return withRegistry(async (client) => {
    const release = await client.query<{ version: string; max_failures: number; failures: number }>(
      `SELECT r.version, r.max_failures,
              (SELECT count(*)::int FROM release_tenants WHERE release_id = r.id AND outcome = 'failed') AS failures
         FROM releases r WHERE r.id = $1`,
      [releaseId],
    );
    const plan = release.rows[0];
    if (!plan) throw new Error(`release ${releaseId} is not in the ledger`);
    const skip = async (outcome: 'unchanged' | 'skipped', reason: string): Promise<ClaimResult> => {
      await setOutcome(client, releaseId, tenantId, outcome, outcome === 'skipped' ? reason : null);
      return { claimed: false, outcome, reason };
    };
    if (plan.failures > plan.max_failures)
      return skip('skipped', `the failure budget (${plan.max_failures}) is spent`);
    const claimed = await client.query<{ code_version: string | null; schema_version: number | null }>(
      `UPDATE tenants SET release_lock = $2, updated_at = now()
        WHERE id = $1 AND status = 'ACTIVE' AND code_version IS DISTINCT FROM $3
          AND (release_lock IS NULL OR release_lock = $2
               OR NOT EXISTS (SELECT 1 FROM releases r WHERE r.id = release_lock AND r.status = 'RUNNING'
                                AND r.started_at > now() - make_interval(hours => $4)))
        RETURNING code_version, schema_version`,
      [tenantId, releaseId, plan.version, RELEASE_LOCK_HOURS],
    );
    const row = claimed.rows[0];
    if (row) return { claimed: true, codeVersion: row.code_version, schemaVersion: row.schema_version };
    const { rows } = await client.query<{
      status: string;
      code_version: string | null;
      release_lock: string | null;
    }>('SELECT status, code_version, release_lock FROM tenants WHERE id = $1', [tenantId]);
    const tenant = rows[0];
    if (tenant?.status === 'ACTIVE' && tenant.code_version === plan.version)
      return skip('unchanged', 'already on the version');
    if (tenant?.status !== 'ACTIVE') return skip('skipped', `the tenant is ${tenant?.status ?? 'gone'}`);
    return skip('skipped', `release ${tenant.release_lock ?? ''} is updating the tenant`);
  });
}

/** The tenant now runs the release's version: the ledger says so, and the release lets go of it. */
export async function recordUpdated(
  releaseId: string,
  tenantId: string,
  versions: { codeVersion: string; schemaVersion: number },
): Promise<void> {
  await withRegistry(async (client) => {
    await client.query(
      `UPDATE tenants SET code_version = $3, schema_version = $4, versions_updated_at = now(),
              versions_release = $2, last_release = $2, last_release_outcome = 'updated',
              last_release_error = NULL, release_lock = NULL, updated_at = now()
        WHERE id = $1 AND release_lock = $2`,
      [tenantId, releaseId, versions.codeVersion, versions.schemaVersion],
    );
    await setOutcome(client, releaseId, tenantId, 'updated', null);
  });
}

/**
 * The tenant stays on its old code: the ledger records the failure and the schema it is on now (a
 * migration before the failing one may have been applied), and the release lets go of it.
 */
export async function recordFailed(
  releaseId: string,
  tenantId: string,
  error: string,
  schemaVersion: number | null,
): Promise<void> {
  await withRegistry(async (client) => {
    await client.query(
      `UPDATE tenants SET schema_version = COALESCE($4, schema_version),
              last_release = $2, last_release_outcome = 'failed', last_release_error = $3,
              release_lock = NULL, updated_at = now()
        WHERE id = $1 AND release_lock = $2`,
      [tenantId, releaseId, error, schemaVersion],
    );
    await setOutcome(client, releaseId, tenantId, 'failed', error);
  });
}

/** Counts of a release's tenants by outcome. */
export async function releaseCounts(releaseId: string): Promise<Record<string, number>> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM release_tenants WHERE release_id = $1 GROUP BY outcome',
      [releaseId],
    );
    return Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  });
}

/** Ends a release in the ledger and returns its summary (the execution's output). */
export async function finishRelease(
  releaseId: string,
  stopReason: string | undefined,
): Promise<ReleaseSummary> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<{ version: string; not_planned: number }>(
      `UPDATE releases SET status = $2, stop_reason = $3, finished_at = COALESCE(finished_at, now())
        WHERE id = $1 RETURNING version, not_planned`,
      [releaseId, stopReason ? 'STOPPED' : 'SUCCEEDED', stopReason ?? null],
    );
    const release = rows[0];
    if (!release) throw new Error(`release ${releaseId} is not in the ledger`);
    const tenants = await client.query<{
      tenant_id: string;
      outcome: string;
      error: string | null;
      wave: number;
    }>(
      'SELECT tenant_id, outcome, error, wave FROM release_tenants WHERE release_id = $1 ORDER BY tenant_id',
      [releaseId],
    );
    const having = (outcome: string) => tenants.rows.filter((t) => t.outcome === outcome);
    const skipped = having('skipped');
    return {
      release: releaseId,
      version: release.version,
      ...(stopReason ? { stopReason } : {}),
      updated: having('updated').map((t) => t.tenant_id),
      unchanged: having('unchanged').map((t) => t.tenant_id),
      failed: having('failed').map((t) => ({ tenantId: t.tenant_id, error: t.error ?? '' })),
      notAttempted: [...having('planned'), ...skipped.filter((t) => t.wave >= 0)]
        .map((t) => t.tenant_id)
        .sort(),
      skipped: skipped.map((t) => ({ tenantId: t.tenant_id, reason: t.error ?? '' })),
      notPlanned: release.not_planned,
    };
  });
}

/** Releases whose execution died (the local platform was killed): stopped, and their tenants let go. */
export async function stopReleaseOf(executionArn: string, reason: string): Promise<void> {
  await withRegistry(async (client) => {
    await client.query(
      `UPDATE releases SET status = 'STOPPED', stop_reason = $2, finished_at = now()
        WHERE id = $1 AND status = 'RUNNING'`,
      [executionArn, reason],
    );
    await client.query('UPDATE tenants SET release_lock = NULL WHERE release_lock = $1', [executionArn]);
  });
}

async function setOutcome(
  client: ClientBase,
  releaseId: string,
  tenantId: string,
  outcome: 'updated' | 'unchanged' | 'failed' | 'skipped',
  error: string | null,
): Promise<void> {
  await client.query(
    `UPDATE release_tenants SET outcome = $3, error = $4, updated_at = now()
      WHERE release_id = $1 AND tenant_id = $2`,
    [releaseId, tenantId, outcome, error],
  );
}

/** A release as `tenantctl releases` lists it. */
export interface ReleaseRecord {
  readonly release: string;
  readonly name: string;
  readonly version: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'STOPPED';
  readonly stopReason: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  /** Planned but never updated (the release stopped first, or the tenant was skipped). */
  readonly notAttempted: number;
  /** Left alone, with a reason (suspended when planned, no longer active, the failure budget spent). */
  readonly skipped: number;
}

/** A release that concerned a tenant: planned it, updated it, failed on it or skipped it (with why). */
export interface TenantRelease {
  readonly release: string;
  readonly version: string;
  readonly outcome: string;
  readonly error: string | null;
  readonly at: Date;
}

/** The releases that concerned a tenant (see queryTenantReleases), from the platform's registry. */
export function tenantReleases(tenantId: string): Promise<TenantRelease[]> {
  return withRegistry((client) => queryTenantReleases(client, tenantId));
}

/** The releases that concerned a tenant (not those it was already on the version for), newest first. */
export async function queryTenantReleases(client: ClientBase, tenantId: string): Promise<TenantRelease[]> {
  const { rows } = await client.query<{
    release_id: string;
    version: string;
    outcome: string;
    error: string | null;
    updated_at: Date;
  }>(
    `SELECT t.release_id, r.version, t.outcome, t.error, t.updated_at
       FROM release_tenants t JOIN releases r ON r.id = t.release_id
      WHERE t.tenant_id = $1 AND t.outcome <> 'unchanged'
      ORDER BY r.started_at DESC, r.id`,
    [tenantId],
  );
  return rows.map((r) => ({
    release: r.release_id,
    version: r.version,
    outcome: r.outcome,
    error: r.error,
    at: r.updated_at,
  }));
}

/** How many releases, the newest, the control plane and the console read. */
export const RECENT_RELEASES = 100;

/** The newest RECENT_RELEASES releases with their counts, from the platform's registry. */
export function recentReleases(): Promise<ReleaseRecord[]> {
  return withRegistry((client) => queryReleases(client, RECENT_RELEASES));
}

/** Releases, newest first (all, or the newest `limit`), with their counts, over any connection to the platform database. */
export async function queryReleases(client: ClientBase, limit?: number): Promise<ReleaseRecord[]> {
  const { rows } = await client.query<{
    id: string;
    name: string;
    version: string;
    status: ReleaseRecord['status'];
    stop_reason: string | null;
    started_at: Date;
    finished_at: Date | null;
    updated: number;
    unchanged: number;
    failed: number;
    not_attempted: number;
    skipped: number;
  }>(
    `SELECT r.id, r.name, r.version, r.status, r.stop_reason, r.started_at, r.finished_at,
            count(*) FILTER (WHERE t.outcome = 'updated')::int AS updated,
            count(*) FILTER (WHERE t.outcome = 'unchanged')::int AS unchanged,
            count(*) FILTER (WHERE t.outcome = 'failed')::int AS failed,
            count(*) FILTER (WHERE t.outcome = 'planned' OR (t.outcome = 'skipped' AND t.wave >= 0))::int
              AS not_attempted,
            count(*) FILTER (WHERE t.outcome = 'skipped')::int AS skipped
       FROM releases r LEFT JOIN release_tenants t ON t.release_id = r.id
      GROUP BY r.id ORDER BY r.started_at DESC, r.id
      LIMIT $1`,
    [limit ?? null],
  );
  return rows.map((r) => ({
    release: r.id,
    name: r.name,
    version: r.version,
    status: r.status,
    stopReason: r.stop_reason,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updated: r.updated,
    unchanged: r.unchanged,
    failed: r.failed,
    notAttempted: r.not_attempted,
    skipped: r.skipped,
  }));
}
