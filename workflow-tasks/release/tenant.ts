import {
  DeleteFunctionCommand,
  GetAliasCommand,
  InvokeCommand,
  paginateListAliases,
  paginateListVersionsByFunction,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { OnboardingError, PermanentErrors, TransientErrors } from '../../common/errors';
import { requiredEnv } from '../../common/env';
import { PlatformNames, TaskEnv, tenantResourceNames } from '../../common/names';
import type { TenantOutcome } from '../../common/release';
import { codeVersionOf } from '../../common/versions';
import { readTenantApiVersion } from '../lib/artifact';
import { awsIn, ignoreNotFound, whileUpdating } from '../lib/aws';
import { cellAccountOfTenant } from '../records/capacity';
import { caughtError } from '../lib/handler';
import { withTenantDatabase } from '../lib/tenant-db';
import { appliedVersion, migrate } from '../lib/migrate';
import { claimForRelease, recordFailed, recordUpdated } from '../records/release-ledger';
import { writeFrontend } from '../publish-frontend/step';
import type { TenantReleaseState } from './types';

type Event = { readonly executionArn: string; readonly state: TenantReleaseState };

/**
 * Takes the tenant for this release (see claimForRelease) and notes where its alias `live` points, so a
 * failure can put it back. A tenant not taken ends its iteration as `unchanged` or `skipped`.
 */
export async function claim({ state }: Event): Promise<
  | {
      claimed: true;
      previousFunctionVersion: string;
      previousCodeVersion: string | null;
      cellAccount?: string;
    }
  | { claimed: false; outcome: 'unchanged' | 'skipped'; reason: string }
> {
  const claimed = await claimForRelease(state.release.id, state.tenantId);
  if (!claimed.claimed) return claimed;
  const cellAccount = await cellAccountOfTenant(state.tenantId);
  const alias = await awsIn(cellAccount).lambda.send(
    new GetAliasCommand({ FunctionName: functionName(state), Name: PlatformNames.liveAlias }),
  );
  return {
    claimed: true,
    previousFunctionVersion: alias.FunctionVersion ?? '',
    previousCodeVersion: claimed.codeVersion,
    ...(cellAccount ? { cellAccount } : {}),
  };
}

/**
 * Applies the version's pending tenant migrations, each in its own transaction, as the tenant's own role.
 * They are expand-only, so the code still live keeps working on the new schema.
 */
export async function migrateDatabase({
  state,
}: Event): Promise<{ schemaVersion: number; applied: string[] }> {
  const { migrations } = await readTenantApiVersion(state.release.version);
  return withTenantDatabase(state.tenantId, state.claim?.cellAccount, async (client) => {
    const { applied } = await migrate(client, 'tenant', migrations);
    // What the database is at now: a release of older code leaves a newer schema as it is.
    return { schemaVersion: await appliedVersion(client), applied };
  });
}

/**
 * Points the function's code at the version's zip and publishes a Lambda version of it. Publishing code
 * that is already published returns that version, so a retry publishes nothing new.
 */
export async function updateFunctionCode({
  state,
}: Event): Promise<{ functionVersion: string; codeVersion: string }> {
  const updated = await whileUpdating(() =>
    lambdaOf(state).send(
      new UpdateFunctionCodeCommand({
        FunctionName: functionName(state),
        S3Bucket: requiredEnv(TaskEnv.artifactBucket),
        S3Key: state.release.key,
        Publish: true,
      }),
    ),
  );
  const codeVersion = codeVersionOf(updated.CodeSha256 ?? '');
  if (codeVersion !== state.release.version) {
    throw new OnboardingError(
      PermanentErrors.StepFailed,
      `the published code is version ${codeVersion}, not ${state.release.version}: ${state.release.key} does not hold what its name says`,
    );
  }
  return { functionVersion: updated.Version ?? '', codeVersion };
}

/**
 * Invokes the new version (not `live`) with an API Gateway `GET /health` event: it must answer 200 with the
 * schema version the database is at after "Migrate database", or the tenant stays on its old version.
 */
export async function checkHealth({ state }: Event): Promise<{ statusCode: number; schemaVersion: number }> {
  const expected = state.migration?.schemaVersion;
  const out = await lambdaOf(state)
    .send(
      new InvokeCommand({
        FunctionName: functionName(state),
        Qualifier: state.code?.functionVersion,
        Payload: JSON.stringify(healthEvent(state.tenantId)),
      }),
    )
    .catch((error: Error) => {
      // A new version is Pending for a moment (its network interfaces, in a VPC): it will be ready.
      if (error.name === 'ResourceNotReadyException')
        throw new OnboardingError(TransientErrors.ResourceNotReady, error.message, { cause: error });
      throw error;
    });
  const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
  const fail = (why: string) =>
    new OnboardingError(
      PermanentErrors.HealthCheckFailed,
      `version ${state.code?.functionVersion ?? '?'} ${why}`,
    );
  if (out.FunctionError) throw fail(`failed: ${text.slice(0, 300)}`);
  let response: { statusCode?: number; body?: string };
  let body: { schemaVersion?: unknown };
  try {
    response = JSON.parse(text) as typeof response;
    body = JSON.parse(response.body ?? '') as typeof body;
  } catch {
    throw fail(
      `answered GET /health with something that is not an API Gateway JSON response: ${text.slice(0, 200)}`,
    );
  }
  if (response.statusCode !== 200)
    throw fail(`answered GET /health with ${response.statusCode ?? 'no status'}`);
  if (expected === undefined || body.schemaVersion !== expected)
    throw fail(`reports schema version ${JSON.stringify(body.schemaVersion)}, expected ${expected ?? '?'}`);
  return { statusCode: 200, schemaVersion: expected };
}

/** Moves alias `live` to the new version: from now on the tenant's API runs it. */
export async function moveAlias({ state }: Event): Promise<{ functionVersion: string }> {
  const FunctionVersion = state.code?.functionVersion ?? '';
  await lambdaOf(state).send(
    new UpdateAliasCommand({
      FunctionName: functionName(state),
      Name: PlatformNames.liveAlias,
      FunctionVersion,
    }),
  );
  return { functionVersion: FunctionVersion };
}

/** The version's frontend to the tenant's prefix (its config.json stays). Invalidated once per wave. */
export async function publishFrontend({ state }: Event): Promise<{ files: string[] }> {
  return {
    files: await writeFrontend(tenantResourceNames(state.tenantId).sitePrefix, state.release.version),
  };
}

/**
 * Deletes the function's published versions but two: the one `live` runs now and the one it ran before
 * (what a failed release of this tenant goes back to), and any version an alias points at. Every release
 * publishes a version, and Lambda's code storage (75 GB a region) holds them all: without this, a fleet
 * of 2,500 tenants fills it after about 136 releases (docs/scale.md). Versions already gone are fine.
 */
export async function pruneVersions({ state }: Event): Promise<{ deleted: string[] }> {
  const FunctionName = functionName(state);
  const lambda = lambdaOf(state);
  const keep = new Set(['$LATEST', state.code?.functionVersion, state.claim?.previousFunctionVersion]);
  for await (const page of paginateListAliases({ client: lambda }, { FunctionName }))
    for (const alias of page.Aliases ?? []) keep.add(alias.FunctionVersion);
  const old: string[] = [];
  for await (const page of paginateListVersionsByFunction({ client: lambda }, { FunctionName }))
    for (const { Version } of page.Versions ?? []) if (Version && !keep.has(Version)) old.push(Version);
  for (const Qualifier of old)
    await ignoreNotFound(lambda.send(new DeleteFunctionCommand({ FunctionName, Qualifier })));
  return { deleted: old };
}

/** Lambda in the account of the tenant's cell, which the claim noted (common/cells.ts). */
function lambdaOf(state: TenantReleaseState): LambdaClient {
  return awsIn(state.claim?.cellAccount).lambda;
}

/** The ledger: the tenant runs the version now. This ends the tenant's iteration. */
export async function recordTenantUpdated({ state }: Event): Promise<TenantOutcome> {
  const versions = { codeVersion: state.release.version, schemaVersion: state.migration?.schemaVersion ?? 0 };
  await recordUpdated(state.release.id, state.tenantId, versions);
  const { pruned } = state;
  return {
    tenantId: state.tenantId,
    outcome: 'updated',
    ...versions,
    functionVersion: state.code?.functionVersion ?? '',
    ...(pruned && 'deleted' in pruned ? { prunedVersions: pruned.deleted } : {}),
    ...(pruned && 'Error' in pruned ? { pruneError: `${pruned.Error}: ${pruned.Cause}` } : {}),
  };
}

/**
 * A step failed: alias `live` goes back to the version it was on (if it had moved, the old version's
 * frontend goes back too), and the ledger records the failure with the error and the schema the tenant is on now.
 * Migrations applied before the failing one stay: they are expand-only. This ends the iteration.
 */
export async function keepOldVersion({ state }: Event): Promise<TenantOutcome> {
  const error = caughtError(state.error);
  const previous = state.claim?.previousFunctionVersion;
  // Where `live` is, not where the state says: "Move alias live" may have moved it and failed after.
  const live = previous
    ? await lambdaOf(state).send(
        new GetAliasCommand({ FunctionName: functionName(state), Name: PlatformNames.liveAlias }),
      )
    : undefined;
  if (previous && live?.FunctionVersion !== previous) {
    await lambdaOf(state).send(
      new UpdateAliasCommand({
        FunctionName: functionName(state),
        Name: PlatformNames.liveAlias,
        FunctionVersion: previous,
      }),
    );
    const previousCode = state.claim?.previousCodeVersion;
    if (previousCode) await writeFrontend(tenantResourceNames(state.tenantId).sitePrefix, previousCode);
  }
  const schemaVersion = await withTenantDatabase(
    state.tenantId,
    state.claim?.cellAccount,
    appliedVersion,
  ).catch(() => null);
  await recordFailed(state.release.id, state.tenantId, error, schemaVersion);
  return { tenantId: state.tenantId, outcome: 'failed', error };
}

function functionName(state: TenantReleaseState): string {
  return tenantResourceNames(state.tenantId).functionName;
}

/** What API Gateway (HTTP API, payload 2.0) sends the function for `GET /health`. */
function healthEvent(tenantId: string): Record<string, unknown> {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/health',
    rawQueryString: '',
    headers: { 'user-agent': 'tenant-release' },
    requestContext: {
      accountId: 'release',
      apiId: tenantId,
      domainName: 'release.internal',
      domainPrefix: 'release',
      http: {
        method: 'GET',
        path: '/health',
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'tenant-release',
      },
      requestId: `release-${now.getTime()}`,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}
