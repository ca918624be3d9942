/**
 * The steps of the `add-capacity` workflow (infra/add-capacity.ts): the next shared PostgreSQL instance,
 * which "Register tenant" asked for (records/capacity.ts), created on RDS with a master password RDS
 * manages, awaited, and registered AVAILABLE, so placement puts shared tenants on it. A failure deletes
 * the instance and records it FAILED with the reason (placement never uses it).
 */
import { CreateDBInstanceCommand, DeleteDBInstanceCommand, type DBInstance } from '@aws-sdk/client-rds';
import { CAPACITY_WAIT, SHARED_MASTER_USER, sharedInstanceRdsId } from '../../common/capacity';
import { OnboardingError, PermanentErrors } from '../../common/errors';
import { PlatformNames, TaskEnv } from '../../common/names';
import { DEAD_ENDS } from '../check-instance/step';
import { describeInstance } from '../create-database/step';
import { databaseSecurityGroup, dedicatedSubnetGroup } from '../lib/cell-network';
import { cellAws, inCell, isAlreadyExists, isNotFound } from '../lib/aws';
import { caughtError } from '../lib/handler';
import { tagsFromList } from '../lib/tags';
import { instanceRecord, markInstanceAvailable, markInstanceFailed } from '../records/capacity';

const DEFAULT_INSTANCE_CLASS = 'db.t4g.micro';
/** The tag that says which shared instance an RDS instance is: nothing else is ever deleted here. */
const SHARED_INSTANCE_TAG = 'shared-instance';

interface CapacityState {
  readonly instanceId: string;
  /** The account of the instance's cell when it has its own (lib/handler.ts runs each step there). */
  readonly cellAccount?: string;
  readonly check?: CheckResult;
  readonly error?: { Error?: string; Cause?: string };
}

type Event = { readonly executionArn: string; readonly state: CapacityState };

export interface CheckResult {
  readonly status: string;
  readonly rounds: number;
  readonly host?: string;
  readonly port?: number;
  readonly masterSecretArn?: string;
}

/** `shared-<n>`, as planning names them; anything else is refused before RDS is called. */
function instanceIdOf(state: CapacityState): string {
  const id = (state as { instanceId?: unknown }).instanceId;
  if (typeof id !== 'string' || !/^shared-\d{1,6}$/.test(id))
    throw new OnboardingError(PermanentErrors.InvalidInput, 'instanceId: must be shared-<n>');
  return id;
}

const SHARED_ENGINE_VERSION = '18.3';

/**
 * The RDS instance, created as the dedicated tier's are (encrypted, private, backed up, in the tenants'
 * subnet group and security group), tagged with its shared instance id; one that exists with that tag is
 * this workflow's own earlier attempt, one without it is refused.
 */
export async function create({ state }: Event): Promise<void> {
  const instanceId = instanceIdOf(state);
  const rdsId = sharedInstanceRdsId(instanceId);
  const securityGroup = await databaseSecurityGroup();
  try {
    await cellAws().rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: rdsId,
        DBInstanceClass: process.env[TaskEnv.dedicatedInstanceClass] ?? DEFAULT_INSTANCE_CLASS,
        Engine: 'postgres',
        // The first shared instance's engine and parameter group (infra/shared-database.ts).
        EngineVersion: SHARED_ENGINE_VERSION,
        DBParameterGroupName: PlatformNames.sharedParameterGroup,
        AllocatedStorage: 20,
        StorageType: 'gp3',
        StorageEncrypted: true,
        MasterUsername: SHARED_MASTER_USER,
        ManageMasterUserPassword: true,
        PubliclyAccessible: false,
        BackupRetentionPeriod: 7,
        DeletionProtection: false,
        DBSubnetGroupName: dedicatedSubnetGroup(),
        VpcSecurityGroupIds: securityGroup ? [securityGroup] : undefined,
        Tags: [
          { Key: SHARED_INSTANCE_TAG, Value: instanceId },
          { Key: PlatformNames.managedByTag, Value: 'tenant-capacity' },
        ],
      }),
    );
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await describeInstance(rdsId);
    if (!existing || !isShared(existing, instanceId))
      throw new OnboardingError(
        PermanentErrors.ResourceConflict,
        `RDS instance ${rdsId} exists but is not shared instance ${instanceId}`,
      );
  }
}

