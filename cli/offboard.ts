import { createInterface } from 'node:readline';
import { LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { finalSnapshotId } from '../common/names';
import { ArchiveKeys, EXPORT_KEY_PATTERN, exportOrigin } from '../common/offboarding';
import { getJsonObject } from '../common/s3-json';
import type { ExportManifest } from '../workflow-tasks/records/tenant-export';
import { verifiedRecordOf, type VerifiedExport } from '../workflow-tasks/records/archive';
import { checkedTenantId } from './options';
import { awsClientConfig, cliS3Client, readEndpoints, stackOutput, type TargetOptions } from './target';

/** The archive bucket of the running local platform or, with `--aws`, of the deployed stack. */
export async function archiveBucketOf(options: TargetOptions): Promise<string> {
  if (options.aws) return stackOutput(options.stack ?? 'TenantPlatform', 'ArchiveBucketName');
  return (await readEndpoints(options.stateDir)).archiveBucket;
}

/**
 * The onboarding input that brings a tenant back from its latest verified export (`exports/<id>/latest.json`
 * in the archive bucket, written by "Verify export"), or from the verified export `export` names (one of
 * `tenantctl exports <id>`): the company, admin and domain the export records, under `as` and on `tier`
 * when given. A dedicated tenant restored on the dedicated tier under its own id starts from the final
 * snapshot its offboarding kept, when there is one newer than the export (`fromSnapshot`), unless
 * `snapshot` is false.
 */
export async function restoreInput(
  tenantId: string,
  options: TargetOptions & { as?: string; tier?: string; export?: string; snapshot?: boolean },
): Promise<Record<string, unknown>> {
  checkedTenantId('tenantId', tenantId);
  if (options.as !== undefined) checkedTenantId('--as', options.as);
  if (options.tier !== undefined && !['shared', 'dedicated'].includes(options.tier))
    throw new Error('--tier: must be "shared" or "dedicated"');
  if (
    options.export !== undefined &&
    (!EXPORT_KEY_PATTERN.test(options.export) || !options.export.startsWith(ArchiveKeys.prefix(tenantId)))
  )
    throw new Error(
      `--export: must be one of ${tenantId}'s export keys (${ArchiveKeys.prefix(tenantId)}<time>.tenant-export.gz): tenantctl exports ${tenantId} lists them`,
    );
  const Bucket = await archiveBucketOf(options);
  const s3 = await cliS3Client(options);
  try {
    const read = async <T>(Key: string, missing: string): Promise<T> => {
      const value = await getJsonObject<T>(s3, Bucket, Key);
      if (value === undefined) throw new Error(missing);
      return value;
    };
    const latest = options.export
      ? await verifiedRecordOf(s3, Bucket, options.export)
      : await read<VerifiedExport>(
          ArchiveKeys.latest(tenantId),
          `${tenantId} has no verified export in ${Bucket}: only an offboarded tenant can be restored`,
        );
    if (!latest?.key || !latest.manifestKey || (options.export && latest.key !== options.export))
      throw new Error(
        options.export
          ? `--export: ${options.export} is not a verified export in ${Bucket}`
          : `the latest export of ${tenantId} in ${Bucket} is not a verified export record`,
      );
    // Who the tenant is comes from the verified record; a record made before it said so, from the manifest.
    const identity: Partial<ExportManifest> = latest.adminEmail
      ? latest
      : await read<ExportManifest>(latest.manifestKey, `the manifest of ${latest.key} is missing`);
    const tier = options.tier ?? identity.tier;
    const fromSnapshot =
      options.snapshot !== false &&
      tier === 'dedicated' &&
      identity.tier === 'dedicated' &&
      (options.as ?? tenantId) === tenantId &&
      (await finalSnapshotNewerThan(options, latest.key, latest.verifiedAt));
    return {
      tenantId: options.as ?? tenantId,
      companyName: identity.companyName ?? tenantId,
      adminEmail: identity.adminEmail ?? `admin@${tenantId}.invalid`,
      tier,
      ...(identity.domain ? { domain: identity.domain } : {}),
      restoreFrom: latest.key,
      ...(fromSnapshot ? { fromSnapshot } : {}),
    };
  } finally {
    s3.destroy();
  }
}

/** Whether the final snapshot kept by the offboarding that wrote `exportKey` exists and is newer than it. */
async function finalSnapshotNewerThan(
  options: TargetOptions,
  exportKey: string,
  verifiedAt: string | undefined,
): Promise<boolean> {
  const origin = exportOrigin(exportKey);
  if (!origin) return false;
  const rds = new RDSClient(await awsClientConfig(options));
  try {
    const { DBSnapshots } = await rds.send(
      new DescribeDBSnapshotsCommand({
        DBSnapshotIdentifier: finalSnapshotId(origin.tenantId, origin.stamp),
      }),
    );
    const snapshot = DBSnapshots?.[0];
    return (
      snapshot?.Status === 'available' &&
      snapshot.SnapshotCreateTime !== undefined &&
      (verifiedAt === undefined || snapshot.SnapshotCreateTime.getTime() > Date.parse(verifiedAt))
    );
  } catch (error) {
    if ((error as Error).name === 'DBSnapshotNotFoundFault') return false;
    throw error;
  } finally {
    rds.destroy();
  }
}

/**
 * A tenant's verified exports, oldest first, each as its first verified record says (the incarnation it
 * was taken of is its time), with the one `latest.json` names marked: what `restore --export` picks from.
 */
export async function exportsOf(
  tenantId: string,
  options: TargetOptions,
): Promise<(Partial<VerifiedExport> & { key: string; latest: boolean })[]> {
  checkedTenantId('tenantId', tenantId);
  const Bucket = await archiveBucketOf(options);
  const s3 = await cliS3Client(options);
  try {
    const latest = await getJsonObject<VerifiedExport>(s3, Bucket, ArchiveKeys.latest(tenantId));
    const found = [];
    for (const key of await exportKeys(s3, Bucket, tenantId)) {
      const record = await verifiedRecordOf(s3, Bucket, key);
      if (record) found.push({ ...record, key, latest: latest?.key === key });
    }
    return found;
  } finally {
    s3.destroy();
  }
}

async function exportKeys(s3: S3Client, Bucket: string, tenantId: string): Promise<string[]> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: ArchiveKeys.prefix(tenantId), ContinuationToken }),
    );
    for (const o of page.Contents ?? []) if (o.Key && EXPORT_KEY_PATTERN.test(o.Key)) keys.push(o.Key);
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return keys.sort();
}

/** Every tenant that has an API function (`tenant-<id>-api`): what `offboard --all` offboards. */
export async function tenantsWithFunctions(options: TargetOptions): Promise<string[]> {
  const lambda = new LambdaClient(await awsClientConfig(options));
  try {
    const ids: string[] = [];
    for await (const page of paginateListFunctions({ client: lambda }, {}))
      for (const f of page.Functions ?? []) {
        const id = /^tenant-(.+)-api$/.exec(f.FunctionName ?? '')?.[1];
        if (id) ids.push(id);
      }
    return ids.sort();
  } finally {
    lambda.destroy();
  }
}

/** Asks on a terminal for the exact confirmation phrase; anything else is a no. */
export async function confirmed(question: string, phrase: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) =>
      rl.question(`${question}\nType "${phrase}" to go on: `, resolve),
    );
    return answer.trim() === phrase;
  } finally {
    rl.close();
  }
}
