/**
 * Bringing an existing customer aboard with its data: an onboarding whose input has `importFrom`, naming
 * where the customer's current database is (its credentials in a secret of their own) or where its
 * plain-format `pg_dump` was uploaded. Shared by tenantctl (which makes both), the input check, the task
 * Lambdas and the state machine.
 */

/** The source's credentials: a secret of the import's own, deleted when the import ends, either way. */
export interface ImportSourceSecret {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly username: string;
  readonly password: string;
  /**
   * `verify-full`: TLS, the server's certificate checked (on the internet); `require`: TLS, any certificate;
   * absent or `disable`: none (a source on a private network).
   */
  readonly sslmode?: string;
}

/** Where an import's source lives: exactly one of the two. */
export type ImportFrom = { readonly sourceSecretArn: string } | { readonly dumpKey: string };

/** `20261206T111653Z`: when the import was asked for (a stamp, as exports have). */
const STAMP = '[0-9]{8}T[0-9]{6}Z';

export const ImportNames = {
  /** The source credentials' secret: one per import attempt. */
  secret: (tenantId: string, stamp: string) => `tenant-imports/${tenantId}/${stamp}`,
  /** A dump uploaded to the archive bucket, kept there with the archive's retention like an export. */
  dumpKey: (tenantId: string, stamp: string) => `imports/${tenantId}/${stamp}.sql`,
} as const;

/** The tenant a source secret's ARN was made for, or undefined when it is not one (Secrets Manager adds `-xxxxxx`). */
export function importSecretTenant(arn: string): string | undefined {
  const match = new RegExp(
    `^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:tenant-imports/([a-z][a-z0-9-]*)/${STAMP}-[A-Za-z0-9]{6}$`,
  ).exec(arn);
  return match?.[1];
}

/** The tenant an uploaded dump's key was made for, or undefined when it is not one. */
export function importDumpTenant(key: string): string | undefined {
  return new RegExp(`^imports/([a-z][a-z0-9-]*)/${STAMP}\\.sql$`).exec(key)?.[1];
}

/** State names the import adds to the onboarding state machine. */
export const ImportStates = {
  importing: 'Import?',
  inspect: 'Inspect import source',
  /** After the tenant is live, and at the end of a rollback: the source's credentials are deleted. */
  imported: 'Imported?',
  forget: 'Delete import credentials',
  forgetNotDone: 'Import credentials not deleted',
  rollbackImported: 'Rollback: imported?',
  undoForget: 'Rollback: delete import credentials',
} as const;
