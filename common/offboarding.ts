/** State names of the offboarding workflow, shared by the CDK construct and the local runtime. */
export const OffboardingStates = {
  claim: 'Claim tenant for offboarding',
  refused: 'Request refused',
  exported: 'Export verified already?',
  suspend: 'Suspend tenant',
  export: 'Export database',
  verify: 'Verify export',
  resume: 'Rollback: resume tenant',
  kept: 'Offboarding undone',
  removeDomain: 'Remove custom domain',
  removeFrontend: 'Remove frontend',
  removeFunction: 'Remove function and API',
  removeDatabase: 'Remove database',
  removeSecret: 'Remove secret',
  markOffboarded: 'Mark offboarded',
  offboarded: 'Tenant offboarded',
  recordFailure: 'Record offboarding failure',
  failed: 'Offboarding failed',
} as const;

/** Days an export is kept (and cannot be deleted) when the CDK context names none. */
export const DEFAULT_ARCHIVE_RETENTION_DAYS = 90;

/** Where a tenant's exports live in the archive bucket (workflow-tasks/records/archive.ts says what each holds). */
export const ArchiveKeys = {
  prefix: (tenantId: string) => `exports/${tenantId}/`,
  export: (tenantId: string, stamp: string) => `exports/${tenantId}/${stamp}.tenant-export.gz`,
  manifest: (exportKey: string) => exportKey.replace(/\.tenant-export\.gz$/, '.manifest.json'),
  /** Written once, by "Verify export": the version and SHA-256 that were verified. */
  verified: (exportKey: string) => exportKey.replace(/\.tenant-export\.gz$/, '.verified.json'),
  latest: (tenantId: string) => `exports/${tenantId}/latest.json`,
} as const;

/** An export key as the onboarding input's `restoreFrom` accepts it. */
export const EXPORT_KEY_PATTERN = /^exports\/[a-z][a-z0-9-]{1,30}[a-z0-9]\/[0-9TZ]{16}\.tenant-export\.gz$/;

/** The tenant and the offboarding (its start, the export's stamp) an export key was written for. */
export function exportOrigin(exportKey: string): { tenantId: string; stamp: string } | undefined {
  const match = /^exports\/([^/]+)\/([0-9TZ]{16})\.tenant-export\.gz$/.exec(exportKey);
  return match ? { tenantId: match[1]!, stamp: match[2]! } : undefined;
}
