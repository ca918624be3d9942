import { resolve } from 'node:path';
import { ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { tenantResourceNames } from '../../common/names';
import { getJsonSecret } from '../../common/secrets';
import type { TenantSecret } from '../../common/tenant-secret';
import { checkedTenantId, json, out, targetOptions, type CommonOptions } from '../options';
import { awsClientConfig } from '../target';

/** `tenantctl admin-credentials TENANT`. */
export function adminCredentialsCommand(program: Command): void {
  targetOptions(
    program
      .command('admin-credentials')
      .description("The tenant admin's e-mail and initial password, read from the tenant's secret")
      .argument('<tenantId>'),
  ).action(async (tenantId: string, options: CommonOptions) => {
    const credentials = await adminCredentials(tenantId, options);
    if (options.json) return json(credentials);
    out(`e-mail    ${credentials.email}`);
    if (credentials.password === null)
      return out(
        `password  (none: ${credentials.restoredFrom ? `restored from ${credentials.restoredFrom}` : `imported from ${credentials.importedFrom}`}; its users sign in with the passwords they had)`,
      );
    out(`password  ${credentials.password}`);
    out(
      '(the initial password: once the admin changes it with POST /auth/password, this one no longer works)',
    );
  });
}

/**
 * `{ email, password }` of the admin seeded at onboarding, from the tenant's secret; a restored tenant has
 * no initial password (`password: null`, `restoredFrom`: its export), nor has an imported one
 * (`importedFrom`); their users keep their own.
 */
async function adminCredentials(
  tenantId: string,
  options: CommonOptions,
): Promise<
  | { email: string; password: string }
  | { email: string; password: null; restoredFrom?: string; importedFrom?: string }
> {
  checkedTenantId('tenantId', tenantId);
  const secrets = new SecretsManagerClient(
    await awsClientConfig({ ...options, stateDir: resolve(options.stateDir) }),
  );
  try {
    const { secretName } = tenantResourceNames(tenantId);
    const secret = await getJsonSecret<Partial<TenantSecret>>(secrets, secretName);
    if (secret.adminEmail && secret.restoredFrom)
      return { email: secret.adminEmail, password: null, restoredFrom: secret.restoredFrom };
    if (secret.adminEmail && secret.importedFrom)
      return { email: secret.adminEmail, password: null, importedFrom: secret.importedFrom };
    if (!secret.adminEmail || !secret.adminPassword)
      throw new Error(
        `${tenantId}: secret ${secretName} has no admin credentials (onboarded by an older version?)`,
      );
    return { email: secret.adminEmail, password: secret.adminPassword };
  } catch (error) {
    if (error instanceof ResourceNotFoundException)
      throw new Error(
        `${tenantId}: no such tenant (secret ${tenantResourceNames(tenantId).secretName} does not exist)`,
        {
          cause: error,
        },
      );
    throw error;
  } finally {
    secrets.destroy();
  }
}
