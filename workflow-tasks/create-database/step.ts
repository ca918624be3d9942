import {
  CreateDBInstanceCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { finalSnapshotId, TaskEnv } from '../../common/names';
import { exportOrigin } from '../../common/offboarding';
import { deleteTenantAlarm } from '../lib/alarms';
import { databaseSecurityGroup, dedicatedSubnetGroup } from '../lib/cell-network';
import { awsFor, cellAws, isAlreadyExists, isNotFound } from '../lib/aws';
import { withMasterClient } from '../lib/db';
import { capacityFromEnv, instanceOfTenant } from '../records/capacity';
import { resultOf, tenantOf } from '../lib/handler';
import { ownedBy, tagList, tagsFromList } from '../lib/tags';
import { dropTenantDatabase, ensureTenantDatabase, readTenantSecret } from '../lib/tenant-db';
import type { StepResults, TaskEvent, ValidatedTenant } from '../lib/types';

// The maintenance database every PostgreSQL server (and RDS instance) has; DDL on databases runs there.
const MAINTENANCE_DB = 'postgres';
const DEFAULT_INSTANCE_CLASS = 'db.t4g.micro';
/** The master user RDS creates on a dedicated instance; its password is managed by RDS in Secrets Manager. */
export const DEDICATED_MASTER_USER = 'tenant_admin';

/**
 * Shared tier: a login role and a database it owns on the shared instance "Register tenant" placed the
 * tenant on (records/capacity.ts), only that role may connect.
 * Dedicated tier: the tenant's own RDS PostgreSQL instance (encrypted, tagged, master password managed by
 * RDS), or with `fromSnapshot` the instance restored from the final snapshot of the offboarding that wrote
 * `restoreFrom`; "Check instance" waits for it and creates (or, restored, updates) the tenant's role there.
 */
export async function run(event: TaskEvent): Promise<StepResults['database']> {
  const tenant = tenantOf(event);
  const { database, role } = tenant.names;
  if (tenant.tier === 'dedicated') {
    const instance = await ensureInstance(tenant);
    return {
      database,
      role,
      host: '',
      port: 0,
      instanceId: instance.DBInstanceIdentifier ?? tenant.names.instanceId,
    };
  }
  const { secretArn } = resultOf(event, 'secret');
  const instance = resultOf(event, 'registration').sharedInstance;
  if (!instance) throw new Error(`shared tenant ${tenant.tenantId} was registered without a shared instance`);
  // Read while the database is created: only the role's password waits for it.
  const read = readTenantSecret(secretArn);
  const password = read.then((s) => s.password);
  password.catch(() => undefined); // awaited by ensureTenantDatabase, or below through `read`
  await withMasterClient(
    MAINTENANCE_DB,
    (client) => ensureTenantDatabase(client, tenant.names, password, capacityFromEnv().connectionsPerTenant),
    instance,
  );
  const secret = await read;
  // A secret kept from an earlier attempt may name another instance than the one it is placed on now.
  if (secret.host !== instance.host || Number(secret.port) !== instance.port)
    await awsFor(secretArn).secrets.send(
      new PutSecretValueCommand({
        SecretId: secretArn,
        SecretString: JSON.stringify({ ...secret, host: instance.host, port: instance.port }),
      }),
    );
  return { database, role, host: instance.host, port: instance.port, sharedInstance: instance.id };
}

/**
 * Shared: drops the tenant's database (closing its connections) and role on its shared instance.
 * Dedicated: deletes the instance (no final snapshot: it never went live) and its CPU alarm. Either
 * succeeds when there is nothing to remove.
 */
export async function undo(event: TaskEvent): Promise<void> {
  const tenant = tenantOf(event);
  if (tenant.tier === 'dedicated') {
    await deleteTenantAlarm(tenant, 'db-cpu');
    return deleteInstance(tenant);
  }
  await withMasterClient(
    MAINTENANCE_DB,
    (client) => dropTenantDatabase(client, tenant.names),
    await instanceOfTenant(tenant.tenantId),
  );
}

/** The tenant's RDS instance, if it exists. */
export async function describeInstance(instanceId: string): Promise<DBInstance | undefined> {
  try {
    const out = await cellAws().rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: instanceId }),
    );
    return out.DBInstances?.[0];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function ensureInstance(tenant: ValidatedTenant): Promise<DBInstance> {
  const id = tenant.names.instanceId;
  const existing = await describeInstance(id);
  if (existing) return owned(existing, tenant);
  const securityGroup = await databaseSecurityGroup();
  const placement = {
    DBInstanceIdentifier: id,
    DBInstanceClass: process.env[TaskEnv.dedicatedInstanceClass] ?? DEFAULT_INSTANCE_CLASS,
    StorageType: 'gp3',
    ManageMasterUserPassword: true,
    PubliclyAccessible: false,
    BackupRetentionPeriod: 7,
    CopyTagsToSnapshot: true,
    DeletionProtection: false,
    DBSubnetGroupName: dedicatedSubnetGroup(),
    VpcSecurityGroupIds: securityGroup ? [securityGroup] : undefined,
    Tags: tagList(tenant.tenantId),
  };
  try {
    const created = tenant.fromSnapshot
      ? await restoreInstance(tenant, placement)
      : await cellAws().rds.send(
          new CreateDBInstanceCommand({
            ...placement,
            Engine: 'postgres',
            AllocatedStorage: 20,
            StorageEncrypted: true,
            DBName: tenant.names.database,
            MasterUsername: DEDICATED_MASTER_USER,
          }),
        );
    if (!created.DBInstance) throw new Error(`RDS returned no instance for ${id}`);
    return created.DBInstance;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const raced = await describeInstance(id);
    if (!raced) throw error;
    return owned(raced, tenant);
  }
}

