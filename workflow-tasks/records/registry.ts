import type { ClientBase, PoolClient } from 'pg';
import { OnboardingError, PermanentErrors, WaitErrors } from '../../common/errors';
import { TaskEnv, tenantResourceNames } from '../../common/names';
import { withMasterClient } from '../lib/db';
import { requiredEnv } from '../../common/env';
import { migrate } from '../lib/migrate';
import type { ValidatedTenant } from '../lib/types';
import type { VerifiedExport } from './archive';
import { allows, HOLDING, refusal, statesAllowing, type Operation, type TenantStatus } from './lifecycle';

export type { TenantStatus } from './lifecycle';

/** The tenant's last offboarding, as the registry keeps it (workflow-tasks/offboarding/steps.ts). */
export interface OffboardingSummary {
  readonly executionArn: string;
  readonly previousStatus: string;
  /** The verified export: where it is, the version and SHA-256 verified, and until when it is kept. */
  readonly export?: VerifiedExport;
  /** A removal that failed after its retries (OFFBOARDING_FAILED). */
  readonly failure?: { step: string; Error?: string; Cause?: string };
  readonly offboardedAt?: string;
}

export interface TenantRecord {
  readonly id: string;
  readonly status: TenantStatus;
  readonly tier: string;
  readonly companyName: string;
  readonly adminEmail: string;
  readonly domain: string | null;
  /** The shared instance a shared tenant's database is on (records/capacity.ts); null: a dedicated tenant. */
  readonly dbInstance: string | null;
  /** The cell the tenant is placed in (common/capacity.ts). */
  readonly cell: string;
  /** The AWS account its resources were made in when its cell has its own (common/cells.ts). */
  readonly cellAccount: string | null;
  readonly executionArn: string;
  readonly resources: Record<string, unknown>;
  readonly error: unknown;
  /** The version ledger: the code and schema the tenant runs (null until it is first live). */
  readonly codeVersion: string | null;
  readonly schemaVersion: number | null;
  /** When the versions last changed, and the release that changed them (null: onboarding). */
  readonly versionsUpdatedAt: Date | null;
  readonly versionsRelease: string | null;
  /** The tenant's last release attempt: the release, its outcome there (`updated`, `failed`) and the error. */
  readonly lastRelease: { release: string; outcome: string; error: string | null } | null;
  readonly offboarding: OffboardingSummary | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Where a registration places the tenant (records/capacity.ts placeTenant). */
interface TenantPlacement {
  readonly cell: string;
  readonly instance: string | null;
  /** The cell's AWS account when it has its own (common/cells.ts). */
  readonly cellAccount?: string;
}

const schemaReady = new Map<string, Promise<unknown>>();

/** Runs `fn` against the platform database, applying its migrations once per process and server first. */
export async function withRegistry<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const database = requiredEnv(TaskEnv.platformDbName);
  const server = `${requiredEnv(TaskEnv.sharedDbHost)}:${requiredEnv(TaskEnv.sharedDbPort)}/${database}`;
  let ready = schemaReady.get(server);
  if (!ready) {
    ready = withMasterClient(database, (client) => migrate(client, 'platform')).catch((error: unknown) => {
      schemaReady.delete(server);
      throw error;
    });
    schemaReady.set(server, ready);
  }
  await ready;
  return withMasterClient(database, fn);
}

/**
 * Claims the tenant for this execution. A new id, or one whose earlier onboarding was rolled back, is
 * claimed; a tenant owned by another execution is refused. Claiming twice from the same execution is a
 * no-op, so a retried Lambda gets the same answer. A claim takes one of the platform's onboarding slots
 * (MAX_CONCURRENT_ONBOARDINGS rows PROVISIONING at once, counted under a lock so concurrent claims cannot
 * both take the last one); with none free it fails with OnboardingSlotsFull, which the state machine
 * retries. A registration older than the state machine's timeout holds no slot: its execution has ended.
 * In the same transaction `place` picks the cell the tenant goes in, and a shared tenant's instance there
 * (records/capacity.ts).
 */
