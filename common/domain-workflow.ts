/**
 * The customer's own domain as a workflow (`tenant-domain`, infra/tenant-domain.ts; its steps in
 * workflow-tasks/domain/): its state names, the statuses a domain goes through, its input, and the DNS
 * records the customer adds, shared by the CDK construct, the task Lambdas, the local runtime and tenantctl.
 */
import * as z from 'zod/mini';
import { domainSchema, tenantIdSchema } from './tenant-input';

export const DomainStates = {
  claim: 'Claim domain',
  refused: 'Domain refused',
  held: 'Domain held',
  which: 'Attach or detach?',
  alreadyActive: 'Already active?',
  nothingToDo: 'Nothing to do',
  request: 'Request certificates',
  wait: 'Wait for DNS',
  check: 'Check certificates and records',
  ready: 'Issued and resolving?',
  activate: 'Activate domain',
  removeReplaced: 'Remove the replaced domain',
  active: 'Domain is active',
  giveUp: 'Give up on domain',
  failed: 'Domain failed',
  rollback: 'Rollback: release domain',
  detach: 'Detach domain',
  detached: 'Domain detached',
} as const;

/**
 * `PENDING_VALIDATION`: certificates requested, records shown, waiting for them; `ACTIVE`: served on the
 * domain; `FAILED`: the deadline passed (or the workflow failed), nothing of it is left; `REMOVING`: being
 * detached.
 */
export type DomainStatus = 'PENDING_VALIDATION' | 'ACTIVE' | 'FAILED' | 'REMOVING';

/** One DNS record the customer adds at its DNS provider. */
export interface DnsRecord {
  readonly name: string;
  readonly type: 'CNAME';
  readonly value: string;
  /** What the customer must know about it (an apex cannot hold a CNAME). */
  readonly note?: string;
}

/**
 * The records that route a domain to the platform: the site on `<domain>` (served there) and
 * `www.<domain>` (redirected to it), the API on `api.<domain>`, each to the connection group's routing
 * endpoint. The same records validate the certificates: CloudFront answers the validation token itself
 * once traffic reaches it.
 */
export function domainRecords(domain: string, routingEndpoint: string): DnsRecord[] {
  return [
    {
      name: domain,
      type: 'CNAME',
      value: routingEndpoint,
      note: `if ${domain} is the apex of its zone, an ALIAS or ANAME record at the DNS provider (a CNAME is not allowed at an apex)`,
    },
    { name: `www.${domain}`, type: 'CNAME', value: routingEndpoint },
    { name: `api.${domain}`, type: 'CNAME', value: routingEndpoint },
  ];
}

/** The names a domain is served on: the site's (the domain and `www.`) and the API's. */
export function servedNames(domain: string): { site: string[]; api: string[] } {
  return { site: [domain, `www.${domain}`], api: [`api.${domain}`] };
}

/** The input of a `tenant-domain` execution. */
export const domainRequestSchema = z.union([
  z.strictObject({
    tenantId: tenantIdSchema,
    action: z.optional(z.literal('attach')),
    domain: domainSchema,
  }),
  z.strictObject({ tenantId: tenantIdSchema, action: z.literal('detach') }),
]);
export type DomainRequest = z.infer<typeof domainRequestSchema>;

/**
 * The execution of a domain request: `domain-<tenantId>-<action>-<key>` (at most 80 characters); the same
 * key names the same execution, so a retried request starts it once.
 */
export function domainExecutionName(tenantId: string, action: 'attach' | 'detach', key: string): string {
  return `domain-${tenantId}-${action}-${key}`.slice(0, 80);
}
