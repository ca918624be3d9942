import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { build, stop } from 'esbuild';
import { LocalPlatformNames, PlatformNames } from '../common/names';
import { tenantApiArtifact, tenantApiBuildOptions } from '../tenant-api/bundle';

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

/**
 * Uploads a version under its content key and points `tenant-api/current.json` at it, as `cdk deploy` does:
 * onboardings from then on deploy it, and a release can roll it out.
 */
export async function uploadTenantApiVersion(
  s3: S3Client,
  { version, key, zip }: ReturnType<typeof tenantApiArtifact>,
): Promise<void> {
  const Bucket = LocalPlatformNames.artifactBucket;
  await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: zip, ContentType: 'application/zip' }));
  await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: PlatformNames.tenantApiCurrentKey,
      Body: JSON.stringify({ version, key }),
      ContentType: 'application/json',
    }),
  );
}