/**
 * The instance restored from the final snapshot the offboarding that wrote `restoreFrom` kept (encrypted as
 * the snapshot was, with the tenant's database, role and rows as they were when it was taken).
 */
async function restoreInstance(
  tenant: ValidatedTenant,
  placement: Omit<RestoreDBInstanceFromDBSnapshotCommand['input'], 'DBSnapshotIdentifier'>,
): Promise<{ DBInstance?: DBInstance }> {
  const origin = tenant.restoreFrom ? exportOrigin(tenant.restoreFrom) : undefined;
  if (!origin) throw new OnboardingError(PermanentErrors.InvalidInput, 'fromSnapshot: needs restoreFrom');
  const DBSnapshotIdentifier = finalSnapshotId(origin.tenantId, origin.stamp);
  try {
    return await cellAws().rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({ ...placement, DBSnapshotIdentifier }),
    );
  } catch (error) {
    if ((error as Error).name !== 'DBSnapshotNotFoundFault') throw error;
    throw new OnboardingError(
      PermanentErrors.InvalidInput,
      `fromSnapshot: the final snapshot ${DBSnapshotIdentifier} of the offboarding that wrote ${tenant.restoreFrom} does not exist (restore without fromSnapshot to load the export)`,
    );
  }
}

function owned(instance: DBInstance, tenant: ValidatedTenant): DBInstance {
  if (!ownedBy(tagsFromList(instance.TagList), tenant.tenantId)) {
    throw new OnboardingError(
      PermanentErrors.ResourceConflict,
      `RDS instance ${tenant.names.instanceId} exists but does not belong to tenant ${tenant.tenantId}`,
    );
  }
  return instance;
}

/**
 * Deletes the tenant's RDS instance if it is the tenant's; with `finalSnapshotId` RDS keeps a final snapshot
 * (offboarding), without it none (an onboarding's undo: the instance never went live). Succeeds when the
 * instance is gone or already being deleted.
 */
export async function deleteInstance(tenant: ValidatedTenant, finalSnapshotId?: string): Promise<void> {
  const instance = await describeInstance(tenant.names.instanceId);
  if (!instance || !ownedBy(tagsFromList(instance.TagList), tenant.tenantId)) return;
  if (instance.DBInstanceStatus === 'deleting') return;
  try {
    await cellAws().rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: tenant.names.instanceId,
        ...(finalSnapshotId ? { FinalDBSnapshotIdentifier: finalSnapshotId } : { SkipFinalSnapshot: true }),
        DeleteAutomatedBackups: true,
      }),
    );
  } catch (error) {
    // Already gone, or already being deleted by an earlier attempt of this undo.
    if (isNotFound(error) || (error as Error).name === 'InvalidDBInstanceStateFault') return;
    throw error;
  }
}
