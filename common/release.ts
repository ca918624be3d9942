// zod/mini, as the onboarding input: the same checks, a small bundle.
import * as z from 'zod/mini';
import { fieldProblems } from './tenant-input';
import { VERSION_PATTERN } from './versions';

/** Tenants one release execution plans at most; the rest are updated by running the release again. */
export const MAX_TENANTS_PER_RELEASE = 2_000;

const count = (min: number, max: number) =>
  z
    .int({ error: 'must be a whole number' })
    .check(z.minimum(min, `must be at least ${min}`), z.maximum(max, `must be at most ${max}`));

/** The input of a `tenant-release` execution. */
export const releaseInputSchema = z.strictObject({
  /** The tenant API version to roll out: `tenant-api/<version>.zip` in the artifact bucket. */
  version: z
    .string({ error: 'must be a string' })
    .check(z.regex(VERSION_PATTERN, 'must be 16 hex digits (a tenant API version)')),
  /** Tenants in the canary wave, first in tenantId order; any failure there stops the release. */
  canary: z._default(count(0, 100), 1),
  /** Tenants updated at once after the canary. */
  concurrency: z._default(count(1, 100), 4),
  /** Failed tenants the release tolerates after the canary; one more stops it. */
  maxFailures: z._default(count(0, MAX_TENANTS_PER_RELEASE), 0),
  /** Tenants per wave after the canary: each wave ends with one CloudFront invalidation. */
  waveSize: z._default(count(1, 1_000), 100),
});

export type ReleaseInput = z.infer<typeof releaseInputSchema>;

/** Validates a release input; each problem names its field (`canary: must be at most 100`). */
export function parseReleaseInput(
  raw: unknown,
): { ok: true; value: ReleaseInput } | { ok: false; problems: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: ['input: must be a JSON object'] };
  }
  const parsed = releaseInputSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, problems: fieldProblems(parsed.error.issues) };
}

/** What happened to one tenant in a release. */
export type TenantOutcome =
  | {
      readonly tenantId: string;
      readonly outcome: 'updated';
      readonly codeVersion: string;
      readonly schemaVersion: number;
      readonly functionVersion: string;
      /** The function's versions "Prune old versions" deleted, or why it could not (the next release tries again). */
      readonly prunedVersions?: string[];
      readonly pruneError?: string;
    }
  | { readonly tenantId: string; readonly outcome: 'failed'; readonly error: string }
  | { readonly tenantId: string; readonly outcome: 'skipped'; readonly reason: string };

/** A release's outcome: the execution's output, and what `tenantctl release --json` prints. */
export interface ReleaseSummary {
  readonly release: string;
  readonly version: string;
  /** Why the release stopped early (a canary failure, the failure budget); absent when it ran to the end. */
  readonly stopReason?: string;
  readonly updated: string[];
  readonly unchanged: string[];
  readonly failed: { tenantId: string; error: string }[];
  /** Planned but never updated: the release stopped first, or the tenant was skipped (no longer active...). */
  readonly notAttempted: string[];
  /** Left alone, each with why: suspended when the release was planned, or skipped when its turn came. */
  readonly skipped: { tenantId: string; reason: string }[];
  /** ACTIVE tenants beyond MAX_TENANTS_PER_RELEASE: run the release again to update them. */
  readonly notPlanned: number;
}

/** State names of the release workflow, shared by the CDK construct and the local runtime. */
export const ReleaseStates = {
  plan: 'Plan release',
  anything: 'Anything to release?',
  invalid: 'Invalid release',
  wave: 'Release wave',
  claim: 'Claim tenant',
  claimed: 'Claimed?',
  notUpdated: 'Tenant not updated',
  migrate: 'Migrate database',
  updateCode: 'Update function code',
  checkHealth: 'Check health',
  moveAlias: 'Move alias live',
  publishFrontend: 'Publish release frontend',
  pruneVersions: 'Prune old versions',
  recordUpdated: 'Record tenant updated',
  keepOld: 'Keep old version',
  keepOldFailed: 'Keep old version failed',
  closeWave: 'Close wave',
  goOn: 'Go on?',
  finish: 'Finish release',
  stopped: 'Stopped?',
  releaseStopped: 'Release stopped',
  releaseFailed: 'Release failed',
  done: 'Release done',
} as const;
