import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { requiredEnv } from '../../common/env';
import { TaskEnv, tenantResourceNames } from '../../common/names';
import type { TenantSecret } from '../../common/tenant-secret';
import * as deployFunction from '../deploy-function/step';
import { distributionTenantDeployed, pointApiTenantAt } from '../domain/distribution-tenants';
import { CONFIG_FILE } from '../publish-frontend/step';
import * as storeSecret from '../store-secret/step';
import { aws, cellAws, inCell, isAlreadyExists } from '../lib/aws';
import { ownedBy, tagList, tagsFromList } from '../lib/tags';
import { tenantSecretIn } from '../lib/tenant-db';
import type { StepResults, TaskEvent, ValidatedTenant } from '../lib/types';
import { validatedTenantOf, withRegistry, type TenantColumns } from '../records/registry';
import type { SharedInstance } from '../records/capacity';
import { tenantDomains } from '../records/domains';

/**
 * A move to a cell in another AWS account (common/cells.ts) takes the tenant's API with its database: its
 * secret, function (role, log group, versions, alias `live`, error alarm) and HTTP API are made in the
 * target's account, as onboarding makes them there (its own steps' code), on the version the tenant runs.
 * Nothing routes there until the resume, the point of no return, publishes the target's API in the tenant's
 * `config.json` (what its frontend calls; locally, what `api.<tenant>.localhost` routes to) and in its
 * active domains' API distribution tenants (`apiHost`, what `api.<domain>` is passed to); then the
 * source's are removed as offboarding removes them. A rollback removes the target's.
 */

/** Where the tenant's API is made, moved from and to: undefined is the platform's account. */
export interface AccountMove {
  readonly tenantId: string;
  readonly fromAccount?: string;
  readonly toAccount?: string;
}

/** Whether the move crosses accounts. */
export function crossesAccounts(move: AccountMove): boolean {
  return move.fromAccount !== move.toAccount;
}

/**
 * The tenant's secret (its values, pointing at `target`), function and API in the target's account, the
 * function on `codeVersion`. A re-run finds them and converges. Returns the target API's endpoint.
 */
export async function deployInTarget(
  executionArn: string,
  move: AccountMove,
  target: SharedInstance,
  codeVersion: string,
): Promise<{ apiEndpoint: string }> {
  const tenant = await validatedTenant(move.tenantId);
  const source = await tenantSecretIn(move.tenantId, move.fromAccount);
  const value: TenantSecret = { ...source, host: target.host, port: target.port };
  return inCell(move.toAccount, async () => {
    const secret = await putSecret(tenant, value);
    const results = {
      tenant,
      secret,
      registration: { tenantApiVersion: codeVersion },
    } as unknown as StepResults;
    const deployed = await deployFunction.run({ executionArn, state: { results } });
    return { apiEndpoint: deployed.apiEndpoint };
  });
}

/** The secret by the tenant's name in the calling cell's account, holding `value`; one of another is refused. */
async function putSecret(tenant: ValidatedTenant, value: TenantSecret): Promise<StepResults['secret']> {
  const { secrets } = cellAws();
  const { secretName } = tenant.names;
  const SecretString = JSON.stringify(value);
  try {
    const created = await secrets.send(
      new CreateSecretCommand({
        Name: secretName,
        Description: `Credentials of tenant ${tenant.tenantId}: database, initial admin password, token key`,
        SecretString,
        Tags: tagList(tenant.tenantId),
      }),
    );
    return { secretArn: created.ARN ?? '', secretName };
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await secrets.send(new DescribeSecretCommand({ SecretId: secretName }));
    if (!ownedBy(tagsFromList(existing.Tags), tenant.tenantId) || existing.DeletedDate)
      throw new OnboardingError(
        PermanentErrors.ResourceConflict,
        `secret ${secretName} exists in the target's account but is not a live secret of tenant ${tenant.tenantId}`,
      );
    await secrets.send(new PutSecretValueCommand({ SecretId: secretName, SecretString }));
    return { secretArn: existing.ARN ?? '', secretName };
  }
}

/** The tenant's secret, function and API in `account`, as offboarding removes them (tagged theirs only). */
export async function removeApiIn(
  executionArn: string,
  tenantId: string,
  account: string | undefined,
): Promise<void> {
  const event: TaskEvent = { executionArn, state: { results: { tenant: await validatedTenant(tenantId) } } };
  await inCell(account, async () => {
    await deployFunction.undo(event);
    await storeSecret.undo(event);
  });
}

/**
 * The tenant's `config.json` (what its frontend calls) and its active domains' API distribution tenants
 * name the API in `account`; each overwrites, so a re-run converges.
 */
export async function routeToApiIn(tenantId: string, account: string | undefined): Promise<void> {
  const api = await inCell(account, () => deployFunction.findApi(tenantId));
  if (!api?.ApiEndpoint)
    throw new OnboardingError(
      PermanentErrors.StepFailed,
      `${tenantId} has no HTTP API in ${account ? `AWS account ${account}` : "the platform's account"}`,
    );
  const tenant = await validatedTenant(tenantId);
  await aws().s3.send(
    new PutObjectCommand({
      Bucket: requiredEnv(TaskEnv.siteBucket),
      Key: tenantResourceNames(tenantId).sitePrefix + CONFIG_FILE,
      Body: JSON.stringify({ tenantId, companyName: tenant.companyName, apiUrl: api.ApiEndpoint }, null, 2),
      ContentType: 'application/json',
      CacheControl: 'no-cache',
    }),
  );
  const apiHost = new URL(api.ApiEndpoint).host;
  for (const id of await activeApiTenants(tenantId)) await pointApiTenantAt(tenantId, id, apiHost);
}

/**
 * Whether CloudFront has deployed the change of every active domain's API distribution tenant: until then
 * its edge still passes `api.<domain>` to the API it named before (minutes on AWS), which must not be removed.
 */
export async function domainsRouted(tenantId: string): Promise<boolean> {
  const deployed = await Promise.all((await activeApiTenants(tenantId)).map(distributionTenantDeployed));
  return deployed.every(Boolean);
}

/** The API distribution tenants of the tenant's active domains. */
async function activeApiTenants(tenantId: string): Promise<string[]> {
  return (await tenantDomains(tenantId)).flatMap(({ status, distributionTenants }) =>
    status === 'ACTIVE' && distributionTenants.api ? [distributionTenants.api] : [],
  );
}

/** The tenant as onboarding validated it, from its registry row (onboarding's code reads it). */
async function validatedTenant(tenantId: string): Promise<ValidatedTenant> {
  const row = await withRegistry(async (client) => {
    const { rows } = await client.query<TenantColumns>(
      'SELECT id, tier, company_name, admin_email, domain FROM tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0];
  });
  if (!row) throw new OnboardingError(PermanentErrors.RegistrationLost, `there is no tenant ${tenantId}`);
  return validatedTenantOf(row);
}
