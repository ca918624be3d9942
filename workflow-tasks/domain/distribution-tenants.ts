/**
 * A customer's domain on CloudFront SaaS Manager: one distribution tenant of the site's multi-tenant
 * distribution (`<domain>`, `www.<domain>`) and one of the API's (`api.<domain>`), each with a managed
 * certificate CloudFront requests and validates itself (`ValidationTokenHost: cloudfront`) once the
 * customer's records route the names to the connection group. Named `<tenantId>-<site|api>-<8 hex of the
 * domain>`, so a retried create finds the one it made; tagged with the tenant, and parameterized with it
 * (the distributions' origins read `{{tenantId}}`).
 */
import { createHash } from 'node:crypto';
import {
  CreateDistributionTenantCommand,
  DeleteDistributionTenantCommand,
  GetDistributionTenantCommand,
  GetManagedCertificateDetailsCommand,
  UpdateDistributionTenantCommand,
  VerifyDnsConfigurationCommand,
  type DistributionTenant,
} from '@aws-sdk/client-cloudfront';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { requiredEnv } from '../../common/env';
import { TaskEnv } from '../../common/names';
import { aws, isNotFound } from '../lib/aws';
import { tagList } from '../lib/tags';

export type Distribution = 'site' | 'api';

const DISTRIBUTION_ENV: Record<Distribution, string> = {
  site: TaskEnv.siteTenantsDistributionId,
  api: TaskEnv.apiTenantsDistributionId,
};

export function distributionTenantName(tenantId: string, which: Distribution, domain: string): string {
  return `${tenantId}-${which}-${createHash('sha256').update(domain).digest('hex').slice(0, 8)}`;
}

/**
 * The distribution tenant serving `names` for the tenant, made if missing; its id. One that exists under
 * this name for another tenant, or names another distribution tenant already serves, is a conflict.
 */
export async function ensureDistributionTenant(
  tenantId: string,
  which: Distribution,
  domain: string,
  names: string[],
  /** What the distribution's origin reads besides `tenantId` (the API's: `apiHost`). */
  parameters: Record<string, string> = {},
): Promise<string> {
  const Name = distributionTenantName(tenantId, which, domain);
  try {
    const made = await aws().cloudfront.send(
      new CreateDistributionTenantCommand({
        DistributionId: requiredEnv(DISTRIBUTION_ENV[which]),
        Name,
        Domains: names.map((Domain) => ({ Domain })),
        ConnectionGroupId: requiredEnv(TaskEnv.connectionGroupId),
        Parameters: Object.entries({ tenantId, ...parameters }).map(([Name, Value]) => ({ Name, Value })),
        ManagedCertificateRequest: { ValidationTokenHost: 'cloudfront', PrimaryDomainName: names[0] },
        Enabled: true,
        Tags: { Items: tagList(tenantId) },
      }),
    );
    return made.DistributionTenant?.Id ?? Name;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'CNAMEAlreadyExists')
      throw new OnboardingError(
        PermanentErrors.ResourceConflict,
        `${names.join(', ')}: CloudFront already serves one of these names for another distribution tenant`,
      );
    if (name !== 'EntityAlreadyExists') throw error;
  }
  const existing = await getDistributionTenant(Name);
  if (!existing || parameterOf(existing, 'tenantId') !== tenantId)
    throw new OnboardingError(
      PermanentErrors.ResourceConflict,
      `distribution tenant ${Name} exists and is not tenant ${tenantId}'s`,
    );
  return existing.Id ?? Name;
}

/** The distribution tenant and its ETag, or undefined when there is none. */
async function getDistributionTenant(
  Identifier: string,
): Promise<(DistributionTenant & { ETag?: string }) | undefined> {
  try {
    const got = await aws().cloudfront.send(new GetDistributionTenantCommand({ Identifier }));
    return got.DistributionTenant ? { ...got.DistributionTenant, ETag: got.ETag } : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function parameterOf(tenant: DistributionTenant, name: string): string | undefined {
  return tenant.Parameters?.find((p) => p.Name === name)?.Value;
}

/**
 * Deletes the distribution tenant (its managed certificate goes with it) if it is the tenant's: disabled
 * first, as CloudFront requires. Gone already is done.
 */
export async function deleteDistributionTenant(tenantId: string, Identifier: string): Promise<void> {
  let found = await getDistributionTenant(Identifier);
  if (!found?.Id || parameterOf(found, 'tenantId') !== tenantId) return;
  const { cloudfront } = aws();
  if (found.Enabled) {
    await cloudfront.send(
      new UpdateDistributionTenantCommand({ Id: found.Id, IfMatch: found.ETag, Enabled: false }),
    );
    found = await getDistributionTenant(found.Id);
    if (!found?.Id) return;
  }
  try {
    await cloudfront.send(new DeleteDistributionTenantCommand({ Id: found.Id, IfMatch: found.ETag }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Points the tenant's API distribution tenant at the HTTP API on `apiHost` (a move to another account made
 * the tenant's API there), its other parameters kept; one pointing there already, or gone, or another
 * tenant's, is left as it is. A change between the read and the update (a detach disabling it) is read again.
 */
export async function pointApiTenantAt(tenantId: string, Identifier: string, apiHost: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const found = await getDistributionTenant(Identifier);
    if (!found?.Id || parameterOf(found, 'tenantId') !== tenantId) return;
    if (parameterOf(found, 'apiHost') === apiHost) return;
    const Parameters = [
      ...(found.Parameters ?? []).filter((p) => p.Name !== 'apiHost'),
      { Name: 'apiHost', Value: apiHost },
    ];
    try {
      await aws().cloudfront.send(
        new UpdateDistributionTenantCommand({ Id: found.Id, IfMatch: found.ETag, Parameters }),
      );
      return;
    } catch (error) {
      if (isNotFound(error)) return;
      if ((error as Error).name !== 'PreconditionFailed' || attempt === 3) throw error;
    }
  }
}

/** Whether CloudFront has deployed the distribution tenant's last change (one that is gone has none). */
export async function distributionTenantDeployed(Identifier: string): Promise<boolean> {
  const found = await getDistributionTenant(Identifier);
  return !found || found.Status === 'Deployed';
}

/** The managed certificate's status (`pending-validation`, `issued`, `validation-timed-out`, ...). */
export async function certificateStatus(Identifier: string): Promise<string> {
  const details = await aws().cloudfront.send(new GetManagedCertificateDetailsCommand({ Identifier }));
  return details.ManagedCertificateDetails?.CertificateStatus ?? 'unknown';
}

/** Whether `name`'s DNS routes it to the distribution tenant, and what was found. */
export async function dnsOf(
  Identifier: string,
  Domain: string,
): Promise<{ name: string; status: string; reason?: string }> {
  const verified = await aws().cloudfront.send(new VerifyDnsConfigurationCommand({ Identifier, Domain }));
  const found = verified.DnsConfigurationList?.find((d) => d.Domain === Domain);
  return {
    name: Domain,
    status: found?.Status ?? 'unknown-configuration',
    ...(found?.Reason ? { reason: found.Reason } : {}),
  };
}