export async function claimTenant(
  tenant: ValidatedTenant,
  executionArn: string,
  place: (client: ClientBase) => Promise<TenantPlacement>,
): Promise<void> {
  await withRegistry(async (client) => {
    const existing = await findTenant(client, tenant.tenantId);
    if (existing?.executionArn === executionArn && existing.status === 'PROVISIONING') return;
    if (existing && !allows(existing.status, operationOf(tenant)))
      throw alreadyRegistered(tenant, existing.status);
    await client.query('BEGIN');
    try {
      await takeOnboardingSlot(client);
      await insertClaim(client, tenant, executionArn, await place(client));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}

async function takeOnboardingSlot(client: ClientBase): Promise<void> {
  const limit = Number(requiredEnv(TaskEnv.maxConcurrentOnboardings));
  const window = Number(requiredEnv(TaskEnv.onboardingTimeoutSeconds));
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('tenant-onboarding-slots'))`);
  const { rows } = await client.query<{ provisioning: number }>(
    `SELECT count(*)::int AS provisioning FROM tenants
      WHERE status = 'PROVISIONING' AND updated_at > now() - make_interval(secs => $1)`,
    [window],
  );
  const provisioning = rows[0]?.provisioning ?? 0;
  if (provisioning >= limit)
    throw new OnboardingError(
      WaitErrors.OnboardingSlotsFull,
      `${provisioning} onboardings are provisioning, the most allowed at once (${limit}): waiting for a slot`,
    );
}

async function insertClaim(
  client: ClientBase,
  tenant: ValidatedTenant,
  executionArn: string,
  { cell, instance, cellAccount }: TenantPlacement,
): Promise<void> {
  await refuseHeldDomain(client, tenant);
  let claimed;
  try {
    claimed = await client.query(
      `INSERT INTO tenants (id, status, tier, company_name, admin_email, domain, execution_arn, db_instance, cell,
                            cell_account)
       VALUES ($1, 'PROVISIONING', $2, $3, $4, $5, $6, $8, $9, $10)
       ON CONFLICT (id) DO UPDATE
         SET status = 'PROVISIONING', tier = EXCLUDED.tier, company_name = EXCLUDED.company_name,
             admin_email = EXCLUDED.admin_email, domain = EXCLUDED.domain, db_instance = EXCLUDED.db_instance,
             cell = EXCLUDED.cell, cell_account = EXCLUDED.cell_account,
             execution_arn = EXCLUDED.execution_arn, resources = '{}'::jsonb, error = NULL,
             created_at = now(), updated_at = now(), activated_at = NULL,
             -- A new incarnation carries nothing of the previous life: not its versions, releases or export.
             code_version = NULL, schema_version = NULL, versions_updated_at = NULL, versions_release = NULL,
             last_release = NULL, last_release_outcome = NULL, last_release_error = NULL, offboarding = NULL
         WHERE tenants.status = ANY($7::text[])
       RETURNING id`,
      [
        ...registryColumns(tenant, executionArn),
        statesAllowing(operationOf(tenant)),
        instance,
        cell,
        cellAccount ?? null,
      ],
    );
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new OnboardingError(
        PermanentErrors.ResourceConflict,
        `domain ${tenant.domain ?? ''} is already claimed by another tenant`,
      );
    }
    throw error;
  }
  if (claimed.rowCount === 1) return;
  const existing = await findTenant(client, tenant.tenantId);
  throw alreadyRegistered(tenant, existing?.status ?? 'unknown');
}

/**
 * A domain and every name under it belong to one tenant: a claim of `shop.example` while another tenant
 * holds `api.shop.example` (or the reverse) is refused like a claim of the same name, whether the other
 * tenant registered it at onboarding or has or is getting it through the domain workflow (domains.ts).
 */
async function refuseHeldDomain(client: ClientBase, tenant: ValidatedTenant): Promise<void> {
  if (!tenant.domain) return;
  await lockDomains(client);
  const holder = await domainHolder(client, tenant.tenantId, tenant.domain);
  if (holder) throw heldBy(tenant.domain, holder);
}

/** Serializes every claim of a domain (onboarding's and the domain workflow's), for this transaction. */
export async function lockDomains(client: ClientBase): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('tenant-domains'))`);
}

/**
 * The other tenant holding `domain`, a name under it or one above it: through its registered domain, or
 * a domain it has or is getting. None: the domain is free for `tenantId`.
 */
export async function domainHolder(
  client: ClientBase,
  tenantId: string,
  domain: string,
): Promise<{ tenantId: string; domain: string } | undefined> {
  const { rows } = await client.query<{ tenant_id: string; domain: string }>(
    `WITH held AS (
       SELECT id AS tenant_id, domain FROM tenants WHERE domain IS NOT NULL AND status = ANY($3::text[])
       UNION ALL
       SELECT d.tenant_id, d.domain FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
        WHERE d.status <> 'FAILED' AND t.status = ANY($3::text[]))
     SELECT tenant_id, domain FROM held
      WHERE tenant_id <> $1
        AND (domain = $2 OR right($2, length(domain) + 1) = '.' || domain OR right(domain, length($2) + 1) = '.' || $2)
      LIMIT 1`,
    [tenantId, domain, HOLDING],
  );
  const holder = rows[0];
  return holder ? { tenantId: holder.tenant_id, domain: holder.domain } : undefined;
}

/** The refusal of a claim `holder` stands in the way of (the owner is named: operators read it). */
export function heldBy(domain: string, holder: { tenantId: string; domain: string }): OnboardingError {
  return new OnboardingError(
    PermanentErrors.ResourceConflict,
    holder.domain === domain
      ? `domain ${domain} is already claimed by another tenant (${holder.tenantId})`
      : `domain ${domain} is under or above ${holder.domain}, which tenant ${holder.tenantId} holds: a domain and the names under it belong to one tenant`,
  );
}

function alreadyRegistered(tenant: ValidatedTenant, status: string): OnboardingError {
  return new OnboardingError(
    PermanentErrors.TenantAlreadyRegistered,
    refusal(tenant.tenantId, status as TenantStatus, operationOf(tenant)),
  );
}

/** An onboarding with `restoreFrom` is a restore. */
function operationOf(tenant: ValidatedTenant): Operation {
  return tenant.restoreFrom ? 'restore' : 'onboard';
}

/** Sets the status of a tenant this execution owns; returns false when it owns no such row. */
export async function setStatusIfOwned(
  tenantId: string,
  executionArn: string,
  status: TenantStatus,
  fields: {
    resources?: Record<string, unknown>;
    error?: unknown;
    versions?: { codeVersion: string; schemaVersion: number };
  } = {},
): Promise<boolean> {
  return withRegistry(async (client) => {
    const result = await client.query(
      `UPDATE tenants
          SET status = $3,
              resources = resources || COALESCE($4::jsonb, '{}'::jsonb),
              error = COALESCE($5::jsonb, error),
              activated_at = CASE WHEN $3 = 'ACTIVE' THEN COALESCE(activated_at, now()) ELSE activated_at END,
              code_version = COALESCE($6, code_version),
              schema_version = COALESCE($7, schema_version),
              -- When the versions change, not whenever they are recorded (a restart re-records them).
              versions_updated_at = CASE
                WHEN $6::text IS NULL THEN versions_updated_at
                WHEN code_version IS NOT DISTINCT FROM $6 AND schema_version IS NOT DISTINCT FROM $7::int
                  AND versions_updated_at IS NOT NULL THEN versions_updated_at
                ELSE now() END,
              updated_at = now()
        WHERE id = $1 AND execution_arn = $2`,
      [
        tenantId,
        executionArn,
        status,
        fields.resources ? JSON.stringify(fields.resources) : null,
        fields.error === undefined ? null : JSON.stringify(fields.error),
        fields.versions?.codeVersion ?? null,
        fields.versions?.schemaVersion ?? null,
      ],
    );
    return result.rowCount === 1;
  });
}

/**
 * Marks the tenant this execution owns `ROLLED_BACK` with the error; when no row exists at all (the
 * registration failed before writing), records one. Returns false when the row belongs to another execution.
 */
export async function markRolledBack(
  tenant: ValidatedTenant,
  executionArn: string,
  error: unknown,
): Promise<boolean> {
  if (await setStatusIfOwned(tenant.tenantId, executionArn, 'ROLLED_BACK', { error })) return true;
  return withRegistry(async (client) => {
    const inserted = await client.query(
      `INSERT INTO tenants (id, status, tier, company_name, admin_email, domain, execution_arn, error)
       VALUES ($1, 'ROLLED_BACK', $2, $3, $4, $5, $6, $7::jsonb)
       ON CONFLICT (id) DO NOTHING`,
      [...registryColumns(tenant, executionArn), JSON.stringify(error)],
    );
    return inserted.rowCount === 1;
  });
}

/** Merges resource ids into the row this execution owns (so a retried step finds what it made). */
export async function recordResources(
  tenantId: string,
  executionArn: string,
  resources: Record<string, unknown>,
): Promise<void> {
  await withRegistry(async (client) => {
    const result = await client.query(
      `UPDATE tenants SET resources = resources || $3::jsonb, updated_at = now()
        WHERE id = $1 AND execution_arn = $2`,
      [tenantId, executionArn, JSON.stringify(resources)],
    );
    if (result.rowCount !== 1) {
      throw new OnboardingError(
        PermanentErrors.RegistrationLost,
        `tenant ${tenantId} is no longer owned by this onboarding`,
      );
    }
  });
}

export async function getTenant(tenantId: string): Promise<TenantRecord | undefined> {
  return withRegistry((client) => findTenant(client, tenantId));
}

export async function listTenants(): Promise<TenantRecord[]> {
  return withRegistry(queryTenants);
}

/** Every tenant, oldest first, read over any connection to the platform database (the CLI has its own). */
export async function queryTenants(client: ClientBase): Promise<TenantRecord[]> {
  const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM tenants ORDER BY created_at, id`);
  return rows.map(toRecord);
}

/** A tenant as `tenantctl tenants --json`, the control-plane API and the console show it. */
export type TenantView = ReturnType<typeof tenantView>;

export function tenantView(t: TenantRecord) {
  return {
    tenantId: t.id,
    status: t.status,
    tier: t.tier,
    companyName: t.companyName,
    domain: t.domain,
    cell: t.cell,
    dbInstance: t.dbInstance,
    codeVersion: t.codeVersion,
    schemaVersion: t.schemaVersion,
    versionsUpdatedAt: t.versionsUpdatedAt?.toISOString() ?? null,
    versionsRelease: t.versionsRelease,
    lastRelease: t.lastRelease,
    // Offboarded: where its export is and until when it is kept; OFFBOARDING_FAILED: the step that failed.
    offboarding: t.offboarding
      ? {
          export: t.offboarding.export
            ? { key: t.offboarding.export.key, retainUntil: t.offboarding.export.retainUntil }
            : null,
          failure: t.offboarding.failure ?? null,
        }
      : null,
    created: t.createdAt.toISOString(),
  };
}

const COLUMNS = `id, status, tier, company_name, admin_email, domain, db_instance, cell, cell_account, execution_arn, resources, error, code_version, schema_version, versions_updated_at, versions_release, last_release, last_release_outcome, last_release_error, offboarding, created_at, updated_at`;

interface Row {
  id: string;
  status: TenantStatus;
  tier: string;
  company_name: string;
  admin_email: string;
  domain: string | null;
  db_instance: string | null;
  cell: string;
  cell_account: string | null;
  execution_arn: string;
  resources: Record<string, unknown>;
  error: unknown;
  code_version: string | null;
  schema_version: number | null;
  versions_updated_at: Date | null;
  versions_release: string | null;
  last_release: string | null;
  last_release_outcome: string | null;
  last_release_error: string | null;
  offboarding: OffboardingSummary | null;
  created_at: Date;
  updated_at: Date;
}

async function findTenant(client: ClientBase, tenantId: string): Promise<TenantRecord | undefined> {
  const { rows } = await client.query<Row>(`SELECT ${COLUMNS} FROM tenants WHERE id = $1`, [tenantId]);
  return rows[0] ? toRecord(rows[0]) : undefined;
}

function toRecord(row: Row): TenantRecord {
  return {
    id: row.id,
    status: row.status,
    tier: row.tier,
    companyName: row.company_name,
    adminEmail: row.admin_email,
    domain: row.domain,
    dbInstance: row.db_instance,
    cell: row.cell,
    cellAccount: row.cell_account,
    executionArn: row.execution_arn,
    resources: row.resources,
    error: row.error,
    codeVersion: row.code_version,
    schemaVersion: row.schema_version,
    versionsUpdatedAt: row.versions_updated_at,
    versionsRelease: row.versions_release,
    lastRelease: row.last_release
      ? { release: row.last_release, outcome: row.last_release_outcome ?? '', error: row.last_release_error }
      : null,
    offboarding: row.offboarding,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** $1-$6 of both INSERTs into tenants: id, tier, company_name, admin_email, domain, execution_arn. */
function registryColumns(tenant: ValidatedTenant, executionArn: string): (string | null)[] {
  return [
    tenant.tenantId,
    tenant.tier,
    tenant.companyName,
    tenant.adminEmail,
    tenant.domain ?? null,
    executionArn,
  ];
}

/** A registry row's columns of the tenant as onboarding validated it. */
export interface TenantColumns {
  readonly id: string;
  readonly tier: string;
  readonly company_name: string;
  readonly admin_email: string;
  readonly domain: string | null;
}

/** The tenant as onboarding validated it, rebuilt from its registry row: onboarding's undo code reads it. */
export function validatedTenantOf(row: TenantColumns): ValidatedTenant {
  return {
    tenantId: row.id,
    tier: row.tier as ValidatedTenant['tier'],
    companyName: row.company_name,
    adminEmail: row.admin_email,
    ...(row.domain ? { domain: row.domain } : {}),
    names: tenantResourceNames(row.id),
  };
}
