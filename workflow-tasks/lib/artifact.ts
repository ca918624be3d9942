import { GetObjectCommand } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { getJsonObject } from '../../common/s3-json';
import { requiredEnv } from '../../common/env';
import { PlatformNames, TaskEnv } from '../../common/names';
import {
  ArtifactPaths,
  tenantApiArtifactKey,
  VERSION_PATTERN,
  type CurrentTenantApi,
} from '../../common/versions';
import { aws } from './aws';
import { parseMigrations, type Migration } from './migrate';
import { processScope } from './process-scope';

/** A version of the tenant API as the tasks use it: its key, its migrations and its frontend files. */
export interface TenantApiVersion {
  readonly version: string;
  /** Key of the zip in the artifact bucket (the function's code). */
  readonly key: string;
  readonly migrations: readonly Migration[];
  /** Frontend files by path relative to the tenant's site prefix. */
  readonly frontend: ReadonlyMap<string, Uint8Array>;
}

/** Versions read by this process (a Lambda environment is reused): a few, as a release uses one or two. */
const MAX_CACHED = 4;
/** By process (processScope), then version. */
const caches = new Map<string, Map<string, Promise<TenantApiVersion>>>();

/** `tenant-api/current.json`: the version `cdk deploy` (or the local platform, or `tenantctl release`) put. */
export async function currentTenantApi(): Promise<CurrentTenantApi> {
  const Bucket = requiredEnv(TaskEnv.artifactBucket);
  const current = await getJsonObject<CurrentTenantApi>(aws().s3, Bucket, PlatformNames.tenantApiCurrentKey);
  if (current) return current;
  throw new OnboardingError(
    PermanentErrors.StepFailed,
    `${Bucket} has no ${PlatformNames.tenantApiCurrentKey}: deploy the platform (cdk deploy) first`,
  );
}

/**
 * A version's zip from the artifact bucket, unpacked into its migrations and frontend (read once per
 * process). A version that is not there fails with VersionNotFound.
 */
export function readTenantApiVersion(version: string): Promise<TenantApiVersion> {
  if (!VERSION_PATTERN.test(version)) {
    return Promise.reject(
      new OnboardingError(
        PermanentErrors.InvalidInput,
        `version must be 16 hex digits, got ${JSON.stringify(version.slice(0, 40))}`,
      ),
    );
  }
  const scope = processScope();
  const cache = caches.get(scope) ?? new Map<string, Promise<TenantApiVersion>>();
  caches.set(scope, cache);
  let entry = cache.get(version);
  if (entry) {
    cache.delete(version); // put back last: the most recently used
  } else {
    entry = download(version);
    entry.catch(() => cache.get(version) === entry && cache.delete(version));
  }
  cache.set(version, entry);
  for (const key of cache.keys()) if (cache.size > MAX_CACHED) cache.delete(key);
  return entry;
}

async function download(version: string): Promise<TenantApiVersion> {
  const Bucket = requiredEnv(TaskEnv.artifactBucket);
  const key = tenantApiArtifactKey(version);
  let zip: Uint8Array | undefined;
  try {
    const object = await aws().s3.send(new GetObjectCommand({ Bucket, Key: key }));
    zip = await object.Body?.transformToByteArray();
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw error;
    throw new OnboardingError(
      PermanentErrors.VersionNotFound,
      `version ${version} is not in ${Bucket} (no ${key}): upload it first (cdk deploy, or tenantctl release)`,
      { cause: error },
    );
  }
  const files = unzipSync(zip ?? new Uint8Array());
  const decoder = new TextDecoder();
  const migrations = parseMigrations(
    Object.entries(files)
      .filter(([path]) => path.startsWith(ArtifactPaths.migrations) && path.endsWith('.sql'))
      .map(([path, bytes]) => ({
        file: path.slice(ArtifactPaths.migrations.length),
        sql: decoder.decode(bytes),
      })),
    key,
  );
  const frontend = new Map(
    Object.entries(files)
      .filter(([path]) => path.startsWith(ArtifactPaths.frontend) && !path.endsWith('/'))
      .map(([path, bytes]) => [path.slice(ArtifactPaths.frontend.length), bytes] as const),
  );
  return { version, key, migrations, frontend };
}
