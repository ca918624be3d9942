import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { randomSecret } from '../../common/passwords';
import type { TenantSecret } from '../../common/tenant-secret';
import { cellAws, isAlreadyExists, isNotFound } from '../lib/aws';
import { sharedDbHost, sharedDbPort } from '../lib/db';
import { resultOf, tenantOf } from '../lib/handler';
import { ownedBy, tagList, tagsFromList } from '../lib/tags';
import type { StepResults, TaskEvent } from '../lib/types';

/**
 * Generates the tenant's credentials straight into Secrets Manager: the database password, the admin's
 * initial password and the API's token key. They exist nowhere else: the state carries only the secret's
 * ARN. A secret this tenant already has is kept, not regenerated, so a retry converges on the same values.
 */
export async function run(event: TaskEvent): Promise<StepResults['secret']> {
  const tenant = tenantOf(event);
  const { secretName, database, role } = tenant.names;
  // The shared instance "Register tenant" placed it on (a dedicated tenant's is pointed at its own later).
  const { host, port } = resultOf(event, 'registration').sharedInstance ?? {
    host: sharedDbHost(),
    port: sharedDbPort(),
  };
  const value: TenantSecret = {
    engine: 'postgres',
    host,
    port,
    dbname: database,
    username: role,
    password: randomSecret(32),
    adminEmail: tenant.adminEmail,
    // A restored or imported tenant's users sign in with the passwords they had: an initial one would never work.
    ...(tenant.restoreFrom
      ? { restoredFrom: tenant.restoreFrom }
      : tenant.importFrom
        ? { importedFrom: tenant.importFrom.dumpKey ?? 'its database' }
        : { adminPassword: randomSecret(18) }),
    tokenKey: randomSecret(32),
  };
  // Created first, looked up only when one exists already (a retry, or an earlier attempt racing this one):
  // whatever exists must be ours to adopt, and keeps its values.
  try {
    const created = await cellAws().secrets.send(
      new CreateSecretCommand({
        Name: secretName,
        Description: `Credentials of tenant ${tenant.tenantId}: database, initial admin password, token key`,
        SecretString: JSON.stringify(value),
        Tags: tagList(tenant.tenantId),
      }),
    );
    return { secretArn: required(created.ARN), secretName };
  } catch (error) {
    // A secret scheduled for deletion is refused as InvalidRequestException; adopt() refuses it by name.
    if (!isAlreadyExists(error) && (error as Error).name !== 'InvalidRequestException') throw error;
    const existing = await describe(secretName);
    if (!existing) throw error;
    return adopt(existing, tenant.tenantId, secretName);
  }
}

/** Deletes the tenant's secret at once (no recovery window), and only if it carries this tenant's tag. */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  const existing = await describe(tenant.names.secretName);
  if (!existing || !ownedBy(tagsFromList(existing.Tags), tenant.tenantId)) return;
  try {
    await cellAws().secrets.send(
      new DeleteSecretCommand({ SecretId: required(existing.ARN), ForceDeleteWithoutRecovery: true }),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

async function describe(secretName: string): Promise<DescribeSecretCommandOutput | undefined> {
  try {
    return await cellAws().secrets.send(new DescribeSecretCommand({ SecretId: secretName }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function adopt(
  existing: DescribeSecretCommandOutput,
  tenantId: string,
  secretName: string,
): StepResults['secret'] {
  if (!ownedBy(tagsFromList(existing.Tags), tenantId) || existing.DeletedDate) {
    throw new OnboardingError(
      PermanentErrors.ResourceConflict,
      `secret ${secretName} exists but is not a live secret of tenant ${tenantId}`,
    );
  }
  return { secretArn: required(existing.ARN), secretName };
}

function required(value: string | undefined): string {
  if (!value) throw new Error('Secrets Manager returned no ARN');
  return value;
}
