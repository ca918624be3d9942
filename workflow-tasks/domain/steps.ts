/**
 * The steps of the `tenant-domain` workflow (infra/tenant-domain.ts): a customer's own domain claimed,
 * its certificates requested on CloudFront SaaS Manager (distribution-tenants.ts), the records shown,
 * checked on a growing interval until they resolve and the certificates are issued or the deadline
 * passes, then served (and a domain it replaces removed) or given up with nothing left; and a detach.
 * The tenant stays live on its platform address throughout.
 */
import {
  domainRecords,
  domainRequestSchema,
  servedNames,
  type DnsRecord,
  type DomainRequest,
} from '../../common/domain-workflow';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { requiredEnv } from '../../common/env';
import { EventTypes, TaskEnv } from '../../common/names';
import { fieldProblems } from '../../common/tenant-input';
import { findApi } from '../deploy-function/step';
import { executionRunning, inCell } from '../lib/aws';
import { cellAccountOfTenant } from '../records/capacity';
import { publishEvent } from '../lib/events';
import { getTenant } from '../records/registry';
import {
  claimDomain,
  forgetDomain,
  markDomainActive,
  markDomainFailed,
  markRemoving,
  recordCheck,
  recordDistributionTenants,
  tenantDomains,
  type DomainClaim,
} from '../records/domains';
import {
  certificateStatus,
  deleteDistributionTenant,
  distributionTenantName,
  dnsOf,
  ensureDistributionTenant,
  type Distribution,
} from './distribution-tenants';

/** Tenant states after which a tenant has no domain (until it is onboarded or restored again). */
const GONE = ['ROLLED_BACK', 'ROLLBACK_FAILED', 'OFFBOARDED'];

interface Claimed extends DomainClaim {
  readonly action: 'attach' | 'detach';
  readonly records: DnsRecord[];
}

export interface CheckResult {
  /** `ready`: issued and resolving; `expired`: past the deadline; `waiting`: check again after `waitSeconds`. */
  readonly outcome: 'ready' | 'waiting' | 'expired';
  readonly waitSeconds: number;
  readonly seen: DomainSeen;
}

/** What a check saw: each certificate's status and each name's DNS. */
interface DomainSeen {
  readonly certificates: Record<Distribution, string>;
  readonly names: { name: string; status: string; reason?: string }[];
}

interface DomainState {
  readonly tenantId: string;
  readonly domain?: string;
  readonly claim?: Claimed;
  readonly request?: { site: string; api: string };
  readonly check?: CheckResult;
  readonly error?: { Error?: string; Cause?: string };
}

type Event = { readonly executionArn: string; readonly state: DomainState };

/** The attach's domain (present on every step after an attach's claim). */
function domainOf(state: DomainState): string {
  if (!state.domain) throw new OnboardingError(PermanentErrors.InvalidInput, 'domain: is required to attach');
  return state.domain;
}

/**
 * Checks the request: a well-formed tenant id and a domain that obeys the rules (common/domains.ts), else
 * InvalidInput naming the field. An attach claims the domain in the registry (registry refusals change
 * nothing: a tenant not live, a domain another tenant holds, a request already under way).
 */
export async function claim({ executionArn, state }: Event): Promise<Claimed> {
  const parsed = domainRequestSchema.safeParse(state);
  if (!parsed.success)
    throw new OnboardingError(PermanentErrors.InvalidInput, fieldProblems(parsed.error.issues).join('; '));
  const request: DomainRequest = parsed.data;
  if (request.action === 'detach')
    return { action: 'detach', alreadyActive: false, replacing: null, deadline: '', records: [] };
  const records = domainRecords(request.domain, requiredEnv(TaskEnv.routingEndpoint));
  const { abandoned, ...claimed } = await claimDomain({
    tenantId: request.tenantId,
    domain: request.domain,
    executionArn,
    validationSeconds: Number(requiredEnv(TaskEnv.domainValidationSeconds)),
    records,
    stillRunning: executionRunning,
  });
  if (abandoned) await removeDomain(request.tenantId, abandoned);
  return { action: 'attach', ...claimed, records };
}

/**
 * The distribution tenants of the site and the API, each with its managed certificate requested; recorded
 * before anything else happens, then `TenantDomainPending` with the records the customer adds.
 */
export async function requestCertificates({
  executionArn,
  state,
}: Event): Promise<{ site: string; api: string }> {
  const domain = domainOf(state);
  const names = servedNames(domain);
  // The tenant's API is in its cell's account (common/cells.ts).
  const api = await inCell(await cellAccountOfTenant(state.tenantId), () => findApi(state.tenantId));
  if (!api?.ApiEndpoint)
    throw new OnboardingError(
      PermanentErrors.TenantStateConflict,
      `tenant ${state.tenantId} has no HTTP API`,
    );
  const parameters = { site: {}, api: { apiHost: new URL(api.ApiEndpoint).host } };
  const made = { site: '', api: '' };
  for (const which of ['site', 'api'] as const) {
    made[which] = await ensureDistributionTenant(
      state.tenantId,
      which,
      domain,
      names[which],
      parameters[which],
    );
    // Detached (or the onboarding rolled back) meanwhile: what this request just made is its own to remove.
    await recordDistributionTenants(state.tenantId, domain, executionArn, { [which]: made[which] }).catch(
      async (error: unknown) => {
        await deleteDistributionTenant(state.tenantId, made[which]);
        throw error;
      },
    );
  }
  await publishEvent(EventTypes.TenantDomainPending, {
    tenantId: state.tenantId,
    domain,
    records: state.claim?.records ?? [],
    deadline: state.claim?.deadline,
  });
  return made;
}

