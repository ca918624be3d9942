/**
 * `tenantctl import`: an existing customer brought aboard with its data (common/imports.ts). The CLI puts
 * what the onboarding needs where the workflow reads it, and nothing secret in the execution's input: a
 * database's credentials go into a secret of the import's own (deleted when the import ends, either way),
 * a dump is uploaded to the archive bucket under the tenant's prefix. Then it starts the onboarding
 * (`import-<id>[-N]`) and follows it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Upload } from '@aws-sdk/lib-storage';
import { ImportNames, type ImportFrom, type ImportSourceSecret } from '../common/imports';
import { PlatformNames } from '../common/names';
import { parseTenantInput } from '../common/tenant-input';
import { archiveBucketOf } from './offboard';
import { awsClientConfig, cliS3Client, type TargetOptions } from './target';

/** Where the customer's data is: its database's URL, or a plain-format pg_dump file. */
export type ImportSource = { readonly url: string } | { readonly dump: string };

/** An import made ready: the onboarding input (with `importFrom`) and what to delete once it has ended. */
export interface PreparedImport {
  readonly input: Record<string, unknown>;
  readonly forget: () => Promise<void>;
}

/**
 * Checks the onboarding input and the source, then stores the source where the workflow reads it. Bad input
 * fails here, naming the field, before anything is stored; the URL is never repeated (it holds a password).
 */
export async function prepareImport(
  raw: unknown,
  source: ImportSource,
  options: TargetOptions,
): Promise<PreparedImport> {
  if (typeof raw === 'object' && raw !== null && ('importFrom' in raw || 'restoreFrom' in raw))
    throw new Error('the input must not have importFrom or restoreFrom: tenantctl import adds the source');
  const parsed = parseTenantInput(raw);
  if (!parsed.ok) throw new Error(`invalid onboarding input: ${parsed.problems.join('; ')}`);
  const input = raw as Record<string, unknown>;
  const { tenantId } = parsed.value;
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  if ('url' in source) {
    const credentials = sourceCredentials(source.url);
    const secrets = new SecretsManagerClient(await awsClientConfig(options));
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: ImportNames.secret(tenantId, stamp),
        Description: `Credentials of the database ${tenantId} is imported from; deleted when the import ends`,
        SecretString: JSON.stringify(credentials),
        Tags: [
          { Key: PlatformNames.tenantTag, Value: tenantId },
          { Key: PlatformNames.managedByTag, Value: 'tenantctl-import' },
        ],
      }),
    );
    const sourceSecretArn = created.ARN ?? '';
    return {
      input: { ...input, importFrom: { sourceSecretArn } satisfies ImportFrom },
      forget: () => deleteSecret(secrets, sourceSecretArn),
    };
  }
  const size = await stat(source.dump).then(
    (s) => (s.isFile() ? s.size : undefined),
    () => undefined,
  );
  if (size === undefined) throw new Error(`--from-dump: ${source.dump} is not a readable file`);
  const dumpKey = ImportNames.dumpKey(tenantId, stamp);
  await new Upload({
    client: await cliS3Client(options),
    params: {
      Bucket: await archiveBucketOf(options),
      Key: dumpKey,
      Body: createReadStream(source.dump),
      ContentType: 'application/sql',
    },
  }).done();
  // The dump stays in the archive, with its retention, as the record of what was imported.
  return {
    input: { ...input, importFrom: { dumpKey } satisfies ImportFrom },
    forget: () => Promise.resolve(),
  };
}

/**
 * `postgres://user:password@host:port/database[?sslmode=verify-full]` as the secret's fields. Without a
 * password in the URL, `PGPASSWORD` gives it (as psql takes it): then it is in no command line.
 */
export function sourceCredentials(url: string, env: NodeJS.ProcessEnv = process.env): ImportSourceSecret {
  const usage =
    '--from-url: must be postgres://user[:password]@host[:port]/database (without the password, PGPASSWORD gives it)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${usage} (it is not a URL)`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error(`${usage} (its scheme is ${parsed.protocol.slice(0, 20)})`);
  let decoded: { username: string; password: string; dbname: string };
  try {
    decoded = {
      username: decodeURIComponent(parsed.username),
      password: parsed.password ? decodeURIComponent(parsed.password) : (env.PGPASSWORD ?? ''),
      dbname: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    };
  } catch {
    throw new Error(`${usage} (a % in it is not followed by two hex digits: write % as %25)`);
  }
  const missing = [
    ['user', decoded.username],
    ['password', decoded.password],
    ['host', parsed.hostname],
    ['database', decoded.dbname],
  ].filter(([, value]) => !value);
  if (missing.length > 0) throw new Error(`${usage} (it has no ${missing.map(([name]) => name).join(', ')})`);
  const port = parsed.port ? Number(parsed.port) : 5432;
  const sslmode = parsed.searchParams.get('sslmode') ?? undefined;
  if (sslmode !== undefined && !['disable', 'require', 'verify-full'].includes(sslmode))
    throw new Error(`${usage} (sslmode must be disable, require or verify-full)`);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...decoded,
    ...(sslmode && sslmode !== 'disable' ? { sslmode } : {}),
  };
}

async function deleteSecret(secrets: SecretsManagerClient, arn: string): Promise<void> {
  try {
    await secrets.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}
