import type { DnsRecord } from '../../common/domain-workflow';
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
  /** `sharedInstance`: where a shared tenant was placed (records/capacity.ts): its endpoint and master secret. */
  registration: {
    tenantId: string;
    status: 'PROVISIONING';
    executionArn: string;
    tenantApiVersion: string;
    /** The cell it is placed in, and that cell's AWS account when it has its own (common/cells.ts). */
    cell: string;
    cellAccount?: string;
    sharedInstance?: { id: string; host: string; port: number; masterSecretArn: string };
  };
  /**
   * With `importFrom` ("Inspect import source"): the source (a database as `postgres://user@host:port/db`,
   * never its password, or the dump's key), its schema version, its tables' columns and row counts.
   */
  source: {
    kind: 'database' | 'dump';
    source: string;
    schemaVersion: number;
    tables: Record<string, string[]>;
    rows: Record<string, number>;
    /** A dump's tables of other schemas, read past. */
    ignored?: string[];
  };
  secret: { secretArn: string; secretName: string };
  /** Shared tier: the database on the shared instance. Dedicated: the RDS instance being created. */
  /** `sharedInstance`: the shared instance it is on (records/capacity.ts); `instanceId`: a dedicated one's. */
  database: {
    database: string;
    role: string;
    host: string;
    port: number;
    sharedInstance?: string;
    instanceId?: string;
  };
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
    /**
     * With `importFrom`: the source, the schema version its rows were loaded at (the newer migrations ran
     * after), and each table's rows and digest, the same read from the source and from the tenant's database.
     */
    imported?: {
      from: string;
      schemaVersion: number;
      tables: Record<string, { rows: number; digest: string }>;
    };
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
  /** The domain workflow onboarding started (workflow-tasks/domain), and the records the customer adds. */
  domain: { skipped: true } | { skipped: false; domain: string; executionArn: string; records: DnsRecord[] };
  frontend: { siteBucket: string; sitePrefix: string; files: string[]; configKey: string; apiUrl: string };
  invalidation: { distributionId: string; invalidationId: string; paths: string[] };
  /**
   * `cutOver`, for an imported tenant with a domain: the DNS records that move the customer's traffic from
   * the old app (which serves until they are changed) to the tenant.
   */
  activation: {
    tenantId: string;
    status: 'ACTIVE';
    cutOver?: DnsRecord[];
  };
}
