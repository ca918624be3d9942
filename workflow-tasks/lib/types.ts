import type { TenantResourceNames } from '../../common/names';
import type { TenantInput } from '../../common/tenant-input';

/** What every task Lambda receives: the execution's id and the whole state (input + earlier results). */
export interface TaskEvent {
  readonly executionArn: string;
  readonly state: OnboardingState;
}

/** The execution state: the raw input at the top level, step results under `results`, a caught error. */
export interface OnboardingState {
  readonly results?: Partial<StepResults>;
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly [field: string]: unknown;
}

export interface ValidatedTenant extends TenantInput {
  readonly names: TenantResourceNames;
}

export interface StepResults {
  tenant: ValidatedTenant;
  /**
   * `tenantApiVersion`: the version the tenant starts on (the platform's current one when it registered):
   * "Apply schema" runs its migrations while "Deploy function" and "Publish frontend" deploy its code.
   */
  registration: { tenantId: string; status: 'PROVISIONING'; executionArn: string; tenantApiVersion: string };
  secret: { secretArn: string; secretName: string };
  /** Shared tier: the database on the shared instance. Dedicated: the RDS instance being created. */
  database: { database: string; role: string; host: string; port: number; instanceId?: string };
  instance: { status: string; rounds: number; host?: string; port?: number };
  /** `tenantApiVersion`: the version whose migrations were applied (the registration's). */
  schema: {
    schemaVersion: number;
    migrations: string[];
    adminEmail: string;
    tenantApiVersion: string;
    /**
     * With `restoreFrom`: the export loaded (the object version that was verified), its rows per table,
     * and, when the key was written again after the verification, what was ignored (ExportReplaced).
     * With `fromSnapshot`: the final snapshot the instance was restored from, and the rows it has.
     */
    restored?: {
      from: string;
      versionId?: string;
      snapshot?: string;
      rows: Record<string, number>;
      replaced?: string;
    };
  };
  function: {
    functionName: string;
    functionArn: string;
    /** The alias `live` (what the HTTP API invokes) and the published version it points to. */
    aliasArn: string;
    liveVersion: string;
    /** The code the live version runs (common/versions.ts). */
    codeVersion: string;
    roleName: string;
    roleArn: string;
    apiId: string;
    apiEndpoint: string;
  };
  domain:
    | { skipped: true }
    | { skipped: false; domainName: string; apiMappingId: string; targetDomainName: string };
  frontend: { siteBucket: string; sitePrefix: string; files: string[]; configKey: string; apiUrl: string };
  invalidation: { distributionId: string; invalidationId: string; paths: string[] };
  activation: { tenantId: string; status: 'ACTIVE' };
}
