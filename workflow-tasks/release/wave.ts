import { CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { requiredEnv } from '../../common/env';
import { TaskEnv, tenantResourceNames } from '../../common/names';
import type { ReleaseSummary } from '../../common/release';
import { aws } from '../lib/aws';
import { failedInCell, finishRelease, recordFailed, releaseCounts } from '../records/release-ledger';
import type { ReleaseState } from './types';

/** CloudFront allows this many wildcard paths in invalidations in progress; beyond, one for all tenants. */
const MAX_WILDCARD_PATHS = 15;

type Event = { readonly executionArn: string; readonly state: ReleaseState };

/**
 * After a wave: one CloudFront invalidation for the frontends it updated, the failure budget checked against
 * the ledger, and the next state: the waves left, or why the release stops (a failure in a cell's canary
 * wave, more failures than `maxFailures`, or a failed tenant in the cell whose last wave this was: the
 * cells after it are not released). A tenant whose rollback itself failed is recorded as failed here.
 */
export async function closeWave({ executionArn, state }: Event): Promise<ReleaseState> {
  const { release } = state;
  const results = state.waveResults ?? [];
  for (const r of results)
    if (r.outcome === 'failed' && r.rollbackFailed) await recordFailed(release.id, r.tenantId, r.error, null);

  const updated = results.filter((r) => r.outcome === 'updated').map((r) => r.tenantId);
  if (updated.length > 0) {
    const paths =
      updated.length <= MAX_WILDCARD_PATHS
        ? updated.map((id) => `/${tenantResourceNames(id).sitePrefix}*`)
        : ['/tenants/*'];
    await aws().cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: requiredEnv(TaskEnv.distributionId),
        // The same wave of the same execution is the same invalidation (a retried Lambda makes no second).
        InvalidationBatch: {
          CallerReference: `${executionArn.split(':').pop() ?? ''}:wave-${state.wave}`,
          Paths: { Quantity: paths.length, Items: paths },
        },
      }),
    );
  }

  const failedHere = results.filter((r) => r.outcome === 'failed');
  const failures = (await releaseCounts(release.id)).failed ?? 0;
  const [here, next] = state.cells ?? [];
  const canary = here?.canary ?? (release.canary > 0 && state.wave === 0);
  let stopReason: string | undefined;
  if (canary && failedHere.length > 0) {
    const first = failedHere[0]!;
    stopReason = `the canary failed: ${first.tenantId}${here ? ` (${here.cell})` : ''}: ${first.outcome === 'failed' ? first.error : ''}`;
  } else if (failures > release.maxFailures) {
    stopReason = `${failures} tenants failed, more than the failure budget (${release.maxFailures})`;
  } else if (here && next && next.cell !== here.cell) {
    // The last wave of a cell: a cell with a failed tenant stops the cells after it.
    const failedInThisCell = await failedInCell(release.id, here.cell);
    if (failedInThisCell > 0) {
      const after = [...new Set((state.cells ?? []).slice(1).map((c) => c.cell))].join(', ');
      stopReason = `${failedInThisCell} tenants of ${here.cell} failed: the cells after it (${after}) are not released`;
    }
  }
  return {
    release,
    waves: state.waves.slice(1),
    ...(state.cells ? { cells: state.cells.slice(1) } : {}),
    wave: state.wave + 1,
    ...(stopReason ? { stopReason } : {}),
  };
}

/** Ends the release in the ledger; its summary is the execution's output (or, stopped, the Fail's cause). */
export async function finish({ state }: Event): Promise<ReleaseSummary> {
  const closeFailed = state.error ? `closing wave ${state.wave} failed: ${state.error.Error}` : undefined;
  return finishRelease(state.release.id, state.stopReason ?? closeFailed);
}