/**
 * Reads both certificates' status and each name's DNS (CloudFront's own verification), records what it
 * saw, and says what next: ready, past the deadline, or wait (the first wait, then double the last, at
 * most the longest, never past the deadline).
 */
export async function check({ executionArn, state }: Event): Promise<CheckResult> {
  const domain = domainOf(state);
  await refuseUnlessLive(state.tenantId);
  const ids = state.request ?? { site: '', api: '' };
  const names = servedNames(domain);
  const seen: DomainSeen = {
    certificates: { site: await certificateStatus(ids.site), api: await certificateStatus(ids.api) },
    names: [
      ...(await Promise.all(names.site.map((name) => dnsOf(ids.site, name)))),
      ...(await Promise.all(names.api.map((name) => dnsOf(ids.api, name)))),
    ],
  };
  await recordCheck(state.tenantId, domain, executionArn, seen);
  const ready =
    Object.values(seen.certificates).every((status) => status === 'issued') &&
    seen.names.every((name) => name.status === 'valid-configuration');
  const left = Math.ceil((Date.parse(state.claim?.deadline ?? '') - Date.now()) / 1000);
  if (ready) return { outcome: 'ready', waitSeconds: 0, seen };
  if (!(left > 0)) return { outcome: 'expired', waitSeconds: 0, seen };
  const first = Number(requiredEnv(TaskEnv.domainCheckSeconds));
  const longest = Number(requiredEnv(TaskEnv.domainCheckMaxSeconds));
  const next = state.check ? Math.min(state.check.waitSeconds * 2, longest) : first;
  return { outcome: 'waiting', waitSeconds: Math.max(1, Math.min(next, left)), seen };
}

/** ACTIVE: CloudFront serves the names now that their certificates are issued; `TenantDomainActive`. */
export async function activate({ executionArn, state }: Event): Promise<void> {
  const domain = domainOf(state);
  await markDomainActive(state.tenantId, domain, executionArn);
  await publishEvent(EventTypes.TenantDomainActive, { tenantId: state.tenantId, domain });
}

/** A change: the domain the new one replaces, removed once the new one is active. */
export async function removeReplaced({ state }: Event): Promise<void> {
  const replaced = state.claim?.replacing;
  if (replaced) await removeDomain(state.tenantId, replaced);
}

/**
 * The deadline passed: the pending certificates go with their distribution tenants, the domain is FAILED
 * with what the last check saw, `TenantDomainFailed`; the tenant keeps its platform address (and a domain
 * it had before a change). Returns the error the execution ends with.
 */
export async function giveUp({ executionArn, state }: Event): Promise<{ Error: string; Cause: string }> {
  const domain = domainOf(state);
  const missing = (state.check?.seen.names ?? [])
    .filter((name) => name.status !== 'valid-configuration')
    .map((name) => `${name.name}: ${name.reason ?? name.status}`);
  const reason = `the DNS records were not in place by ${state.claim?.deadline ?? 'the deadline'}${
    missing.length ? ` (${missing.join('; ')})` : ''
  }`;
  await release(state.tenantId, domain, executionArn, reason);
  return { Error: 'DomainValidationTimedOut', Cause: reason };
}

/** A step failed after its retries: what this request made is removed, the domain FAILED with the error. */
export async function rollback({ executionArn, state }: Event): Promise<void> {
  const domain = domainOf(state);
  await release(
    state.tenantId,
    domain,
    executionArn,
    `${state.error?.Error ?? 'Error'}: ${state.error?.Cause ?? ''}`,
  );
}

async function release(
  tenantId: string,
  domain: string,
  executionArn: string,
  reason: string,
): Promise<void> {
  const row = (await tenantDomains(tenantId)).find((d) => d.domain === domain);
  // Asked for again by another request since: those distribution tenants are its own now.
  if (row && row.executionArn !== executionArn) return;
  for (const which of ['site', 'api'] as const)
    await deleteDistributionTenant(tenantId, distributionTenantName(tenantId, which, domain));
  await markDomainFailed(tenantId, domain, executionArn, reason);
  await publishEvent(EventTypes.TenantDomainFailed, { tenantId, domain, reason });
}

/** Detach: every domain of the tenant removed (REMOVING, its distribution tenants deleted, forgotten). */
export async function detach({ state }: Event): Promise<{ removed: string[] }> {
  return { removed: await removeTenantDomains(state.tenantId) };
}

/**
 * Removes every domain the tenant has, is getting, or failed to get, and what was made for it: the detach,
 * offboarding, and onboarding's rollback all end a tenant's domains this way. Idempotent.
 */
export async function removeTenantDomains(tenantId: string): Promise<string[]> {
  const domains = await tenantDomains(tenantId);
  for (const { domain } of domains) await removeDomain(tenantId, domain);
  return domains.map((d) => d.domain);
}

async function removeDomain(tenantId: string, domain: string): Promise<void> {
  await markRemoving(tenantId, domain);
  for (const which of ['site', 'api'] as const)
    await deleteDistributionTenant(tenantId, distributionTenantName(tenantId, which, domain));
  await forgetDomain(tenantId, domain);
  await publishEvent(EventTypes.TenantDomainRemoved, { tenantId, domain });
}

/**
 * A tenant that is gone (rolled back, offboarded meanwhile) gets no domain: its request fails, and is
 * undone. One being offboarded keeps waiting: the offboarding removes its domain itself, or fails and
 * leaves the tenant as it was.
 */
async function refuseUnlessLive(tenantId: string): Promise<void> {
  const status = (await getTenant(tenantId))?.status;
  if (!status || GONE.includes(status))
    throw new OnboardingError(
      PermanentErrors.TenantStateConflict,
      `tenant ${tenantId} is ${status ?? 'gone'}: its domain request is given up`,
    );
}
