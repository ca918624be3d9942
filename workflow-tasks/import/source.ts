import { Client } from 'pg';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import type { ImportSourceSecret } from '../../common/imports';
import { isNotFound } from '../lib/aws';
import { readJsonSecret } from '../lib/db';
import { logger } from '../lib/logger';

/**
 * The customer's current database, read and never written: the session is read-only from its start
 * (`default_transaction_read_only`), and everything is read in one `REPEATABLE READ READ ONLY` transaction,
 * one snapshot of every table, while the old app may go on writing. Its credentials come from the import's
 * own secret; the password is passed to the driver and nowhere else (not a message, not a result).
 */

/** The source as it may be shown: `postgres://user@host:port/db`, no password. */
export function sourceLabel(source: ImportSourceSecret): string {
  return `postgres://${encodeURIComponent(source.username)}@${source.host}:${source.port}/${encodeURIComponent(source.dbname)}`;
}

/** The import's secret, checked for the fields a connection needs; one already deleted is said to be. */
export async function readSourceSecret(secretArn: string): Promise<ImportSourceSecret> {
  const value = await readJsonSecret<Partial<ImportSourceSecret>>(secretArn).catch((error: unknown) => {
    if (isNotFound(error))
      throw new OnboardingError(
        PermanentErrors.InvalidInput,
        `importFrom.sourceSecretArn: the secret is gone (an import's credentials are deleted when it ends): run tenantctl import again`,
      );
    // A value that is not JSON: the parser's message would quote it, password and all.
    if (error instanceof SyntaxError) throw unusable();
    throw error;
  });
  const { host, port, dbname, username, password, sslmode } = value ?? {};
  if (
    typeof host !== 'string' ||
    !Number.isInteger(port) ||
    typeof dbname !== 'string' ||
    typeof username !== 'string' ||
    typeof password !== 'string' ||
    (sslmode !== undefined && !SSL_MODES.has(sslmode))
  )
    throw unusable();
  return value as ImportSourceSecret;
}

/** `sslmode` as libpq names it: `disable` (none), `require` (TLS, any certificate), `verify-full`. */
const SSL_MODES = new Set(['disable', 'require', 'verify-full']);

function unusable(): OnboardingError {
  return new OnboardingError(
    PermanentErrors.InvalidInput,
    'importFrom.sourceSecretArn: the secret must be JSON {"host", "port" (a number), "dbname", "username", "password", "sslmode" (disable, require or verify-full; optional)}',
  );
}

/** Runs `fn` inside one read-only snapshot of the source; every failure named for what the operator fixes. */
export async function withSourceSnapshot<T>(
  source: ImportSourceSecret,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const label = sourceLabel(source);
  const client = new Client({
    host: source.host,
    port: source.port,
    database: source.dbname,
    user: source.username,
    password: source.password,
    ssl:
      source.sslmode && source.sslmode !== 'disable'
        ? { rejectUnauthorized: source.sslmode === 'verify-full' }
        : undefined,
    connectionTimeoutMillis: 10_000,
    application_name: 'tenant-import',
    // Read-only from the first statement, and COPY text in the one form both sides compare.
    options:
      '-c default_transaction_read_only=on -c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres',
  });
  client.on('error', (error) =>
    logger.warn('import source connection failed', { source: label, error: error.message }),
  );
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw sourceError(label, error);
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY').catch((error: unknown) => {
      throw sourceError(label, error);
    });
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
// Wrong password or no such role, no pg_hba entry, no such database, no right to read.
const REFUSED = new Set(['28P01', '28000', '3D000', '42501']);

/**
 * A source's failure, named; the driver's message kept (it names a user or a table, never a password).
 * What `fn` reads from the source goes through it too (the caller knows which failures are the source's).
 */
export function sourceError(label: string, error: unknown): unknown {
  if (error instanceof OnboardingError) return error;
  const { code, message = String(error) } = error as { code?: string; message?: string };
  if ((code && UNREACHABLE.has(code)) || /timeout expired|Connection terminated/i.test(message))
    return new OnboardingError(
      PermanentErrors.ImportSourceUnreachable,
      `the import source ${label} cannot be reached (${code ?? message}): check its host and port, and that the platform's network may reach it`,
      { cause: error },
    );
  if (code && REFUSED.has(code))
    return new OnboardingError(
      PermanentErrors.ImportSourceRefused,
      `the import source ${label} refused: ${message} (${code})`,
      { cause: error },
    );
  return error;
}
