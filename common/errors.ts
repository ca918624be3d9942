/**
 * Error names are a contract between the task handlers (which throw them) and the state machine (whose
 * Retry and Catch lists match them exactly, as Lambda's `errorType`). Keep both lists here.
 */

/** Worth retrying with backoff: the same call may well succeed in a moment. */
export const TransientErrors = {
  /** The AWS API throttled us (429, ThrottlingException, TooManyRequests...). */
  Throttled: 'Throttled',
  /** The AWS API answered 5xx or the request timed out. */
  ServiceUnavailable: 'ServiceUnavailable',
  /** A TCP connection was refused or reset (ECONNREFUSED, ECONNRESET, ETIMEDOUT...). */
  ConnectionFailed: 'ConnectionFailed',
  /** PostgreSQL is starting, out of connections, or asked us to retry a transaction (57P03, 53300, 40001, 40P01). */
  DatabaseBusy: 'DatabaseBusy',
  /** A resource exists but is not usable yet (an IAM role Lambda cannot assume yet, an instance still creating). */
  ResourceNotReady: 'ResourceNotReady',
} as const;

/**
 * Not a failure: the onboarding waits for its turn. Retried for long (ONBOARDING_SLOTS in common/steps.ts),
 * not with the transient errors' few attempts.
 */
export const WaitErrors = {
  /** As many onboardings as the platform allows at once are provisioning; this one waits for a slot. */
  OnboardingSlotsFull: 'OnboardingSlotsFull',
  /** No shared instance has room; the next one is being added (add-capacity); this one waits for it. */
  CapacityPending: 'CapacityPending',
} as const;

/** Retrying cannot help: roll back. */
export const PermanentErrors = {
  /** The onboarding input is malformed; the message names the field. */
  InvalidInput: 'InvalidInput',
  /** Another execution owns this tenant (it is being onboarded, or is live). */
  TenantAlreadyRegistered: 'TenantAlreadyRegistered',
  /** A resource with the tenant's name exists but belongs to someone else. */
  ResourceConflict: 'ResourceConflict',
  /** A dedicated RDS instance ended in a state it cannot leave (failed, incompatible-*, storage-full...). */
  InstanceFailed: 'InstanceFailed',
  /** A dedicated RDS instance was not available after the loop's last round. */
  InstanceNotReadyInTime: 'InstanceNotReadyInTime',
  /** The registry row this execution owned was taken or removed. */
  RegistrationLost: 'RegistrationLost',
  /** An applied migration's file changed since it was applied. */
  MigrationChecksumMismatch: 'MigrationChecksumMismatch',
  /** The tenant is not in the state the operation needs (suspending one that is not ACTIVE, ...). */
  TenantStateConflict: 'TenantStateConflict',
  /** An export read back does not match its manifest, or the manifest does not match the database. */
  ExportMismatch: 'ExportMismatch',
  /** The export's bytes are not a gzip stream (garbage, or damaged inside). */
  ExportCorrupt: 'ExportCorrupt',
  /** The export ends before it is complete (inside the gzip stream, a table, or before its manifest). */
  ExportTruncated: 'ExportTruncated',
  /** The export is at a schema version newer than the tenant API's migrations know. */
  ExportFromTheFuture: 'ExportFromTheFuture',
  /** The export decodes to more than its manifest allows (a gzip bomb): decoding stopped there. */
  ExportTooLarge: 'ExportTooLarge',
  /** The version of the export that was verified is gone, or its bytes are not those verified. */
  ExportReplaced: 'ExportReplaced',
  /** A release names a tenant API version that is not in the artifact bucket. */
  VersionNotFound: 'VersionNotFound',
  /** A cell that is an AWS account of its own lacks what its stack makes there (infra/cell-stack.ts). */
  CellNotReady: 'CellNotReady',
  /**
   * The settings put a cell in another AWS account than its tenants and shared instances were made in
   * (common/cells.ts cellAccountChanges): nothing is placed or moved there until they name it again.
   */
  CellAccountChanged: 'CellAccountChanged',
  /** A new function version did not answer `GET /health` with 200 and the schema it was released with. */
  HealthCheckFailed: 'HealthCheckFailed',
  /** An import's source database cannot be reached (no route, nothing listening, no answer in time). */
  ImportSourceUnreachable: 'ImportSourceUnreachable',
  /** An import's source refused us: wrong password, no such database, no right to read a table. */
  ImportSourceRefused: 'ImportSourceRefused',
  /** An import's source matches no version of the shop schema (the message names the differences). */
  ImportSchemaMismatch: 'ImportSchemaMismatch',
  /** A dump holds something an import never runs and refuses by rule (a role, COPY ... PROGRAM, a shell escape). */
  ImportDumpRefused: 'ImportDumpRefused',
  /** A dump ends before it is complete (inside a COPY, or without pg_dump's closing line). */
  ImportDumpTruncated: 'ImportDumpTruncated',
  /** The rows loaded are not the rows read (counted and hashed table by table), or do not fit the schema. */
  ImportMismatch: 'ImportMismatch',
  /** A limit of the platform or an AWS quota stands in the way (common/capacity.ts); the message names it. */
  QuotaExceeded: 'QuotaExceeded',
  /** Adding a shared instance failed again and again: no place for a shared tenant until that is fixed. */
  NoCapacity: 'NoCapacity',
  /**
   * A move's target does not match its source (schema version, tables and columns, rows), or its copy
   * did not catch up with the source in time.
   */
  MoveMismatch: 'MoveMismatch',
  /** Anything we could not classify: not retried, so a bug fails fast instead of looping. */
  StepFailed: 'StepFailed',
} as const;

