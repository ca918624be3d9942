/**
 * What the console reads of the registry (the tenants, the release ledger), whoever answers it: locally the
 * platform database, on AWS the stack's control-plane API. The console never writes to it: it starts
 * executions, and the workflows change the registry.
 */
import type { DomainView } from '../workflow-tasks/records/domains';
import type { ReleaseRecord, TenantRelease } from '../workflow-tasks/records/release-ledger';

/** A tenant as the console lists it. */
export interface ConsoleTenant {
  tenantId: string;
  status: string;
  tier: string;
  companyName: string;
  domain: string | null;
  codeVersion: string | null;
  schemaVersion: number | null;
  /** Where its site and its API's /health answer (locally, through the gateway). */
  site?: string;
  api?: string;
}

/** One tenant with everything its page shows. */
export interface TenantDetail extends ConsoleTenant {
  adminEmail: string;
  /** The execution that last changed it (its onboarding, offboarding...). */
  executionArn: string;
  resources: Record<string, unknown>;
  versionsUpdatedAt: string | null;
  versionsRelease: string | null;
  lastRelease: { release: string; outcome: string; error: string | null } | null;
  offboarding: {
    export: { key: string; retainUntil: string } | null;
    failure: unknown;
  } | null;
  created: string;
  /** Its own domains (being validated, active, failed), newest first. */
  domains: DomainView[];
  /** The releases that concerned it, newest first (the ledger). */
  releases: (Omit<TenantRelease, 'at'> & { at: string | Date })[];
}

/** The release ledger as the console's home shows it. */
export type ConsoleRelease = Omit<ReleaseRecord, 'startedAt' | 'finishedAt'> & {
  startedAt: string | Date;
  finishedAt: string | Date | null;
};

export interface Registry {
  /** Every tenant; `host` is the console's (the gateway's) for the local site and API links. */
  tenants(host: string): Promise<ConsoleTenant[]>;
  /** One tenant, or undefined when the registry has never seen it. */
  tenant(tenantId: string, host: string): Promise<TenantDetail | undefined>;
  /** The newest releases (RECENT_RELEASES of the ledger), newest first. */
  releases(): Promise<ConsoleRelease[]>;
}

/** Where the console reads the registry; absent, it says why instead. */
export type TenantSource = Registry | { readonly unavailable: string };
