import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { build, stop } from 'esbuild';
import { LocalPlatformNames, PlatformNames } from '../../common/names';
import { tenantApiArtifact, tenantApiBuildOptions } from '../../tenant-api/bundle';

let tenantApiZip: ReturnType<typeof buildTenantApiArtifact> | undefined;

/** The tenant API version the local platform deploys: its `index.js` bundle and migrations, zipped. */
export function buildTenantApiArtifact(): Promise<ReturnType<typeof tenantApiArtifact>> {
  tenantApiZip ??= build({ ...tenantApiBuildOptions('local'), write: false })
    // esbuild keeps a service process for later builds; there are none, and a child left behind when this
    // process exits becomes a zombie on hosts whose init does not reap.
    .finally(() => stop())
    .then((result) => {
      const file = result.outputFiles[0];
      if (!file) throw new Error('esbuild produced no tenant API bundle');
      return tenantApiArtifact(file.contents);
    });
  return tenantApiZip;
}

/** Where a state directory keeps the versions `tenantctl release` uploaded (the emulator keeps nothing). */
const KEPT_VERSIONS = 'tenant-api';

/**
 * Uploads a version under its content key and points `tenant-api/current.json` at it, as `cdk deploy` does:
 * onboardings from then on deploy it, and a release can roll it out. With `keepIn` (a state directory) a
 * copy stays there, uploaded again when the platform starts (tenants may run it after a restart).
 */
export async function uploadTenantApiVersion(
  s3: S3Client,
  artifact: ReturnType<typeof tenantApiArtifact>,
  keepIn?: string,
): Promise<void> {
  const Bucket = LocalPlatformNames.artifactBucket;
  if (keepIn) {
    await mkdir(join(keepIn, KEPT_VERSIONS), { recursive: true });
    await writeFile(join(keepIn, KEPT_VERSIONS, basename(artifact.key)), artifact.zip);
  }
  await putVersion(s3, artifact.key, artifact.zip);
  await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: PlatformNames.tenantApiCurrentKey,
      Body: JSON.stringify({ version: artifact.version, key: artifact.key }),
      ContentType: 'application/json',
    }),
  );
}

/** Uploads again the versions kept in the state directory (not current: the working tree's is). */
export async function uploadKeptVersions(s3: S3Client, stateDir: string): Promise<void> {
  const dir = join(stateDir, KEPT_VERSIONS);
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const file of files.filter((f) => /^[0-9a-f]{16}\.zip$/.test(f)))
    await putVersion(s3, `${PlatformNames.tenantApiArtifactPrefix}${file}`, await readFile(join(dir, file)));
}

function putVersion(s3: S3Client, Key: string, Body: Uint8Array) {
  return s3.send(
    new PutObjectCommand({
      Bucket: LocalPlatformNames.artifactBucket,
      Key,
      Body,
      ContentType: 'application/zip',
    }),
  );
}
