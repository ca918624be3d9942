import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PlatformNames, TaskEnv, tenantApiDomain } from '../../common/names';
import { aws } from '../lib/aws';
import { requiredEnv } from '../../common/env';
import { resultOf, tenantOf } from '../lib/handler';
import type { StepResults, TaskEvent } from '../lib/types';

/** The file the frontend reads at start-up to learn who it is and where its API lives. */
export const CONFIG_FILE = 'config.json';

/**
 * Copies the platform's frontend bundle to the tenant's prefix on the site bucket and writes its
 * `config.json`. Copies overwrite, so a re-run leaves the same objects.
 */
export async function run(event: TaskEvent): Promise<StepResults['frontend']> {
  const tenant = tenantOf(event);
  const { apiEndpoint } = resultOf(event, 'function');
  const { s3 } = aws();
  const artifactBucket = requiredEnv(TaskEnv.artifactBucket);
  const siteBucket = requiredEnv(TaskEnv.siteBucket);
  const { sitePrefix } = tenant.names;
  const sourcePrefix = PlatformNames.frontendArtifactPrefix;

  const sources = (await listKeys(s3, artifactBucket, sourcePrefix)).filter((key) => !key.endsWith('/'));
  const files: string[] = [];
  for (const key of sources) {
    const relative = key.slice(sourcePrefix.length);
    if (relative === CONFIG_FILE) continue;
    await s3.send(
      new CopyObjectCommand({
        Bucket: siteBucket,
        Key: sitePrefix + relative,
        CopySource: encodeURIComponent(`${artifactBucket}/${key}`).replace(/%2F/g, '/'),
      }),
    );
    files.push(relative);
  }

  const apiUrl = tenant.domain ? `https://${tenantApiDomain(tenant.domain)}` : apiEndpoint;
  const configKey = sitePrefix + CONFIG_FILE;
  await s3.send(
    new PutObjectCommand({
      Bucket: siteBucket,
      Key: configKey,
      Body: JSON.stringify({ tenantId: tenant.tenantId, companyName: tenant.companyName, apiUrl }, null, 2),
      ContentType: 'application/json',
      CacheControl: 'no-cache',
    }),
  );
  return { siteBucket, sitePrefix, files: files.sort(), configKey, apiUrl };
}

/** Deletes every object under the tenant's prefix (and only there: the prefix ends with a slash). */
export async function undo(event: TaskEvent): Promise<void> {
  const { sitePrefix } = tenantOf(event).names;
  const { s3 } = aws();
  const siteBucket = requiredEnv(TaskEnv.siteBucket);
  for (;;) {
    const keys = await listKeys(s3, siteBucket, sitePrefix);
    if (keys.length === 0) return;
    for (let i = 0; i < keys.length; i += 1000) {
      const out = await s3.send(
        new DeleteObjectsCommand({
          Bucket: siteBucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (out.Errors?.length) {
        throw new Error(
          `could not delete ${out.Errors.length} objects under ${sitePrefix}: ${out.Errors[0]?.Code ?? ''}`,
        );
      }
    }
  }
}

async function listKeys(s3: S3Client, Bucket: string, Prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}