export type TransientErrorName = (typeof TransientErrors)[keyof typeof TransientErrors];
export type PermanentErrorName = (typeof PermanentErrors)[keyof typeof PermanentErrors];
export type OnboardingErrorName =
  TransientErrorName | PermanentErrorName | (typeof WaitErrors)[keyof typeof WaitErrors];

export const TRANSIENT_ERROR_NAMES: readonly TransientErrorName[] = Object.values(TransientErrors);
export const PERMANENT_ERROR_NAMES: readonly PermanentErrorName[] = Object.values(PermanentErrors);

/** An error whose `name` is one of the contract's names; `cause` keeps what was caught. */
export class OnboardingError extends Error {
  override readonly name: OnboardingErrorName;

  constructor(name: OnboardingErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);
const PG_BUSY_CODES = new Set(['57P03', '53300', '40001', '40P01']);
// node-postgres reports a dropped or slow connection without a code.
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect)/;

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Turns whatever a handler caught into an `OnboardingError` with a contract name, keeping the original as
 * `cause`. The message says what failed but never carries request parameters (which may hold secrets).
 */
export function classifyError(error: unknown): OnboardingError {
  if (error instanceof OnboardingError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const detail = `${name}: ${message}`;
  const status = e.$metadata?.httpStatusCode;
  const code = typeof e.code === 'string' ? e.code : undefined;

  if (THROTTLING_NAMES.has(name) || status === 429) {
    return new OnboardingError(TransientErrors.Throttled, detail, { cause: error });
  }
  if (e.$fault === 'server' || (status !== undefined && status >= 500) || name === 'TimeoutError') {
    return new OnboardingError(TransientErrors.ServiceUnavailable, detail, { cause: error });
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || PG_CONNECTION_MESSAGES.test(message)) {
    return new OnboardingError(TransientErrors.ConnectionFailed, detail, { cause: error });
  }
  if (code !== undefined && PG_BUSY_CODES.has(code)) {
    return new OnboardingError(TransientErrors.DatabaseBusy, `PostgreSQL ${code}: ${message}`, {
      cause: error,
    });
  }
  return new OnboardingError(PermanentErrors.StepFailed, detail, { cause: error });
}
