import { createInterface } from 'node:readline';
import { LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { ArchiveKeys } from '../common/offboarding';
import { getJsonObject } from '../common/s3-json';
import { tenantIdSchema } from '../common/tenant-input';
import type { ExportManifest } from '../workflow-tasks/records/tenant-export';
import type { VerifiedExport } from '../workflow-tasks/records/archive';
import { awsClientConfig, cliS3Client, readEndpoints, stackOutput, type TargetOptions } from './target';

/** The archive bucket of the running local platform or, with `--aws`, of the deployed stack. */
export async function archiveBucketOf(options: TargetOptions): Promise<string> {
  if (options.aws) return stackOutput(options.stack ?? 'TenantPlatform', 'ArchiveBucketName');
  return (await readEndpoints(options.stateDir)).archiveBucket;
}

/**
 * The onboarding input that brings a tenant back from its latest verified export (`exports/<id>/latest.json`
 * in the archive bucket, written by "Verify export"): the company, admin and domain the export records,
 * under `as` and on `tier` when given.
 */
export async function restoreInput(
  tenantId: string,
  options: TargetOptions & { as?: string; tier?: string },
): Promise<Record<string, unknown>> {
  for (const [field, value] of [
    ['tenantId', tenantId],
    ['--as', options.as],
  ] as const) {
    const parsed = value === undefined ? undefined : tenantIdSchema.safeParse(value);
    if (parsed && !parsed.success)
      throw new Error(`${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  if (options.tier !== undefined && !['shared', 'dedicated'].includes(options.tier))
    throw new Error('--tier: must be "shared" or "dedicated"');
  const Bucket = await archiveBucketOf(options);
  const s3 = await cliS3Client(options);
  try {
    const read = async <T>(Key: string, missing: string): Promise<T> => {
      const value = await getJsonObject<T>(s3, Bucket, Key);
      if (value === undefined) throw new Error(missing);
      return value;
    };
    const latest = await read<VerifiedExport>(
      ArchiveKeys.latest(tenantId),
      `${tenantId} has no verified export in ${Bucket}: only an offboarded tenant can be restored`,
    );
    const manifest = await read<ExportManifest>(
      latest.manifestKey,
      `the manifest of ${latest.key} is missing`,
    );
    return {
      tenantId: options.as ?? tenantId,
      companyName: manifest.companyName ?? tenantId,
      adminEmail: manifest.adminEmail ?? `admin@${tenantId}.invalid`,
      tier: options.tier ?? manifest.tier,
      ...(manifest.domain ? { domain: manifest.domain } : {}),
      restoreFrom: latest.key,
    };
  } finally {
    s3.destroy();
  }
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