function isShared(instance: DBInstance, instanceId: string): boolean {
  return tagsFromList(instance.TagList)[SHARED_INSTANCE_TAG] === instanceId;
}

/**
 * One round of the wait: the instance's status; once available, its endpoint and managed master secret.
 * A state RDS does not leave by itself, or too many rounds, fails the workflow.
 */
export async function check({ state }: Event): Promise<CheckResult> {
  const instanceId = instanceIdOf(state);
  const rdsId = sharedInstanceRdsId(instanceId);
  const rounds = (state.check?.rounds ?? 0) + 1;
  const instance = await describeInstance(rdsId);
  const status = instance?.DBInstanceStatus ?? 'missing';
  if (!instance || DEAD_ENDS.has(status))
    throw new OnboardingError(PermanentErrors.InstanceFailed, `RDS instance ${rdsId} is ${status}`);
  if (status !== 'available') {
    if (rounds >= CAPACITY_WAIT.maxRounds)
      throw new OnboardingError(
        PermanentErrors.InstanceNotReadyInTime,
        `RDS instance ${rdsId} is still ${status} after ${rounds} checks`,
      );
    return { status, rounds };
  }
  const masterSecretArn = instance.MasterUserSecret?.SecretArn;
  if (!masterSecretArn)
    throw new OnboardingError(
      PermanentErrors.InstanceFailed,
      `RDS instance ${rdsId} has no managed master secret`,
    );
  return {
    status,
    rounds,
    host: instance.Endpoint?.Address ?? '',
    port: instance.Endpoint?.Port ?? 5432,
    masterSecretArn,
  };
}

/** The instance, available: placement puts shared tenants on it from now on. */
export async function register({ state }: Event): Promise<void> {
  const instanceId = instanceIdOf(state);
  const { host, port, masterSecretArn } = state.check ?? {};
  if (!host || !port || !masterSecretArn)
    throw new OnboardingError(
      PermanentErrors.StepFailed,
      'state has no available check: the step ran out of order',
    );
  await markInstanceAvailable(instanceId, {
    rdsInstanceId: sharedInstanceRdsId(instanceId),
    host,
    port,
    masterSecretArn,
  });
}

/**
 * After a failure: the RDS instance deleted (if it is this shared instance's; no final snapshot, no tenant
 * ever used it) and the instance recorded FAILED with the error, so placement asks for another. An instance
 * the registry has AVAILABLE is left alone: "Register shared instance" did register it (its answer was
 * lost, or it timed out after), and tenants may be on it already.
 */
export async function rollback({ state }: Event): Promise<void> {
  const instanceId = instanceIdOf(state);
  if ((await instanceRecord(instanceId))?.status === 'AVAILABLE') return;
  const rdsId = sharedInstanceRdsId(instanceId);
  const instance = await describeInstance(rdsId);
  if (instance && isShared(instance, instanceId) && instance.DBInstanceStatus !== 'deleting') {
    try {
      await cellAws().rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: rdsId,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
    } catch (error) {
      if (!isNotFound(error) && (error as Error).name !== 'InvalidDBInstanceStateFault') throw error;
    }
  }
  await markInstanceFailed(instanceId, caughtError(state.error));
}

/**
 * What an add-capacity execution that ended unfinished (stopped, timed out, failed where its rollback did
 * not run) leaves: an instance it was adding and never registered is deleted and recorded FAILED, as its
 * rollback would (an RDS instance nobody uses, paid for by the hour). Returns that instance.
 */
export async function releaseCapacityOf(
  executionArn: string,
  input: unknown,
  error: { Error: string; Cause: string },
): Promise<string | undefined> {
  const instanceId = (input as { instanceId?: unknown } | null)?.instanceId;
  if (typeof instanceId !== 'string' || !/^shared-\d{1,6}$/.test(instanceId)) return undefined;
  const record = await instanceRecord(instanceId);
  if (!record || record.executionArn !== executionArn || record.status === 'AVAILABLE') return undefined;
  // In the account it was being made in (its cell's).
  await inCell(record.cellAccount, () => rollback({ executionArn, state: { instanceId, error } }));
  return instanceId;
}
