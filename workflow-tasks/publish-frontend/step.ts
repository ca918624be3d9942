import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { contentType } from '../../common/content-types';
import { TaskEnv } from '../../common/names';
import { readTenantApiVersion } from '../lib/artifact';
import { aws } from '../lib/aws';
import { requiredEnv } from '../../common/env';
import { resultOf, tenantOf } from '../lib/handler';
import { settled } from '../lib/settled';
import type { StepResults, TaskEvent } from '../lib/types';

/** The file the frontend reads at start-up to learn who it is and where its API lives. */
export const CONFIG_FILE = 'config.json';

/**
 * Writes the frontend of the tenant's version (the one "Apply schema" migrated to) to the tenant's prefix on
 * the site bucket, with its `config.json`. Writes overwrite, so a re-run leaves the same objects.
 */
export async function run(event: TaskEvent): Promise<StepResults['frontend']> {
  const tenant = tenantOf(event);
  const { apiEndpoint } = resultOf(event, 'function');
  const siteBucket = requiredEnv(TaskEnv.siteBucket);
  const { sitePrefix } = tenant.names;
  // The API's own address: the site is served on the platform address at once and on the customer's
  // domain only once its records are in place (workflow-tasks/domain), so api.<domain> may not answer yet.
  const apiUrl = apiEndpoint;
  const configKey = sitePrefix + CONFIG_FILE;
  const [files] = await settled([
    writeFrontend(tenant.names.sitePrefix, resultOf(event, 'registration').tenantApiVersion),
    aws().s3.send(
      new PutObjectCommand({
        Bucket: siteBucket,
        Key: configKey,
        Body: JSON.stringify({ tenantId: tenant.tenantId, companyName: tenant.companyName, apiUrl }, null, 2),
        ContentType: 'application/json',
        CacheControl: 'no-cache',
      }),
    ),
  ]);
  return { siteBucket, sitePrefix, files, configKey, apiUrl };
}

/**
 * Puts a version's frontend files under `sitePrefix` (its `config.json`, which is the tenant's own, is left
 * alone) and returns their paths, sorted. A release calls it too.
 */
export async function writeFrontend(sitePrefix: string, version: string): Promise<string[]> {
  const { frontend } = await readTenantApiVersion(version);
  const Bucket = requiredEnv(TaskEnv.siteBucket);
  const files = [...frontend.keys()].filter((path) => path !== CONFIG_FILE).sort();
  // Every put ends before this returns, failed or not: an undo deleting the prefix finds them all.
  await settled(
    files.map((path) =>
      aws().s3.send(
        new PutObjectCommand({
          Bucket,
          Key: sitePrefix + path,
          Body: frontend.get(path),
          ContentType: contentType(path),
        }),
      ),
    ),
  );
  return files;
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
