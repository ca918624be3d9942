/**
 * Customers' domains in the registry (`tenant_domains`, migrations/platform/0007_domains.sql): who holds
 * which domain, its status, the records the customer adds and what the last check saw. A domain and every
 * name under or above it belong to one tenant; every claim is made under one lock, onboarding's too
 * (registry.ts), so two claims cannot both pass. `tenants.domain` is the domain the tenant has or is
 * getting: set by a claim, put back by a failure, cleared by a detach. Who holds a domain is registry.ts's
 * to say (onboarding asks it too).
 */
import { capacityFromEnv, refuseOverDistributionTenants } from './capacity';
import type { ClientBase } from 'pg';
import type { DnsRecord, DomainStatus } from '../../common/domain-workflow';
import { displayDomain } from '../../common/domains';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { domainHolder, heldBy, lockDomains, withRegistry } from './registry';

export interface DomainRecord {
  readonly tenantId: string;
  readonly domain: string;
  readonly status: DomainStatus;
  readonly records: DnsRecord[];
  readonly distributionTenants: { site?: string; api?: string };
  readonly lastSeen: unknown;
  readonly checkedAt: Date | null;
  readonly reason: string | null;
  readonly deadline: Date;
  readonly executionArn: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Whether the domain's request or removal is under way: its workflow has work left on it. */
export function underWay(domain: Pick<DomainRecord, 'status'>): boolean {
  return domain.status === 'PENDING_VALIDATION' || domain.status === 'REMOVING';
}

/** Tenant states in which a tenant may have a domain of its own attached. */
export const LIVE = ['ACTIVE', 'SUSPENDED'];

export interface DomainClaim {
  /** The domain is already this tenant's and active: nothing to do. */
  readonly alreadyActive: boolean;
  /** The tenant's active domain this one replaces once it is active (a change). */
  readonly replacing: string | null;
  /** Another domain whose request ended without finishing: now REMOVING, for the claim to remove. */
  readonly abandoned?: string;
  readonly deadline: string;
}

/**
 * Claims `domain` for the tenant on behalf of this execution: PENDING_VALIDATION until `deadline`, with
 * the records to add. Refused (changing nothing): a tenant that is not live (ACTIVE or SUSPENDED), a domain
 * another tenant holds, a second request while one is pending. Claiming twice from one execution is the
 * same claim; claiming a domain the tenant already has active changes nothing.
 */
export interface DomainClaimRequest {
  readonly tenantId: string;
  readonly domain: string;
  /** The domain workflow's execution claiming it. */
  readonly executionArn: string;
  /** How long the customer has to add the records. */
  readonly validationSeconds: number;
  readonly records: DnsRecord[];
  /** Whether the execution of a request under way still runs (one that ended without finishing is taken over). */
  readonly stillRunning: (executionArn: string) => Promise<boolean>;
}

export async function claimDomain(request: DomainClaimRequest): Promise<DomainClaim> {
  return withRegistry(async (client) => {
    await client.query('BEGIN');
    try {
      await lockDomains(client);
      const claim = await claimLocked(client, request);
      await client.query('COMMIT');
      return claim;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}

async function claimLocked(client: ClientBase, request: DomainClaimRequest): Promise<DomainClaim> {
  const { tenantId, domain, executionArn, validationSeconds, records, stillRunning } = request;
  const { rows: tenants } = await client.query<{ status: string }>(
    'SELECT status FROM tenants WHERE id = $1',
    [tenantId],
  );
  const status = tenants[0]?.status;
  if (!status || !LIVE.includes(status))
    throw new OnboardingError(
      PermanentErrors.TenantStateConflict,
      `tenant ${tenantId} is ${status ?? 'not registered'}: a domain is attached to a live tenant (ACTIVE or SUSPENDED)`,
    );
  const mine = await tenantDomainsOn(client, tenantId);
  const same = mine.find((d) => d.domain === domain);
  if (same?.status === 'ACTIVE')
    return { alreadyActive: true, replacing: null, deadline: same.deadline.toISOString() };
  if (same && same.executionArn === executionArn && same.status === 'PENDING_VALIDATION')
    return {
      alreadyActive: false,
      replacing: mine.find((d) => d.status === 'ACTIVE')?.domain ?? null,
      deadline: same.deadline.toISOString(),
    };
  const busy = mine.find((d) => underWay(d) && d.executionArn !== executionArn);
  // A request whose execution ended without finishing (stopped, timed out, a platform restarted) is taken
  // over: the same domain's row becomes this request's; another domain's is left REMOVING for the claim.
  if (busy && (await stillRunning(busy.executionArn)))
    throw new OnboardingError(
      PermanentErrors.TenantStateConflict,
      `tenant ${tenantId} has a domain request under way (${busy.domain} is ${busy.status}): wait for it to end, or detach`,
    );
  const holder = await domainHolder(client, tenantId, domain);
  if (holder) throw heldBy(domain, holder);
  await refuseOverDistributionTenants(client, tenantId, domain, capacityFromEnv());
  const abandoned = busy && busy.domain !== domain ? busy.domain : undefined;
  if (abandoned)
    await client.query(
      `UPDATE tenant_domains SET status = 'REMOVING', updated_at = now() WHERE tenant_id = $1 AND domain = $2`,
      [tenantId, abandoned],
    );
  const { rows } = await client.query<{ deadline: Date }>(
    `INSERT INTO tenant_domains (tenant_id, domain, status, records, deadline, execution_arn)
     VALUES ($1, $2, 'PENDING_VALIDATION', $3::jsonb, now() + make_interval(secs => $4), $5)
     ON CONFLICT (tenant_id, domain) DO UPDATE
       SET status = 'PENDING_VALIDATION', records = EXCLUDED.records, deadline = EXCLUDED.deadline,
           execution_arn = EXCLUDED.execution_arn, distribution_tenants = '{}'::jsonb, last_seen = NULL,
           checked_at = NULL, reason = NULL, created_at = now(), updated_at = now()
     RETURNING deadline`,
    [tenantId, domain, JSON.stringify(records), validationSeconds, executionArn],
  );
  await client.query('UPDATE tenants SET domain = $2, updated_at = now() WHERE id = $1', [tenantId, domain]);
  return {
    alreadyActive: false,
    replacing: mine.find((d) => d.status === 'ACTIVE')?.domain ?? null,
    deadline: (rows[0]?.deadline ?? new Date()).toISOString(),
    ...(abandoned ? { abandoned } : {}),
  };
}

/** Updates the row this execution's claim made; a row that is no longer its own is an error. */
async function updateOwned(
  tenantId: string,
  domain: string,
  executionArn: string,
  set: string,
  values: unknown[],
): Promise<void> {
  await withRegistry(async (client) => {
    const result = await client.query(
      `UPDATE tenant_domains SET ${set}, updated_at = now()
        WHERE tenant_id = $1 AND domain = $2 AND execution_arn = $3`,
      [tenantId, domain, executionArn, ...values],
    );
    if (result.rowCount !== 1)
      throw new OnboardingError(
        PermanentErrors.RegistrationLost,
        `domain ${domain} of tenant ${tenantId} is no longer this request's (detached, or asked for again)`,
      );
  });
}

/** Records the distribution tenants made for the domain, so that removing it finds them. */
export function recordDistributionTenants(
  tenantId: string,
  domain: string,
  executionArn: string,
  made: { site?: string; api?: string },
): Promise<void> {
  return updateOwned(
    tenantId,
    domain,
    executionArn,
    'distribution_tenants = distribution_tenants || $4::jsonb',
    [JSON.stringify(made)],
  );
}

/** What the last check saw. */
export function recordCheck(
  tenantId: string,
  domain: string,
  executionArn: string,
  seen: unknown,
): Promise<void> {
  return updateOwned(tenantId, domain, executionArn, 'last_seen = $4::jsonb, checked_at = now()', [
    JSON.stringify(seen),
  ]);
}

export function markDomainActive(tenantId: string, domain: string, executionArn: string): Promise<void> {
  return updateOwned(tenantId, domain, executionArn, `status = 'ACTIVE', reason = NULL`, []);
}

/**
 * FAILED with the reason, once what was made for it is gone; the tenant's domain is again the one it has
 * active (or none). A row that is no longer this execution's is left alone.
 */
export async function markDomainFailed(
  tenantId: string,
  domain: string,
  executionArn: string,
  reason: string,
): Promise<void> {
  await withRegistry(async (client) => {
    await client.query(
      `UPDATE tenant_domains SET status = 'FAILED', reason = $4, distribution_tenants = '{}'::jsonb,
              updated_at = now()
        WHERE tenant_id = $1 AND domain = $2 AND execution_arn = $3`,
      [tenantId, domain, executionArn, reason],
    );
    await resetTenantDomain(client, tenantId);
  });
}

/** Marks the tenant's domain REMOVING (nothing serves a domain being removed once its tenants are gone). */
export async function markRemoving(tenantId: string, domain: string): Promise<void> {
  await withRegistry((client) =>
    client.query(
      `UPDATE tenant_domains SET status = 'REMOVING', updated_at = now()
        WHERE tenant_id = $1 AND domain = $2 AND status <> 'FAILED'`,
      [tenantId, domain],
    ),
  );
}

/** Forgets a removed domain; the tenant's domain is again another it has (or none). */
export async function forgetDomain(tenantId: string, domain: string): Promise<void> {
  await withRegistry(async (client) => {
    await client.query('DELETE FROM tenant_domains WHERE tenant_id = $1 AND domain = $2', [tenantId, domain]);
    await resetTenantDomain(client, tenantId);
  });
}

/**
 * `tenants.domain` of a live tenant: the domain it is getting, else the one it has, else none. A tenant
 * being rolled back or offboarded keeps the domain it was registered with (its history, the search, a
 * restore); it holds it no longer once ROLLED_BACK or OFFBOARDED.
 */
async function resetTenantDomain(client: ClientBase, tenantId: string): Promise<void> {
  await client.query(
    `UPDATE tenants SET domain = (
        SELECT domain FROM tenant_domains WHERE tenant_id = $1 AND status IN ('PENDING_VALIDATION', 'ACTIVE')
         ORDER BY status = 'PENDING_VALIDATION' DESC, updated_at DESC LIMIT 1), updated_at = now()
      WHERE id = $1 AND status = ANY($2::text[])`,
    [tenantId, LIVE],
  );
}

/** Every live tenant's domain still waiting for its records, oldest first. */
export function pendingDomains(): Promise<DomainRecord[]> {
  return withRegistry(async (client) => {
    const { rows } = await client.query<Row>(
      `SELECT d.* FROM tenant_domains d JOIN tenants t ON t.id = d.tenant_id
        WHERE d.status = 'PENDING_VALIDATION' AND t.status = ANY($1::text[])
        ORDER BY d.created_at`,
      [LIVE],
    );
    return rows.map(toRecord);
  });
}

/** The tenant's domains (failed ones too), newest first. */
export function tenantDomains(tenantId: string): Promise<DomainRecord[]> {
  return withRegistry((client) => tenantDomainsOn(client, tenantId));
}

/** The same, over any connection to the platform database (tenantctl and the console have their own). */
export async function tenantDomainsOn(client: ClientBase, tenantId: string): Promise<DomainRecord[]> {
  const { rows } = await client.query<Row>(
    `SELECT * FROM tenant_domains WHERE tenant_id = $1 ORDER BY created_at DESC, domain`,
    [tenantId],
  );
  return rows.map(toRecord);
}

/** A domain as `tenantctl domain --json`, the control-plane API and the console show it. */
export type DomainView = ReturnType<typeof domainView>;

export function domainView(d: DomainRecord) {
  return {
    domain: d.domain,
    displayName: displayDomain(d.domain),
    status: d.status,
    records: d.records,
    lastSeen: d.lastSeen,
    checkedAt: d.checkedAt?.toISOString() ?? null,
    reason: d.reason,
    deadline: d.deadline.toISOString(),
    executionArn: d.executionArn,
  };
}

interface Row {
  tenant_id: string;
  domain: string;
  status: DomainStatus;
  records: DnsRecord[];
  distribution_tenants: { site?: string; api?: string };
  last_seen: unknown;
  checked_at: Date | null;
  reason: string | null;
  deadline: Date;
  execution_arn: string;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: Row): DomainRecord {
  return {
    tenantId: row.tenant_id,
    domain: row.domain,
    status: row.status,
    records: row.records,
    distributionTenants: row.distribution_tenants,
    lastSeen: row.last_seen,
    checkedAt: row.checked_at,
    reason: row.reason,
    deadline: row.deadline,
    executionArn: row.execution_arn,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
